package controllers

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// roomConditionTypes are the condition types the Room controller owns.
var roomConditionTypes = []string{
	chatv1alpha1.ReadyCondition, chatv1alpha1.StalledCondition,
	chatv1alpha1.ReconcilingCondition, chatv1alpha1.SyncedCondition,
}

// roomConditions decides a Room's conditions from the Room and the holder of
// its roomID (the oldest Room with the same sdkAppID and roomID, nil if
// none is known yet): first whether it mirrors its room
// (observationConditions), then, for a Room with settings or that manages
// its room, whether Tencent is as declared (withManagement).
//
// A Room waiting for its first callback is not Ready, but it is not
// Reconciling either: it waits on Tencent, not on roomsync, and a GitOps tool
// must not wait on it forever.
func roomConditions(room, holder *chatv1alpha1.Room) []metav1.Condition {
	conds := observationConditions(room, holder)
	if holder != nil && holder.UID != room.UID {
		return conds // a duplicate acts on nothing
	}
	return withManagement(room, conds)
}

// observationConditions are the conditions of a Room that only mirrors.
func observationConditions(room, holder *chatv1alpha1.Room) []metav1.Condition {
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
				"Waiting for room info from Tencent (a create or update callback, or a resync)", gen),
		}
	default:
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.RoomInfoReceivedReason,
				"Room info received from Tencent", gen),
		}
	}
}

// withManagement adds to the conditions of a mirror (conds) what a Room
// with spec.settings, or that creates or updates its room, needs: Synced,
// and, when it manages the room, Reconciling while roomsync works on it,
// Stalled when a human must act, and Ready only when Synced.
func withManagement(room *chatv1alpha1.Room, conds []metav1.Condition) []metav1.Condition {
	gen := room.Generation
	var synced *metav1.Condition
	if room.Spec.Settings != nil {
		c := syncedCondition(room)
		synced = &c
		conds = append(conds, c)
	}
	manages := room.Spec.Allows(chatv1alpha1.ManagementCreate) || room.Spec.Allows(chatv1alpha1.ManagementUpdate)
	if !manages {
		return conds
	}
	// Ready says why it is not, beside the condition that says more.
	notReady := func(c metav1.Condition) []metav1.Condition {
		out := []metav1.Condition{condition(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, c.Reason, c.Message, gen), c}
		if synced != nil {
			out = append(out, *synced)
		}
		return out
	}
	if reason, msg := managementStalled(room); reason != "" {
		return notReady(condition(chatv1alpha1.StalledCondition, metav1.ConditionTrue, reason, msg, gen))
	}
	if reason, msg := managementReconciling(room); reason != "" {
		return notReady(condition(chatv1alpha1.ReconcilingCondition, metav1.ConditionTrue, reason, msg, gen))
	}
	// A room not seen yet (or destroyed) waits on Tencent, as a mirror does.
	if synced != nil && synced.Status != metav1.ConditionTrue && observed(room) {
		ready := condition(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, synced.Reason, synced.Message, gen)
		return []metav1.Condition{ready, *synced}
	}
	return conds
}

// syncedCondition says whether the room matches spec.settings.
func syncedCondition(room *chatv1alpha1.Room) metav1.Condition {
	gen := room.Generation
	if !observed(room) {
		return condition(chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.RoomNotObservedReason,
			"The room has not been read from Tencent or called back yet, or it does not exist", gen)
	}
	diff := diffSettings(room.Spec.Settings, &room.Status)
	if diff.empty() {
		return condition(chatv1alpha1.SyncedCondition, metav1.ConditionTrue, chatv1alpha1.SettingsMatchReason,
			"The room matches spec.settings", gen)
	}
	msg := "The room differs from spec.settings in " + diff.String()
	if room.Spec.Allows(chatv1alpha1.ManagementUpdate) && len(diff.updatable) > 0 {
		if m := room.Status.Management; m != nil && m.ObservedGeneration == gen && m.LastUpdateTime != nil {
			return condition(chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.DriftRevertPendingReason,
				msg+": it was changed in the app, and roomsync changes it back at most once per resyncInterval (last at "+
					m.LastUpdateTime.UTC().Format(time.RFC3339)+")", gen)
		}
	}
	if !room.Spec.Allows(chatv1alpha1.ManagementUpdate) {
		msg += " (the Room does not have the Update policy, so roomsync changes nothing)"
	}
	return condition(chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.SettingsDifferReason, msg, gen)
}

// managementStalled returns why a managing Room needs a human, if it does.
func managementStalled(room *chatv1alpha1.Room) (reason, message string) {
	if f := stalledFailure(room); f != nil && f.ObservedGeneration == room.Generation {
		return f.Reason, f.Message
	}
	m := room.Status.Management
	if room.Spec.Allows(chatv1alpha1.ManagementCreate) && m != nil && (m.CreatedTime != nil || m.AdoptedTime != nil) &&
		room.Status.Phase == chatv1alpha1.RoomPhaseDestroyed {
		msg := describe(room) + " was destroyed in the app"
		if d := room.Status.Destroyed; d != nil {
			msg += " at " + d.Time.UTC().Format(time.RFC3339)
			if d.Operator != "" {
				msg += " by " + d.Operator
			}
		}
		return chatv1alpha1.RoomDestroyedInAppReason, msg + "; roomsync does not create it again by itself: delete this Room and apply it again to have it created"
	}
	if observed(room) {
		if diff := diffSettings(room.Spec.Settings, &room.Status); len(diff.createOnly) > 0 {
			return chatv1alpha1.CreateOnlySettingDiffersReason, "The room differs from spec.settings in " + strings.Join(diff.createOnly, ", ") +
				", which update_room_info cannot change: set them to the room's values (see status), or destroy the room and let this Room create it"
		}
	}
	return "", ""
}

// managementReconciling returns what roomsync is working on for a managing
// Room, if anything.
func managementReconciling(room *chatv1alpha1.Room) (reason, message string) {
	m := room.Status.Management
	var retrying string
	if m != nil && m.Failure != nil && !stallingReasons[m.Failure.Reason] {
		retrying = "; the last attempt failed and is tried again: " + m.Failure.Message
	}
	if awaitsCreation(room) {
		return chatv1alpha1.CreatingReason, "Creating " + describe(room) + " in Tencent" + retrying
	}
	if !room.Spec.Allows(chatv1alpha1.ManagementUpdate) || !observed(room) {
		return "", ""
	}
	generation := int64(0)
	if m != nil {
		generation = m.ObservedGeneration
	}
	if diff := diffSettings(room.Spec.Settings, &room.Status); len(diff.updatable) > 0 && generation != room.Generation {
		return chatv1alpha1.UpdatingReason, "Updating " + describe(room) + " to spec.settings: " + strings.Join(diff.updatable, ", ") + retrying
	}
	if retrying != "" {
		return chatv1alpha1.UpdatingReason, "Bringing " + describe(room) + " to spec.settings" + retrying
	}
	return "", ""
}
