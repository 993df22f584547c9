package controllers_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

var (
	env    *testenv.Env
	nextNS atomic.Int64
)

// allowUnsigned is --allow-unsigned-callbacks for the suite's ChatApp
// controller: most ChatApps here are about something other than callback
// authentication, and have none. CallbackAuthRequired, the default, is
// decided by chatAppReadiness (status_test.go) and checked against the
// built binary in test/e2e.
const allowUnsigned = true

var (
	// suiteCtx ends when the tests are over.
	suiteCtx context.Context
	// stopManager stops the running manager and waits until it has stopped.
	stopManager func()
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, startManager))
}

// startManager runs the controllers as main.go sets them up
// (controllers.SetupWithManager), until ctx ends or stopManager is called.
func startManager(ctx context.Context) error {
	suiteCtx = ctx
	mgr, err := newManager(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	rooms, err := controllers.AddRoomIndex(mgr, nil)
	if err != nil {
		cancel()
		return err
	}
	if _, err := controllers.SetupWithManager(ctx, mgr, controllers.Config{
		Rooms:                  rooms,
		Store:                  roomstore.New(mgr.GetClient(), rooms, mgr.GetAPIReader()),
		Secrets:                lookup.NewSecretReader(mgr),
		AllowUnsignedCallbacks: allowUnsigned,
		ServingNamespace:       "default",
		Identity:               fmt.Sprintf("controllers-test-%d", time.Now().UnixNano()),
	}); err != nil {
		cancel()
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			panic(err)
		}
	}()
	stopManager = func() { cancel(); <-done }
	return nil
}

// newManager returns a manager with the cache and field indexes main.go
// gives it, and no controller yet.
func newManager(ctx context.Context) (ctrl.Manager, error) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:   testenv.Scheme,
		Metrics:  metricsserver.Options{BindAddress: "0"},
		NewCache: controllers.NewCache,
		Cache:    cache.Options{ByObject: controllers.CacheByObject()},
		// Restarted managers in one process share controller names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	if err := lookup.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	return mgr, nil
}

