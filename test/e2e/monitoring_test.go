package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/monitoring"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	monitoringNamespace = "e2e-monitoring"
	monitoringAppID     = 1400000004
	monitoringToken     = "monitoring-token"
	monitoringKey       = "monitoring-secret-key"
)

// TestAlertsAndDashboardUseExportedMetrics: every metric that the alert
// rules (config/prometheus/rules.yaml) and the Grafana dashboard select is
// one the built binary exports on /metrics, so that neither can rot
// silently when a metric is renamed. `up` is Prometheus' own. The test first
// gives roomsync what makes its series appear: a ChatApp with a REST API
// (its resync) and recording, and a Room that records.
func TestAlertsAndDashboardUseExportedMetrics(t *testing.T) {
	ctx := context.Background()
	fake := tencenttest.NewServer(t, monitoringAppID, "administrator", monitoringKey)
	fake.SetRoom("monitored", "Monitored")
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: monitoringNamespace, Name: "monitored"},
		Spec: chatv1alpha1.ChatAppSpec{
			SDKAppID:  monitoringAppID,
			Recording: testenv.Recording(),
			RestAPI: &chatv1alpha1.RestAPISpec{
				Endpoint: fake.URL, Administrator: "administrator",
				SecretKeyRef:   chatv1alpha1.SecretKeyReference{Name: "tencent-rest"},
				ResyncInterval: &metav1.Duration{Duration: time.Hour},
			},
		},
	}
	if err := testenv.CreateSignedApp(ctx, env.Client, app, monitoringToken); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":"monitored","IsCloudRecordingDisabled":false}}`,
		time.Now().UnixMilli())
	waitUntil(t, "the receiver knows the new ChatApp and stores its callback", func() bool {
		return postSigned(t, monitoringAppID, monitoringToken, body) == http.StatusOK
	})

	// Its secret key last: the first full resync, when the worker starts,
	// reads the Room.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: monitoringNamespace, Name: "tencent-rest", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"secretKey": monitoringKey},
	}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}

	rules, err := monitoring.RuleExpressions(filepath.Join(testenv.RepoRoot(), monitoring.RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	dashboard, err := monitoring.DashboardExpressions(filepath.Join(testenv.RepoRoot(), monitoring.DashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{} // metric name → where it is used
	for _, e := range append(rules, dashboard...) {
		names, err := monitoring.MetricNames(e.Expr)
		if err != nil {
			t.Fatalf("%s: %v", e.Where, err)
		}
		for _, n := range names {
			want[n] = append(want[n], e.Where)
		}
	}
	delete(want, "up")
	if len(want) < 15 {
		t.Fatalf("only %d metric names in the rules and the dashboard: %v", len(want), want)
	}

	// The controllers' metrics come from the leader, the callbacks' from
	// whichever replica answered: look at every replica.
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		exported := map[string]bool{}
		for _, r := range replicas {
			if !r.Exited() {
				for _, n := range exportedNames(scrape(t, r.MetricsURL)) {
					exported[n] = true
				}
			}
		}
		missing = missing[:0]
		for n := range want {
			if !exported[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			for _, n := range missing {
				t.Errorf("%s is not on /metrics; used by %s", n, strings.Join(want[n], "; "))
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Series exist before their first event, so that rate() sees it.
	data := scrape(t, metricsURL)
	for _, s := range []string{
		`roomsync_callbacks_total{command="Room.CallbackAfterDestroyRoom",result="unavailable"}`,
		`roomsync_room_status_writes_total{result="conflict"}`,
		`roomsync_spool_events_total{result="dead_lettered"}`,
	} {
		if _, ok := seriesValue(data, s); !ok {
			t.Errorf("/metrics has no series %s before its first event", s)
		}
	}
}

// exportedNames returns the names of the samples a /metrics page holds: a
// histogram's and a summary's with their _bucket, _sum and _count.
func exportedNames(page string) []string {
	var names []string
	for _, line := range strings.Split(page, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names = append(names, f[2])
		switch f[3] {
		case "histogram":
			names = append(names, f[2]+"_bucket", f[2]+"_sum", f[2]+"_count")
		case "summary":
			names = append(names, f[2]+"_sum", f[2]+"_count")
		}
	}
	return names
}

// seriesValue returns the value of one series (name{labels} exactly as
// /metrics writes it) on a /metrics page.
func seriesValue(page, series string) (float64, bool) {
	for _, line := range strings.Split(page, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// postSigned sends a callback of sdkAppID signed with token, as Tencent
// would, and returns the HTTP status.
func postSigned(t *testing.T, sdkAppID int64, token, body string) int {
	t.Helper()
	var env struct{ CallbackCommand string }
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	q := tencent.CallbackQuery{SDKAppID: sdkAppID, Command: env.CallbackCommand, Token: token}
	resp, err := http.Post(callbackURL+"?"+q.Encode(time.Now()), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestPrometheusComponent: config/prometheus, added to an install as
// docs/operations.md shows, gives a ServiceMonitor that selects the metrics
// Service's port and the PrometheusRule, and the API server accepts both.
func TestPrometheusComponent(t *testing.T) {
	kubectl(t, "apply", "-f", filepath.Join("testdata", "crds", "standins.yaml"))
	kubectl(t, "wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
	// A kustomization elsewhere that uses config/default and the component,
	// by relative paths (kustomize takes no absolute ones).
	overlay := func(kustomization string, dirs ...string) string {
		t.Helper()
		dir := t.TempDir()
		args := make([]any, len(dirs))
		for i, d := range dirs {
			rel, err := filepath.Rel(dir, filepath.Join(testenv.RepoRoot(), "config", d))
			if err != nil {
				t.Fatal(err)
			}
			args[i] = rel
		}
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(fmt.Sprintf(kustomization, args...)), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	install := kubectl(t, "kustomize", overlay("resources: [%q]\ncomponents: [%q]\n", "default", "prometheus"))
	for _, want := range []string{
		"kind: PrometheusRule\nmetadata:\n  labels:\n    app.kubernetes.io/name: roomsync\n  name: roomsync\n  namespace: roomsync-system\nspec:\n  groups:",
		"kind: ServiceMonitor", "  - name: https\n    port: 8443", "    - replacement: roomsync\n      targetLabel: job",
	} {
		if !strings.Contains(install, want) {
			t.Errorf("config/default with config/prometheus lacks %q", want)
		}
	}

	kubectl(t, "create", "namespace", "e2e-prometheus")
	out := kubectl(t, "apply", "--server-side", "-k", overlay("namespace: e2e-prometheus\ncomponents: [%q]\n", "prometheus"))
	for _, want := range []string{"servicemonitor.monitoring.coreos.com/roomsync", "prometheusrule.monitoring.coreos.com/roomsync"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s was not applied:\n%s", want, out)
		}
	}
}
