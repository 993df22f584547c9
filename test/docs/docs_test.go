// Package docs tests the documentation, so that it can be trusted: every
// YAML manifest in README.md, CONTRIBUTING.md, SECURITY.md and docs/ is
// accepted by an API server with roomsync's CRDs (a server-side dry run),
// every `make` target they name exists, and every relative link resolves.
// cmd/kubectl-roomsync/docs_test.go checks the `kubectl roomsync` commands
// they name.
package docs

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/roomsync/roomsync/internal/docscan"
	"github.com/roomsync/roomsync/internal/testenv"
)

// The control plane, started by the first test that needs one (only
// TestManifestsApply does: the other tests run without kube-apiserver and
// etcd) and stopped by TestMain. testenv.Run would start it for every run
// of the package.
var (
	envOnce sync.Once
	env     *testenv.Env
	envErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}
	os.Exit(code)
}

// standInCRDs are the CRDs of the Prometheus operator and cert-manager, as
// the end-to-end tests install them: the docs show ServiceMonitors and
// PrometheusRules.
var standInCRDs = filepath.Join(testenv.RepoRoot(), "test", "e2e", "testdata", "crds", "standins.yaml")

// controlPlane returns the package's control plane, with roomsync's CRDs
// and standInCRDs, starting it on first use.
func controlPlane(t *testing.T) *testenv.Env {
	t.Helper()
	envOnce.Do(func() {
		var e *testenv.Env
		if e, envErr = testenv.Start(); envErr != nil {
			return
		}
		if _, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{Paths: []string{standInCRDs}, ErrorIfPathMissing: true}); err != nil {
			envErr = fmt.Errorf("installing %s: %w", standInCRDs, err)
			if err := e.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
			}
			return
		}
		env = e
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return env
}

