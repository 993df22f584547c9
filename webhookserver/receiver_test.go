package webhookserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
	"github.com/roomsync/roomsync/webhookserver"
)

var (
	env *testenv.Env
	// replicas are the callback URLs of two receivers, each with its own
	// manager and cache, as two operator replicas would be. They accept
	// unsigned callbacks (--allow-unsigned-callbacks): most tests here are
	// about what a callback writes, and send them unsigned.
	replicas []string
	// strict is a receiver with the default, --allow-unsigned-callbacks
	// off.
	strict string
	// caches are the receivers' caches, strict's last.
	caches  []client.Reader
	nextApp atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, func(ctx context.Context) error {
		for i := range 3 {
			allowUnsigned := i < 2
			u, err := startReceiver(ctx, allowUnsigned)
			if err != nil {
				return err
			}
			if allowUnsigned {
				replicas = append(replicas, u)
			} else {
				strict = u
			}
		}
		return nil
	}))
}

// startReceiver runs a manager with the callback receiver, as main.go wires
// it, and returns the receiver's callback URL.
func startReceiver(ctx context.Context, allowUnsigned bool) (string, error) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:   testenv.Scheme,
		Metrics:  metricsserver.Options{BindAddress: "0"},
		NewCache: controllers.NewCache,
		Cache:    cache.Options{ByObject: controllers.CacheByObject()},
	})
	if err != nil {
		return "", err
	}
	rooms, err := lookup.NewRoomIndex(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), nil, mgr.GetAPIReader())
	if err != nil {
		return "", err
	}
	if err := mgr.Add(rooms); err != nil {
		return "", err
	}
	if err := lookup.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return "", err
	}
	secrets := lookup.NewSecretReader(mgr)
	secrets.TTL = secretTTL
	srv := &webhookserver.Server{
		Addr: "127.0.0.1:0",
		Handler: &webhookserver.Handler{
			Apps:          &webhookserver.KubeApps{Client: mgr.GetClient(), Secrets: secrets, Log: ctrl.Log},
			Rooms:         roomstore.New(mgr.GetClient(), rooms, mgr.GetAPIReader()),
			AllowUnsigned: allowUnsigned,
			Timeout:       5 * time.Second, // generous: the test machine may be busy
			Now:           time.Now,
			Log:           ctrl.Log,
		},
		WaitForCacheSync: func(ctx context.Context) bool {
			return mgr.GetCache().WaitForCacheSync(ctx) && rooms.WaitForSync(ctx)
		},
	}
	if err := mgr.Add(srv); err != nil {
		return "", err
	}
	caches = append(caches, mgr.GetClient())
	go func() {
		if err := mgr.Start(ctx); err != nil {
			panic(err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for srv.ListenAddr() == nil || srv.ReadyCheck(nil) != nil {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("receiver did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "http://" + srv.ListenAddr().String() + webhookserver.Path, nil
}

// newApp creates a namespace, the objects before in it, and a ChatApp with a
// fresh sdkAppID in it.
func newApp(t *testing.T, mutate func(*chatv1alpha1.ChatApp), before ...client.Object) *chatv1alpha1.ChatApp {
	t.Helper()
	id := 1400100000 + nextApp.Add(1)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app-" + strconv.FormatInt(id, 10)}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	for _, obj := range before {
		obj.SetNamespace(ns.Name)
		obj.SetResourceVersion("")
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "app"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: id},
	}
	if mutate != nil {
		mutate(app)
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	waitForReceivers(t, app)
	return app
}

// waitForReceivers waits until every receiver's cache has app: callbacks
// are answered alike whether or not a receiver knows an app.
func waitForReceivers(t *testing.T, app *chatv1alpha1.ChatApp) {
	t.Helper()
	for _, c := range caches {
		waitFor(t, "the receiver knows the ChatApp", func() bool {
			return c.Get(context.Background(), client.ObjectKeyFromObject(app), &chatv1alpha1.ChatApp{}) == nil
		})
	}
}

// roomInfo builds an update callback body. EventTime 0 means absent.
func roomInfo(roomID string, eventTime int64, fields ...any) map[string]any {
	info := map[string]any{"RoomId": roomID}
	for i := 0; i+1 < len(fields); i += 2 {
		info[fields[i].(string)] = fields[i+1]
	}
	body := map[string]any{"CallbackCommand": tencent.CommandAfterUpdateRoomInfo, "Operator_Account": "bob", "RoomInfo": info}
	if eventTime != 0 {
		body["EventTime"] = eventTime
	}
	return body
}

// send posts a callback as Tencent would, signed when token is set.
func send(t *testing.T, callbackURL string, sdkAppID int64, token string, body map[string]any) (int, map[string]any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	q := tencent.CallbackQuery{SDKAppID: sdkAppID, Command: fmt.Sprint(body["CallbackCommand"]), ClientIP: "203.0.113.7", OptPlatform: "iOS", Token: token}
	resp, err := http.Post(callbackURL+"?"+q.Encode(time.Now()), "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, answer
}

func mustSend(t *testing.T, callbackURL string, app *chatv1alpha1.ChatApp, body map[string]any) map[string]any {
	t.Helper()
	status, answer := send(t, callbackURL, app.Spec.SDKAppID, "", body)
	if status != http.StatusOK {
		t.Fatalf("answer %d %v, want 200", status, answer)
	}
	return answer
}

func getRoom(t *testing.T, namespace, name string) *chatv1alpha1.Room {
	t.Helper()
	room := &chatv1alpha1.Room{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, room); err != nil {
		t.Fatalf("getting Room %s/%s: %v", namespace, name, err)
	}
	return room
}

func listRooms(t *testing.T, namespace string) []chatv1alpha1.Room {
	t.Helper()
	var list chatv1alpha1.RoomList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSeedSampleCreatesAndFillsRoom(t *testing.T) {
	app := newApp(t, nil)
	seed := roomInfo("rid-123", 1670574414123,
		"RoomName", "rname-123", "Owner_Account", "jack", "TakeSeatMode", "FreeToTake", "MaxMemberCount", 300,
		"IsVideoDisabled", false, "IsAudioDisabled", false, "IsMessageDisabled", false,
		"IsScreenSharingDisabled", false, "IsCloudRecordingDisabled", "false", "CustomInfo", "123")
	mustSend(t, replicas[0], app, seed)

	room := getRoom(t, app.Namespace, "rid-123")
	if room.Spec.RoomID != "rid-123" || room.Spec.SDKAppID != app.Spec.SDKAppID {
		t.Errorf("spec %+v", room.Spec)
	}
	if room.Labels[chatv1alpha1.SDKAppIDLabel] != strconv.FormatInt(app.Spec.SDKAppID, 10) ||
		room.Labels[chatv1alpha1.CreatedByLabel] != chatv1alpha1.CreatedByCallback {
		t.Errorf("labels %v", room.Labels)
	}
	want := chatv1alpha1.RoomStatus{
		ObservedGeneration: -1, // no Room controller runs in this test
		RoomName:           "rname-123", OwnerAccount: "jack", TakeSeatMode: "FreeToTake", MaxMemberCount: 300,
		VideoDisabled: ptr.To(false), AudioDisabled: ptr.To(false), MessageDisabled: ptr.To(false),
		ScreenSharingDisabled: ptr.To(false), CloudRecordingDisabled: ptr.To(false), CloudRecording: chatv1alpha1.CloudRecordingEnabled,
		CloudRecordingEnabledTime: 1670574414123,
		CustomInfo:                "123", Phase: chatv1alpha1.RoomPhaseActive, LastEventTime: 1670574414123, LastOperator: "bob",
		LastCallbackCommand: tencent.CommandAfterUpdateRoomInfo, LastClientIP: "203.0.113.7", LastOptPlatform: "iOS",
	}
	if got := room.Status; fmt.Sprintf("%+v", deref(got)) != fmt.Sprintf("%+v", deref(want)) {
		t.Errorf("status\n got %+v\nwant %+v", deref(got), deref(want))
	}
}

// deref prints pointer fields by value.
func deref(s chatv1alpha1.RoomStatus) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestOrderingByEventTime(t *testing.T) {
	app := newApp(t, nil)
	mustSend(t, replicas[0], app, roomInfo("ordered", 2000, "RoomName", "newer", "IsCloudRecordingDisabled", true))

	answer := mustSend(t, replicas[1], app, roomInfo("ordered", 1000, "RoomName", "older"))
	if info := fmt.Sprint(answer["ErrorInfo"]); info == "" {
		t.Errorf("a stale event answered without saying so: %v", answer)
	}
	if room := getRoom(t, app.Namespace, "ordered"); room.Status.RoomName != "newer" || room.Status.LastEventTime != 2000 {
		t.Fatalf("an older event changed the Room: %+v", room.Status)
	}

	// The same EventTime again (a retried event) is applied again.
	mustSend(t, replicas[0], app, roomInfo("ordered", 2000, "RoomName", "retried"))
	if room := getRoom(t, app.Namespace, "ordered"); room.Status.RoomName != "retried" {
		t.Fatalf("an event with an equal EventTime was not applied: %+v", room.Status)
	}

	// A partial update keeps what it does not carry.
	mustSend(t, replicas[1], app, roomInfo("ordered", 3000, "IsCloudRecordingDisabled", 0))
	room := getRoom(t, app.Namespace, "ordered")
	if room.Status.RoomName != "retried" || room.Status.CloudRecordingDisabled == nil || *room.Status.CloudRecordingDisabled ||
		room.Status.CloudRecording != chatv1alpha1.CloudRecordingEnabled {
		t.Fatalf("a partial update lost or misread fields: %+v", deref(room.Status))
	}
}

// TestConcurrentCallbacksForOneRoom sends events for one room in shuffled
// order from many clients through both replicas: every one is answered OK,
// and the Room ends at the newest.
func TestConcurrentCallbacksForOneRoom(t *testing.T) {
	app := newApp(t, nil)
	const n = 40
	times := rand.Perm(n)
	var wg sync.WaitGroup
	for i, et := range times {
		wg.Go(func() {
			eventTime := int64(1000 + et)
			body := roomInfo("hot", eventTime, "RoomName", fmt.Sprintf("name-%d", eventTime), "MaxMemberCount", eventTime)
			if status, answer := send(t, replicas[i%2], app.Spec.SDKAppID, "", body); status != http.StatusOK {
				t.Errorf("event %d: answer %d %v", eventTime, status, answer)
			}
		})
	}
	wg.Wait()
	rooms := listRooms(t, app.Namespace)
	if len(rooms) != 1 {
		t.Fatalf("%d Rooms for one room id", len(rooms))
	}
	newest := int64(1000 + n - 1)
	if st := rooms[0].Status; st.LastEventTime != newest || st.RoomName != fmt.Sprintf("name-%d", newest) || st.MaxMemberCount != newest {
		t.Fatalf("Room ended at %+v, want the newest event %d", deref(st), newest)
	}
}

// TestHotRoomIsCommittedInGroups sends a busy room's updates as Tencent does
// (each newer than the last) from many senders at once: every callback is
// answered OK, the Room ends at the newest, and callbacks that arrive during
// a write share the next write.
func TestHotRoomIsCommittedInGroups(t *testing.T) {
	app := newApp(t, nil)
	const n, senders = 300, 32
	writesBefore := receiverWrites(t)
	events := make(chan int64)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for et := range events {
				body := roomInfo("busy", et, "RoomName", fmt.Sprintf("name-%d", et), "MaxMemberCount", et)
				if status, answer := send(t, replicas[0], app.Spec.SDKAppID, "", body); status != http.StatusOK {
					t.Errorf("event %d: answer %d %v", et, status, answer)
				}
			}
		})
	}
	for i := range int64(n) {
		events <- 1000 + i
	}
	close(events)
	wg.Wait()

	room := getRoom(t, app.Namespace, roomstore.NameFor("busy"))
	newest := int64(1000 + n - 1)
	if st := room.Status; st.LastEventTime != newest || st.RoomName != fmt.Sprintf("name-%d", newest) || st.MaxMemberCount != newest {
		t.Fatalf("Room ended at %+v, want the newest event %d", deref(st), newest)
	}
	// One write per callback would be n; groups make it a fraction.
	if writes := receiverWrites(t) - writesBefore; writes > n/4 {
		t.Errorf("%v status writes for %d callbacks, want at most %d", writes, n, n/4)
	} else {
		t.Logf("%v status writes for %d callbacks", writes, n)
	}
}

// receiverWrites is how many Room status writes the receivers of this
// process have sent, read from their metric.
func receiverWrites(t *testing.T) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == "roomsync_room_status_writes_total" {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestConcurrentNewRoomsAreCreatedOnce(t *testing.T) {
	app := newApp(t, nil)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			body := roomInfo(fmt.Sprintf("Room_%d", i%10), int64(1000+i))
			if status, answer := send(t, replicas[i%2], app.Spec.SDKAppID, "", body); status != http.StatusOK {
				t.Errorf("answer %d %v", status, answer)
			}
		})
	}
	wg.Wait()
	rooms := listRooms(t, app.Namespace)
	if len(rooms) != 10 {
		t.Fatalf("%d Rooms for 10 room ids", len(rooms))
	}
	for _, r := range rooms {
		if r.Name != roomstore.NameFor(r.Spec.RoomID) {
			t.Errorf("Room %s for room id %q, want name %s", r.Name, r.Spec.RoomID, roomstore.NameFor(r.Spec.RoomID))
		}
	}
}