// newSDKAppID returns an sdkAppID no other test (or earlier run, with
// -count) has used against this control plane.
func newSDKAppID() int64 { return 1400200000 + nextNS.Add(1) }

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", nextNS.Add(1))}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// health is what kstatus, and so Flux and `kubectl wait`-style tools, make
// of obj.
func health(t *testing.T, obj client.Object) *kstatus.Result {
	t.Helper()
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	res, err := kstatus.Compute(&unstructured.Unstructured{Object: raw})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// eventually polls obj until check passes or 20 s pass.
func eventually(t *testing.T, obj client.Object, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		if check() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; object: %+v", what, obj)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readyReason(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, chatv1alpha1.ReadyCondition); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

func TestRoomLifecycleAsGitOpsSeesIt(t *testing.T) {
	ns := newNamespace(t)
	room := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "declared"},
		Spec:       chatv1alpha1.RoomSpec{SDKAppID: 1400000001, RoomID: "Declared Room"},
	}
	if err := env.Client.Create(context.Background(), room); err != nil {
		t.Fatal(err)
	}
	// As the API server returned it, before any controller looked at it.
	if room.Status.ObservedGeneration != -1 {
		t.Errorf("a new Room has status.observedGeneration %d, want the schema default -1", room.Status.ObservedGeneration)
	}
	if res := health(t, room); res.Status != kstatus.InProgressStatus {
		t.Errorf("a Room no controller has seen is %s, want InProgress", res.Status)
	}

	eventually(t, room, "the Room awaits room info", func() bool {
		return readyReason(room.Status.Conditions) == "False/"+chatv1alpha1.AwaitingRoomInfoReason
	})
	// kstatus reads every Ready=False as InProgress; what matters is that
	// roomsync does not claim to be working on it (no Reconciling) and says
	// what it waits for.
	if meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.ReconcilingCondition) != nil {
		t.Errorf("a Room awaiting Tencent has a Reconciling condition: %+v", room.Status.Conditions)
	}
	if res := health(t, room); res.Status != kstatus.InProgressStatus || !strings.Contains(res.Message, "Waiting for room info") {
		t.Errorf("kstatus reads a Room awaiting its first callback as %s (%s)", res.Status, res.Message)
	}

	// The receiver writes room info with its own field manager.
	store := roomstore.New(env.Client, lookup.ListFinder{Reader: env.Client}, env.Client)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: 1400000001}}
	name := tencent.String("Declared")
	if _, err := store.Apply(context.Background(), app, roomstore.Event{RoomID: "Declared Room", EventTime: 10, Command: tencent.CommandAfterUpdateRoomInfo,
		RoomInfo: &roomstore.RoomInfoChange{Info: tencent.RoomInfo{RoomName: &name}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, room, "the Room is Ready", func() bool {
		return readyReason(room.Status.Conditions) == "True/"+chatv1alpha1.RoomInfoReceivedReason
	})
	if res := health(t, room); res.Status != kstatus.CurrentStatus {
		t.Errorf("a Room with room info is %s (%s), want Current", res.Status, res.Message)
	}

	// The next write of the receiver keeps the controller's conditions, and
	// each writer owns its own fields.
	if _, err := store.Apply(context.Background(), app, roomstore.Event{RoomID: "Declared Room", EventTime: 20, Command: tencent.CommandAfterUpdateRoomInfo,
		RoomInfo: &roomstore.RoomInfoChange{}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(room), room); err != nil {
		t.Fatal(err)
	}
	if room.Status.LastEventTime != 20 || room.Status.RoomName != "Declared" || readyReason(room.Status.Conditions) != "True/"+chatv1alpha1.RoomInfoReceivedReason {
		t.Fatalf("after a second receiver write: %+v", room.Status)
	}
	owners := map[string]string{}
	for _, mf := range room.ManagedFields {
		if mf.Subresource == "status" && mf.FieldsV1 != nil {
			owners[mf.Manager] = mf.FieldsV1.GetRawString()
		}
	}
	if r := owners[roomstore.FieldManager]; !strings.Contains(r, "f:roomName") || strings.Contains(r, "f:conditions") {
		t.Errorf("receiver owns %s", r)
	}
	if c := owners[controllers.RoomFieldManager]; !strings.Contains(c, "f:conditions") || strings.Contains(c, "f:roomName") {
		t.Errorf("Room controller owns %s", c)
	}
}

func TestDuplicateRoomIDIsStalled(t *testing.T) {
	ns := newNamespace(t)
	mk := func(name string) *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: "same"}}
		if err := env.Client.Create(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := mk("first")
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	second := mk("second")

	eventually(t, second, "the younger Room is Stalled", func() bool {
		return readyReason(second.Status.Conditions) == "False/"+chatv1alpha1.DuplicateRoomIDReason &&
			meta.IsStatusConditionTrue(second.Status.Conditions, chatv1alpha1.StalledCondition)
	})
	if res := health(t, second); res.Status != kstatus.FailedStatus {
		t.Errorf("the duplicate is %s, want Failed", res.Status)
	}
	if !strings.Contains(meta.FindStatusCondition(second.Status.Conditions, chatv1alpha1.ReadyCondition).Message, "first") {
		t.Errorf("the duplicate's message does not name the Room that holds the room id")
	}
	eventually(t, first, "the older Room is not Stalled", func() bool {
		return readyReason(first.Status.Conditions) == "False/"+chatv1alpha1.AwaitingRoomInfoReason
	})

	// Deleting the holder hands the room id to the other Room.
	if err := env.Client.Delete(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	eventually(t, second, "the remaining Room is no longer Stalled", func() bool {
		return readyReason(second.Status.Conditions) == "False/"+chatv1alpha1.AwaitingRoomInfoReason &&
			meta.FindStatusCondition(second.Status.Conditions, chatv1alpha1.StalledCondition) == nil
	})
}

func TestChatAppTokenSecret(t *testing.T) {
	ns := newNamespace(t)
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID(), CallbackAuth: &chatv1alpha1.CallbackAuth{
			TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "chat-callback"},
		}},
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	if app.Spec.CallbackAuth.MaxClockSkew == nil || app.Spec.CallbackAuth.MaxClockSkew.Duration != time.Minute ||
		app.Spec.CallbackAuth.TokenSecretRef.Key != "token" || app.Spec.AutoCreateRooms == nil || !*app.Spec.AutoCreateRooms {
		t.Errorf("defaults not applied: %+v", app.Spec)
	}
	eventually(t, app, "the ChatApp reports the missing Secret", func() bool {
		return readyReason(app.Status.Conditions) == "False/"+chatv1alpha1.TokenSecretNotFoundReason
	})
	if c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition); c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "chat-callback") {
		t.Errorf("Stalled = %+v, want True naming the Secret", c)
	}
	if res := health(t, app); res.Status != kstatus.FailedStatus {
		t.Errorf("ChatApp without its Secret is %s, want Failed", res.Status)
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat-callback", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		Data: map[string][]byte{"other": []byte("x")}}
	if err := env.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "the ChatApp reports the missing key", func() bool {
		return readyReason(app.Status.Conditions) == "False/"+chatv1alpha1.TokenKeyNotFoundReason
	})

	secret.Data["token"] = []byte("s3cr3t")
	if err := env.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "the ChatApp recovers by itself", func() bool {
		return readyReason(app.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason &&
			meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition) == nil
	})
	if res := health(t, app); res.Status != kstatus.CurrentStatus {
		t.Errorf("a working ChatApp is %s, want Current", res.Status)
	}
}

