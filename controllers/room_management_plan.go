package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// managementAction is what the management controller does next for a Room.
type managementAction string

const (
	// actNothing: Tencent is as declared, or nothing is managed.
	actNothing managementAction = "Nothing"
	// actCreate: find out whether the room exists; create it when it does
	// not, adopt it or refuse when it does.
	actCreate managementAction = "Create"
	// actUpdate: call update_room_info with the declared settings.
	actUpdate managementAction = "Update"
	// actWait: something is to do, but not before after (a drift revert
	// within resyncInterval of the last, or a Stalled failure).
	actWait managementAction = "Wait"
	// actObserved: the spec's settings already hold; record the generation.
	actObserved managementAction = "Observed"
)

// managementStep is the decision of planManagement.
type managementStep struct {
	action managementAction
	// drift: an Update reverts a change made in the app, rather than
	// bringing the room to a changed spec.
	drift bool
	// after is how long an actWait waits.
	after time.Duration
}

// stallingReasons are the failure reasons that need a human: the same call
// would fail again.
var stallingReasons = map[string]bool{
	chatv1alpha1.RoomAlreadyExistsReason:          true,
	chatv1alpha1.TencentRejectedReason:            true,
	chatv1alpha1.RESTAPINotConfiguredReason:       true,
	chatv1alpha1.RESTAPICredentialsRejectedReason: true,
	chatv1alpha1.SecretKeyNotFoundReason:          true,
}

// stalledFailure returns the Room's failure when it needs a human.
func stalledFailure(room *chatv1alpha1.Room) *chatv1alpha1.ManagementFailure {
	if m := room.Status.Management; m != nil && m.Failure != nil && stallingReasons[m.Failure.Reason] {
		return m.Failure
	}
	return nil
}

// ownsRoom reports whether the room in Tencent is this Room's own: it
// created it (or asked to: the answer may have been lost) or adopted it.
func ownsRoom(m *chatv1alpha1.RoomManagement) bool {
	return m != nil && (m.CreateRequestedTime != nil || m.CreatedTime != nil || m.AdoptedTime != nil)
}

// observed reports whether the Room mirrors a live room.
func observed(room *chatv1alpha1.Room) bool {
	return room.Status.Phase == chatv1alpha1.RoomPhaseActive && room.Status.LastEventTime > 0
}

// planManagement decides what to do for a Room that is not being deleted,
// from the Room alone: its policies and settings, what it mirrors of the
// room, and what roomsync did before (status.management). interval is its
// ChatApp's resyncInterval: a change made in the app is reverted at most
// once per interval, and a Stalled failure is tried again after one
// (sooner when the spec changes).
func planManagement(room *chatv1alpha1.Room, interval time.Duration, now time.Time) managementStep {
	spec, m := room.Spec, room.Status.Management
	if !spec.Allows(chatv1alpha1.ManagementCreate) && !spec.Allows(chatv1alpha1.ManagementUpdate) {
		return managementStep{action: actNothing}
	}
	if f := stalledFailure(room); f != nil && f.ObservedGeneration == room.Generation {
		if wait := f.Time.Add(interval).Sub(now); wait > 0 {
			return managementStep{action: actWait, after: wait}
		}
	}
	if spec.Allows(chatv1alpha1.ManagementCreate) {
		switch {
		case m != nil && (m.CreatedTime != nil || m.AdoptedTime != nil):
			// Ours. Destroyed in the app: not created again by itself.
			if room.Status.Phase == chatv1alpha1.RoomPhaseDestroyed {
				return managementStep{action: actNothing}
			}
		default:
			// Never created, or asked to and not confirmed.
			return managementStep{action: actCreate}
		}
	}
	if !spec.Allows(chatv1alpha1.ManagementUpdate) || !observed(room) {
		// Nothing to update yet: the room has not been seen, or it is gone.
		return managementStep{action: actNothing}
	}
	diff := diffSettings(spec.Settings, &room.Status)
	generation := int64(0)
	if m != nil {
		generation = m.ObservedGeneration
	}
	switch {
	case len(diff.updatable) == 0 && generation == room.Generation:
		return managementStep{action: actNothing}
	case len(diff.updatable) == 0:
		return managementStep{action: actObserved}
	case generation != room.Generation:
		return managementStep{action: actUpdate}
	}
	// Changed in the app: revert, at most once per interval, counted from
	// the end of the second of the last update (status times are whole
	// seconds).
	if m != nil && m.LastUpdateTime != nil {
		if wait := m.LastUpdateTime.Add(time.Second + interval).Sub(now); wait > 0 {
			return managementStep{action: actWait, after: wait}
		}
	}
	return managementStep{action: actUpdate, drift: true}
}

