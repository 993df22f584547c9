package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

const (
	fakeAdmin = "administrator"
	fakeKey   = "the-secret-key"
)

// newFake starts a fake REST API for a new sdkAppID.
func newFake(t *testing.T) (*tencenttest.Server, int64) {
	id := newSDKAppID()
	return tencenttest.NewServer(t, id, fakeAdmin, fakeKey), id
}

// resyncApp creates a namespace with a secret key Secret holding key and a
// ChatApp of sdkAppID whose REST API is f. Rooms given are created first, by callbacks
// (at EventTime 1000), before the ChatApp gets its restAPI.
func resyncApp(t *testing.T, f *tencenttest.Server, sdkAppID int64, key string, mutate func(*chatv1alpha1.RestAPISpec), rooms ...string) *chatv1alpha1.ChatApp {
	t.Helper()
	ctx := context.Background()
	ns := newNamespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tencent", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"secretKey": key}}
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID}}
	for _, obj := range []client.Object{secret, app} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range rooms {
		callback(t, app, id, 1000, "as-created")
	}
	spec := &chatv1alpha1.RestAPISpec{
		Endpoint:          f.URL,
		Administrator:     fakeAdmin,
		SecretKeyRef:      chatv1alpha1.SecretKeyReference{Name: "tencent", Key: "secretKey"},
		ResyncInterval:    &metav1.Duration{Duration: time.Hour},
		RequestsPerSecond: ptr.To[int32](200),
	}
	if mutate != nil {
		mutate(spec)
	}
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.RestAPI = spec
	if err := env.Client.Patch(ctx, app, patch); err != nil {
		t.Fatal(err)
	}
	return app
}

// callback applies an update callback for roomID, as the receiver would.
func callback(t *testing.T, app *chatv1alpha1.ChatApp, roomID string, eventTime int64, name string) roomstore.Outcome {
	t.Helper()
	n := tencent.String(name)
	return apply(t, app, roomstore.Event{
		RoomID: roomID, EventTime: eventTime, Command: tencent.CommandAfterUpdateRoomInfo,
		RoomInfo: &roomstore.RoomInfoChange{Info: tencent.RoomInfo{RoomName: &n}},
	})
}

// memberCallback applies a member callback for roomID (typ Enter, Leave,
// Kicked or Expired, for accounts members, leaving count in the room), as
// the receiver would.
func memberCallback(t *testing.T, app *chatv1alpha1.ChatApp, roomID string, eventTime, count int64, typ string, accounts int64) roomstore.Outcome {
	t.Helper()
	command := tencent.CommandAfterMemberLeave
	if typ == roomstore.MemberEnter {
		command = tencent.CommandAfterMemberEnter
	}
	return apply(t, app, roomstore.Event{
		RoomID: roomID, EventTime: eventTime, Command: command,
		Members: &roomstore.MembersChange{Count: &count, Type: typ, Accounts: accounts},
	})
}

// seatCallback applies a seat-change callback for roomID (total seats, taken
// of them held by a member), as the receiver would.
func seatCallback(t *testing.T, app *chatv1alpha1.ChatApp, roomID string, eventTime, total, taken int64) roomstore.Outcome {
	t.Helper()
	return apply(t, app, roomstore.Event{
		RoomID: roomID, EventTime: eventTime, Command: tencent.CommandAfterSeatInfoChanged,
		Seats: &roomstore.SeatsChange{Total: total, Taken: taken},
	})
}

func apply(t *testing.T, app *chatv1alpha1.ChatApp, ev roomstore.Event) roomstore.Outcome {
	t.Helper()
	outcome, err := roomstore.New(env.Client, lookup.ListFinder{Reader: env.Client}, env.Client).Apply(context.Background(), app, ev)
	if err != nil {
		t.Fatal(err)
	}
	return outcome
}

// reads counts the get_room_info calls about roomID: one per read of the
// room (which also calls get_seat_list).
func reads(f *tencenttest.Server, roomID string) int {
	n := 0
	for _, r := range f.Requests(roomID) {
		if r.Command == tencent.CommandGetRoomInfo {
			n++
		}
	}
	return n
}

// after waits until the local clock is past the Unix milliseconds t, so that
// a request sent now is stamped after an event at t.
func after(t int64) {
	for time.Now().UnixMilli() <= t {
		time.Sleep(time.Millisecond)
	}
}

func roomOf(app *chatv1alpha1.ChatApp, roomID string) *chatv1alpha1.Room {
	return &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: roomstore.NameFor(roomID)}}
}

func requestResync(t *testing.T, room *chatv1alpha1.Room, value string) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+chatv1alpha1.ResyncRequestedAtAnnotation+`":"`+value+`"}}}`))
	if err := env.Client.Patch(context.Background(), room, patch); err != nil {
		t.Fatal(err)
	}
}

