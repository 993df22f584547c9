package controllers_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

// managedApp is a ChatApp whose REST API is f, with the given resync
// interval.
func managedApp(t *testing.T, f *tencenttest.Server, sdkAppID int64, interval time.Duration) *chatv1alpha1.ChatApp {
	t.Helper()
	return resyncApp(t, f, sdkAppID, fakeKey, func(s *chatv1alpha1.RestAPISpec) {
		s.ResyncInterval = &metav1.Duration{Duration: interval}
	})
}

// declare creates a Room of app for roomID with the policies and settings.
func declare(t *testing.T, app *chatv1alpha1.ChatApp, name, roomID string, settings *chatv1alpha1.RoomSettings, policies ...chatv1alpha1.ManagementPolicy) *chatv1alpha1.Room {
	t.Helper()
	room := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: name},
		Spec: chatv1alpha1.RoomSpec{SDKAppID: app.Spec.SDKAppID, RoomID: roomID,
			ManagementPolicies: policies, Settings: settings},
	}
	if err := env.Client.Create(context.Background(), room); err != nil {
		t.Fatal(err)
	}
	return room
}

func conditionIs(conds []metav1.Condition, condType string, status metav1.ConditionStatus, reason string) bool {
	c := meta.FindStatusCondition(conds, condType)
	return c != nil && c.Status == status && (reason == "" || c.Reason == reason)
}

// calls returns the commands the fake received about roomID, in order.
func calls(f *tencenttest.Server, roomID string) []string {
	var out []string
	for _, r := range f.Requests(roomID) {
		out = append(out, r.Command)
	}
	return out
}

func count(commands []string, command string) int {
	n := 0
	for _, c := range commands {
		if c == command {
			n++
		}
	}
	return n
}

// asTheApp is a REST API client of the app that is not roomsync: a change
// made with it is a change made in the app.
func asTheApp(f *tencenttest.Server, sdkAppID int64) *tencent.RESTClient {
	sigs := &tencent.UserSigCache{SDKAppID: sdkAppID, Key: fakeKey, Identifier: fakeAdmin, Lifetime: time.Hour, Now: time.Now}
	return &tencent.RESTClient{Endpoint: f.URL, SDKAppID: sdkAppID, Identifier: fakeAdmin, UserSig: sigs.Get, HTTP: http.DefaultClient}
}

func TestDeclaredRoomIsCreatedAndSynced(t *testing.T) {
	f, id := newFake(t)
	app := managedApp(t, f, id, time.Hour)
	room := declare(t, app, "board", "board-2026", &chatv1alpha1.RoomSettings{
		RoomName: ptr.To("Board meeting"), MaxMemberCount: ptr.To[int64](50), CloudRecordingDisabled: ptr.To(true),
	}, "*")
	eventually(t, room, "the Room is Ready and Synced", func() bool {
		return conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "") &&
			conditionIs(room.Status.Conditions, chatv1alpha1.SyncedCondition, metav1.ConditionTrue, chatv1alpha1.SettingsMatchReason) &&
			room.Status.ObservedGeneration == room.Generation
	})
	if got := health(t, room).Status; got != kstatus.CurrentStatus {
		t.Errorf("kstatus %s, want Current", got)
	}
	info, ok := f.Room("board-2026")
	if !ok || info["RoomName"] != "Board meeting" || info["MaxMemberCount"] != float64(50) || info["IsCloudRecordingDisabled"] != true {
		t.Errorf("room in Tencent %v (exists %v), want it created with the settings", info, ok)
	}
	m := room.Status.Management
	if m == nil || m.CreateRequestedTime == nil || m.CreatedTime == nil || m.CreateRequestedTime.After(m.CreatedTime.Time) {
		t.Errorf("status.management %+v, want the intent recorded, then the creation", m)
	}
	// Checked, then created, then confirmed: the callback may never come.
	got := calls(f, "board-2026")
	if i := slices.Index(got, tencent.CommandCreateRoom); i < 1 || got[i-1] != tencent.CommandGetRoomInfo || len(got) < i+2 || got[i+1] != tencent.CommandGetRoomInfo {
		t.Errorf("calls %v, want get_room_info, create_room, get_room_info", got)
	}
	if count(got, tencent.CommandCreateRoom) != 1 {
		t.Errorf("calls %v, want one create_room", got)
	}
	if room.Status.RoomName != "Board meeting" || room.Status.Phase != chatv1alpha1.RoomPhaseActive {
		t.Errorf("status %+v, want the created room mirrored", room.Status)
	}
	if !slices.Contains(room.Finalizers, chatv1alpha1.DestroyRoomFinalizer) {
		t.Errorf("finalizers %v, want %s for the Delete policy", room.Finalizers, chatv1alpha1.DestroyRoomFinalizer)
	}
	waitForEvent(t, app.Namespace, room.Name, chatv1alpha1.RoomCreatedEvent)
}

