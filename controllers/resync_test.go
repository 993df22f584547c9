package controllers_test

import (
	"context"
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
	outcome, err := roomstore.New(env.Client, env.Client).Apply(context.Background(), app, roomstore.Event{
		RoomID: roomID, EventTime: eventTime, Command: tencent.CommandAfterUpdateRoomInfo,
		RoomInfo: &roomstore.RoomInfoChange{Info: tencent.RoomInfo{RoomName: &n}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return outcome
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
	daily := roomOf(app, "daily")
	eventually(t, daily, "the Room in sync is checked too", func() bool {
		return daily.Status.Resync != nil && daily.Status.Resync.Time != nil
	})
	if daily.Status.Resync.DriftFound {
		t.Error("a Room in sync is reported drifted")
	}
	eventually(t, app, "the ChatApp shows the resync", func() bool {
		r := app.Status.Resync
		return r != nil && r.CompletionTime != nil && r.Rooms == 2 && r.Checked == 2 && r.Drifted == 1
	})
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
	reqs := f.Requests("")
	if len(reqs) != len(ids) {
		t.Fatalf("%d requests for %d rooms", len(reqs), len(ids))
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
	if span := reqs[len(reqs)-1].At.Sub(reqs[0].At); span < 2*time.Second {
		t.Errorf("%d requests in %s at 5 per second", len(reqs), span)
	}
}

func TestResyncRequestIsActedOnOncePerValue(t *testing.T) {
	f, id := newFake(t)
	f.SetRoom("one", "as-created")
	app := resyncApp(t, f, id, fakeKey, nil, "one")
	room := roomOf(app, "one")
	eventually(t, room, "the first resync", func() bool { return room.Status.Resync != nil && room.Status.Resync.Time != nil })
	before := len(f.Requests("one"))

	requestResync(t, room, "2026-11-25T10:00:00Z")
	eventually(t, room, "the request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "2026-11-25T10:00:00Z"
	})
	// Other changes of the Room do not repeat it.
	callback(t, app, "one", time.Now().UnixMilli(), "renamed")
	time.Sleep(time.Second)
	if n := len(f.Requests("one")) - before; n != 1 {
		t.Errorf("%d reads for one request, want 1", n)
	}

	requestResync(t, room, "2026-11-25T10:05:00Z")
	eventually(t, room, "the next request is handled", func() bool {
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == "2026-11-25T10:05:00Z"
	})
	if n := len(f.Requests("one")) - before; n != 2 {
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

// restRequests returns roomsync_rest_requests_total for command and code.
func restRequests(t *testing.T, command, code string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "roomsync_rest_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["command"] == command && labels["code"] == code {
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
	before := restRequests(t, tencent.CommandGetRoomInfo, "bad_answer")
	app := resyncApp(t, f, id, fakeKey, nil, "odd")

	eventually(t, app, "the failure is recorded", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.Failure != nil
	})
	failure := app.Status.Resync.Failure
	if failure.Reason != chatv1alpha1.RESTAPIBadAnswerReason || !strings.Contains(failure.Message, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RoomInfo":{"RoomId":"odd"`) {
		t.Errorf("failure %+v: want reason %s and a message quoting the answer", failure, chatv1alpha1.RESTAPIBadAnswerReason)
	}
	if n := restRequests(t, tencent.CommandGetRoomInfo, "bad_answer") - before; n != 1 {
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
