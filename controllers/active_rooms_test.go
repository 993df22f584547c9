package controllers_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

// activeRoomsApp creates a namespace with a ChatApp whose REST API takes
// requestsPerSecond and whose secret key Secret does not exist (so no
// resync reads, and changes, its Rooms), and a Room index of that
// namespace, running until the test ends.
func activeRoomsApp(t *testing.T, requestsPerSecond int32) (*chatv1alpha1.ChatApp, *lookup.RoomIndex) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: newNamespace(t), Name: "app"},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID(), RestAPI: &chatv1alpha1.RestAPISpec{
			Endpoint: "https://127.0.0.1:1", Administrator: fakeAdmin, RequestsPerSecond: ptr.To(requestsPerSecond),
			SecretKeyRef: chatv1alpha1.SecretKeyReference{Name: "absent", Key: "secretKey"},
		}}}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	index, err := lookup.NewRoomIndex(env.Config, httpClient, testenv.Scheme, []string{app.Namespace}, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = index.Start(ctx) }()
	return app, index
}

// recordOf returns the app's value in the record of active Rooms in ns
// ("" when there is none).
func recordOf(t *testing.T, ns string, app *chatv1alpha1.ChatApp) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controllers.ActiveRoomsName}, cm); err != nil {
		return ""
	}
	return cm.Data[app.Namespace+"."+itoa(app.Spec.SDKAppID)]
}

// TestActiveRoomsRecordsEachAppsMostActiveRooms: the elected replica keeps,
// in a ConfigMap of its namespace, the Rooms of each app most recently
// active, newest first, as many as two minutes of the app's budget read,
// and brings it up to date as they change; Read gives them back.
func TestActiveRoomsRecordsEachAppsMostActiveRooms(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, index := activeRoomsApp(t, 1) // 60 Rooms' worth
	for i, id := range []string{"oldest", "older", "newest"} {
		callback(t, app, id, int64(1000*(i+1)), "as-created")
	}
	var rooms []string
	for i := range 70 {
		id := "quiet-" + itoa(int64(100+i))
		rooms = append(rooms, id)
		callback(t, app, id, int64(i+1), "as-created")
	}
	operatorNS := newNamespace(t)
	active := &controllers.ActiveRooms{Client: env.Client, APIReader: env.Client, Index: index,
		Namespace: operatorNS, Every: 100 * time.Millisecond}
	go func() { _ = active.Start(ctx) }()

	want := "3000 newest\n2000 older\n1000 oldest\n"
	for _, id := range slices.Backward(rooms[13:]) {
		want += itoa(int64(slices.Index(rooms, id)+1)) + " " + id + "\n"
	}
	waitFor(t, "the record of the app's 60 most active Rooms", func() bool { return recordOf(t, operatorNS, app) == want })

	callback(t, app, "oldest", 4000, "active again")
	waitFor(t, "the record to follow a Room active again", func() bool {
		refs, err := active.Read(ctx, app.Namespace, app.Spec.SDKAppID)
		return err == nil && len(refs) == 60 && refs[0].Name == "oldest" && refs[0].LastActive == 4000 &&
			refs[0].Namespace == app.Namespace && refs[0].SDKAppID == app.Spec.SDKAppID && refs[1].Name == "newest"
	})

	// Lines that are not as roomsync writes them are left out.
	cancel() // no more writes
	time.Sleep(300 * time.Millisecond)
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: operatorNS, Name: controllers.ActiveRoomsName}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data[app.Namespace+"."+itoa(app.Spec.SDKAppID)] = "5000 Not_A-Name\nnot-a-time room\n4000 kept\n6000\n\n"
	if err := env.Client.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	refs, err := active.Read(context.Background(), app.Namespace, app.Spec.SDKAppID)
	if err != nil || len(refs) != 1 || refs[0].Name != "kept" || refs[0].LastActive != 4000 {
		t.Errorf("Read of an edited record: %v, %v; want only the room kept", refs, err)
	}
	if refs, err := active.Read(context.Background(), "elsewhere", 1); err != nil || len(refs) != 0 {
		t.Errorf("Read for an app not recorded: %v, %v; want none", refs, err)
	}
}

