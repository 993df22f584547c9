package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	pluginNamespace = "e2e-plugin"
	pluginAppID     = 1400000015
	pluginToken     = "plugin-token"
	pluginKey       = "plugin-secret-key"
	// brokenNamespace holds a ChatApp whose token Secret is missing.
	brokenNamespace = "e2e-plugin-broken"
	brokenAppID     = 1400000016
)

var (
	pluginOnce   sync.Once
	pluginBinary string
	pluginErr    error
)

// plugin runs the built kubectl-roomsync as the cluster's administrator,
// with stdin, and returns what it printed and its exit code.
func plugin(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	pluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kubectl-roomsync-")
		if err != nil {
			pluginErr = err
			return
		}
		pluginBinary, pluginErr = testenv.BuildPlugin(dir)
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(pluginBinary, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl-roomsync: %v", err)
	}
	return out.String(), errOut.String(), code
}

// pluginUntil runs the plugin until it exits with want and prints every
// one of says, or fails after 30 s.
func pluginUntil(t *testing.T, want int, says []string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		stdout, stderr, code := plugin(t, "", args...)
		if code == want && !slices.ContainsFunc(says, func(s string) bool { return !strings.Contains(stdout, s) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubectl roomsync %s: exit code %d, want %d, saying %q\nstdout:\n%s\nstderr:\n%s\noperator log:\n%s",
				strings.Join(args, " "), code, want, says, stdout, stderr, operatorLog)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s does not say %q:\n%s", what, want, out)
		}
	}
}

