// Package e2e runs the built roomsync binary as a process against a local
// control plane, with only the permissions config/rbac grants it, and talks
// to it as Tencent and a platform engineer would: over HTTP, through the API
// server, and with kubectl.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	namespace = "e2e"
	sdkAppID  = 1400000001
	token     = "e2e-token"
)

var (
	env        *testenv.Env
	kubeconfig string
	// replicas are the operator processes, two as in a real install; the
	// tests talk to the first that is alive, through these three.
	replicas    []*testenv.Operator
	callbackURL string
	metricsURL  string
	operatorLog *testenv.LogBuffer
	// metricsToken may GET /metrics; nobodyToken is a valid token that may not.
	metricsToken, nobodyToken string
	// cluster runs the workloads: recording Jobs' Pods, the installs'
	// Deployments.
	cluster *testenv.Cluster
)

// usePrimary points the tests at replica r.
func usePrimary(r *testenv.Operator) {
	callbackURL, metricsURL, operatorLog = r.CallbackURL, r.MetricsURL, r.Log
}

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, func(ctx context.Context) error {
		// No credential the tests hand out may show where others can read
		// it; the tokens of CreateSignedApp and the fake Tencents' keys and
		// UserSigs are known to CheckNoLeaks already.
		env.AfterTests = func(ctx context.Context) error {
			return env.CheckNoLeaks(ctx,
				testenv.Secret{Kind: "callback token", Value: token},
				testenv.Secret{Kind: "ServiceAccount token", Value: metricsToken},
				testenv.Secret{Kind: "ServiceAccount token", Value: nobodyToken})
		}
		dir, err := os.MkdirTemp("", "roomsync-e2e-")
		if err != nil {
			return err
		}
		binary, err := testenv.BuildOperator(dir)
		if err != nil {
			return err
		}
		kubeconfig = filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
			return err
		}
		operatorKubeconfig, err := installRBAC(ctx, dir)
		if err != nil {
			return err
		}
		if metricsToken, nobodyToken, err = metricsTokens(ctx); err != nil {
			return err
		}
		if err := createApp(ctx); err != nil {
			return err
		}
		// Jobs and Deployments really run: a controller manager, a
		// scheduler and kwok's fake nodes.
		if cluster, err = env.StartCluster(ctx, 3); err != nil {
			return err
		}
		for range 2 {
			r, err := testenv.StartOperator(ctx, binary, operatorKubeconfig,
				"--leader-elect", "--leader-election-namespace", "roomsync-system")
			if err != nil {
				return err
			}
			r.MetricsToken = metricsToken // for the leak scan at the end
			replicas = append(replicas, r)
		}
		usePrimary(replicas[0])
		return nil
	}))
}

// installRBAC installs the operator's ServiceAccount with the roles from
// config/rbac, as `make deploy` does, and returns a kubeconfig that acts as
// that ServiceAccount: the operator under test has exactly the permissions
// it ships with.
func installRBAC(ctx context.Context, dir string) (string, error) {
	const systemNS = "roomsync-system"
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: "controller-manager"}}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: systemNS, Name: sa.Name}}
	managerRole := &rbacv1.ClusterRole{}
	leaderRole := &rbacv1.Role{}
	for file, obj := range map[string]client.Object{"role.yaml": managerRole, "leader_election_role.yaml": leaderRole} {
		data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", file))
		if err != nil {
			return "", err
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			return "", fmt.Errorf("reading config/rbac/%s: %w", file, err)
		}
	}
	leaderRole.Namespace = systemNS
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNS}},
		sa, managerRole, leaderRole,
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "roomsync-manager"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: managerRole.Name},
			Subjects:   subject,
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: "roomsync-leader-election"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: leaderRole.Name},
			Subjects:   subject,
		},
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			return "", fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}

	path := filepath.Join(dir, "operator-kubeconfig")
	return path, env.WriteKubeconfigAs(systemNS, sa.Name, path)
}

