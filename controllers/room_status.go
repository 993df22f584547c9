package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// roomConditionTypes are the condition types the Room controller owns.
var roomConditionTypes = []string{chatv1alpha1.ReadyCondition, chatv1alpha1.StalledCondition}

// roomConditions decides a Room's conditions from the Room and the holder of
// its roomID (the oldest Room with the same sdkAppID and roomID, nil if
// none is known yet).
//
// A Room waiting for its first callback is not Ready, but it is not
// Reconciling either: it waits on Tencent, not on roomsync, and a GitOps tool
// must not wait on it forever.
func roomConditions(room, holder *chatv1alpha1.Room) []metav1.Condition {
	gen := room.Generation
	switch {
	case holder != nil && holder.UID != room.UID:
		msg := fmt.Sprintf("Room %s is older and mirrors the same room (sdkAppID %d, roomID %q): callbacks update it, not this Room",
			holder.Name, room.Spec.SDKAppID, room.Spec.RoomID)
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.DuplicateRoomIDReason, msg, gen),
			condition(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.DuplicateRoomIDReason, msg, gen),
		}
	case room.Status.Phase == chatv1alpha1.RoomPhaseDestroyed && room.Status.Destroyed != nil:
		d := room.Status.Destroyed
		msg := "Room destroyed at " + d.Time.UTC().Format(time.RFC3339)
		if d.Operator != "" {
			msg += " by " + d.Operator
		}
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.RoomDestroyedReason, msg, gen),
		}
	case room.Status.LastEventTime == 0:
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.AwaitingRoomInfoReason,
				"Waiting for a room-info callback from Tencent", gen),
		}
	default:
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.RoomInfoReceivedReason,
				"Room info received from Tencent", gen),
		}
	}
}