// TestActiveRoomsWritesOnStopAndNotBeforeTheIndexSynced: the record is
// written when the replica stops, so that the next start has the Rooms
// active until then, and never from an index that has not synced (it would
// hold no Room, and a start after an outage would find nothing to read).
func TestActiveRoomsWritesOnStopAndNotBeforeTheIndexSynced(t *testing.T) {
	app, index := activeRoomsApp(t, 20)
	callback(t, app, "active", 1000, "as-created")
	operatorNS := newNamespace(t)

	never := &controllers.ActiveRooms{Client: env.Client, APIReader: env.Client, Index: unsynced{},
		Namespace: operatorNS, Every: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = never.Start(ctx) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: operatorNS, Name: controllers.ActiveRoomsName}, cm); err == nil {
		t.Fatalf("a record was written from an index that had not synced: %v", cm.Data)
	}

	ctx, cancel = context.WithCancel(context.Background())
	if !index.WaitForSync(ctx) {
		t.Fatal("the index did not sync")
	}
	waitFor(t, "the index to have the Room's activity", func() bool {
		refs, _ := index.MostActive(app.Namespace, app.Spec.SDKAppID, 1)
		return len(refs) == 1
	})
	stopping := &controllers.ActiveRooms{Client: env.Client, APIReader: env.Client, Index: index,
		Namespace: operatorNS, Every: time.Hour}
	done = make(chan struct{})
	go func() { defer close(done); _ = stopping.Start(ctx) }()
	cancel()
	<-done
	if got := recordOf(t, operatorNS, app); got != "1000 active\n" {
		t.Errorf("the record written on stop: %q, want the active Room", got)
	}
}

// unsynced is an index that never syncs.
type unsynced struct{}

func (unsynced) MostActive(string, int64, int) ([]*lookup.RoomRef, bool) { return nil, false }

// waitFor waits up to 20 s for ok.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// gatedIndex is a Room index that has not synced until open is closed.
type gatedIndex struct {
	*lookup.RoomIndex
	open chan struct{}
}

func (g gatedIndex) HasSynced() bool {
	select {
	case <-g.open:
		return g.RoomIndex.HasSynced()
	default:
		return false
	}
}

func (g gatedIndex) WaitForSync(ctx context.Context) bool {
	select {
	case <-g.open:
		return g.RoomIndex.WaitForSync(ctx)
	case <-ctx.Done():
		return false
	}
}

func (g gatedIndex) AppRooms(ctx context.Context, namespace string, sdkAppID int64) ([]*lookup.RoomRef, error) {
	if !g.WaitForSync(ctx) {
		return nil, ctx.Err()
	}
	return g.RoomIndex.AppRooms(ctx, namespace, sdkAppID)
}

