package monitoring

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// root is the repository's root.
var root = filepath.Join("..", "..")

func path(file string) string { return filepath.Join(root, file) }

// TestEveryExpressionParses: every expression of the rules and of the
// dashboard parses and selects its metrics by name (test/e2e checks that the
// built binary exports them).
func TestEveryExpressionParses(t *testing.T) {
	rules, err := RuleExpressions(path(RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	dashboard, err := DashboardExpressions(path(DashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) < 9 || len(dashboard) < 20 {
		t.Fatalf("%d rule and %d dashboard expressions: the files were not read as meant", len(rules), len(dashboard))
	}
	for _, e := range append(rules, dashboard...) {
		names, err := MetricNames(e.Expr)
		if err != nil {
			t.Errorf("%s: %v\n%s", e.Where, err, e.Expr)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s names no metric: %s", e.Where, e.Expr)
		}
	}
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (le) (rate(roomsync_callback_duration_seconds_bucket{result="x"}[5m]))`:              {"roomsync_callback_duration_seconds_bucket"},
		`a / b > 0.1 and on (x) absent(up{job="roomsync"}) or vector(0)`:                             {"a", "b", "up"},
		`{__name__="roomsync_rooms", condition="Ready"} - ignoring(status) roomsync_rooms offset 1h`: {"roomsync_rooms"},
	} {
		if got, err := MetricNames(expr); err != nil || !slices.Equal(got, want) {
			t.Errorf("MetricNames(%s) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, bad := range []string{`rate(roomsync_callbacks_total[5m]`, `{job="roomsync"}`, `sum(x) by`} {
		if _, err := MetricNames(bad); err == nil {
			t.Errorf("MetricNames(%s) did not fail", bad)
		}
	}
}

func TestGrafanaVariables(t *testing.T) {
	got := grafanaVariables(`rate(x{namespace=~"$namespace", a="${chatapp}"}[$__rate_interval])`)
	if want := `rate(x{namespace=~"value", a="value"}[5m])`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if q, err := variableQuery(`label_values(up{job="roomsync"}, namespace)`); err != nil || q != `up{job="roomsync"}` {
		t.Errorf("variableQuery: %q, %v", q, err)
	}
}

// TestAlertsAreDocumented: every alert says what happened and links to its
// runbook, which exists.
func TestAlertsAreDocumented(t *testing.T) {
	f, err := ReadRules(path(RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if !strings.HasPrefix(r.Alert, "Roomsync") {
				t.Errorf("alert %s is not named Roomsync…", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s", r.Alert, a)
				}
			}
			runbook := RunbookDir + "/" + r.Alert + ".md"
			if want := "https://github.com/roomsync/roomsync/blob/main/" + runbook; r.Annotations["runbook_url"] != want {
				t.Errorf("alert %s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			text, err := os.ReadFile(path(runbook))
			if err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
				continue
			}
			for _, section := range []string{"# " + r.Alert, "## Meaning", "## Confirm", "## What to do"} {
				if !bytes.Contains(text, []byte(section)) {
					t.Errorf("%s has no %q", runbook, section)
				}
			}
		}
	}
	// A runbook for every alert, and no runbook for an alert that is gone.
	books, _ := filepath.Glob(filepath.Join(path(RunbookDir), "*.md"))
	for _, b := range books {
		if name := strings.TrimSuffix(filepath.Base(b), ".md"); name != "README" && !slices.Contains(alerts, name) {
			t.Errorf("%s is the runbook of no alert", b)
		}
	}
}

// TestAlertsAreUnitTested: promtool's tests make every alert fire, and
// check it stays quiet in some case.
func TestAlertsAreUnitTested(t *testing.T) {
	f, err := ReadRules(path(RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path(RulesTestFile))
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(data, &tests); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tg := range tests.Tests {
		for _, c := range tg.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				fires[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && (!fires[r.Alert] || !quiet[r.Alert]) {
				t.Errorf("%s: no promtool test where alert %s fires (%v) or where it does not (%v)", RulesTestFile, r.Alert, fires[r.Alert], quiet[r.Alert])
			}
		}
	}
}

// TestPrometheusRuleWrapsTheRules: the kustomize component's PrometheusRule
// and the chart's copy are the rules, as make manifests made them.
func TestPrometheusRuleWrapsTheRules(t *testing.T) {
	rules, err := os.ReadFile(path(RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	if chart, err := os.ReadFile(path(ChartRulesFile)); err != nil || !bytes.Equal(chart, rules) {
		t.Errorf("%s differs from %s (%v): run `make manifests`", ChartRulesFile, RulesFile, err)
	}
	data, err := os.ReadFile(path(PrometheusRuleFile))
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	var want map[string]any
	if err := yaml.Unmarshal(data, &pr); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(rules, &want); err != nil {
		t.Fatal(err)
	}
	if pr.Kind != "PrometheusRule" || !reflect.DeepEqual(pr.Spec, want) {
		t.Errorf("%s does not hold %s: run `make manifests`", PrometheusRuleFile, RulesFile)
	}
}

// TestPromtool checks the rules and runs their unit tests with Prometheus'
// own promtool: the one `make test` installs ($PROMTOOL), or the newest in
// bin/.
func TestPromtool(t *testing.T) {
	bin := os.Getenv("PROMTOOL")
	if bin == "" {
		matches, _ := filepath.Glob(filepath.Join(root, "bin", "promtool-*"))
		if len(matches) == 0 {
			t.Fatal("no promtool: run the tests with `make test`, which installs it, or set PROMTOOL")
		}
		bin = matches[len(matches)-1]
	}
	for _, args := range [][]string{
		{"check", "rules", path(RulesFile)},
		{"test", "rules", path(RulesTestFile)},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
