package controllers

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

var (
	t0       = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	interval = 10 * time.Minute
)

// managed is a Room with policies and settings whose room is mirrored as
// "Before" (a live room) unless changed.
func managed(policies []chatv1alpha1.ManagementPolicy, settings *chatv1alpha1.RoomSettings, m *chatv1alpha1.RoomManagement) *chatv1alpha1.Room {
	return &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Name: "r", UID: "r", Generation: 2},
		Spec:       chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: "r", ManagementPolicies: policies, Settings: settings},
		Status: chatv1alpha1.RoomStatus{
			ObservedGeneration: 2, Phase: chatv1alpha1.RoomPhaseActive, LastEventTime: 1000,
			RoomName: "Before", RoomType: "Conference", OwnerAccount: "host", MaxMemberCount: 300,
			Management: m,
		},
	}
}

func at(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }

func TestPlanManagement(t *testing.T) {
	all := []chatv1alpha1.ManagementPolicy{"*"}
	update := []chatv1alpha1.ManagementPolicy{"Observe", "Update"}
	named := &chatv1alpha1.RoomSettings{RoomName: ptr.To("After")}
	matching := &chatv1alpha1.RoomSettings{RoomName: ptr.To("Before")}
	created := func(observedGen int64, lastUpdate *metav1.Time) *chatv1alpha1.RoomManagement {
		return &chatv1alpha1.RoomManagement{CreatedTime: at(t0.Add(-time.Hour)), ObservedGeneration: observedGen, LastUpdateTime: lastUpdate}
	}
	for _, tc := range []struct {
		name  string
		room  *chatv1alpha1.Room
		want  managementAction
		drift bool
		after time.Duration
	}{
		{name: "observe only", room: managed(nil, named, nil), want: actNothing},
		{name: "delete only", room: managed([]chatv1alpha1.ManagementPolicy{"Observe", "Delete"}, named, nil), want: actNothing},
		{name: "create, never tried", room: managed(all, named, nil), want: actCreate},
		{name: "create asked, not confirmed", room: managed(all, named, &chatv1alpha1.RoomManagement{CreateRequestedTime: at(t0)}), want: actCreate},
		{name: "created, matching", room: managed(all, matching, created(2, nil)), want: actNothing},
		{name: "created, spec changed", room: managed(all, named, created(1, at(t0))), want: actUpdate},
		{name: "created, changed in the app, never reverted", room: managed(all, named, created(2, nil)), want: actUpdate, drift: true},
		{name: "changed in the app within the interval", room: managed(all, named, created(2, at(t0.Add(-time.Minute)))), want: actWait, after: 9*time.Minute + time.Second},
		{name: "changed in the app after the interval", room: managed(all, named, created(2, at(t0.Add(-interval-time.Second)))), want: actUpdate, drift: true},
		{name: "spec changed to what the room has", room: managed(all, matching, created(1, nil)), want: actObserved},
		{name: "update only, room not seen yet", room: func() *chatv1alpha1.Room {
			r := managed(update, named, nil)
			r.Status.Phase, r.Status.LastEventTime = "", 0
			return r
		}(), want: actNothing},
		{name: "update only, existing room", room: managed(update, named, nil), want: actUpdate},
		{name: "created and destroyed in the app", room: func() *chatv1alpha1.Room {
			r := managed(all, named, created(2, nil))
			r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
			return r
		}(), want: actNothing},
		{name: "stalled at this generation", room: managed(all, named, &chatv1alpha1.RoomManagement{Failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.RoomAlreadyExistsReason, Time: metav1.Time{Time: t0.Add(-time.Minute)}, ObservedGeneration: 2}}), want: actWait, after: 9 * time.Minute},
		{name: "stalled at an older generation", room: managed(all, named, &chatv1alpha1.RoomManagement{Failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.RoomAlreadyExistsReason, Time: metav1.Time{Time: t0.Add(-time.Minute)}, ObservedGeneration: 1}}), want: actCreate},
		{name: "stalled long ago", room: managed(all, named, &chatv1alpha1.RoomManagement{Failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.TencentRejectedReason, Time: metav1.Time{Time: t0.Add(-interval)}, ObservedGeneration: 2}}), want: actCreate},
		{name: "unavailable: tried again at once", room: managed(all, named, &chatv1alpha1.RoomManagement{Failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.TencentUnavailableReason, Time: metav1.Time{Time: t0}, ObservedGeneration: 2}}), want: actCreate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planManagement(tc.room, interval, t0)
			if got.action != tc.want || got.drift != tc.drift || got.after != tc.after {
				t.Fatalf("plan %+v, want %s (drift %v, after %s)", got, tc.want, tc.drift, tc.after)
			}
		})
	}
}