func TestRoomIDsThatAreNotNames(t *testing.T) {
	app := newApp(t, nil)
	ids := []string{"会议室/1", "Room.A", "room.a", "a b", "x/../y"}
	for i, id := range ids {
		mustSend(t, replicas[i%2], app, roomInfo(id, 1000, "RoomName", id))
	}
	rooms := listRooms(t, app.Namespace)
	if len(rooms) != len(ids) {
		t.Fatalf("%d Rooms for %d room ids", len(rooms), len(ids))
	}
	for _, r := range rooms {
		if r.Status.RoomName != r.Spec.RoomID {
			t.Errorf("Room %s (room id %q) holds room info of %q", r.Name, r.Spec.RoomID, r.Status.RoomName)
		}
	}
}

func TestAutoCreateOff(t *testing.T) {
	app := newApp(t, func(a *chatv1alpha1.ChatApp) { a.Spec.AutoCreateRooms = ptr.To(false) })

	answer := mustSend(t, replicas[0], app, roomInfo("undeclared", 1000))
	if fmt.Sprint(answer["ErrorInfo"]) == "" {
		t.Errorf("an ignored event answered without saying so: %v", answer)
	}
	if rooms := listRooms(t, app.Namespace); len(rooms) != 0 {
		t.Fatalf("a Room was created with autoCreateRooms false: %v", rooms[0].Name)
	}

	// A Room the user declared, under a name of their choosing, is found by
	// spec.roomID and updated.
	declared := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: "lobby"},
		Spec:       chatv1alpha1.RoomSpec{SDKAppID: app.Spec.SDKAppID, RoomID: "Lobby_Room"},
	}
	if err := env.Client.Create(context.Background(), declared); err != nil {
		t.Fatal(err)
	}
	for _, u := range replicas {
		waitFor(t, "the receiver sees the declared Room", func() bool {
			mustSend(t, u, app, roomInfo("Lobby_Room", 2000, "RoomName", "lobby"))
			return getRoom(t, app.Namespace, "lobby").Status.RoomName == "lobby"
		})
	}
	if rooms := listRooms(t, app.Namespace); len(rooms) != 1 {
		t.Fatalf("%d Rooms, want only the declared one", len(rooms))
	}
}