func TestResyncHealsDriftLostWhileTheOperatorWasDown(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("weekly", "as-created")
	f.SetRoom("daily", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "weekly", "daily")
	eventually(t, app, "the first resync completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil && app.Status.Resync.Checked == 2
	})

	// The operator stops; a callback is lost meanwhile.
	stopManager()
	restarted := metav1.NewTime(time.Now().Truncate(time.Second)) // as status times are kept
	f.SetRoom("weekly", "renamed while nobody listened")
	if err := startManager(suiteCtx); err != nil {
		t.Fatal(err)
	}

	weekly := roomOf(app, "weekly")
	eventually(t, weekly, "the resync on start heals the Room and says so", func() bool {
		return weekly.Status.RoomName == "renamed while nobody listened" && weekly.Status.Resync != nil && weekly.Status.Resync.DriftFound
	})
	if weekly.Status.LastCallbackCommand != roomstore.CommandResync {
		t.Errorf("last command %q, want %q", weekly.Status.LastCallbackCommand, roomstore.CommandResync)
	}
	eventually(t, app, "the ChatApp shows the resync", func() bool {
		r := app.Status.Resync
		return r != nil && r.StartTime != nil && !r.StartTime.Before(&restarted) &&
			r.CompletionTime != nil && r.Rooms == 2 && r.Checked == 2 && r.Drifted == 1
	})
	daily := roomOf(app, "daily")
	eventually(t, daily, "the Room in sync is checked too", func() bool {
		return daily.Status.Resync != nil && daily.Status.Resync.Time != nil && !daily.Status.Resync.Time.Before(&restarted)
	})
	if daily.Status.Resync.DriftFound {
		t.Error("a Room in sync is reported drifted")
	}
}

func TestResyncReadLosesToANewerCallbackAndBeatsAnOlderOne(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("standup", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "standup")
	room := roomOf(app, "standup")
	eventually(t, room, "the first resync", func() bool { return room.Status.Resync != nil && room.Status.Resync.Time != nil })

	// The read is sent, and while Tencent answers, a newer callback lands.
	arrived, release := f.Hold()
	f.SetRoom("standup", "what the read says")
	requestResync(t, room, "first")
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the requested resync never called the REST API")
	}
	newer := time.Now().UnixMilli() + 1
	if outcome := callback(t, app, "standup", newer, "from a newer callback"); outcome != roomstore.Applied {
		t.Fatalf("the newer callback: %s", outcome)
	}
	release()
	eventually(t, room, "the request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "first"
	})
	if room.Status.RoomName != "from a newer callback" {
		t.Errorf("the read sent before the callback overwrote it: %q", room.Status.RoomName)
	}

	// A read sent after the callback wins; a callback older than the read
	// loses to it.
	requestResync(t, room, "second")
	eventually(t, room, "the second request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "second"
	})
	if room.Status.RoomName != "what the read says" || !room.Status.Resync.DriftFound {
		t.Errorf("after a newer read: %q, drift %v", room.Status.RoomName, room.Status.Resync.DriftFound)
	}
	if outcome := callback(t, app, "standup", newer+1, "older than the read"); outcome != roomstore.Stale {
		t.Errorf("a callback older than the read: %s, want stale", outcome)
	}
}

func TestResyncMarksARoomTencentNoLongerHasDestroyed(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("gone", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "gone")
	room := roomOf(app, "gone")
	eventually(t, room, "the first resync", func() bool { return room.Status.Resync != nil && room.Status.Resync.Time != nil })

	f.DeleteRoom("gone") // its destroy callback was lost
	requestResync(t, room, "now")
	eventually(t, room, "the request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "now"
	})
	if room.Status.Phase != chatv1alpha1.RoomPhaseDestroyed || room.Status.Destroyed == nil || !room.Status.Resync.DriftFound {
		t.Errorf("phase %s, destroyed %+v, status.resync %+v: want destroyed, as drift", room.Status.Phase, room.Status.Destroyed, room.Status.Resync)
	}
}

func TestResyncWithRejectedCredentialsStallsWithoutAHotLoop(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("a", "as-created")
	f.SetRoom("b", "as-created")
	app := resyncApp(t, f, id, "not-the-key", nil, "a", "b")
	eventually(t, app, "the ChatApp is Stalled", func() bool {
		c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == chatv1alpha1.RESTAPICredentialsRejectedReason
	})
	c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition)
	if !strings.Contains(c.Message, "70009") || !strings.Contains(c.Message, "UserSig verification failed") {
		t.Errorf("Stalled message %q does not carry Tencent's ErrorCode and ErrorInfo", c.Message)
	}
	if res := health(t, app); res.Status != "Failed" {
		t.Errorf("kstatus %s, want Failed", res.Status)
	}
	// The first rejection stops the resync: no second room is tried, and
	// nothing is retried until the next interval.
	time.Sleep(2 * time.Second)
	if n := len(f.Requests("")); n != 1 {
		t.Errorf("%d requests with rejected credentials, want 1", n)
	}

	// The right key heals it at once.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: "tencent"}}
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"stringData":{"secretKey":"`+fakeKey+`"}}`))
	if err := env.Client.Patch(context.Background(), secret, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "the ChatApp recovers", func() bool {
		r := app.Status.Resync
		return meta.IsStatusConditionTrue(app.Status.Conditions, chatv1alpha1.ReadyCondition) &&
			r != nil && r.Failure == nil && r.Checked == 2
	})
}

func TestResyncHoldsTheRateLimit(t *testing.T) {
	f, id := newFake(t)
	ids := []string{"r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09", "r10", "r11", "r12"}
	for _, id := range ids {
		f.SetRoom(id, "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, func(s *chatv1alpha1.RestAPISpec) { s.RequestsPerSecond = ptr.To[int32](5) }, ids...)
	eventually(t, app, "the resync completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil && app.Status.Resync.Checked == int64(len(ids))
	})
	// Each room is read with two requests, get_room_info then get_seat_list,
	// both within the budget.
	reqs := f.Requests("")
	if len(reqs) != 2*len(ids) {
		t.Fatalf("%d requests for %d rooms, want 2 each", len(reqs), len(ids))
	}
	for _, id := range ids {
		if got := f.Requests(id); len(got) != 2 || got[0].Command != tencent.CommandGetRoomInfo || got[1].Command != tencent.CommandGetSeatList {
			t.Errorf("room %s was read with %+v, want get_room_info then get_seat_list", id, got)
		}
	}
	for i := range reqs {
		inWindow := 0
		for _, r := range reqs[i:] {
			if r.At.Sub(reqs[i].At) < time.Second {
				inWindow++
			}
		}
		// A token bucket of 5 per second and a burst of 1 allows at most 6 in
		// any second.
		if inWindow > 6 {
			t.Errorf("%d requests within a second of %s, over the limit of 5 per second", inWindow, reqs[i].At.Format(time.StampMilli))
		}
	}
	// 24 requests at 5 per second after a burst of 1 take at least 23/5 s.
	if span := reqs[len(reqs)-1].At.Sub(reqs[0].At); span < 4*time.Second {
		t.Errorf("%d requests in %s at 5 per second", len(reqs), span)
	}
}

func TestResyncRequestIsActedOnOncePerValue(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("one", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "one")
	room := roomOf(app, "one")
	eventually(t, room, "the first resync", func() bool { return room.Status.Resync != nil && room.Status.Resync.Time != nil })
	before := reads(f, "one")

	requestResync(t, room, "2026-11-25T10:00:00Z")
	eventually(t, room, "the request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "2026-11-25T10:00:00Z"
	})
	// Other changes of the Room do not repeat it.
	callback(t, app, "one", time.Now().UnixMilli(), "renamed")
	time.Sleep(time.Second)
	if n := reads(f, "one") - before; n != 1 {
		t.Errorf("%d reads for one request, want 1", n)
	}

	requestResync(t, room, "2026-11-25T10:05:00Z")
	eventually(t, room, "the next request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "2026-11-25T10:05:00Z"
	})
	if n := reads(f, "one") - before; n != 2 {
		t.Errorf("%d reads for two requests, want 2", n)
	}
}

func TestResyncStatusGoesWithTheRESTAPI(t *testing.T) {
	f, id := newFake(t)
	app := resyncApp(t, f, id, fakeKey, nil)
	eventually(t, app, "the first resync completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil
	})
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"restAPI":null}}`))
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "status.resync is gone", func() bool { return app.Status.Resync == nil })
}