// TestCatchUpReadsTheRecordedRoomsBeforeTheIndexSynced: just after a start,
// a catch-up reads the Rooms of the record of active Rooms within the
// budget without waiting for the Room index, and applies the reads once the
// index has synced (the write path finds Rooms in it), but not to a Room
// destroyed meanwhile; then it reads the index's other Rooms active lately,
// and is cleared.
func TestCatchUpReadsTheRecordedRoomsBeforeTheIndexSynced(t *testing.T) {
	f, id := newFake(t)
	rooms := []string{"recorded-a", "recorded-b", "not-recorded"}
	// destroyed is recorded and read, then destroyed before its read applies.
	const destroyed = "recorded-destroyed"
	for _, r := range append(rooms, destroyed) {
		f.SetRoom(r, "as-created")
	}
	app := resyncApp(t, f, id, fakeKey, nil, append(rooms, destroyed)...)
	eventually(t, app, "the first pass reads every Room", func() bool {
		r := app.Status.Resync
		return r != nil && r.CompletionTime != nil && r.Checked == int64(len(rooms)+1)
	})

	// The operator stops; the rooms change meanwhile.
	stopManager()
	t.Cleanup(func() {
		if err := startManager(suiteCtx); err != nil {
			t.Fatal(err)
		}
	})
	before := readsOf(f, rooms...)
	for _, r := range rooms {
		f.SetRoom(r, "renamed while nobody listened")
	}
	operatorNS := newNamespace(t)
	now := time.Now().UnixMilli()
	record := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: controllers.ActiveRoomsName},
		Data: map[string]string{app.Namespace + "." + itoa(id): itoa(now) + " recorded-a\n" + itoa(now) + " recorded-b\n" + itoa(now) + " " + destroyed + "\n"}}
	if err := env.Client.Create(context.Background(), record); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), app); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(app.DeepCopy())
	app.Status.Resync.CatchUp = &chatv1alpha1.ResyncCatchUp{Since: &metav1.Time{Time: time.Now()}, Reason: chatv1alpha1.NoReplicaServingReason}
	if err := env.Client.Status().Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}

	// It starts again with the resync alone, and a Room index held back.
	ctx, cancel := context.WithCancel(suiteCtx)
	defer cancel()
	mgr, err := newManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	index, err := lookup.NewRoomIndex(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), nil, mgr.GetAPIReader())
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(index); err != nil {
		t.Fatal(err)
	}
	gated := gatedIndex{RoomIndex: index, open: make(chan struct{})}
	secrets := lookup.NewSecretReader(mgr)
	if err := (&controllers.ResyncReconciler{
		Client:    mgr.GetClient(),
		Store:     roomstore.New(mgr.GetClient(), lookup.ListFinder{Reader: mgr.GetAPIReader()}, mgr.GetAPIReader()),
		Secrets:   secrets,
		APIs:      &controllers.RESTAPIs{Secrets: secrets, HTTP: &http.Client{Timeout: 5 * time.Second}},
		Index:     gated,
		APIReader: mgr.GetAPIReader(),
		Active:    &controllers.ActiveRooms{APIReader: mgr.GetAPIReader(), Namespace: operatorNS},
		Recorder:  mgr.GetEventRecorder("roomsync-resync"),
		Context:   ctx,
	}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Error(err)
		}
	}()
	defer func() { cancel(); <-done }()

	waitFor(t, "the recorded Rooms read while the index has not synced", func() bool {
		got := readsOf(f, rooms...)
		return got["recorded-a"] == before["recorded-a"]+1 && got["recorded-b"] == before["recorded-b"]+1 &&
			readsOf(f, destroyed)[destroyed] > 0
	})
	apply(t, app, roomstore.Event{RoomID: destroyed, EventTime: time.Now().UnixMilli(), Command: tencent.CommandAfterDestroyRoom,
		Destroy: &roomstore.DestroyChange{Received: time.Now()}})
	gone := roomOf(app, destroyed)
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(gone), gone); err != nil {
		t.Fatal(err)
	}
	lastRead := gone.Status.Resync.Time
	// status.resync.time has seconds: a second on, a new read would show.
	time.Sleep(time.Until(lastRead.Add(1100 * time.Millisecond)))
	time.Sleep(500 * time.Millisecond)
	for _, r := range rooms {
		room := roomOf(app, r)
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(room), room); err != nil {
			t.Fatal(err)
		}
		if room.Status.RoomName != "as-created" {
			t.Errorf("Room %s was written before the index synced: %q", r, room.Status.RoomName)
		}
	}
	if got := readsOf(f, "not-recorded")["not-recorded"]; got != before["not-recorded"] {
		t.Errorf("a Room the record does not have was read before the index synced")
	}

	close(gated.open)
	for _, r := range rooms {
		room := roomOf(app, r)
		eventually(t, room, "every Room active lately healed once the index synced", func() bool {
			return room.Status.RoomName == "renamed while nobody listened" && room.Status.Resync != nil && room.Status.Resync.DriftFound
		})
	}
	eventually(t, app, "the catch-up is cleared", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CatchUp == nil
	})
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(gone), gone); err != nil {
		t.Fatal(err)
	}
	if r := gone.Status.Resync; !r.Time.Equal(lastRead) || gone.Status.Phase != chatv1alpha1.RoomPhaseDestroyed {
		t.Errorf("a Room destroyed since its read: phase %s, status.resync %+v; want its read left unapplied (time %s)", gone.Status.Phase, r, lastRead)
	}
	if got := readsOf(f, rooms...); got["recorded-a"] != before["recorded-a"]+1 || got["not-recorded"] != before["not-recorded"]+1 {
		t.Errorf("reads %v after %v: want one more of each Room (the recorded ones not again)", got, before)
	}
}