func TestDeclaredRoomIsFoundByRoomIDAndOldestWins(t *testing.T) {
	app := newApp(t, nil)
	for _, name := range []string{"first", "second"} {
		room := &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: name},
			Spec:       chatv1alpha1.RoomSpec{SDKAppID: app.Spec.SDKAppID, RoomID: "shared"},
		}
		if err := env.Client.Create(context.Background(), room); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	}
	waitFor(t, "the oldest Room receives the callback", func() bool {
		mustSend(t, replicas[0], app, roomInfo("shared", 1000, "RoomName", "updated"))
		return getRoom(t, app.Namespace, "first").Status.RoomName == "updated"
	})
	if st := getRoom(t, app.Namespace, "second").Status; st.LastEventTime != 0 {
		t.Fatalf("the younger duplicate was updated: %+v", deref(st))
	}
	if rooms := listRooms(t, app.Namespace); len(rooms) != 2 {
		t.Fatalf("%d Rooms, want the two declared ones and no created one", len(rooms))
	}
}

// secretTTL is how long the receivers under test keep an unlabelled Secret
// they read from the API server (shorter than roomsync's 30 s, for speed).
const secretTTL = 3 * time.Second

// labelled marks the Secrets roomsync caches (and watches).
var labelled = map[string]string{chatv1alpha1.SecretLabel: "true"}

