// Package monitoring reads roomsync's alert rules and Grafana dashboard as
// data, for the tests that keep them from rotting: their PromQL expressions,
// parsed with Prometheus' own parser, and the metric names they use.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// The files, relative to the repository's root.
const (
	// RulesFile is the one source of the alert rules.
	RulesFile = "config/prometheus/rules.yaml"
	// RulesTestFile holds promtool's unit tests of the rules.
	RulesTestFile = "config/prometheus/rules_test.yaml"
	// PrometheusRuleFile is RulesFile wrapped in a PrometheusRule by make manifests.
	PrometheusRuleFile = "config/prometheus/prometheusrule.yaml"
	// ChartRulesFile is the Helm chart's copy of RulesFile.
	ChartRulesFile = "charts/roomsync/files/prometheus/rules.yaml"
	// DashboardFile is the Grafana dashboard (the chart's ConfigMap holds it).
	DashboardFile = "charts/roomsync/files/dashboard.json"
	// RunbookDir holds a runbook per alert, <alert>.md.
	RunbookDir = "docs/runbooks"
)

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is a group of rules.
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is an alerting or recording rule.
type Rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ReadRules reads the rule file at path.
func ReadRules(path string) (*RuleFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f RuleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return &f, nil
}

// Expression is a PromQL expression and where it comes from.
type Expression struct {
	// Where names the rule or the dashboard panel.
	Where string
	// Expr is the expression as written.
	Expr string
}

// RuleExpressions returns the expression of every rule in the rule file at
// path.
func RuleExpressions(path string) ([]Expression, error) {
	f, err := ReadRules(path)
	if err != nil {
		return nil, err
	}
	var out []Expression
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, Expression{Where: fmt.Sprintf("%s: rule %s%s", filepath.Base(path), r.Alert, r.Record), Expr: r.Expr})
		}
	}
	return out, nil
}

// DashboardExpressions returns the expression of every query of the Grafana
// dashboard at path (panel targets and the template variables' queries),
// with Grafana's variables replaced by values that parse, as Grafana would
// before sending them to Prometheus.
func DashboardExpressions(path string) ([]Expression, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var dash struct {
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var out []Expression
	var panels func([]dashboardPanel)
	panels = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Expression{Where: fmt.Sprintf("dashboard panel %q, target %s", p.Title, t.RefID), Expr: grafanaVariables(t.Expr)})
			}
			panels(p.Panels) // the panels of a collapsed row
		}
	}
	panels(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		expr, err := variableQuery(q)
		if err != nil {
			return nil, fmt.Errorf("dashboard variable %s: %w", v.Name, err)
		}
		out = append(out, Expression{Where: "dashboard variable " + v.Name, Expr: grafanaVariables(expr)})
	}
	return out, nil
}

type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

var (
	labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
	queryResult = regexp.MustCompile(`^\s*query_result\((.*)\)\s*$`)
	variable    = regexp.MustCompile(`\$(\{[a-zA-Z0-9_:]+\}|[a-zA-Z0-9_]+)`)
)

// variableQuery returns the PromQL in a Grafana variable query:
// label_values(selector, label) or query_result(expr).
func variableQuery(q string) (string, error) {
	if m := labelValues.FindStringSubmatch(q); m != nil {
		return m[1], nil
	}
	if m := queryResult.FindStringSubmatch(q); m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("query %q is neither label_values(selector, label) nor query_result(expr)", q)
}

// grafanaVariables replaces Grafana's variables in expr: the interval ones
// by a duration, the others by a label value.
func grafanaVariables(expr string) string {
	return variable.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "__rate_interval", "__interval", "__range", "__range_s", "interval":
			return "5m"
		}
		return "value"
	})
}

// Parse parses expr with Prometheus' parser.
func Parse(expr string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(expr)
}

// MetricNames returns the metric names expr selects, sorted.
func MetricNames(expr string) ([]string, error) {
	ast, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			err = fmt.Errorf("%s selects no metric by name", vs)
		} else if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return nil
	})
	slices.Sort(names)
	return names, err
}