// TestChatAppWithAnUnlabelledSecret: a token Secret without the roomsync
// label (as every Secret made before the label existed) still works, read
// from the API server, and the ChatApp gets a Warning Event that says how
// to label it.
func TestChatAppWithAnUnlabelledSecret(t *testing.T) {
	ns := newNamespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy"}, StringData: map[string]string{"token": "t"}}
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID(), CallbackAuth: &chatv1alpha1.CallbackAuth{
			TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "legacy"},
		}},
	}
	for _, obj := range []client.Object{secret, app} {
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, app, "the ChatApp accepts callbacks", func() bool {
		return readyReason(app.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})
	e := waitForEventAbout(t, ns, "ChatApp", "app", "SecretNotLabelled")
	if want := "kubectl label secret -n " + ns + " legacy " + chatv1alpha1.SecretLabel + "=true"; !strings.Contains(e.Note, want) || e.Type != corev1.EventTypeWarning {
		t.Errorf("Event %s %q does not say %q", e.Type, e.Note, want)
	}
}

func TestChatAppSDKAppIDConflict(t *testing.T) {
	id := newSDKAppID()
	mk := func(ns string) *chatv1alpha1.ChatApp {
		a := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: id}}
		if err := env.Client.Create(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	older := mk(newNamespace(t))
	time.Sleep(1100 * time.Millisecond)
	younger := mk(newNamespace(t))

	eventually(t, younger, "the younger ChatApp is Stalled", func() bool {
		return readyReason(younger.Status.Conditions) == "False/"+chatv1alpha1.SDKAppIDConflictReason
	})
	// A status names no object of another tenant's namespace.
	if msg := meta.FindStatusCondition(younger.Status.Conditions, chatv1alpha1.ReadyCondition).Message; !strings.Contains(msg, "a ChatApp in another namespace") ||
		strings.Contains(msg, older.Namespace) {
		t.Errorf("message %q does not say the older ChatApp is in another namespace, or names that namespace", msg)
	}
	eventually(t, older, "the older ChatApp is Ready", func() bool {
		return readyReason(older.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})

	if err := env.Client.Delete(context.Background(), older); err != nil {
		t.Fatal(err)
	}
	eventually(t, younger, "the remaining ChatApp takes over", func() bool {
		return readyReason(younger.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})
}

func TestImmutableAndValidatedSpec(t *testing.T) {
	ns := newNamespace(t)
	room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"}, Spec: chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: "r"}}
	if err := env.Client.Create(context.Background(), room); err != nil {
		t.Fatal(err)
	}
	// Patches without a resourceVersion: only validation may refuse them.
	orig := room.DeepCopy()
	room.Spec.RoomID = "other"
	if err := env.Client.Patch(context.Background(), room, client.MergeFrom(orig)); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("changing roomID: %v, want an immutability error", err)
	}
	for name, spec := range map[string]chatv1alpha1.RoomSpec{
		"49 bytes":      {SDKAppID: 1, RoomID: strings.Repeat("x", 49)},
		"17 three-byte": {SDKAppID: 1, RoomID: strings.Repeat("会", 17)},
		"empty":         {SDKAppID: 1, RoomID: ""},
		"no sdkAppID":   {RoomID: "x"},
	} {
		r := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "bad-"}, Spec: spec}
		if err := env.Client.Create(context.Background(), r); err == nil {
			t.Errorf("%s: a Room with spec %+v was accepted", name, spec)
		}
	}
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID()}}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	origApp := app.DeepCopy()
	app.Spec.SDKAppID++
	if err := env.Client.Patch(context.Background(), app, client.MergeFrom(origApp)); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("changing sdkAppID: %v, want an immutability error", err)
	}
}