func TestDiffSettings(t *testing.T) {
	st := &chatv1alpha1.RoomStatus{RoomName: "Board", RoomType: "Conference", MaxMemberCount: 50,
		VideoDisabled: ptr.To(false), CustomInfo: ""}
	for _, tc := range []struct {
		name                  string
		settings              *chatv1alpha1.RoomSettings
		updatable, createOnly string
	}{
		{name: "none declared", settings: nil},
		{name: "matching", settings: &chatv1alpha1.RoomSettings{RoomName: ptr.To("Board"), MaxMemberCount: ptr.To[int64](50), VideoDisabled: ptr.To(false), CustomInfo: ptr.To("")}},
		{name: "updatable differ", settings: &chatv1alpha1.RoomSettings{RoomName: ptr.To("Other"), VideoDisabled: ptr.To(true), CustomInfo: ptr.To("x")},
			updatable: "roomName,videoDisabled,customInfo"},
		{name: "unknown is different", settings: &chatv1alpha1.RoomSettings{AudioDisabled: ptr.To(false)}, updatable: "audioDisabled"},
		{name: "create-only differ", settings: &chatv1alpha1.RoomSettings{RoomType: ptr.To("Live"), OwnerAccount: ptr.To("x"), MaxSeatCount: ptr.To[int64](4)},
			createOnly: "roomType,ownerAccount,maxSeatCount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := diffSettings(tc.settings, st)
			if got := strings.Join(d.updatable, ","); got != tc.updatable {
				t.Errorf("updatable %q, want %q", got, tc.updatable)
			}
			if got := strings.Join(d.createOnly, ","); got != tc.createOnly {
				t.Errorf("create-only %q, want %q", got, tc.createOnly)
			}
		})
	}
	// Every updatable setting goes into update_room_info; no create-only one.
	full := &chatv1alpha1.RoomSettings{RoomName: ptr.To("n"), MaxMemberCount: ptr.To[int64](1), TakeSeatMode: ptr.To("FreeToTake"),
		VideoDisabled: ptr.To(true), AudioDisabled: ptr.To(true), MessageDisabled: ptr.To(true), ScreenSharingDisabled: ptr.To(true),
		CloudRecordingDisabled: ptr.To(true), CustomInfo: ptr.To("c"), RoomType: ptr.To("Conference")}
	u := updateRequest("r", full)
	if u.RoomName == nil || u.MaxMemberCount == nil || u.TakeSeatMode == nil || u.IsVideoDisabled == nil || u.IsAudioDisabled == nil ||
		u.IsMessageDisabled == nil || u.IsScreenSharingDisabled == nil || u.IsCloudRecordingDisabled == nil || u.CustomInfo == nil {
		t.Errorf("update request %+v lacks a declared updatable setting", u)
	}
}