// TestUnlabelledSecretIsReadFromTheAPIServer: a token Secret without the
// roomsync label, as every Secret made before it existed, is not in the
// cache: the receiver reads it from the API server, so a signed callback is
// accepted at once, and one that is created after a callback found none is
// seen once what was read expires.
func TestUnlabelledSecretIsReadFromTheAPIServer(t *testing.T) {
	app := newApp(t, func(a *chatv1alpha1.ChatApp) {
		a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "legacy"}}
	})
	if status, _ := send(t, replicas[0], app.Spec.SDKAppID, "tok", roomInfo("unlabelled", 1000)); status != http.StatusUnauthorized {
		t.Fatalf("answer %d before the Secret exists, want 401", status)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: "legacy"}, Data: map[string][]byte{"token": []byte("tok")}}
	if err := env.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	for i, replica := range replicas {
		waitFor(t, "a callback signed with the unlabelled Secret's token is accepted", func() bool {
			status, _ := send(t, replica, app.Spec.SDKAppID, "tok", roomInfo("unlabelled", 1000))
			return status == http.StatusOK
		})
		if took := time.Since(created); took > secretTTL+time.Second {
			t.Errorf("replica %d saw the new Secret after %s, later than the %s a read is kept", i, took, secretTTL)
		}
	}
	// A Secret that was there before the first callback is used at once.
	other := newApp(t, func(a *chatv1alpha1.ChatApp) {
		a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "legacy"}}
	}, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}, Data: secret.Data})
	for _, replica := range replicas {
		if status, answer := send(t, replica, other.Spec.SDKAppID, "tok", roomInfo("unlabelled", 1000)); status != http.StatusOK {
			t.Errorf("answer %d %v, want 200 at once", status, answer)
		}
	}
}

