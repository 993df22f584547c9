package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	declaredNamespace = "e2e-declared"
	declaredAppID     = 1400000002
	declaredKey       = "declared-secret-key"
	declaredToken     = "declared-token"
)

// TestDeclaredRooms applies the example of docs/declared-rooms.md
// (config/samples/declared-room.yaml) against a fake Tencent that checks
// every request as documented and sends signed callbacks to the URL
// registered with it: the built operator registers its own callback URL,
// creates the declared room, hears of it back by callback, reverts a change
// made in the app, refuses a room it did not create, reports Tencent's
// refusals, and destroys, or leaves, rooms as their policies say.
func TestDeclaredRooms(t *testing.T) {
	ctx := context.Background()
	fake := tencenttest.NewServer(t, declaredAppID, "administrator", declaredKey)
	fake.SetCallbackToken(declaredToken)
	applySample(t, fake)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: declaredNamespace, Name: "conference"}}

	// The operator registers its URL with Tencent, and says so.
	waitFor(t, app, "the callback URL is registered", func() bool {
		cfg, ok := fake.CallbackConfig()
		return ok && cfg.URL == callbackURL && app.Status.CallbackRegistration != nil &&
			app.Status.CallbackRegistration.URL == callbackURL &&
			isTrue(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition)
	})

	// The declared room is created, comes back by callback, and is Ready.
	board := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: declaredNamespace, Name: "board-meeting"}}
	waitFor(t, board, "the declared room is created, Ready and Synced", func() bool {
		return isTrue(board.Status.Conditions, chatv1alpha1.ReadyCondition) &&
			isTrue(board.Status.Conditions, chatv1alpha1.SyncedCondition)
	})
	if info, ok := fake.Room("board-meeting-2026"); !ok || info["RoomName"] != "Board meeting" || info["TakeSeatMode"] != "ApplyToTake" {
		t.Errorf("room in Tencent %v, want it created with the sample's settings", info)
	}
	waitUntil(t, "Tencent's create callback reaches the operator and is answered OK", func() bool {
		return slices.ContainsFunc(fake.Callbacks(), func(c tencenttest.Callback) bool {
			return c.Command == tencent.CommandAfterCreateRoom && c.Status == http.StatusOK && strings.HasPrefix(c.URL, callbackURL)
		})
	})
	out := kubectl(t, "get", "room", "board-meeting", "-n", declaredNamespace, "-o", "wide")
	if !strings.Contains(out, "SYNCED") || !strings.Contains(out, "POLICIES") {
		t.Errorf("kubectl get room -o wide lacks the Synced and Policies columns:\n%s", out)
	}

	// Someone renames it in the app: the callback comes, roomsync reverts.
	theApp := appClient(fake)
	if err := theApp.UpdateRoomInfo(ctx, tencent.RoomUpdate{RoomID: "board-meeting-2026", RoomName: ptr.To("Renamed in the console")}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the change in the app is reverted", func() bool {
		info, _ := fake.Room("board-meeting-2026")
		return info["RoomName"] == "Board meeting" && waitEvent(ctx, declaredNamespace, "board-meeting", chatv1alpha1.DriftRevertedEvent)
	})

	// A room that exists and that no Room created is not adopted.
	fake.SetRoom("someone-elses", "Someone else's")
	existing := declareRoom(t, "someone-elses", "someone-elses", `managementPolicies: ["*"]
  settings: {roomName: Mine now}`)
	waitFor(t, existing, "the Room refuses to adopt it", func() bool {
		return conditionReason(existing.Status.Conditions, chatv1alpha1.StalledCondition) == chatv1alpha1.RoomAlreadyExistsReason
	})
	if info, _ := fake.Room("someone-elses"); info["RoomName"] != "Someone else's" {
		t.Errorf("the existing room was changed: %v", info)
	}

	// Tencent refuses a parameter: Stalled, with its ErrorCode.
	webinar := declareRoom(t, "webinar", "webinar", `managementPolicies: ["*"]
  settings: {roomType: Webinar}`)
	waitFor(t, webinar, "the Room shows Tencent's refusal", func() bool {
		c := meta.FindStatusCondition(webinar.Status.Conditions, chatv1alpha1.StalledCondition)
		return c != nil && c.Reason == chatv1alpha1.TencentRejectedReason && strings.Contains(c.Message, "100002")
	})

	// Deleting: with Delete the room is destroyed, without it kept.
	kept := declareRoom(t, "kept", "kept", `managementPolicies: [Observe, Create, Update]`)
	waitFor(t, kept, "the kept room is created", func() bool {
		return isTrue(kept.Status.Conditions, chatv1alpha1.ReadyCondition)
	})
	kubectl(t, "delete", "room", "kept", "board-meeting", "someone-elses", "-n", declaredNamespace, "--wait", "--timeout=30s")
	if _, ok := fake.Room("board-meeting-2026"); ok {
		t.Error("the Room with the Delete policy is gone, its room is not")
	}
	if _, ok := fake.Room("kept"); !ok {
		t.Error("the room of a Room without the Delete policy was destroyed")
	}
	if _, ok := fake.Room("someone-elses"); !ok {
		t.Error("a room the Room neither created nor adopted was destroyed")
	}

	// The registration: a change in the console is restored at the next
	// interval; another URL is left alone without takeOver.
	fake.SetCallbackConfig(tencent.CallbackConfig{URL: callbackURL, Commands: []string{tencent.CommandAfterCreateRoom}})
	waitUntil(t, "the commands changed in the console are restored", func() bool {
		cfg, _ := fake.CallbackConfig()
		return len(cfg.Commands) == 6 && waitEventAbout(ctx, declaredNamespace, "ChatApp", "conference", chatv1alpha1.CallbackRestoredEvent)
	})
	const otherURL = "https://other-cluster.example.com/callback"
	fake.SetCallbackConfig(tencent.CallbackConfig{URL: otherURL, Commands: []string{tencent.CommandAfterCreateRoom}})
	waitFor(t, app, "the ChatApp names the URL Tencent has", func() bool {
		c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == chatv1alpha1.CallbackURLTakenReason && strings.Contains(c.Message, otherURL)
	})
	time.Sleep(3 * time.Second) // more than an interval
	if cfg, _ := fake.CallbackConfig(); cfg.URL != otherURL {
		t.Errorf("callback URL %q, want the other cluster's left alone without takeOver", cfg.URL)
	}
	kubectl(t, "patch", "chatapp", "conference", "-n", declaredNamespace, "--type=merge", "-p", `{"spec":{"callbackRegistration":{"takeOver":true}}}`)
	waitUntil(t, "takeOver brings the URL back", func() bool {
		cfg, _ := fake.CallbackConfig()
		return cfg.URL == callbackURL
	})

	// The ChatApp goes first: the Room is not held forever.
	orphan := declareRoom(t, "orphan", "orphan", `managementPolicies: ["*"]`)
	waitFor(t, orphan, "the orphan's room is created", func() bool {
		return isTrue(orphan.Status.Conditions, chatv1alpha1.ReadyCondition)
	})
	kubectl(t, "delete", "chatapp", "conference", "-n", declaredNamespace, "--wait", "--timeout=30s")
	kubectl(t, "delete", "room", "orphan", "webinar", "-n", declaredNamespace, "--wait", "--timeout=30s")
	if !waitEvent(ctx, declaredNamespace, "orphan", chatv1alpha1.OrphanedEvent) {
		t.Error("no Orphaned Event for the Room whose room was left in Tencent")
	}
	if cfg, _ := fake.CallbackConfig(); cfg.URL != callbackURL {
		t.Errorf("callback URL in Tencent %q after the ChatApp went, want it left as it was", cfg.URL)
	}
}

