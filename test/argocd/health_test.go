// Package argocd tests roomsync's Argo CD health checks (config/argocd) in
// gopher-lua, the Lua interpreter Argo CD runs them in.
package argocd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/testenv"
)

// health runs the health script in file against obj, as Argo CD does, and
// returns hs.status and hs.message.
func health(t *testing.T, file string, obj any) (status, message string) {
	t.Helper()
	kind := strings.TrimSuffix(strings.TrimPrefix(file, "health-"), ".lua")
	status, message, err := testenv.ArgoCDHealth(kind, obj)
	if err != nil {
		t.Fatal(err)
	}
	return status, message
}

func cond(t, status, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}
}

func TestRoomHealth(t *testing.T) {
	room := func(observed int64, conds ...metav1.Condition) *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{TypeMeta: metav1.TypeMeta{APIVersion: "chat.roomsync.io/v1alpha1", Kind: "Room"}}
		r.Name, r.Generation = "r", 1
		r.Status.ObservedGeneration, r.Status.Conditions = observed, conds
		return r
	}
	ready := cond(chatv1alpha1.ReadyCondition, "True", chatv1alpha1.RoomInfoReceivedReason, "Room info received from Tencent")
	for _, tc := range []struct {
		name    string
		room    *chatv1alpha1.Room
		status  string
		message string
	}{
		{name: "no controller has looked at it (observedGeneration -1)", room: room(-1), status: "Progressing"},
		{name: "spec changed since", room: room(0, ready), status: "Progressing"},
		{name: "declared, awaiting its first callback", room: room(1, cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.AwaitingRoomInfoReason, "Waiting for room info from Tencent (a create or update callback, or a resync)")),
			status: "Suspended", message: "Waiting for room info from Tencent"},
		{name: "room info received", room: room(1, ready), status: "Healthy", message: "Room info received"},
		{name: "destroyed", room: room(1, cond(chatv1alpha1.ReadyCondition, "True", chatv1alpha1.RoomDestroyedReason, "Room destroyed at 2026-11-25T10:00:00Z by alice")),
			status: "Healthy", message: "destroyed"},
		{name: "duplicate roomID", room: room(1,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.DuplicateRoomIDReason, "Room a is older"),
			cond(chatv1alpha1.StalledCondition, "True", chatv1alpha1.DuplicateRoomIDReason, "Room a is older")),
			status: "Degraded", message: "Room a is older"},
		{name: "recording", room: room(1, ready, cond(chatv1alpha1.RecordingCondition, "True", chatv1alpha1.RecordingStartedReason, "runs")), status: "Healthy"},
		{name: "recording failed", room: room(1, ready, cond(chatv1alpha1.RecordingCondition, "False", chatv1alpha1.RecordingFailedReason, "Recording Job r-rec-1 (session 1) failed")),
			status: "Degraded", message: "r-rec-1"},
		{name: "declared room being created", room: room(1,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.CreatingReason, "Creating room \"r\" in Tencent"),
			cond(chatv1alpha1.ReconcilingCondition, "True", chatv1alpha1.CreatingReason, "Creating room \"r\" in Tencent")),
			status: "Progressing", message: "Creating"},
		{name: "declared room synced", room: room(1, ready, cond(chatv1alpha1.SyncedCondition, "True", chatv1alpha1.SettingsMatchReason, "matches")),
			status: "Healthy"},
		{name: "changed in the app, revert pending", room: room(1,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.DriftRevertPendingReason, "differs in roomName"),
			cond(chatv1alpha1.SyncedCondition, "False", chatv1alpha1.DriftRevertPendingReason, "differs in roomName")),
			status: "Progressing", message: "roomName"},
		{name: "Tencent refused the create", room: room(1,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.TencentRejectedReason, "create_room: Tencent answered ErrorCode 100002"),
			cond(chatv1alpha1.StalledCondition, "True", chatv1alpha1.TencentRejectedReason, "create_room: Tencent answered ErrorCode 100002")),
			status: "Degraded", message: "100002"},
		{name: "the room exists and is not adopted", room: room(1,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.RoomAlreadyExistsReason, "set spec.adoptExisting"),
			cond(chatv1alpha1.StalledCondition, "True", chatv1alpha1.RoomAlreadyExistsReason, "set spec.adoptExisting")),
			status: "Degraded", message: "adoptExisting"},
		{name: "recording stopped", room: room(1, ready, cond(chatv1alpha1.RecordingCondition, "False", chatv1alpha1.RecordingStoppedReason, "stopped")), status: "Healthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, message := health(t, "health-room.lua", tc.room)
			if status != tc.status || !strings.Contains(message, tc.message) {
				t.Fatalf("health %s (%q), want %s (%q)", status, message, tc.status, tc.message)
			}
		})
	}
}

func TestRoomHealthWithoutStatus(t *testing.T) {
	obj := map[string]any{"apiVersion": "chat.roomsync.io/v1alpha1", "kind": "Room", "metadata": map[string]any{"name": "r", "generation": int64(1)}}
	if status, _ := health(t, "health-room.lua", obj); status != "Progressing" {
		t.Fatalf("a Room without status is %s, want Progressing", status)
	}
}

func TestChatAppHealth(t *testing.T) {
	app := func(observed int64, conds ...metav1.Condition) *chatv1alpha1.ChatApp {
		a := &chatv1alpha1.ChatApp{TypeMeta: metav1.TypeMeta{APIVersion: "chat.roomsync.io/v1alpha1", Kind: "ChatApp"}}
		a.Name, a.Generation = "a", 2
		a.Status.ObservedGeneration, a.Status.Conditions = observed, conds
		return a
	}
	for _, tc := range []struct {
		name   string
		app    *chatv1alpha1.ChatApp
		status string
	}{
		{name: "not looked at yet", app: app(-1), status: "Progressing"},
		{name: "accepting callbacks", app: app(2, cond(chatv1alpha1.ReadyCondition, "True", chatv1alpha1.AcceptingCallbacksReason, "Accepting")), status: "Healthy"},
		{name: "token Secret missing", app: app(2,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.TokenSecretNotFoundReason, "Secret ns/s does not exist"),
			cond(chatv1alpha1.StalledCondition, "True", chatv1alpha1.TokenSecretNotFoundReason, "Secret ns/s does not exist")), status: "Degraded"},
		{name: "sdkAppID held by another", app: app(2,
			cond(chatv1alpha1.ReadyCondition, "False", chatv1alpha1.SDKAppIDConflictReason, "held by ns/a"),
			cond(chatv1alpha1.StalledCondition, "True", chatv1alpha1.SDKAppIDConflictReason, "held by ns/a")), status: "Degraded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, message := health(t, "health-chatapp.lua", tc.app); status != tc.status {
				t.Fatalf("health %s (%q), want %s", status, message, tc.status)
			}
		})
	}
}

// TestComponentInstallsBothChecks: the kustomize component names the
// scripts under the keys Argo CD reads.
func TestComponentInstallsBothChecks(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		ConfigMapGenerator []struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"resource.customizations.health.chat.roomsync.io_Room":    "health-room.lua",
		"resource.customizations.health.chat.roomsync.io_ChatApp": "health-chatapp.lua",
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			key, file, _ := strings.Cut(f, "=")
			if g.Name == "argocd-cm" && want[key] == file {
				delete(want, key)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("config/argocd does not install %v", want)
	}
}