// roomHealth is what kstatus makes of the conditions roomConditions gives.
func roomHealth(t *testing.T, room *chatv1alpha1.Room) kstatus.Status {
	t.Helper()
	room = room.DeepCopy()
	room.Status.Conditions = roomConditions(room, room)
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(room)
	if err != nil {
		t.Fatal(err)
	}
	res, err := kstatus.Compute(&unstructured.Unstructured{Object: raw})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

func TestManagedRoomConditions(t *testing.T) {
	all := []chatv1alpha1.ManagementPolicy{"*"}
	named := &chatv1alpha1.RoomSettings{RoomName: ptr.To("After")}
	matching := &chatv1alpha1.RoomSettings{RoomName: ptr.To("Before")}
	created := &chatv1alpha1.RoomManagement{CreatedTime: at(t0), ObservedGeneration: 2}
	for _, tc := range []struct {
		name                  string
		room                  *chatv1alpha1.Room
		ready, synced, reason string // condition statuses ("" absent) and Ready's reason
		stalled, reconciling  bool
		health                kstatus.Status
	}{
		{name: "mirror only", room: managed(nil, nil, nil), ready: "True", reason: chatv1alpha1.RoomInfoReceivedReason, health: kstatus.CurrentStatus},
		{name: "observe with settings that differ: shown, not acted on", room: managed(nil, named, nil),
			ready: "True", synced: "False", reason: chatv1alpha1.RoomInfoReceivedReason, health: kstatus.CurrentStatus},
		{name: "being created", room: func() *chatv1alpha1.Room {
			r := managed(all, named, nil)
			r.Status = chatv1alpha1.RoomStatus{ObservedGeneration: 2}
			return r
		}(), ready: "False", synced: "False", reason: chatv1alpha1.CreatingReason, reconciling: true, health: kstatus.InProgressStatus},
		{name: "created and synced", room: managed(all, matching, created), ready: "True", synced: "True", reason: chatv1alpha1.RoomInfoReceivedReason, health: kstatus.CurrentStatus},
		{name: "spec changed, updating", room: func() *chatv1alpha1.Room {
			r := managed(all, named, created.DeepCopy())
			r.Generation = 3
			r.Status.ObservedGeneration = 3
			return r
		}(), ready: "False", synced: "False", reason: chatv1alpha1.UpdatingReason, reconciling: true, health: kstatus.InProgressStatus},
		{name: "changed in the app, revert pending", room: managed(all, named, &chatv1alpha1.RoomManagement{CreatedTime: at(t0), ObservedGeneration: 2, LastUpdateTime: at(t0)}),
			ready: "False", synced: "False", reason: chatv1alpha1.DriftRevertPendingReason, health: kstatus.InProgressStatus},
		{name: "exists, not adopted", room: managed(all, named, &chatv1alpha1.RoomManagement{Failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.RoomAlreadyExistsReason, Message: "exists", ObservedGeneration: 2}}),
			ready: "False", synced: "False", reason: chatv1alpha1.RoomAlreadyExistsReason, stalled: true, health: kstatus.FailedStatus},
		{name: "create-only setting differs", room: managed(all, &chatv1alpha1.RoomSettings{OwnerAccount: ptr.To("someone")}, created),
			ready: "False", synced: "False", reason: chatv1alpha1.CreateOnlySettingDiffersReason, stalled: true, health: kstatus.FailedStatus},
		{name: "created, then destroyed in the app", room: func() *chatv1alpha1.Room {
			r := managed(all, matching, created)
			r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
			r.Status.Destroyed = &chatv1alpha1.RoomDestroy{Time: metav1.Time{Time: t0}, Operator: "alice"}
			return r
		}(), ready: "False", synced: "False", reason: chatv1alpha1.RoomDestroyedInAppReason, stalled: true, health: kstatus.FailedStatus},
		{name: "Tencent unavailable: retrying", room: func() *chatv1alpha1.Room {
			r := managed(all, named, &chatv1alpha1.RoomManagement{Failure: &chatv1alpha1.ManagementFailure{
				Reason: chatv1alpha1.TencentUnavailableReason, Message: "connection refused", ObservedGeneration: 2}})
			return r
		}(), ready: "False", synced: "False", reason: chatv1alpha1.CreatingReason, reconciling: true, health: kstatus.InProgressStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conds := roomConditions(tc.room, tc.room)
			status := func(condType string) string {
				if c := meta.FindStatusCondition(conds, condType); c != nil {
					return string(c.Status)
				}
				return ""
			}
			if status(chatv1alpha1.ReadyCondition) != tc.ready || status(chatv1alpha1.SyncedCondition) != tc.synced {
				t.Errorf("Ready %q Synced %q, want %q %q: %+v", status(chatv1alpha1.ReadyCondition), status(chatv1alpha1.SyncedCondition), tc.ready, tc.synced, conds)
			}
			if r := meta.FindStatusCondition(conds, chatv1alpha1.ReadyCondition); r == nil || r.Reason != tc.reason {
				t.Errorf("Ready %+v, want reason %s", r, tc.reason)
			}
			if got := status(chatv1alpha1.StalledCondition) == "True"; got != tc.stalled {
				t.Errorf("Stalled %v, want %v", got, tc.stalled)
			}
			if got := status(chatv1alpha1.ReconcilingCondition) == "True"; got != tc.reconciling {
				t.Errorf("Reconciling %v, want %v", got, tc.reconciling)
			}
			if got := roomHealth(t, tc.room); got != tc.health {
				t.Errorf("kstatus %s, want %s", got, tc.health)
			}
		})
	}
}