// badAnswers returns roomsync_rest_requests_total of command's answers that
// were not as documented.
func badAnswers(t *testing.T, command string) float64 {
	t.Helper()
	return counter(t, "roomsync_rest_requests_total", map[string]string{"command": command, "code": "bad_answer"})
}

// counter returns the value of the counter name with labels (nil: none).
func counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			if maps.Equal(have, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestResyncRecordsAnAnswerNotAsDocumented: an OK answer without
// Response.RoomInfo (here the RoomInfo at the top level, which roomsync
// once read) is not applied, is counted as bad_answer, and is shown in the
// ChatApp's status.resync.failure quoting the answer, without stalling the
// ChatApp: the next interval tries again.
func TestResyncRecordsAnAnswerNotAsDocumented(t *testing.T) {
	f, id := newFake(t)
	f.SetAnswer("odd", []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RoomInfo":{"RoomId":"odd","RoomName":"at the top level"}}`))
	before := badAnswers(t, tencent.CommandGetRoomInfo)
	app := resyncApp(t, f, id, fakeKey, nil, "odd")

	eventually(t, app, "the failure is recorded", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.Failure != nil
	})
	failure := app.Status.Resync.Failure
	if failure.Reason != chatv1alpha1.RESTAPIBadAnswerReason || !strings.Contains(failure.Message, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RoomInfo":{"RoomId":"odd"`) {
		t.Errorf("failure %+v: want reason %s and a message quoting the answer", failure, chatv1alpha1.RESTAPIBadAnswerReason)
	}
	if n := badAnswers(t, tencent.CommandGetRoomInfo) - before; n != 1 {
		t.Errorf("roomsync_rest_requests_total{code=bad_answer} rose by %v, want 1", n)
	}
	eventually(t, app, "the ChatApp stays Ready, not Stalled", func() bool {
		return meta.IsStatusConditionTrue(app.Status.Conditions, chatv1alpha1.ReadyCondition) &&
			meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition) == nil &&
			app.Status.ObservedGeneration == app.Generation
	})
	if res := health(t, app); res.Status != "Current" {
		t.Errorf("kstatus %s, want Current", res.Status)
	}
	room := roomOf(app, "odd")
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(room), room); err != nil {
		t.Fatal(err)
	}
	if room.Status.RoomName != "as-created" {
		t.Errorf("an undocumented answer was applied: room name %q", room.Status.RoomName)
	}

	// Once Tencent answers as documented, a read heals the Room and clears
	// the failure.
	f.SetRoom("odd", "as documented")
	requestResync(t, room, "after-the-fix")
	eventually(t, room, "the requested resync heals the Room", func() bool {
		return room.Status.RoomName == "as documented" && room.Status.Resync != nil && room.Status.Resync.HandledRequest == "after-the-fix"
	})
}