// metricsTokens returns a token of a ServiceAccount bound to the
// metrics-reader ClusterRole of config/rbac, as Prometheus' would be, and
// one of a ServiceAccount that is not.
func metricsTokens(ctx context.Context) (reader, nobody string, err error) {
	const ns = "monitoring"
	role := &rbacv1.ClusterRole{}
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		return "", "", err
	}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		return "", "", err
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}},
		role,
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "prometheus-roomsync-metrics"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}},
		},
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			return "", "", fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	clientset, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return "", "", err
	}
	token := func(sa string) (string, error) {
		tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			return "", fmt.Errorf("requesting a token for %s: %w", sa, err)
		}
		return tr.Status.Token, nil
	}
	if reader, err = token("prometheus"); err != nil {
		return "", "", err
	}
	nobody, err = token("nobody")
	return reader, nobody, err
}

func createApp(ctx context.Context) error {
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "demo"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID, Recording: testenv.Recording()},
	}
	return testenv.CreateSignedApp(ctx, env.Client, app, token)
}

// post sends body as Tencent would: the query string it appends, signed
// with sign (Sign computed from the token when sign is ""; "-" for none).
func post(t *testing.T, body string, sign string) (int, map[string]any) {
	t.Helper()
	return postTo(t, callbackURL, body, sign)
}