func TestPlanDelete(t *testing.T) {
	all := []chatv1alpha1.ManagementPolicy{"*"}
	observeDelete := []chatv1alpha1.ManagementPolicy{"Observe", "Delete"}
	created := &chatv1alpha1.RoomManagement{CreatedTime: at(t0)}
	// claimant is a Room named name, created at, declaring roomID "r" of
	// sdkAppID 1 in namespace "ns".
	claimant := func(name string, created time.Time, policies []chatv1alpha1.ManagementPolicy, m *chatv1alpha1.RoomManagement) *chatv1alpha1.Room {
		r := managed(policies, nil, m)
		r.Namespace, r.Name, r.UID, r.CreationTimestamp = "ns", name, types.UID(name), metav1.Time{Time: created}
		return r
	}
	deleted := func(r *chatv1alpha1.Room) *chatv1alpha1.Room {
		r.DeletionTimestamp = at(t0.Add(time.Hour))
		return r
	}
	duplicate := func(r *chatv1alpha1.Room) *chatv1alpha1.Room {
		r.Status.Conditions = []metav1.Condition{
			{Type: chatv1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: chatv1alpha1.DuplicateRoomIDReason},
			{Type: chatv1alpha1.StalledCondition, Status: metav1.ConditionTrue, Reason: chatv1alpha1.DuplicateRoomIDReason},
		}
		return r
	}
	older := claimant("a-holder", t0, all, created)
	for _, tc := range []struct {
		name      string
		room      *chatv1alpha1.Room
		claimants []*chatv1alpha1.Room // besides room
		unlisted  bool                 // the API server's list lacks room itself
		want      deleteAction
		holder    string // the holder named, with delNotHolder
	}{
		{name: "only claimant, created it", room: claimant("b", t0, all, created), want: delDestroy},
		{name: "only claimant, not in the list any more", room: claimant("b", t0, observeDelete, nil), unlisted: true, want: delDestroy},
		{name: "Delete taken out", room: claimant("b", t0, []chatv1alpha1.ManagementPolicy{"Observe", "Create"}, created), want: delLeave},
		{name: "Create, neither created nor adopted", room: claimant("b", t0, all, nil), want: delOrphan},
		{name: "adopted", room: claimant("b", t0, all, &chatv1alpha1.RoomManagement{AdoptedTime: at(t0)}), want: delDestroy},
		{name: "older live claimant: a duplicate", room: duplicate(claimant("b", t0.Add(time.Minute), observeDelete, nil)),
			claimants: []*chatv1alpha1.Room{older}, want: delNotHolder, holder: "a-holder"},
		{name: "older live claimant, status not written yet", room: claimant("b", t0.Add(time.Minute), observeDelete, nil),
			claimants: []*chatv1alpha1.Room{older}, want: delNotHolder, holder: "a-holder"},
		{name: "as old, name sorts after", room: claimant("b", t0, observeDelete, nil),
			claimants: []*chatv1alpha1.Room{older}, want: delNotHolder, holder: "a-holder"},
		{name: "the holder, with a younger duplicate", room: older,
			claimants: []*chatv1alpha1.Room{duplicate(claimant("b", t0.Add(time.Minute), observeDelete, nil))}, want: delDestroy},
		{name: "the holder, deleted with its duplicate", room: deleted(claimant("a-holder", t0, all, created)),
			claimants: []*chatv1alpha1.Room{deleted(duplicate(claimant("b", t0.Add(time.Minute), observeDelete, nil)))}, want: delDestroy},
		{name: "a duplicate deleted with its holder", room: deleted(duplicate(claimant("b", t0.Add(time.Minute), observeDelete, nil))),
			claimants: []*chatv1alpha1.Room{deleted(claimant("a-holder", t0, all, created))}, want: delNotHolder},
		{name: "a duplicate whose holder is already gone", room: deleted(duplicate(claimant("b", t0.Add(time.Minute), observeDelete, nil))),
			want: delNotHolder},
		{name: "held since the older one went", room: claimant("b", t0.Add(time.Minute), observeDelete, nil),
			claimants: []*chatv1alpha1.Room{deleted(claimant("a-holder", t0, all, created))}, want: delDestroy},
		{name: "older Room of another sdkAppID", room: claimant("b", t0.Add(time.Minute), observeDelete, nil),
			claimants: []*chatv1alpha1.Room{func() *chatv1alpha1.Room { r := claimant("a", t0, all, created); r.Spec.SDKAppID = 2; return r }()}, want: delDestroy},
		{name: "older Room of another roomID", room: claimant("b", t0.Add(time.Minute), observeDelete, nil),
			claimants: []*chatv1alpha1.Room{func() *chatv1alpha1.Room { r := claimant("a", t0, all, created); r.Spec.RoomID = "other"; return r }()}, want: delDestroy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var claimants []chatv1alpha1.Room
			if !tc.unlisted {
				claimants = append(claimants, *tc.room)
			}
			for _, c := range tc.claimants {
				claimants = append(claimants, *c)
			}
			got := planDelete(tc.room, claimants)
			holder := ""
			if got.holder != nil {
				holder = got.holder.Name
			}
			if got.action != tc.want || holder != tc.holder {
				t.Fatalf("plan %s (holder %q), want %s (holder %q)", got.action, holder, tc.want, tc.holder)
			}
		})
	}
}