// awaitsCreation reports whether room has the Create policy and its room is
// not yet known to be its own.
func awaitsCreation(room *chatv1alpha1.Room) bool {
	m := room.Status.Management
	return room.Spec.Allows(chatv1alpha1.ManagementCreate) && (m == nil || (m.CreatedTime == nil && m.AdoptedTime == nil))
}

// deleteAction is what the management controller does for a Room being
// deleted that has the destroy-room finalizer, before it removes it.
type deleteAction string

const (
	// delLeave: Delete was taken out of the policies; the room is left.
	delLeave deleteAction = "Leave"
	// delNotHolder: the Room does not hold its roomID, so it never acted on
	// the room and does not now: the room is left, with an Event.
	delNotHolder deleteAction = "NotHolder"
	// delOrphan: a Room with Create that neither created nor adopted the
	// room leaves it, with an Event.
	delOrphan deleteAction = "Orphan"
	// delDestroy: call destroy_room.
	delDestroy deleteAction = "Destroy"
)

// deleteStep is the decision of planDelete.
type deleteStep struct {
	action deleteAction
	// holder, with delNotHolder, is the older live Room that holds the
	// roomID; nil when there is none and the Room was a duplicate when it
	// was deleted.
	holder *chatv1alpha1.Room
}

// planDelete decides what to do for room, being deleted with the
// destroy-room finalizer, from the Room and claimants: the Rooms of its
// namespace that declare the same roomID, as the API server has them now
// (room itself may be among them; Rooms of another sdkAppID are ignored).
//
// A Room being deleted destroys the room only if it holds the roomID, by the
// rule of lookup.Rooms at this moment: no live claimant is older. Claimants
// being deleted do not count, as they do not for lookup.Rooms: once one is
// deleted the next live one holds the roomID, acts on the room and keeps
// the finalizer for it. And a Room whose status says it is a duplicate
// (Stalled, DuplicateRoomID) does not hold it, even when no older claimant
// is left: the Room controller does not touch a Room being deleted, so that
// is what the Room was when it was deleted; this covers a duplicate deleted
// together with its holder (a whole namespace, say), whichever goes first.
func planDelete(room *chatv1alpha1.Room, claimants []chatv1alpha1.Room) deleteStep {
	if !room.Spec.Allows(chatv1alpha1.ManagementDelete) {
		return deleteStep{action: delLeave}
	}
	if holder := holderAtDeletion(room, claimants); holder != nil {
		return deleteStep{action: delNotHolder, holder: holder}
	}
	if c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.StalledCondition); c != nil &&
		c.Status == metav1.ConditionTrue && c.Reason == chatv1alpha1.DuplicateRoomIDReason {
		return deleteStep{action: delNotHolder}
	}
	if room.Spec.Allows(chatv1alpha1.ManagementCreate) && !ownsRoom(room.Status.Management) {
		return deleteStep{action: delOrphan}
	}
	return deleteStep{action: delDestroy}
}

// holderAtDeletion returns the live claimant that holds room's roomID
// instead of room (the oldest, in lookup.SortByAge's order), or nil when
// room is older than every live claimant.
func holderAtDeletion(room *chatv1alpha1.Room, claimants []chatv1alpha1.Room) *chatv1alpha1.Room {
	rooms := []*chatv1alpha1.Room{room}
	for i := range claimants {
		c := &claimants[i]
		if c.UID != room.UID && c.DeletionTimestamp.IsZero() &&
			c.Namespace == room.Namespace && c.Spec.SDKAppID == room.Spec.SDKAppID && c.Spec.RoomID == room.Spec.RoomID {
			rooms = append(rooms, c)
		}
	}
	lookup.SortByAge(rooms)
	if rooms[0] == room {
		return nil
	}
	return rooms[0]
}