func TestSignedCallbacksAndMissingSecret(t *testing.T) {
	app := newApp(t, func(a *chatv1alpha1.ChatApp) {
		a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "chat-callback"}}
	})
	status, answer := send(t, replicas[0], app.Spec.SDKAppID, "tok", roomInfo("signed", 1000))
	// The caller is not told which Secret is missing (the ChatApp's
	// status says so).
	if status != http.StatusUnauthorized || bytes.Contains([]byte(fmt.Sprint(answer["ErrorInfo"])), []byte("chat-callback")) {
		t.Fatalf("answer %d %v, want 401 that does not name the Secret", status, answer)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: "chat-callback", Labels: labelled},
		Data:       map[string][]byte{"token": []byte("tok")},
	}
	if err := env.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a signed callback is accepted once the Secret exists", func() bool {
		status, _ := send(t, replicas[0], app.Spec.SDKAppID, "tok", roomInfo("signed", 1000))
		return status == http.StatusOK
	})
	if status, answer := send(t, replicas[1], app.Spec.SDKAppID, "wrong", roomInfo("signed", 2000, "RoomName", "forged")); status != http.StatusUnauthorized {
		t.Fatalf("answer %d %v to a callback signed with another token, want 401", status, answer)
	}
	if st := getRoom(t, app.Namespace, "signed").Status; st.RoomName == "forged" || st.LastEventTime != 1000 {
		t.Fatalf("a rejected callback changed the Room: %+v", deref(st))
	}
}

func TestRejectedCallbacksWriteNothing(t *testing.T) {
	app := newApp(t, nil)
	for _, body := range []map[string]any{
		roomInfo("", 1000),
		roomInfo("this-room-id-is-longer-than-forty-eight-bytes-in-all", 1000),
		roomInfo("no-time", 0),
		roomInfo("bad-type", 1000, "MaxMemberCount", "lots"),
	} {
		if status, answer := send(t, replicas[0], app.Spec.SDKAppID, "", body); status != http.StatusBadRequest {
			t.Errorf("body %v: answer %d %v, want 400", body, status, answer)
		}
	}
	if rooms := listRooms(t, app.Namespace); len(rooms) != 0 {
		t.Fatalf("rejected callbacks created %d Rooms", len(rooms))
	}
}

func body(command string, fields ...any) map[string]any {
	b := map[string]any{"CallbackCommand": command}
	for i := 0; i+1 < len(fields); i += 2 {
		b[fields[i].(string)] = fields[i+1]
	}
	return b
}