func TestChangeInTheAppIsRevertedOncePerInterval(t *testing.T) {
	f, id := newFake(t)
	interval := 3 * time.Second
	app := managedApp(t, f, id, interval)
	room := declare(t, app, "kept", "kept", &chatv1alpha1.RoomSettings{RoomName: ptr.To("Kept")}, "Observe", "Create", "Update")
	eventually(t, room, "the room is created", func() bool {
		return conditionIs(room.Status.Conditions, chatv1alpha1.SyncedCondition, metav1.ConditionTrue, "")
	})

	// Someone renames it in the app; the callback reaches the cluster.
	renamed := func(name string) {
		t.Helper()
		if err := asTheApp(f, id).UpdateRoomInfo(context.Background(), tencent.RoomUpdate{RoomID: "kept", RoomName: &name}); err != nil {
			t.Fatal(err)
		}
		callback(t, app, "kept", time.Now().UnixMilli(), name)
	}
	updates := func() int { return count(calls(f, "kept"), tencent.CommandUpdateRoom) }
	before := updates() // the app's own
	renamed("Renamed in the app")
	eventually(t, room, "the change is reverted", func() bool {
		info, _ := f.Room("kept")
		return info["RoomName"] == "Kept" && room.Status.RoomName == "Kept"
	})
	if got := updates() - before; got != 2 { // the app's and roomsync's
		t.Errorf("%d update_room_info calls, want the app's and one of roomsync's", got)
	}
	waitForEvent(t, app.Namespace, room.Name, chatv1alpha1.DriftRevertedEvent)

	// Again at once: not fought over until the interval has passed.
	renamed("Renamed again")
	eventually(t, room, "the Room shows the revert is pending", func() bool {
		return conditionIs(room.Status.Conditions, chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.DriftRevertPendingReason) &&
			conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionFalse, "")
	})
	eventually(t, room, "the second change is reverted after the interval", func() bool {
		info, _ := f.Room("kept")
		return info["RoomName"] == "Kept" && room.Status.RoomName == "Kept"
	})
	var at []time.Time // update_room_info: the app's, roomsync's, the app's, roomsync's
	for _, r := range f.Requests("kept") {
		if r.Command == tencent.CommandUpdateRoom {
			at = append(at, r.At)
		}
	}
	if len(at)-before != 4 {
		t.Fatalf("%d update_room_info calls, want 2 of the app's and 2 of roomsync's", len(at)-before)
	}
	if between := at[before+3].Sub(at[before+1]); between < interval {
		t.Errorf("roomsync reverted twice %s apart, want at least the interval (%s)", between, interval)
	}
}