// fakeRoomInfo is the room info the fake holds for roomID, as a callback
// carrying all of it would say.
func fakeRoomInfo(t *testing.T, f *tencenttest.Server, roomID string) tencent.RoomInfo {
	t.Helper()
	stored, ok := f.Room(roomID)
	if !ok {
		t.Fatalf("the fake has no room %q", roomID)
	}
	data, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	var info tencent.RoomInfo
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestResyncHealsTheMemberCountAndTheSeats: member and seat callbacks that
// were lost leave a Room with a wrong memberCount and wrong seats; a resync
// heals both, counts it as drift, and counts nobody as having left. A read
// that finds what the Room says is no drift.
func TestResyncHealsTheMemberCountAndTheSeats(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("town-hall", "Town hall")
	f.SetMemberCount("town-hall", 6)
	f.SetSeats("town-hall", []tencenttest.Seat{{Index: 0, Member: "host"}, {Index: 1, Member: "guest1"}, {Index: 2, Member: "guest2"}, {Index: 3}})
	app := resyncApp(t, f, id, fakeKey, nil)
	eventually(t, app, "the first resync, of no Room, completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil
	})

	// The Room hears every callback: the room is created, ten members
	// enter, two leave, one is kicked, one's session expires, three take
	// seats.
	at := time.Now().UnixMilli() - 10_000
	info := fakeRoomInfo(t, f, "town-hall")
	apply(t, app, roomstore.Event{RoomID: "town-hall", EventTime: at, Command: tencent.CommandAfterCreateRoom, RoomInfo: &roomstore.RoomInfoChange{Info: info}})
	memberCallback(t, app, "town-hall", at+1, 10, roomstore.MemberEnter, 10)
	memberCallback(t, app, "town-hall", at+2, 8, roomstore.MemberLeave, 2)
	memberCallback(t, app, "town-hall", at+3, 7, roomstore.MemberKicked, 1)
	memberCallback(t, app, "town-hall", at+4, 6, roomstore.MemberExpired, 1)
	seatCallback(t, app, "town-hall", at+5, 4, 3)
	driftBefore := counter(t, "roomsync_resync_drift_total", nil)

	room := roomOf(app, "town-hall")
	requestResync(t, room, "in-sync")
	eventually(t, room, "the read of a Room in sync is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "in-sync"
	})
	st := room.Status
	if st.Resync.DriftFound || ptr.Deref(st.MemberCount, -1) != 6 || *st.Seats != (chatv1alpha1.RoomSeats{Total: 4, Taken: 3, EventTime: st.Seats.EventTime}) {
		t.Errorf("drift %v, memberCount %v, seats %+v: want no drift, 6 members, 3 of 4 seats taken", st.Resync.DriftFound, st.MemberCount, st.Seats)
	}
	if m := st.Members; m.LastChangeTime.Unix() != time.UnixMilli(at+4).Unix() {
		t.Errorf("members.lastChangeTime %s: a read of the same count moved it from the last callback's", m.LastChangeTime)
	}
	if n := counter(t, "roomsync_resync_drift_total", nil) - driftBefore; n != 0 {
		t.Errorf("roomsync_resync_drift_total rose by %v for a Room in sync", n)
	}

	// Callbacks are lost: three more members are in the room, two seats
	// were added, and two members left theirs.
	f.SetMemberCount("town-hall", 9)
	f.SetSeats("town-hall", []tencenttest.Seat{{Index: 0, Member: "host"}, {Index: 1}, {Index: 2}, {Index: 3}, {Index: 4}, {Index: 5}})
	// A new resyncInterval restarts the resync: a full pass.
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"restAPI":{"resyncInterval":"2h"}}}`))
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "the full resync reads the Room", func() bool {
		r := app.Status.Resync
		return r != nil && r.Rooms == 1 && r.Checked == 1 && r.CompletionTime != nil
	})
	if app.Status.Resync.Drifted != 1 {
		t.Errorf("the ChatApp's status.resync.drifted is %d, want 1", app.Status.Resync.Drifted)
	}
	eventually(t, room, "the Room is healed", func() bool {
		return ptr.Deref(room.Status.MemberCount, -1) == 9 && room.Status.Seats.Total == 6
	})
	st = room.Status
	if st.Seats.Taken != 1 || !st.Resync.DriftFound || st.LastCallbackCommand != roomstore.CommandResync {
		t.Errorf("seats %+v, drift %v, last command %q: want 1 of 6 taken, drift, the resync", st.Seats, st.Resync.DriftFound, st.LastCallbackCommand)
	}
	if m := st.Members; m.Left != 2 || m.Kicked != 1 || m.Expired != 1 {
		t.Errorf("members %+v: a read of the count must not count anyone as left, kicked or expired", m)
	}
	if m := st.Members; m.LastChangeTime.Unix() != time.UnixMilli(m.EventTime).Unix() || m.EventTime <= at+4 {
		t.Errorf("members %+v: a read that found another count is the last change known", m)
	}
	if n := counter(t, "roomsync_resync_drift_total", nil) - driftBefore; n != 1 {
		t.Errorf("roomsync_resync_drift_total rose by %v, want 1", n)
	}
	waitForEvent(t, app.Namespace, room.Name, "DriftCorrected")
}

// TestResyncMemberCountAndSeatsFollowTheNewestEvent: the member count read
// (sent with get_room_info) and the seat read (sent with get_seat_list, after
// get_room_info's answer) each lose to a callback of their kind newer than
// their request and beat an older one.
func TestResyncMemberCountAndSeatsFollowTheNewestEvent(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("panel", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "panel")
	room := roomOf(app, "panel")
	eventually(t, room, "the first resync", func() bool { return room.Status.Resync != nil && room.Status.Resync.Time != nil })
	if s := room.Status.Seats; s == nil || s.Total != 0 || s.Taken != 0 {
		t.Errorf("seats %+v after reading a room without seats (an empty SeatList), want 0 of 0", s)
	}
	f.SetMemberCount("panel", 12)
	f.SetSeats("panel", []tencenttest.Seat{{Index: 0, Member: "host"}, {Index: 1, Member: "guest"}, {Index: 2}})

	// get_room_info is sent and, while Tencent answers, a member enters and
	// a member leaves a seat. The member callback is newer than the count
	// read; the seat callback is older than the seat read, which is sent
	// only after get_room_info's answer.
	arrived, release := f.Hold()
	requestResync(t, room, "first")
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the requested resync never called the REST API")
	}
	newer := time.Now().UnixMilli() + 1
	if outcome := memberCallback(t, app, "panel", newer, 13, roomstore.MemberEnter, 1); outcome != roomstore.Applied {
		t.Fatalf("the member callback: %s", outcome)
	}
	if outcome := seatCallback(t, app, "panel", newer, 3, 1); outcome != roomstore.Applied {
		t.Fatalf("the seat callback: %s", outcome)
	}
	after(newer)
	release()
	eventually(t, room, "the request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "first"
	})
	if n, m := ptr.Deref(room.Status.MemberCount, -1), room.Status.Members; n != 13 || m.EventTime != newer {
		t.Errorf("memberCount %d at %d: the count read sent before the member callback overwrote it", n, m.EventTime)
	}
	if s := room.Status.Seats; s.Total != 3 || s.Taken != 2 || s.EventTime <= newer {
		t.Errorf("seats %+v: the seat read sent after the seat callback lost to it", s)
	}

	// A read sent after the member callback wins; callbacks older than the
	// read lose to it.
	requestResync(t, room, "second")
	eventually(t, room, "the second request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "second"
	})
	if n := ptr.Deref(room.Status.MemberCount, -1); n != 12 || !room.Status.Resync.DriftFound {
		t.Errorf("memberCount %d, drift %v after a newer read: want 12, drift", n, room.Status.Resync.DriftFound)
	}
	if outcome := memberCallback(t, app, "panel", room.Status.Members.EventTime-1, 20, roomstore.MemberLeave, 3); outcome != roomstore.Stale {
		t.Errorf("a member callback older than the read: %s, want stale", outcome)
	}
	if outcome := seatCallback(t, app, "panel", room.Status.Seats.EventTime-1, 9, 9); outcome != roomstore.Stale {
		t.Errorf("a seat callback older than the read: %s, want stale", outcome)
	}

	// A seat callback stamped after the next seat read is sent (Tencent's
	// clock runs a minute ahead) wins over that read; a read that changes
	// nothing else is no drift.
	if outcome := seatCallback(t, app, "panel", time.Now().Add(time.Minute).UnixMilli(), 5, 5); outcome != roomstore.Applied {
		t.Fatalf("the seat callback: %s", outcome)
	}
	requestResync(t, room, "third")
	eventually(t, room, "the third request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "third"
	})
	st := room.Status
	if st.Seats.Total != 5 || st.Seats.Taken != 5 || st.Resync.DriftFound {
		t.Errorf("seats %+v, drift %v: want the newer callback's 5 of 5, and no drift", st.Seats, st.Resync.DriftFound)
	}
	if ptr.Deref(st.MemberCount, -1) != 12 || st.Members.Left != 0 {
		t.Errorf("memberCount %v, members %+v: want 12, nobody left", st.MemberCount, st.Members)
	}
}

// TestResyncSeatListFailures: an answer of get_seat_list not as documented
// keeps neither the room info nor the member count from applying, nor stops
// the pass: the seats are left as they are, a SeatsNotRead Event quotes the
// answer, and the metric counts it. 100004 for a room that get_room_info
// has just described leaves the seats as they are and applies the rest
// (only get_room_info decides that a room is gone).
func TestResyncSeatListFailures(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("stage", "renamed")
	f.SetMemberCount("stage", 3)
	f.SetSeatAnswer("stage", []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","SeatList":[]}`))
	before := badAnswers(t, tencent.CommandGetSeatList)
	app := resyncApp(t, f, id, fakeKey, nil, "stage")

	eventually(t, app, "the pass completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil && app.Status.Resync.Checked == 1
	})
	if failure := app.Status.Resync.Failure; failure != nil {
		t.Errorf("failure %+v: a seat answer not as documented stopped the pass", failure)
	}
	if n := badAnswers(t, tencent.CommandGetSeatList) - before; n != 1 {
		t.Errorf("roomsync_rest_requests_total{command=get_seat_list,code=bad_answer} rose by %v, want 1", n)
	}
	room := roomOf(app, "stage")
	eventually(t, room, "the read is recorded", func() bool { return room.Status.Resync != nil })
	if st := room.Status; st.RoomName != "renamed" || ptr.Deref(st.MemberCount, -1) != 3 || st.Seats != nil || !st.Resync.DriftFound {
		t.Errorf("room name %q, memberCount %v, seats %+v, drift %v: want the room info and count applied, no seats",
			st.RoomName, st.MemberCount, st.Seats, st.Resync.DriftFound)
	}
	e := waitForEventAbout(t, app.Namespace, "Room", room.Name, controllers.SeatsNotReadEvent)
	if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, `"SeatList":[]`) {
		t.Errorf("Event %s %q: want a Warning quoting the answer", e.Type, e.Note)
	}

	gone := tencenttest.Sample(tencent.CommandGetRoomInfo, "error-100004.json")
	f.SetSeatAnswer("stage", gone)
	f.SetMemberCount("stage", 4)
	requestResync(t, room, "seats-gone")
	eventually(t, room, "the request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "seats-gone"
	})
	st := room.Status
	if st.RoomName != "renamed" || ptr.Deref(st.MemberCount, -1) != 4 || !st.Resync.DriftFound {
		t.Errorf("room name %q, memberCount %v, drift %v: the room info and count were not applied", st.RoomName, st.MemberCount, st.Resync.DriftFound)
	}
	if st.Phase != chatv1alpha1.RoomPhaseActive || st.Destroyed != nil || st.Seats != nil {
		t.Errorf("phase %s, destroyed %+v, seats %+v: get_seat_list's 100004 must not destroy the Room nor set seats", st.Phase, st.Destroyed, st.Seats)
	}
}