func TestRoomLife(t *testing.T) {
	app := newApp(t, nil)
	// Events for a room the cluster does not know create nothing.
	for _, b := range []map[string]any{
		body(tencent.CommandAfterMemberEnter, "RoomId", "life", "EventTime", 1, "MemberCount", 1, "Type", "Enter"),
		body(tencent.CommandAfterSeatInfoChanged, "RoomId", "life", "EventTime", 1, "SeatList", []any{}),
		body(tencent.CommandAfterDestroyRoom, "RoomId", "life", "EventTime", 1),
	} {
		if answer := mustSend(t, replicas[0], app, b); !strings.Contains(fmt.Sprint(answer["ErrorInfo"]), "ignored") {
			t.Errorf("%s for an unknown room: %v, want ignored", b["CallbackCommand"], answer)
		}
	}
	if rooms := listRooms(t, app.Namespace); len(rooms) != 0 {
		t.Fatalf("member, seat or destroy events created a Room")
	}

	mustSend(t, replicas[0], app, body(tencent.CommandAfterCreateRoom, "Operator_Account", "owner", "EventTime", 1000,
		"RoomInfo", map[string]any{"RoomId": "life", "RoomName": "Life", "RoomType": "Conference", "Owner_Account": 10001,
			"MaxMemberCount": 50, "MaxSeatCount": 8, "IsSeatEnabled": "true", "ScheduleStartTime": 1700000000,
			"ScheduleEndTime": 1700003600, "RoomStatus": "Scheduled", "CreateTime": 1699999999, "IsCloudRecordingDisabled": 1},
		"ScheduleInviteeList_Account", []any{"a", "b", "c"}))
	mustSend(t, replicas[1], app, body(tencent.CommandAfterMemberEnter, "RoomId", "life", "EventTime", 1100, "MemberCount", 3, "Type", "Enter", "MemberList_Account", []any{"a", "b", "c"}))
	mustSend(t, replicas[0], app, body(tencent.CommandAfterMemberLeave, "RoomId", "life", "EventTime", 1200, "MemberCount", 2, "Type", "Kicked", "MemberList_Account", []any{"c"}))
	mustSend(t, replicas[1], app, body(tencent.CommandAfterSeatInfoChanged, "RoomId", "life", "EventTime", 1300,
		"SeatList", []any{map[string]any{"Index": 0, "Member_Account": "a"}, map[string]any{"Index": 1}}))

	room := getRoom(t, app.Namespace, "life")
	st := room.Status
	if st.RoomType != "Conference" || st.MaxSeatCount != 8 || st.SeatEnabled == nil || !*st.SeatEnabled || st.ScheduleStartTime != 1700000000 ||
		st.ScheduleEndTime != 1700003600 || st.RoomStatus != "Scheduled" || st.CreateTime != 1699999999 || st.ScheduleInviteeCount != 3 ||
		st.OwnerAccount != "10001" || st.CloudRecording != chatv1alpha1.CloudRecordingDisabled || st.Phase != chatv1alpha1.RoomPhaseActive {
		t.Errorf("after create: %s", deref(st))
	}
	if m := st.Members; m == nil || st.MemberCount == nil || *st.MemberCount != 2 || m.Kicked != 1 || m.EventTime != 1200 {
		t.Errorf("members: %+v", m)
	}
	if s := st.Seats; s == nil || s.Total != 2 || s.Taken != 1 {
		t.Errorf("seats: %+v", s)
	}

	mustSend(t, replicas[0], app, body(tencent.CommandAfterDestroyRoom, "Operator_Account", "admin", "RoomId", "life", "EventTime", 2000))
	answer := mustSend(t, replicas[1], app, body(tencent.CommandAfterMemberLeave, "RoomId", "life", "EventTime", 1900, "MemberCount", 0, "Type", "Leave"))
	if !strings.Contains(fmt.Sprint(answer["ErrorInfo"]), "stale") {
		t.Errorf("a member event older than the destroy: %v, want stale", answer)
	}
	st = getRoom(t, app.Namespace, "life").Status
	if st.Phase != chatv1alpha1.RoomPhaseDestroyed || st.Destroyed == nil || st.Destroyed.Operator != "admin" || st.Destroyed.EventTime != 2000 || *st.MemberCount != 2 {
		t.Errorf("after destroy: %s", deref(st))
	}

	// The room id is used again.
	mustSend(t, replicas[0], app, body(tencent.CommandAfterCreateRoom, "EventTime", 3000, "RoomInfo", map[string]any{"RoomId": "life", "RoomName": "Life again"}))
	if st := getRoom(t, app.Namespace, "life").Status; st.Phase != chatv1alpha1.RoomPhaseActive || st.RoomName != "Life again" {
		t.Errorf("after the room id was reused: %s", deref(st))
	}
}