func TestExistingRoomIsNotAdoptedWithoutConsent(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("theirs", "Their room")
	app := managedApp(t, f, id, time.Hour)
	room := declare(t, app, "theirs", "theirs", &chatv1alpha1.RoomSettings{RoomName: ptr.To("Ours now")}, "*")
	eventually(t, room, "the Room is Stalled", func() bool {
		return conditionIs(room.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.RoomAlreadyExistsReason) &&
			conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.RoomAlreadyExistsReason)
	})
	if got := health(t, room).Status; got != kstatus.FailedStatus {
		t.Errorf("kstatus %s, want Failed", got)
	}
	if got := calls(f, "theirs"); count(got, tencent.CommandCreateRoom)+count(got, tencent.CommandUpdateRoom) != 0 {
		t.Errorf("calls %v, want neither a create nor an update", got)
	}

	// Deleting it now leaves their room alone, even with the Delete policy.
	f.SetRoom("theirs-2", "Also theirs")
	other := declare(t, app, "theirs-too", "theirs-2", nil, "*")
	eventually(t, other, "the second Room is Stalled", func() bool {
		return conditionIs(other.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.RoomAlreadyExistsReason)
	})
	deleteAndWait(t, other)
	if _, ok := f.Room("theirs-2"); !ok {
		t.Error("a room the Room neither created nor adopted was destroyed")
	}

	// With consent it is adopted and brought to the settings.
	patch := client.MergeFrom(room.DeepCopy())
	room.Spec.AdoptExisting = true
	if err := env.Client.Patch(context.Background(), room, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, room, "the room is adopted and synced", func() bool {
		return room.Status.Management != nil && room.Status.Management.AdoptedTime != nil &&
			conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	if info, _ := f.Room("theirs"); info["RoomName"] != "Ours now" {
		t.Errorf("room name in Tencent %v, want the declared one", info["RoomName"])
	}
	waitForEvent(t, app.Namespace, room.Name, chatv1alpha1.RoomAdoptedEvent)
}

// deleteAndWait deletes obj (if it is not gone already) and waits until it
// is gone.
func deleteAndWait(t *testing.T, obj client.Object) {
	t.Helper()
	if err := client.IgnoreNotFound(env.Client.Delete(context.Background(), obj)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still there: finalizers %v", obj.GetName(), obj.GetFinalizers())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDeletingADeclaredRoom(t *testing.T) {
	f, id := newFake(t)
	app := managedApp(t, f, id, time.Hour)
	created := func(name string, policies ...chatv1alpha1.ManagementPolicy) *chatv1alpha1.Room {
		room := declare(t, app, name, name, nil, policies...)
		eventually(t, room, name+" is created", func() bool {
			return conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "")
		})
		return room
	}

	withDelete := created("with-delete", "*")
	deleteAndWait(t, withDelete)
	if _, ok := f.Room("with-delete"); ok {
		t.Error("with Delete: the room is still in Tencent")
	}
	if got := calls(f, "with-delete"); count(got, tencent.CommandDestroyRoom) != 1 {
		t.Errorf("with Delete: calls %v, want one destroy_room", got)
	}

	without := created("without-delete", "Observe", "Create", "Update")
	if len(without.Finalizers) != 0 {
		t.Errorf("without Delete: finalizers %v, want none", without.Finalizers)
	}
	deleteAndWait(t, without)
	if _, ok := f.Room("without-delete"); !ok {
		t.Error("without Delete: the room was destroyed")
	}

	// Destroyed in the app already: the destroy's 100004 counts as done.
	gone := created("gone", "*")
	f.DeleteRoom("gone")
	deleteAndWait(t, gone)

	// The ChatApp goes: nobody can ask Tencent, so the Room goes anyway.
	orphan := created("orphan", "*")
	if err := env.Client.Delete(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	deleteAndWait(t, orphan)
	if _, ok := f.Room("orphan"); !ok {
		t.Error("the room of a Room whose ChatApp is gone was destroyed")
	}
	e := waitForEventAbout(t, app.Namespace, "Room", "orphan", chatv1alpha1.OrphanedEvent)
	if e.Type != "Warning" || !strings.Contains(e.Note, `room "orphan"`) {
		t.Errorf("event %s %q, want a Warning naming the room left in Tencent", e.Type, e.Note)
	}
}

func TestBadParameterStallsWithTencentsError(t *testing.T) {
	f, id := newFake(t)
	app := managedApp(t, f, id, time.Hour)
	room := declare(t, app, "webinar", "webinar", &chatv1alpha1.RoomSettings{RoomType: ptr.To("Webinar")}, "*")
	eventually(t, room, "the Room is Stalled with Tencent's error", func() bool {
		c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.StalledCondition)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == chatv1alpha1.TencentRejectedReason &&
			strings.Contains(c.Message, "ErrorCode 100002")
	})
	if f := room.Status.Management.Failure; f.ErrorCode != tencent.CodeBadParameter || f.Command != tencent.CommandCreateRoom {
		t.Errorf("failure %+v, want create_room's 100002", f)
	}
	if got := health(t, room).Status; got != kstatus.FailedStatus {
		t.Errorf("kstatus %s, want Failed", got)
	}
	creates := count(calls(f, "webinar"), tencent.CommandCreateRoom)
	time.Sleep(time.Second)
	if again := count(calls(f, "webinar"), tencent.CommandCreateRoom); again != creates {
		t.Errorf("create_room tried %d more times, want no retry until the spec changes or the interval passes", again-creates)
	}

	// Fixing the spec tries again at once.
	patch := client.MergeFrom(room.DeepCopy())
	room.Spec.Settings.RoomType = ptr.To(tencent.RoomTypeConference)
	if err := env.Client.Patch(context.Background(), room, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, room, "the fixed Room is created", func() bool {
		return conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "") &&
			!conditionIs(room.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, "")
	})
}