// TestKubectlPlugin runs the built kubectl-roomsync against the operator
// as a platform engineer would: it sends a signed callback with the
// ChatApp's token, describes the Room with its recording Job and Events,
// asks for a resync of one Room and of all, and reads the status of a
// healthy ChatApp (exit 0) and of a broken one (exit 1).
func TestKubectlPlugin(t *testing.T) {
	ctx := context.Background()
	fake := tencenttest.NewServer(t, pluginAppID, "administrator", pluginKey)
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: pluginNamespace, Name: "chat"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: pluginAppID, Recording: testenv.Recording()},
	}
	if err := testenv.CreateSignedApp(ctx, env.Client, app, pluginToken); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: pluginNamespace, Name: "tencent-rest", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"secretKey": pluginKey},
	}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"spec":{"restAPI":{"endpoint":%q,"administrator":"administrator","secretKeyRef":{"name":"tencent-rest"},"resyncInterval":"1h"}}}`, fake.URL)
	if err := env.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, app, "the first resync (of no Room) completes", func() bool {
		return app.Status.Resync != nil && app.Status.Resync.CompletionTime != nil
	})
	ns := []string{"-n", pluginNamespace}

	t.Run("send", func(t *testing.T) {
		stdout, stderr, code := plugin(t, "", append(ns, "send", "chat", "--url", callbackURL, "--room-id", "plugin-room", "--room-name", "Plugin room")...)
		if code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s\noperator log:\n%s", code, stderr, operatorLog)
		}
		mustContain(t, "send's output", stdout, "HTTP/1.1 200 OK", `"ActionStatus":"OK"`,
			`Room e2e-plugin/plugin-room: room "plugin-room", phase Active`, `room name "Plugin room"`)
		room := &chatv1alpha1.Room{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: pluginNamespace, Name: "plugin-room"}, room); err != nil {
			t.Fatalf("no Room after send answered OK: %v", err)
		}
		if room.Status.RoomName != "Plugin room" || room.Status.LastOperator != "kubectl-roomsync" || room.Status.LastEventTime < time.Now().Add(-time.Minute).UnixMilli() {
			t.Errorf("Room status %+v: not the callback send made up", room.Status)
		}

		// A body from standard input, with cloud recording on: a recording
		// Job follows.
		body := `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","Operator_Account":"alice","RoomInfo":{"RoomId":"plugin-rec","RoomName":"Recorded","IsCloudRecordingDisabled":false}}`
		stdout, stderr, code = plugin(t, body, append(ns, "send", "chat", "-", "--url", callbackURL, "--now")...)
		if code != 0 {
			t.Fatalf("exit code %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		mustContain(t, "send's output", stdout, "Room e2e-plugin/plugin-rec")

		// Nothing listens: exit 1. No URL at all: a usage error.
		_, stderr, code = plugin(t, "", append(ns, "send", "chat", "--url", "http://127.0.0.1:1/callback", "--room-id", "x")...)
		if code != 1 || !strings.Contains(stderr, "connection refused") {
			t.Errorf("send to a closed port: exit code %d, stderr %q; want 1, connection refused", code, stderr)
		}
		_, stderr, code = plugin(t, "", append(ns, "send", "chat", "--room-id", "x")...)
		if code != 2 || !strings.Contains(stderr, "--url is needed") {
			t.Errorf("send without a URL: exit code %d, stderr %q; want 2, --url is needed", code, stderr)
		}
	})

	t.Run("describe", func(t *testing.T) {
		// The Job runs on a kwok node. The timeline has roomsync's Event
		// about the Room (events.k8s.io/v1) and the Job controller's about
		// the Job (core/v1), each written a moment after what it tells of.
		running := regexp.MustCompile(`\n  1 +plugin-rec-rec-1 +Running +`)
		jobEvent := regexp.MustCompile(`\n  \S+ +Normal +SuccessfulCreate +Job/plugin-rec-rec-1 +job-controller +Created pod: plugin-rec-rec-1-`)
		roomEvent := regexp.MustCompile(`\n  \S+ +Normal +RecordingStarted +Room/plugin-rec +roomsync-recording +Recording session 1 started: Job plugin-rec-rec-1`)
		var out string
		waitUntil(t, "describe shows the recording Job running and the Events of the Room and the Job", func() bool {
			stdout, _, code := plugin(t, "", append(ns, "describe", "plugin-rec")...)
			out = stdout
			return code == 0 && running.MatchString(stdout) && jobEvent.MatchString(stdout) && roomEvent.MatchString(stdout)
		})
		mustContain(t, "describe", out,
			"Name:        plugin-rec", "Room ID:     plugin-rec", "SDKAppID:    1400000015 (ChatApp chat)", "Created by:  a callback",
			"Room name:   Recorded", "Recording:   Enabled; session 1 active, Job plugin-rec-rec-1",
			"\nRecording Jobs:\n  SESSION  JOB ", "\nEvents (oldest first):\n  TIME ")
		if _, stderr, code := plugin(t, "", append(ns, "describe", "no-such-room")...); code != 1 || !strings.Contains(stderr, "not found") {
			t.Errorf("describe of a missing Room: exit code %d, stderr %q", code, stderr)
		}
	})

	t.Run("resync ROOM", func(t *testing.T) {
		fake.SetRoom("plugin-room", "Renamed in Tencent")
		stdout, stderr, code := plugin(t, "", append(ns, "resync", "plugin-room", "--timeout", "30s")...)
		if code != 0 {
			t.Fatalf("exit code %d; stdout:\n%s\nstderr:\n%s\noperator log:\n%s", code, stdout, stderr, operatorLog)
		}
		mustContain(t, "resync's output", stdout, "Room e2e-plugin/plugin-room: resync requested (chat.roomsync.io/resync-requested-at=",
			"Room e2e-plugin/plugin-room: read from Tencent at", "drift found", `room name "Renamed in Tencent"`)
		room := waitForRoomIn(t, pluginNamespace, "plugin-room")
		if room.Status.RoomName != "Renamed in Tencent" || room.Status.Resync == nil || room.Status.Resync.HandledRequest != room.Annotations[chatv1alpha1.ResyncRequestedAtAnnotation] {
			t.Errorf("Room after resync: name %q, status.resync %+v, annotations %v", room.Status.RoomName, room.Status.Resync, room.Annotations)
		}
	})

	t.Run("resync --all", func(t *testing.T) {
		before := len(fake.Requests(""))
		stdout, stderr, code := plugin(t, "", append(ns, "resync", "--all", "chat", "--timeout", "30s")...)
		if code != 0 {
			t.Fatalf("exit code %d; stdout:\n%s\nstderr:\n%s\noperator log:\n%s", code, stdout, stderr, operatorLog)
		}
		// plugin-room is as Tencent has it; plugin-rec, which the fake does
		// not know, is found destroyed: drift.
		mustContain(t, "resync --all's output", stdout, "ChatApp e2e-plugin/chat: full resync requested",
			"ChatApp e2e-plugin/chat: full resync finished at", "2 of 2 Rooms read, 1 drifted and corrected")
		if n := len(fake.Requests("")) - before; n < 3 {
			t.Errorf("%d REST API requests for a pass over two Rooms", n)
		}
		// One write, the ChatApp's annotation, not one per Room; handled.
		if rec := waitForRoomIn(t, pluginNamespace, "plugin-rec"); rec.Annotations[chatv1alpha1.ResyncRequestedAtAnnotation] != "" {
			t.Errorf("Room plugin-rec was annotated by resync --all: %v", rec.Annotations)
		}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			t.Fatal(err)
		}
		if v := app.Annotations[chatv1alpha1.ResyncRequestedAtAnnotation]; v == "" || app.Status.Resync.HandledRequest != v {
			t.Errorf("ChatApp annotation %q, status.resync.handledRequest %q", v, app.Status.Resync.HandledRequest)
		}
	})

	t.Run("status of a healthy ChatApp exits 0", func(t *testing.T) {
		// The receiver writes lastCallbackTime a moment after its answer.
		pluginUntil(t, 0, []string{"ChatApp e2e-plugin/chat (sdkAppID 1400000015)",
			"Callbacks:    accepted, signed with the token in Secret chat-callback; last one",
			"Rooms:        2 (1 Active, 1 Destroyed)",
			"Resync:       last pass finished", "2 of 2 Rooms read, 1 drifted",
			"Last replay:  none in the Events kept",
			"Nothing needs a human."}, append(ns, "status")...)
	})

	t.Run("status reports dead-lettered callbacks", func(t *testing.T) {
		// What the spool's replay records (internal/roomstore/replay.go)
		// when it dead-letters callbacks: a Warning SpoolReplayed Event on
		// the ChatApp, through events.k8s.io/v1. Making a real dead letter
		// takes an outage; test/faults does that.
		replayed := &eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Namespace: pluginNamespace, Name: "chat.spool-replayed"},
			EventTime:           metav1.NewMicroTime(time.Now()),
			ReportingController: "roomsync-spool", ReportingInstance: "roomsync-spool-e2e",
			Action: "Replay", Reason: "SpoolReplayed", Type: corev1.EventTypeWarning,
			Regarding: corev1.ObjectReference{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "ChatApp",
				Namespace: pluginNamespace, Name: app.Name, UID: app.UID},
			Note: "Replayed 3 spooled callback(s) after the API server did not take them in time: 1 written, 0 stale, 0 for no Room, 2 dead-lettered; they waited up to 1m2s",
		}
		if err := env.Client.Create(ctx, replayed); err != nil {
			t.Fatal(err)
		}
		pluginUntil(t, 1, []string{"Last replay:  ", "(Warning): Replayed 3 spooled callback(s)",
			"Needs a human:", "ChatApp e2e-plugin/chat  DeadLettered  Replayed 3 spooled callback(s)", "2 dead-lettered",
			"1 thing needs a human."}, append(ns, "status")...)
		if err := env.Client.Delete(ctx, replayed); err != nil {
			t.Fatal(err)
		}
		pluginUntil(t, 0, []string{"Nothing needs a human."}, append(ns, "status")...)
	})

	t.Run("status of a broken ChatApp exits 1", func(t *testing.T) {
		broken := &chatv1alpha1.ChatApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: brokenNamespace, Name: "broken"},
			Spec: chatv1alpha1.ChatAppSpec{SDKAppID: brokenAppID, CallbackAuth: &chatv1alpha1.CallbackAuth{
				TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "no-such-secret", Key: "token"},
			}},
		}
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: brokenNamespace}}); err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Create(ctx, broken); err != nil {
			t.Fatal(err)
		}
		pluginUntil(t, 1, []string{"ChatApp e2e-plugin-broken/broken (sdkAppID 1400000016)",
			"Callbacks:    refused (TokenSecretNotFound)", "Needs a human:",
			"ChatApp e2e-plugin-broken/broken  Stalled: TokenSecretNotFound", "no-such-secret",
			"1 thing needs a human."}, "-n", brokenNamespace, "status")

		// Across every namespace: both, and the exit code of the worse.
		stdout, _, code := plugin(t, "", "status", "-A")
		if code != 1 {
			t.Errorf("status -A: exit code %d, want 1", code)
		}
		mustContain(t, "status -A", stdout, "ChatApp e2e-plugin/chat ", "ChatApp e2e-plugin-broken/broken ")

		// Someone who may list Rooms everywhere but not namespaces gets the
		// same report: status reads the Rooms whole instead of the table.
		reader := statusReaderKubeconfig(t)
		stdoutReader, stderrReader, codeReader := plugin(t, "", "--kubeconfig", reader, "status", "-A")
		if codeReader != code {
			t.Errorf("status -A without the right to list namespaces: exit code %d, want %d; stderr %q", codeReader, code, stderrReader)
		}
		if got, want := roomsLines(stdoutReader), roomsLines(stdout); !slices.Equal(got, want) || len(want) < 2 {
			t.Errorf("status -A without the right to list namespaces says %q of the Rooms, with it %q", got, want)
		}

		// resync --all of a ChatApp without restAPI fails at once.
		if _, stderr, code := plugin(t, "", "-n", brokenNamespace, "resync", "--all", "broken"); code != 1 || !strings.Contains(stderr, "has no spec.restAPI") {
			t.Errorf("resync --all without restAPI: exit code %d, stderr %q", code, stderr)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{{"status", "extra"}, {"resync"}, {"sned"}, {"describe", "--frobnicate", "x"}} {
			stdout, stderr, code := plugin(t, "", args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, "See 'kubectl roomsync --help'") {
				t.Errorf("kubectl roomsync %s: exit code %d, stdout %q, stderr %q; want 2 and the help pointed at", strings.Join(args, " "), code, stdout, stderr)
			}
		}
	})
}