// TestResyncHealsARoomWhoseSeatsCannotBeRead: when get_seat_list fails
// after get_room_info answered (an ErrorCode Tencent may give a room
// without seats, one roomsync does not know, as for a command an older
// region lacks), a resync still heals the room info and the member count,
// and says on the Room why its seats were not read; once they can be, the
// seats heal too.
func TestResyncHealsARoomWhoseSeatsCannotBeRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer []byte
		code   string
	}{
		{"bad parameter", tencenttest.Sample(tencent.CommandGetRoomInfo, "error-100002.json"), "100002"},
		{"an ErrorCode roomsync does not know", []byte(`{"ActionStatus":"FAIL","ErrorInfo":"unknown command","ErrorCode":60003,"RequestId":"r"}`), "60003"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, id := newFake(t)
			f.SetRoom("hall", "as-created")
			app := resyncApp(t, f, id, fakeKey, nil, "hall")
			room := roomOf(app, "hall")
			eventually(t, room, "the first read", func() bool { return room.Status.Resync != nil && room.Status.Seats != nil })

			// Callbacks lost meanwhile; the seats cannot be read any more.
			f.SetRoom("hall", "renamed")
			f.SetMemberCount("hall", 9)
			f.SetSeatAnswer("hall", tc.answer)
			seatsBefore := *room.Status.Seats
			requestResync(t, room, "after-the-loss")
			eventually(t, room, "the request is handled", func() bool {
				return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "after-the-loss"
			})
			st := room.Status
			if st.RoomName != "renamed" || ptr.Deref(st.MemberCount, -1) != 9 || !st.Resync.DriftFound {
				t.Errorf("room name %q, memberCount %v, drift %v: want the room info and count healed",
					st.RoomName, st.MemberCount, st.Resync.DriftFound)
			}
			if st.Seats == nil || *st.Seats != seatsBefore {
				t.Errorf("seats %+v, want them left as they were, %+v", st.Seats, seatsBefore)
			}
			e := waitForEventAbout(t, app.Namespace, "Room", room.Name, controllers.SeatsNotReadEvent)
			if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, "ErrorCode "+tc.code) || strings.Contains(strings.ToLower(e.Note), "usersig") {
				t.Errorf("Event %s %q: want a Warning with the ErrorCode, and no credentials", e.Type, e.Note)
			}

			// The seats can be read again: they heal too.
			f.SetSeatAnswer("hall", nil)
			f.SetSeats("hall", []tencenttest.Seat{{Index: 0, Member: "alice"}, {Index: 1}, {Index: 2}})
			requestResync(t, room, "seats-back")
			eventually(t, room, "the seats are read", func() bool {
				return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "seats-back" &&
					room.Status.Seats != nil && room.Status.Seats.Total == 3 && room.Status.Seats.Taken == 1
			})
		})
	}
}

