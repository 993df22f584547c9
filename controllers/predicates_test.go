package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/event"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

func TestRoomPredicatesPassOnlyWhatTheControllersDecideFrom(t *testing.T) {
	base := func() *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{}
		r.Generation = 1
		r.Status.Phase = chatv1alpha1.RoomPhaseActive
		r.Status.LastEventTime = 10
		r.Status.RoomName = "Weekly"
		r.Status.CloudRecordingDisabled = ptr.To(true)
		return r
	}
	for _, tc := range []struct {
		name                 string
		change               func(*chatv1alpha1.Room)
		conditions, recorder bool
	}{
		{"a callback renames the room", func(r *chatv1alpha1.Room) { r.Status.RoomName = "Daily"; r.Status.LastEventTime = 20 }, false, false},
		{"members come and go", func(r *chatv1alpha1.Room) { r.Status.MemberCount = ptr.To[int64](3) }, false, false},
		{"the first room info", func(r *chatv1alpha1.Room) { r.Status.LastEventTime = 0 }, true, false},
		{"destroyed", func(r *chatv1alpha1.Room) {
			r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
			r.Status.Destroyed = &chatv1alpha1.RoomDestroy{EventTime: 30}
		}, true, true},
		{"recording enabled", func(r *chatv1alpha1.Room) {
			r.Status.CloudRecordingDisabled = ptr.To(false)
			r.Status.CloudRecordingEnabledTime = 20
		}, false, true},
		{"the spec changed", func(r *chatv1alpha1.Room) { r.Generation = 2 }, true, true},
		{"being deleted", func(r *chatv1alpha1.Room) { now := metav1.Now(); r.DeletionTimestamp = &now }, true, true},
		{"a condition changed", func(r *chatv1alpha1.Room) {
			r.Status.Conditions = []metav1.Condition{{Type: chatv1alpha1.ReadyCondition, Status: metav1.ConditionTrue}}
		}, true, true},
		{"the recording status changed", func(r *chatv1alpha1.Room) { r.Status.Recording = &chatv1alpha1.RoomRecording{Sessions: 1} }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, cur := base(), base()
			tc.change(cur)
			e := event.UpdateEvent{ObjectOld: old, ObjectNew: cur}
			if got := roomConditionsInputsChanged.Update(e); got != tc.conditions {
				t.Errorf("Room controller reconciles: %v, want %v", got, tc.conditions)
			}
			if got := recordingInputsChanged.Update(e); got != tc.recorder {
				t.Errorf("recording controller reconciles: %v, want %v", got, tc.recorder)
			}
		})
	}
}