// waitForRoomIn returns the Room ns/name once it exists.
func waitForRoomIn(t *testing.T, ns, name string) *chatv1alpha1.Room {
	t.Helper()
	room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	waitFor(t, room, "Room "+ns+"/"+name+" exists", func() bool { return true })
	return room
}

// roomsLines returns the ChatApp and Rooms lines of a status report.
func roomsLines(report string) []string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "ChatApp ") || strings.HasPrefix(l, "  Rooms:") || strings.HasPrefix(l, "    Room ") {
			out = append(out, l)
		}
	}
	return out
}

// statusReaderKubeconfig returns a kubeconfig for a ServiceAccount that
// may read ChatApps, Rooms and Events in every namespace, and nothing else
// (not the list of namespaces).
func statusReaderKubeconfig(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	const name = "e2e-status-reader"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{chatv1alpha1.GroupVersion.Group}, Resources: []string{"chatapps", "rooms"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list"}},
		},
	}
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: pluginNamespace, Name: name}},
		role,
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: pluginNamespace, Name: name}},
		},
	}
	for _, obj := range objs {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	}
	path := filepath.Join(t.TempDir(), "status-reader-kubeconfig")
	if err := env.WriteKubeconfigAs(pluginNamespace, name, path); err != nil {
		t.Fatal(err)
	}
	return path
}