// TestShuffledEventsOfEveryKind sends the events of several rooms in random
// order, concurrently through both replicas: each Room ends at the newest
// event of each kind.
func TestShuffledEventsOfEveryKind(t *testing.T) {
	app := newApp(t, nil)
	const rooms, perKind = 4, 8
	var events []map[string]any
	for r := range rooms {
		id := fmt.Sprintf("mix-%d", r)
		// The first event creates the Room; the rest arrive in any order.
		mustSend(t, replicas[0], app, roomInfo(id, 1))
		for i := int64(1); i <= perKind; i++ {
			events = append(events,
				roomInfo(id, 100*i, "RoomName", fmt.Sprintf("name-%d", i)),
				body(tencent.CommandAfterMemberEnter, "RoomId", id, "EventTime", 100*i+1, "MemberCount", i, "Type", "Enter"),
				body(tencent.CommandAfterSeatInfoChanged, "RoomId", id, "EventTime", 100*i+2, "SeatList", seatList(i)))
		}
	}
	rand.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	var wg sync.WaitGroup
	for i, b := range events {
		wg.Go(func() {
			if status, answer := send(t, replicas[i%2], app.Spec.SDKAppID, "", b); status != http.StatusOK {
				t.Errorf("answer %d %v", status, answer)
			}
		})
	}
	wg.Wait()
	for r := range rooms {
		st := getRoom(t, app.Namespace, fmt.Sprintf("mix-%d", r)).Status
		if st.RoomName != fmt.Sprintf("name-%d", perKind) || st.LastEventTime != 100*perKind ||
			st.MemberCount == nil || *st.MemberCount != perKind || st.Seats == nil || st.Seats.Total != perKind {
			t.Errorf("room mix-%d ended at %s, want the newest event of each kind", r, deref(st))
		}
	}
}

func seatList(n int64) []any {
	seats := make([]any, n)
	for i := range seats {
		seats[i] = map[string]any{"Index": i, "Member_Account": ""}
	}
	return seats
}

func TestTokenRotation(t *testing.T) {
	app := newApp(t, func(a *chatv1alpha1.ChatApp) {
		a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "rotating", Key: "token", PreviousKey: "previous"}}
	})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: "rotating", Labels: labelled},
		Data:       map[string][]byte{"token": []byte("new"), "previous": []byte("old")},
	}
	if err := env.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	// Step 2 of a rotation: the console may sign with either token.
	for _, u := range replicas {
		for _, tok := range []string{"new", "old"} {
			waitFor(t, "a callback signed with the "+tok+" token is accepted", func() bool {
				status, _ := send(t, u, app.Spec.SDKAppID, tok, roomInfo("rotated", 1000))
				return status == http.StatusOK
			})
		}
	}
	// Step 3: the previous token is removed; only the new one is accepted.
	delete(secret.Data, "previous")
	if err := env.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed token is refused", func() bool {
		status, _ := send(t, replicas[0], app.Spec.SDKAppID, "old", roomInfo("rotated", 1000))
		return status == http.StatusUnauthorized
	})
	if status, answer := send(t, replicas[0], app.Spec.SDKAppID, "new", roomInfo("rotated", 1000)); status != http.StatusOK {
		t.Fatalf("the new token: answer %d %v", status, answer)
	}
}

func TestLastCallbackTimeIsRecorded(t *testing.T) {
	app := newApp(t, nil)
	before := time.Now().Add(-time.Second)
	mustSend(t, replicas[0], app, roomInfo("touch", 1000))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), app); err != nil {
			t.Fatal(err)
		}
		if lct := app.Status.LastCallbackTime; lct != nil && !lct.Time.Before(before.Truncate(time.Second)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status.lastCallbackTime is %v after an accepted callback", app.Status.LastCallbackTime)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCallbacksGoToTheOldestChatAppOfAnSDKAppID(t *testing.T) {
	older := newApp(t, nil)
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	younger := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "claim-" + strconv.FormatInt(older.Spec.SDKAppID, 10), Name: "app"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: older.Spec.SDKAppID},
	}
	if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: younger.Namespace}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), younger); err != nil {
		t.Fatal(err)
	}
	for i, u := range replicas {
		mustSend(t, u, older, roomInfo(fmt.Sprintf("claimed-%d", i), 1000))
	}
	if n := len(listRooms(t, younger.Namespace)); n != 0 {
		t.Errorf("%d Rooms in the younger ChatApp's namespace", n)
	}
	if n := len(listRooms(t, older.Namespace)); n != len(replicas) {
		t.Errorf("%d Rooms in the older ChatApp's namespace, want %d", n, len(replicas))
	}
}