// postTo is post to the callback URL of a given replica.
func postTo(t *testing.T, callbackURL, body string, sign string) (int, map[string]any) {
	t.Helper()
	var env struct{ CallbackCommand string }
	_ = json.Unmarshal([]byte(body), &env)
	q := tencent.CallbackQuery{SDKAppID: sdkAppID, Command: env.CallbackCommand, ClientIP: "198.51.100.4", OptPlatform: "Web"}
	switch sign {
	case "-":
	case "":
		q.Token = token
	default:
		q.Sign = sign
	}
	resp, err := http.Post(callbackURL+"?"+q.Encode(time.Now()), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var answer map[string]any
	if err := json.Unmarshal(data, &answer); err != nil {
		t.Fatalf("answer %q is not JSON", data)
	}
	return resp.StatusCode, answer
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.AssetsDir(), "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func waitForRoom(t *testing.T, name, what string, check func(*chatv1alpha1.Room) bool) *chatv1alpha1.Room {
	t.Helper()
	room := &chatv1alpha1.Room{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, room)
		if err == nil && check(room) {
			return room
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s (last error %v, Room %+v); operator log:\n%s", what, err, room, operatorLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seed reads Tencent's sample, with the string "false" it really sends, from
// the file docs/development.md tells users to send.
func seed(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "callback-update-room-info.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSeedCallbackBecomesARoom(t *testing.T) {
	status, answer := post(t, seed(t), "")
	if status != http.StatusOK || answer["ActionStatus"] != "OK" || answer["ErrorCode"] != float64(0) {
		t.Fatalf("answer %d %v, want 200 OK; operator log:\n%s", status, answer, operatorLog)
	}
	// An OK means stored: no waiting for the room info itself.
	room := &chatv1alpha1.Room{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: "rid-123"}, room); err != nil {
		t.Fatalf("no Room right after an OK: %v", err)
	}
	st := room.Status
	if st.RoomName != "rname-123" || st.OwnerAccount != "jack" || st.MaxMemberCount != 300 || st.TakeSeatMode != "FreeToTake" ||
		st.CloudRecordingDisabled == nil || *st.CloudRecordingDisabled || st.CloudRecording != chatv1alpha1.CloudRecordingEnabled ||
		st.CustomInfo != "123" || st.LastEventTime != 1670574414123 || st.LastOperator != "bob" || st.LastClientIP != "198.51.100.4" ||
		st.LastOptPlatform != "Web" || st.LastCallbackCommand != tencent.CommandAfterUpdateRoomInfo {
		t.Errorf("room status %+v does not mirror the seed sample", st)
	}

	room = waitForRoom(t, "rid-123", "the Room is Ready", func(r *chatv1alpha1.Room) bool {
		return meta.IsStatusConditionTrue(r.Status.Conditions, chatv1alpha1.ReadyCondition) && r.Status.ObservedGeneration == r.Generation
	})
	raw, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(room)
	if res, err := kstatus.Compute(&unstructured.Unstructured{Object: raw}); err != nil || res.Status != kstatus.CurrentStatus {
		t.Errorf("kstatus says %v (%v), want Current", res, err)
	}

	out := kubectl(t, "get", "rooms", "-n", namespace)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := strings.Fields(lines[0])
	if strings.Join(header, " ") != "NAME ROOM ID OWNER PHASE MEMBERS MAX MEMBERS RECORDING READY AGE" {
		t.Errorf("kubectl get rooms header %q", lines[0])
	}
	if !strings.Contains(out, "rid-123") || !hasRowStartingWith(lines, "rid-123", "rid-123", "jack", "Active", "300", "Enabled", "True") {
		t.Errorf("kubectl get rooms:\n%s", out)
	}
	if wide := kubectl(t, "get", "rooms", "-n", namespace, "-o", "wide"); !strings.Contains(wide, "rname-123") || !strings.Contains(wide, "Room info received") {
		t.Errorf("kubectl get rooms -o wide lacks the room name or the Ready message:\n%s", wide)
	}
	if out := kubectl(t, "get", "roomsync", "-n", namespace); !strings.Contains(out, "room.chat.roomsync.io/rid-123") || !strings.Contains(out, "chatapp.chat.roomsync.io/demo") {
		t.Errorf("kubectl get roomsync (the category) does not list Rooms and ChatApps:\n%s", out)
	}
	if out := kubectl(t, "get", "rooms", "-n", namespace, "--field-selector", "spec.roomID=rid-123", "-o", "name"); strings.TrimSpace(out) != "room.chat.roomsync.io/rid-123" {
		t.Errorf("selecting by spec.roomID: %q", out)
	}
	if out := kubectl(t, "get", "chatapps", "-n", namespace); !strings.Contains(out, "1400000001") || !strings.Contains(out, "True") {
		t.Errorf("kubectl get chatapps:\n%s", out)
	}
}

// hasRowStartingWith reports whether some line of kubectl output starts with
// the given whitespace-separated fields.
func hasRowStartingWith(lines []string, fields ...string) bool {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= len(fields) && strings.Join(f[:len(fields)], " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

func TestRecordingFlipsWithBothBooleanForms(t *testing.T) {
	roomID := fmt.Sprintf("Flip Room %d", time.Now().UnixNano()) // not a valid name: gets a derived one
	for i, form := range []string{`true`, `"false"`, `"true"`, `false`, `1`, `0`} {
		body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":%q,"IsCloudRecordingDisabled":%s}}`, 1000+i, roomID, form)
		if status, answer := post(t, body, ""); status != http.StatusOK {
			t.Fatalf("%s: answer %d %v", form, status, answer)
		}
		want := chatv1alpha1.CloudRecordingEnabled
		if form == `true` || form == `"true"` || form == `1` {
			want = chatv1alpha1.CloudRecordingDisabled
		}
		var list chatv1alpha1.RoomList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(namespace), client.MatchingFields{"spec.roomID": roomID}); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Status.CloudRecording != want {
			t.Fatalf("after IsCloudRecordingDisabled=%s: %+v, want one Room with recording %s", form, list.Items, want)
		}
		if !strings.HasPrefix(list.Items[0].Name, "flip-room-") {
			t.Errorf("Room for RoomId %q is named %q", roomID, list.Items[0].Name)
		}
		// The recording Job follows: one while enabled, none running otherwise.
		room := list.Items[0]
		waitForJobs(t, room.Name, func(running []string) bool {
			if want == chatv1alpha1.CloudRecordingEnabled {
				return len(running) == 1 && strings.HasPrefix(running[0], room.Name+"-rec-")
			}
			return len(running) == 0
		})
	}
}

// waitForJobs waits until the not-deleted Jobs of the Room satisfy ok.
func waitForJobs(t *testing.T, room string, ok func(running []string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var jobs batchv1.JobList
		if err := env.Client.List(context.Background(), &jobs, client.InNamespace(namespace), client.MatchingLabels{chatv1alpha1.RoomLabel: room}); err != nil {
			t.Fatal(err)
		}
		var running []string
		for _, j := range jobs.Items {
			if j.DeletionTimestamp.IsZero() {
				running = append(running, j.Name)
			}
		}
		if ok(running) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording Jobs of Room %s: %v; operator log:\n%s", room, running, operatorLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCRDsApplyWithKubectl: the ChatApp CRD embeds a Job template; it must
// stay small enough for client-side `kubectl apply`, which keeps a copy of
// the object in an annotation of at most 256 KiB.
func TestCRDsApplyWithKubectl(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err != nil || info.Size() >= 256<<10 {
			t.Errorf("%s: %d bytes (%v), want under 256 KiB", e.Name(), info.Size(), err)
		}
	}
	out := kubectl(t, "apply", "-f", dir)
	if !strings.Contains(out, "chatapps.chat.roomsync.io") || !strings.Contains(out, "rooms.chat.roomsync.io") {
		t.Errorf("kubectl apply -f config/crd/bases: %s", out)
	}
}

func TestUnsignedAndStaleCallbacks(t *testing.T) {
	body := `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":5000,"RoomInfo":{"RoomId":"guarded","RoomName":"real"}}`
	if status, answer := post(t, body, ""); status != http.StatusOK {
		t.Fatalf("answer %d %v", status, answer)
	}
	forged := `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":6000,"RoomInfo":{"RoomId":"guarded","RoomName":"forged"}}`
	for _, sign := range []string{"-", strings.Repeat("0", 64)} {
		if status, answer := post(t, forged, sign); status != http.StatusUnauthorized || answer["ActionStatus"] != "FAIL" {
			t.Errorf("Sign %q: answer %d %v, want 401 FAIL", sign, status, answer)
		}
	}
	older := `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":4000,"RoomInfo":{"RoomId":"guarded","RoomName":"older"}}`
	if status, answer := post(t, older, ""); status != http.StatusOK || !strings.Contains(fmt.Sprint(answer["ErrorInfo"]), "stale") {
		t.Errorf("stale event: answer %d %v, want 200 saying stale", status, answer)
	}
	room := waitForRoom(t, "guarded", "the Room exists", func(*chatv1alpha1.Room) bool { return true })
	if room.Status.RoomName != "real" || room.Status.LastEventTime != 5000 {
		t.Errorf("rejected or stale callbacks changed the Room: %+v", room.Status)
	}
}

func TestMetrics(t *testing.T) {
	post(t, seed(t), "")
	post(t, `{"CallbackCommand":"Room.CallbackAfterSomethingNew"}`, "")
	data := scrape(t, metricsURL)
	// Every series exists from the start (at 0): these have counted.
	for _, want := range []string{
		`roomsync_callbacks_total{command="Room.CallbackAfterUpdateRoomInfo",result="applied"}`,
		`roomsync_callbacks_total{command="unknown",result="unknown_command"}`,
		`roomsync_callback_duration_seconds_count{command="Room.CallbackAfterUpdateRoomInfo"}`,
	} {
		if v, ok := seriesValue(data, want); !ok || v == 0 {
			t.Errorf("/metrics: %s is %v (there: %v), want more than 0", want, v, ok)
		}
	}
	// Metrics are served only to those allowed to read them.
	for name, token := range map[string]string{"no token": "", "a token without metrics-reader": nobodyToken} {
		if status, _ := scrapeAs(t, metricsURL, token); status != http.StatusUnauthorized && status != http.StatusForbidden {
			t.Errorf("/metrics with %s: HTTP %d, want 401 or 403", name, status)
		}
	}
	if status, _ := scrapeAs(t, metricsURL, ""); status != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: HTTP %d, want 401", status)
	}
	if status, _ := scrapeAs(t, metricsURL, nobodyToken); status != http.StatusForbidden {
		t.Errorf("/metrics with a token not allowed to read them: HTTP %d, want 403", status)
	}

	// The controllers run on the leader only.
	leader := waitForLeader(t)
	if data := scrape(t, leader.MetricsURL); !strings.Contains(data, `controller_runtime_reconcile_total{controller="room"`) {
		t.Errorf("the leader's /metrics lacks the Room controller's reconciles")
	}
}

// scrape reads a replica's /metrics as Prometheus would.
func scrape(t *testing.T, url string) string {
	t.Helper()
	status, data := scrapeAs(t, url, metricsToken)
	if status != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d: %s", status, data)
	}
	return data
}

func scrapeAs(t *testing.T, url, token string) (int, string) {
	t.Helper()
	status, data, err := testenv.ScrapeMetrics(url, token)
	if err != nil {
		t.Fatal(err)
	}
	return status, data
}

// leaderMetric is what a replica's /metrics says while it leads.
const leaderMetric = `leader_election_master_status{name="roomsync.chat.roomsync.io"} 1`

// waitForLeader returns the live replica that leads.
func waitForLeader(t *testing.T) *testenv.Operator {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, r := range replicas {
			if !r.Exited() && strings.Contains(scrape(t, r.MetricsURL), leaderMetric) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica leads")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRoomLife sends a realistic room life to the binary and reads it back
// the way a platform engineer would.
func TestRoomLife(t *testing.T) {
	roomID := fmt.Sprintf("standup-%d", time.Now().UnixNano())
	t0 := time.Now().UnixMilli()
	for i, b := range []string{
		`{"CallbackCommand":"Room.CallbackAfterCreateRoom","Operator_Account":"alice","EventTime":%d,"RoomInfo":{"RoomId":%q,"RoomName":"Daily standup","RoomType":"Conference","Owner_Account":"alice","MaxMemberCount":20,"MaxSeatCount":6,"IsSeatEnabled":true,"IsCloudRecordingDisabled":true,"RoomStatus":"Running","CreateTime":1700000000},"ScheduleInviteeList_Account":["bob","carol"]}`,
		`{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"alice","EventTime":%d,"RoomId":%q,"MemberCount":3,"Type":"Enter","MemberList_Account":["alice","bob","carol"]}`,
		`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","Operator_Account":"alice","EventTime":%d,"RoomInfo":{"RoomId":%q,"IsCloudRecordingDisabled":"false"}}`,
		`{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","Operator_Account":"alice","EventTime":%d,"RoomId":%q,"SeatList":[{"Index":0,"Member_Account":"alice"},{"Index":1,"Member_Account":"bob"},{"Index":2,"Member_Account":""}]}`,
		`{"CallbackCommand":"Room.CallbackAfterMemberLeave","Operator_Account":"alice","EventTime":%d,"RoomId":%q,"MemberCount":2,"Type":"Kicked","Reason":"late","MemberList_Account":["carol"]}`,
	} {
		body := fmt.Sprintf(b, t0+int64(i), roomID)
		if status, answer := post(t, body, ""); status != http.StatusOK || answer["ErrorInfo"] != "" {
			t.Fatalf("step %d: answer %d %v", i, status, answer)
		}
	}
	out := kubectl(t, "get", "rooms", "-n", namespace, "--field-selector", "spec.roomID="+roomID)
	if !hasRowStartingWith(strings.Split(out, "\n"), roomID, roomID, "alice", "Active", "2", "20", "Enabled", "True") {
		t.Errorf("kubectl get rooms during the meeting:\n%s", out)
	}
	if wide := kubectl(t, "get", "rooms", "-n", namespace, "--field-selector", "spec.roomID="+roomID, "-o", "wide"); !strings.Contains(wide, "Daily standup") {
		t.Errorf("kubectl get rooms -o wide:\n%s", wide)
	}
	room := waitForRoom(t, roomID, "the Room mirrors the meeting", func(r *chatv1alpha1.Room) bool {
		return r.Status.Members != nil && r.Status.Members.Kicked == 1 && r.Status.Seats != nil && r.Status.Seats.Taken == 2 &&
			r.Status.ScheduleInviteeCount == 2 && r.Status.RoomType == "Conference"
	})

	destroy := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"alice","EventTime":%d,"RoomId":%q}`, t0+10, roomID)
	if status, answer := post(t, destroy, ""); status != http.StatusOK {
		t.Fatalf("destroy: answer %d %v", status, answer)
	}
	waitForRoom(t, room.Name, "the Room is reported destroyed", func(r *chatv1alpha1.Room) bool {
		c := meta.FindStatusCondition(r.Status.Conditions, chatv1alpha1.ReadyCondition)
		return r.Status.Phase == chatv1alpha1.RoomPhaseDestroyed && c != nil && c.Reason == chatv1alpha1.RoomDestroyedReason
	})
	out = kubectl(t, "get", "rooms", "-n", namespace, "--field-selector", "status.phase=Destroyed", "-o", "name")
	if !strings.Contains(out, "room.chat.roomsync.io/"+room.Name) {
		t.Errorf("selecting destroyed Rooms by status.phase: %q", out)
	}
	if out := kubectl(t, "get", "chatapps", "-n", namespace, "-o", "jsonpath={.items[0].status.roomCount}"); out == "" || out == "0" {
		t.Errorf("ChatApp roomCount %q", out)
	}
}