func TestRetentionDeletesDestroyedRoomsThatCallbacksCreated(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID(), RoomRetention: &metav1.Duration{Duration: time.Second}},
	}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	declared := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "declared"}, Spec: chatv1alpha1.RoomSpec{SDKAppID: app.Spec.SDKAppID, RoomID: "declared"}}
	if err := env.Client.Create(ctx, declared); err != nil {
		t.Fatal(err)
	}
	store := roomstore.New(env.Client, lookup.ListFinder{Reader: env.Client}, env.Client)
	send := func(ev roomstore.Event) roomstore.Outcome {
		t.Helper()
		current := &chatv1alpha1.ChatApp{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), current); err != nil {
			t.Fatal(err)
		}
		outcome, err := store.Apply(ctx, current, ev)
		if err != nil {
			t.Fatal(err)
		}
		return outcome
	}
	create := func(roomID string, at int64) roomstore.Event {
		return roomstore.Event{RoomID: roomID, EventTime: at, Command: tencent.CommandAfterCreateRoom, RoomInfo: &roomstore.RoomInfoChange{}}
	}
	destroy := func(roomID string, at int64) roomstore.Event {
		return roomstore.Event{RoomID: roomID, EventTime: at, Command: tencent.CommandAfterDestroyRoom, Destroy: &roomstore.DestroyChange{Received: time.Now()}}
	}

	send(create("short-lived", 1000))
	send(create("declared", 1000))
	eventually(t, app, "the ChatApp counts its Rooms", func() bool { return app.Status.RoomCount != nil && *app.Status.RoomCount == 2 })

	send(destroy("short-lived", 2000))
	send(destroy("declared", 2000))
	created := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "short-lived"}}
	deadline := time.Now().Add(20 * time.Second)
	for env.Client.Get(ctx, client.ObjectKeyFromObject(created), created) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the destroyed Room was not deleted after its retention: %+v", created.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	eventually(t, app, "the ChatApp records the deletion and counts one Room", func() bool {
		return len(app.Status.DeletedRooms) == 1 && app.Status.DeletedRooms[0].RoomID == "short-lived" &&
			app.Status.DeletedRooms[0].DestroyEventTime == 2000 && app.Status.RoomCount != nil && *app.Status.RoomCount == 1
	})
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(declared), declared); err != nil {
		t.Fatalf("the Room a user declared was deleted: %v", err)
	}
	if declared.Status.Phase != chatv1alpha1.RoomPhaseDestroyed {
		t.Errorf("declared Room phase %q", declared.Status.Phase)
	}

	// A late event older than the destroy does not bring the Room back...
	if outcome := send(create("short-lived", 1500)); outcome != roomstore.Stale {
		t.Fatalf("a create older than the destroy of a deleted Room: %s, want stale", outcome)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(created), created); err == nil {
		t.Fatal("a late event brought back a deleted Room")
	}
	// ...a newer one does: the room id was used again.
	if outcome := send(create("short-lived", 3000)); outcome != roomstore.Applied {
		t.Fatalf("a create newer than the destroy: %s, want applied", outcome)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(created), created); err != nil {
		t.Fatalf("the reused room id has no Room: %v", err)
	}
}