// docs reads the Markdown files the tests check.
func docs(t *testing.T) []*docscan.Doc {
	t.Helper()
	root := testenv.RepoRoot()
	files, err := docscan.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(files, "README.md") {
		t.Fatalf("no README.md in %s", root)
	}
	var out []*docscan.Doc
	for _, f := range files {
		d, err := docscan.Read(root, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// yamlDoc is one document of a YAML block.
type yamlDoc struct {
	// line is the 1-based line of the Markdown file it starts on.
	line int
	text string
}

var docSeparatorRE = regexp.MustCompile(`^---(\s.*)?$`)

// yamlDocs splits a YAML code block into its documents.
func yamlDocs(b docscan.Block) []yamlDoc {
	var out []yamlDoc
	cur := yamlDoc{line: b.Line + 1}
	var text []string
	for i, l := range b.Lines {
		if docSeparatorRE.MatchString(l) {
			cur.text = strings.Join(text, "\n")
			out = append(out, cur)
			cur, text = yamlDoc{line: b.Line + 2 + i}, nil
			continue
		}
		text = append(text, l)
	}
	cur.text = strings.Join(text, "\n")
	return append(out, cur)
}

// configOnly are the API groups of the YAML the docs may show that no API
// server serves, files of tools: they must parse, and are not applied. A
// kind of any other group that the test control plane does not serve fails
// the test, so that whoever documents a new kind decides what to do with
// it: add its CRD (as standInCRDs) or list it here.
var configOnly = map[string]string{
	"kustomize.config.k8s.io": "a kustomize file",
}

// docsNamespace is where manifests without a namespace are applied.
const docsNamespace = "docs-examples"

// TestManifestsApply: every YAML document in the docs parses, and every
// one with an apiVersion and a kind is accepted by the API server, with
// strict field validation, in a server-side dry run.
func TestManifestsApply(t *testing.T) {
	type manifest struct {
		where string // file:line
		obj   *unstructured.Unstructured
	}
	var manifests []manifest
	for _, d := range docs(t) {
		for _, b := range d.Blocks {
			if b.Lang != "yaml" && b.Lang != "yml" {
				continue
			}
			for _, doc := range yamlDocs(b) {
				where := fmt.Sprintf("%s:%d", d.Path, doc.line)
				var v any
				if err := yaml.Unmarshal([]byte(doc.text), &v); err != nil {
					t.Errorf("%s: not YAML: %v", where, err)
					continue
				}
				m, ok := v.(map[string]any)
				if !ok {
					continue // empty, a list or a scalar: parsed, nothing to apply
				}
				apiVersion, _ := m["apiVersion"].(string)
				kind, _ := m["kind"].(string)
				if apiVersion == "" || kind == "" {
					continue // a values file, a fragment of a spec: parsed
				}
				// Decoded again as the API machinery does, integers as int64.
				obj := &unstructured.Unstructured{}
				data, err := yaml.YAMLToJSON([]byte(doc.text))
				if err == nil {
					err = obj.UnmarshalJSON(data)
				}
				if err != nil {
					t.Errorf("%s: %s %s: %v", where, apiVersion, kind, err)
					continue
				}
				manifests = append(manifests, manifest{where: where, obj: obj})
			}
		}
	}
	if len(manifests) == 0 {
		t.Fatal("no manifest in the docs: is the YAML block scan broken?")
	}

	e := controlPlane(t)
	ctx := t.Context()
	c, err := client.New(e.Config, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ensureNamespace := func(name string) error {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
		return nil
	}
	for _, mf := range manifests {
		obj := mf.obj
		gvk := obj.GroupVersionKind()
		desc := fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
		if why, ok := configOnly[gvk.Group]; ok {
			t.Logf("%s: %s (%s), %s: parsed, not applied", mf.where, obj.GetKind(), obj.GetAPIVersion(), why)
			continue
		}
		mapping, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			t.Errorf("%s: kind %s (apiVersion %s) is not served by the test control plane: add its CRD to the test (test/docs) or, for a file no API server reads, its group to configOnly",
				mf.where, gvk.Kind, obj.GetAPIVersion())
			continue
		}
		if err != nil {
			t.Fatalf("%s: mapping %s: %v", mf.where, gvk, err)
		}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(docsNamespace)
			}
			if err := ensureNamespace(obj.GetNamespace()); err != nil {
				t.Fatal(err)
			}
			desc = fmt.Sprintf("%s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
		}
		err = c.Create(ctx, obj, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict))
		switch {
		case apierrors.IsAlreadyExists(err):
			// A namespace this test created for another manifest: the API
			// server checks existence after validation, so it was valid.
			t.Logf("%s: %s: valid (it exists already)", mf.where, desc)
		case err != nil:
			t.Errorf("%s: %s is not accepted: %v", mf.where, desc, err)
		}
	}
	t.Logf("%d manifests checked", len(manifests))
}

// TestRelativeLinks: every link and image in the docs that is not a URL
// names a file or directory of the repository, and its #fragment, if any,
// a heading (or HTML anchor) of the Markdown file it names.
func TestRelativeLinks(t *testing.T) {
	problems, checked, err := linkProblems(testenv.RepoRoot(), docs(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if checked == 0 {
		t.Fatal("no relative link in the docs: is the scan broken?")
	}
	t.Logf("%d relative links checked", checked)
}

// linkProblems checks the relative links of docs, files of the repository
// at root, and returns what is wrong with them, file:line first, and how
// many it checked.
func linkProblems(root string, docs []*docscan.Doc) (problems []string, checked int, err error) {
	// targets caches the Markdown files linked to, docs/api.md among them.
	targets := map[string]*docscan.Doc{}
	for _, d := range docs {
		targets[d.Path] = d
	}
	for _, d := range docs {
		for _, l := range d.Links {
			if docscan.IsAbsolute(l.Target) {
				continue
			}
			checked++
			where := fmt.Sprintf("%s:%d", d.Path, l.Line)
			file, fragment, err := docscan.Resolve(d.Path, l.Target)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			if file == ".." || strings.HasPrefix(file, "../") {
				problems = append(problems, fmt.Sprintf("%s: link %q leaves the repository", where, l.Target))
				continue
			}
			info, err := os.Stat(filepath.Join(root, file))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: link %q: no %s in the repository", where, l.Target, file))
				continue
			}
			if fragment == "" || info.IsDir() || !strings.HasSuffix(file, ".md") {
				continue // GitHub's #L10 anchors of other files are not checked
			}
			target, ok := targets[file]
			if !ok {
				if target, err = docscan.Read(root, file); err != nil {
					return nil, 0, err
				}
				targets[file] = target
			}
			if !target.Anchors[fragment] {
				problems = append(problems, fmt.Sprintf("%s: link %q: %s has no heading with the anchor #%s (it has %s)",
					where, l.Target, file, fragment, strings.Join(target.SortedAnchors(), ", ")))
			}
		}
	}
	return problems, checked, nil
}

// TestLinkCheck: linkProblems finds the links that do not resolve.
func TestLinkCheck(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"README.md": "# Roomsync\n\nSee [install](docs/install.md#helm), [the API](docs/api.md#room),\n" +
			"[gone](docs/gone.md), [bad anchor](docs/install.md#kustomize), [here](#roomsync),\n" +
			"[config](config/) and ![logo](logo.png). `[code](nowhere.md)` [out](../x.md) [web](https://x.example/y.md)\n",
		"docs/install.md": "# Install\n\n## Helm\n\nBack to the [README](../README.md#nope).\n",
		"docs/api.md":     "# API\n\n### Room\n",
		"config/x.yaml":   "",
		"logo.png":        "",
	}
	var docs []*docscan.Doc
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if name == "README.md" || name == "docs/install.md" {
			docs = append(docs, docscan.Parse(name, text))
		}
	}
	problems, checked, err := linkProblems(root, docs)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(problems)
	want := []string{
		`README.md:4: link "docs/gone.md": no docs/gone.md in the repository`,
		`README.md:4: link "docs/install.md#kustomize": docs/install.md has no heading with the anchor #kustomize (it has helm, install)`,
		`README.md:5: link "../x.md" leaves the repository`,
		`docs/install.md:5: link "../README.md#nope": README.md has no heading with the anchor #nope (it has roomsync)`,
	}
	if !slices.Equal(problems, want) || checked != 9 {
		t.Errorf("linkProblems found (%d checked):\n%s\nwant (9 checked):\n%s", checked, strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

// TestMakeTargets: every `make TARGET` the docs name, in code blocks and
// inline code, is a target of the Makefile.
func TestMakeTargets(t *testing.T) {
	targets, err := makeTargets(filepath.Join(testenv.RepoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"test", "dev", "bench-scale"} {
		if !targets[want] {
			t.Fatalf("the Makefile parse finds no target %q: is it broken? It found %v", want, targets)
		}
	}
	checked := 0
	for _, d := range docs(t) {
		check := func(line int, text string) {
			for _, target := range makeCommandTargets(text) {
				checked++
				if !targets[target] {
					t.Errorf("%s:%d: `make %s`: the Makefile has no target %q", d.Path, line, target, target)
				}
			}
		}
		for _, b := range d.Blocks {
			for _, l := range b.ShellLines() {
				check(l.Line, l.Text)
			}
		}
		for _, s := range d.Spans {
			check(s.Line, s.Text)
		}
	}
	if checked == 0 {
		t.Fatal("no `make` command in the docs: is the scan broken?")
	}
	t.Logf("%d make targets checked", checked)
}

var (
	makeRuleRE   = regexp.MustCompile(`^([^\s:=#][^:=#]*?)\s*::?([^=].*)?$`)
	makeAssignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(:::|::|:|\+|\?|!)?=`)
	// makeVarLineRE is a variable assignment in a Makefile, X ::= y among
	// them, which makeRuleRE would take for a rule.
	makeVarLineRE = regexp.MustCompile(`^((export|override)\s+)?[^\s:=#]+\s*(:::|::|:|\+|\?|!)?=`)
)

// makeTargets returns the targets of the Makefile at path: the names of
// its rules (not those made of variables) and its .PHONY names.
func makeTargets(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Makefile: %w", err)
	}
	targets := map[string]bool{}
	inDefine := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "define "):
			inDefine = true
			continue
		case strings.HasPrefix(line, "endef"):
			inDefine = false
			continue
		case inDefine, strings.HasPrefix(line, "\t"), makeVarLineRE.MatchString(line):
			continue
		}
		m := makeRuleRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		names := strings.Fields(m[1])
		if len(names) == 1 && names[0] == ".PHONY" {
			names = strings.Fields(m[2])
		}
		for _, n := range names {
			if !strings.ContainsAny(n, "$%") && !strings.HasPrefix(n, ".") {
				targets[n] = true
			}
		}
	}
	return targets, nil
}

var (
	envAssignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	digitsRE    = regexp.MustCompile(`^[0-9]+$`) // make -j 4
)

// makeCommandTargets returns the targets of the make commands in text, a
// line of shell (docscan.Commands): `make dev`, `SCALE_ROOMS=30000 make bench-scale`, `make
// bench-scale SCALE_ROOMS=30000 && make test`. Flags and variable
// assignments are no targets; placeholders (<target>, …) and numbers are
// skipped, and so are commands that name another Makefile (-C, -f).
func makeCommandTargets(text string) []string {
	var targets []string
	for _, words := range docscan.Commands(text) {
		for len(words) > 0 && (words[0] == "$" || envAssignRE.MatchString(words[0])) {
			words = words[1:] // a prompt, FOO=bar before the command
		}
		if len(words) == 0 || words[0] != "make" {
			continue
		}
		var names []string
		otherMakefile := false
		for i := 1; i < len(words); i++ {
			w := words[i]
			switch {
			case w == "-C" || w == "-f" || strings.HasPrefix(w, "--directory") || strings.HasPrefix(w, "--file") || strings.HasPrefix(w, "--makefile"):
				otherMakefile = true
			case w == "-o" || w == "-W" || w == "-I":
				i++ // the flag's argument
			case strings.HasPrefix(w, "-"), makeAssignRE.MatchString(w), docscan.IsPlaceholder(w), digitsRE.MatchString(w), strings.ContainsAny(w, "$`\"'"):
			default:
				names = append(names, w)
			}
		}
		if !otherMakefile {
			targets = append(targets, names...)
		}
	}
	return targets
}

// TestMakeScan: what makeTargets takes for targets of a Makefile, and
// makeCommandTargets for the targets of a command line.
func TestMakeScan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Makefile")
	const makefile = "X ?= 1\nY := $(X)\nZ ::= 2\nexport W = 3\n$(LOCALBIN):\n\tmkdir -p $@\n" +
		".PHONY: all gen\nall: build ## Build.\nbuild test: x\n\tgo build ./... # not: a rule\n" +
		"define t\nnot-a-target: x\nendef\n%.o: %.c\nbench-scale: VAR = y\n"
	if err := os.WriteFile(path, []byte(makefile), 0o600); err != nil {
		t.Fatal(err)
	}
	targets, err := makeTargets(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"all": true, "gen": true, "build": true, "test": true, "bench-scale": true}
	if !maps.Equal(targets, want) {
		t.Errorf("makeTargets = %v, want %v", targets, want)
	}
	for text, want := range map[string][]string{
		"make dev":                                  {"dev"},
		"$ make bench-scale SCALE_ROOMS=30000":      {"bench-scale"},
		"SCALE_ROOMS=300 make -j4 bench-scale test": {"bench-scale", "test"},
		"make manifests generate && make test":      {"manifests", "generate", "test"},
		"cd x; make -C hack/tools build":            nil,
		"make <target>":                             nil,
		"make …":                                    nil,
		"make FOO=bar":                              nil,
		"go install ./...   # or make build":        nil, // a comment is prose
		"remake it":                                 nil,
	} {
		if got := makeCommandTargets(text); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("makeCommandTargets(%q) = %q, want %q", text, got, want)
		}
	}
}