func TestManagingWithoutRESTAPIStalls(t *testing.T) {
	ns := newNamespace(t)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID()}}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	room := declare(t, app, "r", "r", nil, "Observe", "Create")
	eventually(t, room, "the Room is Stalled for want of restAPI", func() bool {
		c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.StalledCondition)
		return c != nil && c.Reason == chatv1alpha1.RESTAPINotConfiguredReason && strings.Contains(c.Message, "spec.restAPI")
	})
}

// A crash between create_room and recording its success must not make the
// Room refuse its own room afterwards: the intent recorded before the call
// says whose it is.
func TestRoomCreatedBeforeACrashIsNotRefused(t *testing.T) {
	f, id := newFake(t)
	app := managedApp(t, f, id, time.Hour)
	room := declare(t, app, "crashed", "crashed", nil) // Observe only, for now
	// What the operator had done before it crashed: the intent, and the call.
	apply := chatac.Room(room.Name, room.Namespace).WithStatus(chatac.RoomStatus().WithManagement(
		chatac.RoomManagement().WithCreateRequestedTime(metav1.Now())))
	if err := env.Client.Status().Apply(context.Background(), apply, client.FieldOwner(controllers.ManagementFieldManager), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	f.SetRoom("crashed", "crashed")
	patch := client.MergeFrom(room.DeepCopy())
	room.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{"*"}
	if err := env.Client.Patch(context.Background(), room, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, room, "the room is known as its own", func() bool {
		return room.Status.Management != nil && room.Status.Management.CreatedTime != nil &&
			conditionIs(room.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	if got := calls(f, "crashed"); count(got, tencent.CommandCreateRoom) != 0 {
		t.Errorf("calls %v, want no second create_room", got)
	}
}

// addFinalizer puts the destroy-room finalizer on room by hand, as a
// roomsync before issue 21 put it on duplicates too.
func addFinalizer(t *testing.T, room *chatv1alpha1.Room) {
	t.Helper()
	patch := client.MergeFrom(room.DeepCopy())
	room.Finalizers = append(room.Finalizers, chatv1alpha1.DestroyRoomFinalizer)
	if err := env.Client.Patch(context.Background(), room, patch); err != nil {
		t.Fatal(err)
	}
}

// A Room that declares a roomID another Room holds (a copied manifest)
// never acts on Tencent: it gets no destroy-room finalizer, and deleting it
// (a GitOps tool pruning the copy, say) leaves the holder's room, even when
// an older roomsync put the finalizer on it.
func TestDuplicateRoomNeverDestroysTheRoom(t *testing.T) {
	f, id := newFake(t)
	app := managedApp(t, f, id, time.Hour)
	holder := declare(t, app, "board", "board", nil, "*")
	eventually(t, holder, "the holder's room is created", func() bool {
		return conditionIs(holder.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	// Created in the same second, "board-copy" still sorts after "board".
	dup := declare(t, app, "board-copy", "board", nil, "Observe", "Delete")
	eventually(t, dup, "the copy is Stalled", func() bool {
		return conditionIs(dup.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.DuplicateRoomIDReason)
	})
	// The management controller sees the copy as soon as the Room
	// controller does; before issue 21 it added the finalizer at once.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(dup), dup); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(dup.Finalizers, chatv1alpha1.DestroyRoomFinalizer) {
			t.Fatalf("the copy has finalizers %v, want none: it does not hold the roomID", dup.Finalizers)
		}
	}

	addFinalizer(t, dup)
	deleteAndWait(t, dup)
	if got := calls(f, "board"); count(got, tencent.CommandDestroyRoom) != 0 {
		t.Errorf("calls %v, want no destroy_room for a copy", got)
	}
	if _, ok := f.Room("board"); !ok {
		t.Error("deleting the copy destroyed the room the holder holds")
	}
	e := waitForEventAbout(t, app.Namespace, "Room", "board-copy", chatv1alpha1.RoomNotDestroyedEvent)
	if e.Type != "Normal" || !strings.Contains(e.Note, `room "board"`) || !strings.Contains(e.Note, "Room board is older") {
		t.Errorf("event %s %q, want a Normal one naming the room left and the Room that holds it", e.Type, e.Note)
	}
	eventually(t, holder, "the holder is still Ready", func() bool {
		return conditionIs(holder.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})

	// When the holder goes, it destroys the room as before, and a copy
	// left behind holds the roomID from then on, finalizer and all.
	other := declare(t, app, "board-copy-2", "board", nil, "Observe", "Delete")
	eventually(t, other, "the second copy is Stalled", func() bool {
		return conditionIs(other.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.DuplicateRoomIDReason)
	})
	deleteAndWait(t, holder)
	if got := calls(f, "board"); count(got, tencent.CommandDestroyRoom) != 1 {
		t.Errorf("calls %v, want the holder's destroy_room", got)
	}
	if _, ok := f.Room("board"); ok {
		t.Error("the holder was deleted and its room is still in Tencent")
	}
	eventually(t, other, "the remaining copy holds the roomID", func() bool {
		return slices.Contains(other.Finalizers, chatv1alpha1.DestroyRoomFinalizer) &&
			!conditionIs(other.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, "")
	})
}

// A duplicate deleted together with its holder (a namespace, a whole
// GitOps application) leaves the destroy to the holder, whichever of the
// two goes first.
func TestDuplicateDeletedWithItsHolder(t *testing.T) {
	f, id := newFake(t)
	app := managedApp(t, f, id, time.Hour)
	holder := declare(t, app, "town-hall", "town-hall", nil, "*")
	eventually(t, holder, "the holder's room is created", func() bool {
		return conditionIs(holder.Status.Conditions, chatv1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	dup := declare(t, app, "town-hall-copy", "town-hall", nil, "Observe", "Delete")
	eventually(t, dup, "the copy is Stalled", func() bool {
		return conditionIs(dup.Status.Conditions, chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.DuplicateRoomIDReason)
	})
	addFinalizer(t, dup)
	for _, room := range []*chatv1alpha1.Room{dup, holder} {
		if err := env.Client.Delete(context.Background(), room); err != nil {
			t.Fatal(err)
		}
	}
	deleteAndWait(t, dup)
	deleteAndWait(t, holder)
	if got := calls(f, "town-hall"); count(got, tencent.CommandDestroyRoom) != 1 {
		t.Errorf("calls %v, want one destroy_room, the holder's", got)
	}
	if _, ok := f.Room("town-hall"); ok {
		t.Error("the holder was deleted and its room is still in Tencent")
	}
	waitForEventAbout(t, app.Namespace, "Room", "town-hall-copy", chatv1alpha1.RoomNotDestroyedEvent)
}