// requestAppResync sets the ChatApp's resync-requested-at annotation.
func requestAppResync(t *testing.T, app *chatv1alpha1.ChatApp, value string) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+chatv1alpha1.ResyncRequestedAtAnnotation+`":"`+value+`"}}}`))
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
}

// readsOf counts the reads of each room.
func readsOf(f *tencenttest.Server, roomIDs ...string) map[string]int {
	out := map[string]int{}
	for _, id := range roomIDs {
		out[id] = reads(f, id)
	}
	return out
}

// TestResyncRequestOnTheChatAppStartsOneFullPass: a new value of the
// ChatApp's resync-requested-at annotation starts one full pass at once
// (not at the next interval, an hour away), recorded in
// status.resync.handledRequest once it has finished. A value asked for while
// a pass is under way gets a pass of its own after it; other changes of the
// ChatApp's annotations repeat nothing.
func TestResyncRequestOnTheChatAppStartsOneFullPass(t *testing.T) {
	f, id := newFake(t)
	rooms := []string{"alpha", "beta", "gamma"}
	for _, r := range rooms {
		f.SetRoom(r, "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, nil, rooms...)
	eventually(t, app, "the first resync completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil && app.Status.Resync.Checked == 3
	})
	before := readsOf(f, rooms...)
	f.SetRoom("beta", "renamed while a callback was lost")

	// The pass is held at its first request: it is not handled until it
	// has read every Room; a second value asked for meanwhile waits for it.
	arrived, release := f.Hold()
	requestAppResync(t, app, "first")
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the requested pass never called the REST API")
	}
	requestAppResync(t, app, "second")
	time.Sleep(500 * time.Millisecond)
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), app); err != nil {
		t.Fatal(err)
	}
	if h := app.Status.Resync.HandledRequest; h != "" {
		t.Errorf("handledRequest %q while the pass is under way", h)
	}
	release()
	eventually(t, app, "both requests are handled", func() bool {
		r := app.Status.Resync
		return r != nil && r.HandledRequest == "second" && r.Checked == 3 && r.CompletionTime != nil && !r.CompletionTime.Before(r.StartTime)
	})
	for _, r := range rooms {
		if n := reads(f, r) - before[r]; n != 2 {
			t.Errorf("room %s read %d times for two requests, want 2", r, n)
		}
	}
	beta := roomOf(app, "beta")
	eventually(t, beta, "the drifted Room is healed", func() bool { return beta.Status.RoomName == "renamed while a callback was lost" })

	// Other annotation changes do not start a pass; the next value does.
	after := readsOf(f, rooms...)
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"example.com/owner":"team-a"}}}`))
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := readsOf(f, rooms...); !maps.Equal(got, after) {
		t.Errorf("reads %v after an unrelated annotation, want %v", got, after)
	}
	requestAppResync(t, app, "third")
	eventually(t, app, "the third request is handled", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.HandledRequest == "third"
	})
	for _, r := range rooms {
		if n := reads(f, r) - after[r]; n != 1 {
			t.Errorf("room %s read %d times for one request, want 1", r, n)
		}
	}
}

// TestResyncRequestOnAChatAppWithoutRESTAPI: a request that no resync can
// serve is handled at once, with a Warning Event saying why, so that whoever
// waits for it is not left waiting.
func TestResyncRequestOnAChatAppWithoutRESTAPI(t *testing.T) {
	ns := newNamespace(t)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID()}}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	requestAppResync(t, app, "now")
	eventually(t, app, "the request is handled", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.HandledRequest == "now"
	})
	if r := app.Status.Resync; r.StartTime != nil || r.Checked != 0 {
		t.Errorf("status.resync %+v: a ChatApp without restAPI shows a resync", r)
	}
	e := waitForEventAbout(t, ns, "ChatApp", "plain", "ResyncUnavailable")
	if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, "no spec.restAPI") {
		t.Errorf("Event %s %q", e.Type, e.Note)
	}
}

// TestRESTUserSigsLiveAnHour: the UserSig the operator sends is valid for
// one hour, which bounds what a leaked one gives away.
func TestRESTUserSigsLiveAnHour(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("short", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "short")
	room := roomOf(app, "short")
	eventually(t, room, "the room is read", func() bool { return room.Status.Resync != nil })
	sigs := f.AcceptedUserSigs()
	if len(sigs) == 0 {
		t.Fatal("the fake accepted no UserSig")
	}
	for _, sig := range sigs {
		c, err := tencent.DecodeUserSig(sig)
		if err != nil || c.Expire != time.Hour {
			t.Errorf("a UserSig valid for %v (%v), want 1h", c.Expire, err)
		}
	}
}

// TestResyncSweepReadsTheQuietRoomsOnly: the sweep reads a Room once it has
// gone a resyncInterval without confirmation, and leaves one whose
// callbacks (of every kind) keep coming; a room without seats is not asked
// for its seat list; status.resync says how many Rooms are live and the
// period achieved.
func TestResyncSweepReadsTheQuietRoomsOnly(t *testing.T) {
	const interval = 2 * time.Second
	f, id := newFake(t)
	for _, r := range []string{"busy", "quiet", "seatless"} {
		f.SetRoom(r, "as-created")
	}
	f.SetSeatEnabled("seatless", false)
	app := resyncApp(t, f, id, fakeKey, func(s *chatv1alpha1.RestAPISpec) {
		s.ResyncInterval = &metav1.Duration{Duration: interval}
	}, "busy", "quiet", "seatless")
	eventually(t, app, "the first pass reads the three Rooms", func() bool {
		r := app.Status.Resync
		return r != nil && r.CompletionTime != nil && r.Checked == 3 && r.LiveRooms == 3
	})
	first := readsOf(f, "busy", "quiet", "seatless")

	// For four intervals, busy hears a callback of each kind every 300 ms.
	deadline := time.Now().Add(4 * interval)
	for n := int64(1); time.Now().Before(deadline); n++ {
		at := time.Now().UnixMilli()
		callback(t, app, "busy", at, "busy")
		memberCallback(t, app, "busy", at, n, roomstore.MemberEnter, 1)
		seatCallback(t, app, "busy", at, 4, 1)
		time.Sleep(300 * time.Millisecond)
	}
	got := readsOf(f, "busy", "quiet", "seatless")
	if got["busy"] != first["busy"] {
		t.Errorf("busy, confirmed by its callbacks, was read %d more times", got["busy"]-first["busy"])
	}
	for _, r := range []string{"quiet", "seatless"} {
		if n := got[r] - first[r]; n < 2 || n > 5 {
			t.Errorf("%s, quiet for four intervals, was read %d more times, want 2 to 5", r, n)
		}
	}
	for _, req := range f.Requests("seatless") {
		if req.Command == tencent.CommandGetSeatList {
			t.Errorf("seatless, a room without seats, was asked for its seat list at %s", req.At.Format(time.StampMilli))
		}
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), app); err != nil {
		t.Fatal(err)
	}
	r := app.Status.Resync
	if r.LiveRooms != 3 || r.Period == nil || r.Period.Duration < interval || r.Period.Duration > 4*interval {
		t.Errorf("status.resync %+v (period %v): want 3 live Rooms and a period between one and four intervals", r, r.Period)
	}
	if r.Rooms > 2 {
		t.Errorf("the last pass read %d Rooms, want at most the 2 quiet ones", r.Rooms)
	}
}

// TestResyncSweepKeepsToItsShare: the sweep calls the REST API at most
// resyncRequestsPerSecond, however large requestsPerSecond is.
func TestResyncSweepKeepsToItsShare(t *testing.T) {
	f, id := newFake(t)
	ids := []string{"s1", "s2", "s3", "s4", "s5"}
	for _, r := range ids {
		f.SetRoom(r, "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, func(s *chatv1alpha1.RestAPISpec) {
		s.RequestsPerSecond = ptr.To[int32](200)
		s.ResyncRequestsPerSecond = ptr.To[int32](4)
	}, ids...)
	eventually(t, app, "the sweep reads every Room", func() bool {
		r := app.Status.Resync
		return r != nil && r.CompletionTime != nil && r.Checked == int64(len(ids))
	})
	reqs := f.Requests("")
	if len(reqs) != 2*len(ids) {
		t.Fatalf("%d requests for %d rooms, want 2 each", len(reqs), len(ids))
	}
	// 10 requests at 4 per second after a burst of 1 take at least 9/4 s.
	if span := reqs[len(reqs)-1].At.Sub(reqs[0].At); span < 2*time.Second {
		t.Errorf("%d requests in %s: over the sweep's 4 per second", len(reqs), span)
	}
}

// loseEvents tells a LostEvents, running until the test ends, that events
// of app's rooms roomIDs were lost: it asks the ChatApp for a catch-up of them.
func loseEvents(t *testing.T, app *chatv1alpha1.ChatApp, roomIDs ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	lost := &controllers.LostEvents{Client: env.Client, APIReader: env.Client, Flush: 100 * time.Millisecond}
	go func() { _ = lost.Start(ctx) }()
	for _, id := range roomIDs {
		lost.Lost(client.ObjectKeyFromObject(app), id, time.Now())
	}
}

// TestResyncCatchesUpTheRoomsThatLostEvents: a room whose callback was
// answered with an error (or whose event was dead-lettered) is read at once,
// ahead of a sweep that would not read it for an hour, and the catch-up is
// cleared when done.
func TestResyncCatchesUpTheRoomsThatLostEvents(t *testing.T) {
	f, id := newFake(t)
	for _, r := range []string{"lost", "fine"} {
		f.SetRoom(r, "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, nil, "lost", "fine")
	eventually(t, app, "the first pass reads both Rooms", func() bool {
		r := app.Status.Resync
		return r != nil && r.CompletionTime != nil && r.Checked == 2
	})
	before := readsOf(f, "lost", "fine")
	f.SetRoom("lost", "renamed by the callback that was not stored")

	loseEvents(t, app, "lost")

	room := roomOf(app, "lost")
	eventually(t, room, "the Room that lost an event is read", func() bool {
		return room.Status.RoomName == "renamed by the callback that was not stored"
	})
	eventually(t, app, "the catch-up is cleared", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CatchUp == nil
	})
	if got := readsOf(f, "lost", "fine"); got["fine"] != before["fine"] || got["lost"] != before["lost"]+1 {
		t.Errorf("reads %v after %v: want one more of lost, none of fine", got, before)
	}
}

// TestResyncCatchUpReadsOnlyLiveRooms: a catch-up plans from the Room
// index, which knows nothing of phases, and tells from each Room it fetches
// whether to read it: a Room whose room was destroyed costs no request.
func TestResyncCatchUpReadsOnlyLiveRooms(t *testing.T) {
	f, id := newFake(t)
	for _, r := range []string{"live", "gone"} {
		f.SetRoom(r, "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, nil, "live", "gone")
	eventually(t, app, "the first pass reads both Rooms", func() bool {
		r := app.Status.Resync
		return r != nil && r.CompletionTime != nil && r.Checked == 2
	})
	f.DeleteRoom("gone")
	gone := roomOf(app, "gone")
	requestResync(t, gone, "now")
	eventually(t, gone, "the Room of the destroyed room is marked so", func() bool {
		return gone.Status.Phase == chatv1alpha1.RoomPhaseDestroyed
	})
	before := readsOf(f, "live", "gone")
	f.SetRoom("live", "renamed by the callback that was not stored")

	loseEvents(t, app, "gone", "live")

	room := roomOf(app, "live")
	eventually(t, room, "the live Room is read", func() bool {
		return room.Status.RoomName == "renamed by the callback that was not stored"
	})
	eventually(t, app, "the catch-up is cleared", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CatchUp == nil
	})
	if got := readsOf(f, "live", "gone"); got["gone"] != before["gone"] || got["live"] != before["live"]+1 {
		t.Errorf("reads %v after %v: want one more of live, none of gone", got, before)
	}
}

// TestResyncCatchUpGoesAheadOfASweepUnderWay: a sweep over many Rooms at a
// slow share (here 30 Rooms at 1 request a second: a minute) gives way to a
// catch-up asked meanwhile, which reads its Room within seconds; the sweep
// then goes on.
func TestResyncCatchUpGoesAheadOfASweepUnderWay(t *testing.T) {
	f, id := newFake(t)
	var ids []string
	for i := range 30 {
		ids = append(ids, fmt.Sprintf("sweep-%02d", i))
		f.SetRoom(ids[i], "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, func(s *chatv1alpha1.RestAPISpec) {
		s.RequestsPerSecond = ptr.To[int32](200)
		s.ResyncRequestsPerSecond = ptr.To[int32](1)
	}, ids...)
	eventually(t, app, "the sweep is under way", func() bool {
		r := app.Status.Resync
		return r != nil && r.Rooms == int64(len(ids)) && r.CompletionTime == nil && len(f.Requests("")) > 0
	})
	var lost string
	for _, r := range slices.Backward(ids) {
		if reads(f, r) == 0 {
			lost = r
			break
		}
	}
	f.SetRoom(lost, "renamed by the callback that was not stored")
	asked := time.Now()
	loseEvents(t, app, lost)

	room := roomOf(app, lost)
	eventually(t, room, "the Room that lost an event is read", func() bool {
		return room.Status.RoomName == "renamed by the callback that was not stored"
	})
	if took := time.Since(asked); took > 10*time.Second {
		t.Errorf("the catch-up took %s: it waited for the sweep", took)
	}
	eventually(t, app, "the catch-up is cleared", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CatchUp == nil
	})
	before := len(f.Requests(""))
	time.Sleep(3 * time.Second)
	if after := len(f.Requests("")); after <= before {
		t.Errorf("no request in 3 s after the catch-up (%d): the sweep did not go on", after)
	}
}