// TestHostileRequestsChangeNothing sends what an attacker or a broken client
// might to a receiver: every one is refused, and no Room changes.
func TestHostileRequestsChangeNothing(t *testing.T) {
	signed := newApp(t, func(a *chatv1alpha1.ChatApp) {
		a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "hostile"}}
	})
	other := newApp(t, nil)
	if err := env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: signed.Namespace, Name: "hostile", Labels: labelled}, Data: map[string][]byte{"token": []byte("real")},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the receiver accepts a signed callback", func() bool {
		status, _ := send(t, replicas[0], signed.Spec.SDKAppID, "real", roomInfo("target", 1000, "RoomName", "original"))
		return status == http.StatusOK
	})
	before := getRoom(t, signed.Namespace, "target")

	id := strconv.FormatInt(signed.Spec.SDKAppID, 10)
	good := `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":2000,"RoomInfo":{"RoomId":"target","RoomName":"changed"}}`
	signedQuery := func(token string, at time.Time) string {
		rt := strconv.FormatInt(at.Unix(), 10)
		return "SdkAppid=" + id + "&CallbackCommand=Room.CallbackAfterUpdateRoomInfo&RequestTime=" + rt + "&Sign=" + tencent.Sign(token, rt)
	}
	now := time.Now()
	for _, tc := range []struct {
		name, query, body, contentType string
	}{
		{name: "huge body", query: signedQuery("real", now), body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","Pad":"` + strings.Repeat("x", 2<<20) + `"}`},
		{name: "deep nesting", query: signedQuery("real", now), body: strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{name: "wrong content type, bad body", query: signedQuery("real", now), body: "<xml/>", contentType: "text/xml"},
		{name: "duplicate SdkAppid", query: signedQuery("real", now) + "&SdkAppid=" + id, body: good},
		{name: "duplicate Sign", query: signedQuery("real", now) + "&Sign=00", body: good},
		{name: "Sign made with another app's token", query: signedQuery("other-app-token", now), body: good},
		{name: "unsigned", query: "SdkAppid=" + id + "&CallbackCommand=Room.CallbackAfterUpdateRoomInfo", body: good},
		{name: "RequestTime far in the future", query: signedQuery("real", now.Add(24*time.Hour)), body: good},
		{name: "RequestTime far in the past", query: signedQuery("real", now.Add(-24*time.Hour)), body: good},
		{name: "empty RoomId", query: signedQuery("real", now), body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":2000,"RoomInfo":{"RoomId":""}}`},
		{name: "RoomId over 48 bytes", query: signedQuery("real", now), body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":2000,"RoomInfo":{"RoomId":"` + strings.Repeat("t", 49) + `"}}`},
		{name: "RoomId not UTF-8", query: signedQuery("real", now), body: "{\"CallbackCommand\":\"Room.CallbackAfterUpdateRoomInfo\",\"EventTime\":2000,\"RoomInfo\":{\"RoomId\":\"target\xff\"}}"},
		{name: "command in the body differs", query: signedQuery("real", now), body: strings.Replace(good, "AfterUpdateRoomInfo", "AfterCreateRoom", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			resp, err := http.Post(replicas[0]+"?"+tc.query, ct, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("answered 200")
			}
		})
	}
	// The same callback, correctly signed, for the other app, touches only
	// that app's namespace.
	mustSend(t, replicas[0], other, roomInfo("target", 3000, "RoomName", "other app"))

	after := getRoom(t, signed.Namespace, "target")
	if after.ResourceVersion != before.ResourceVersion || after.Status.RoomName != "original" {
		t.Fatalf("hostile requests changed the Room: %s -> %s, %q", before.ResourceVersion, after.ResourceVersion, after.Status.RoomName)
	}
	if rooms := listRooms(t, signed.Namespace); len(rooms) != 1 {
		t.Fatalf("%d Rooms in the signed app's namespace, want 1", len(rooms))
	}
}