// applySample applies config/samples/declared-room.yaml with kubectl, made to
// point at the fake and this operator.
func applySample(t *testing.T, fake *tencenttest.Server) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "declared-room.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sample := strings.NewReplacer(
		"namespace: chat", "namespace: "+declaredNamespace,
		"REPLACE-WITH-THE-APP-SECRET-KEY", declaredKey,
		"REPLACE-WITH-THE-CALLBACK-TOKEN", declaredToken,
		"https://adminapisgp.im.qcloud.com", fake.URL,
		"https://roomsync.example.com/callback", callbackURL,
		"resyncInterval: 10m", "resyncInterval: 2s",
	).Replace(string(data))
	if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: declaredNamespace}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "declared-room.yaml")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
}

// declareRoom applies a Room of the declared app with the spec lines given.
func declareRoom(t *testing.T, name, roomID, spec string) *chatv1alpha1.Room {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	doc := fmt.Sprintf(`apiVersion: chat.roomsync.io/v1alpha1
kind: Room
metadata: {name: %s, namespace: %s}
spec:
  sdkAppID: %d
  roomID: %s
  %s
`, name, declaredNamespace, declaredAppID, roomID, spec)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	return &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: declaredNamespace, Name: name}}
}

// appClient calls the fake as the app itself would, not as roomsync.
func appClient(fake *tencenttest.Server) *tencent.RESTClient {
	sigs := &tencent.UserSigCache{SDKAppID: declaredAppID, Key: declaredKey, Identifier: "administrator", Lifetime: time.Hour, Now: time.Now}
	return &tencent.RESTClient{Endpoint: fake.URL, SDKAppID: declaredAppID, Identifier: "administrator", UserSig: sigs.Get, HTTP: http.DefaultClient}
}

// waitFor polls obj until check passes, or fails after 30 s.
func waitFor(t *testing.T, obj client.Object, what string, check func() bool) {
	t.Helper()
	waitUntil(t, what, func() bool {
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj) == nil && check()
	})
}

// waitUntil polls check until it passes, or fails after 30 s.
func waitUntil(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; operator log:\n%s", what, operatorLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isTrue reports whether conds has condType True.
func isTrue(conds []metav1.Condition, condType string) bool {
	return meta.IsStatusConditionTrue(conds, condType)
}

func conditionReason(conds []metav1.Condition, condType string) string {
	if c := meta.FindStatusCondition(conds, condType); c != nil && c.Status == metav1.ConditionTrue {
		return c.Reason
	}
	return ""
}

// waitEvent reports whether an Event with reason about the Room exists,
// waiting up to 10 s.
func waitEvent(ctx context.Context, ns, room, reason string) bool {
	return waitEventAbout(ctx, ns, "Room", room, reason)
}

// waitEventAbout is waitEvent for an object of any kind.
func waitEventAbout(ctx context.Context, ns, kind, name, reason string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var events corev1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(ns)); err == nil {
			for _, e := range events.Items {
				if e.Reason == reason && e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
					return true
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
