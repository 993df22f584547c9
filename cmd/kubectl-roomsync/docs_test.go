package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/roomsync/roomsync/internal/docscan"
)

// TestDocsNameRealCommands: every `kubectl roomsync …` command line in the
// docs (README.md, CONTRIBUTING.md, SECURITY.md, docs/ but the generated
// api.md), in code blocks and inline code, names a command the plugin has,
// with flags that command takes. test/docs checks the rest of the docs.
func TestDocsNameRealCommands(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := docscan.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		d, err := docscan.Read(root, f)
		if err != nil {
			t.Fatal(err)
		}
		check := func(line int, text string) {
			for _, args := range pluginCommands(text) {
				checked++
				if err := checkCommand(args); err != nil {
					t.Errorf("%s:%d: %s: %v", f, line, strings.Join(append([]string{"kubectl roomsync"}, args...), " "), err)
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
		t.Fatal("no `kubectl roomsync` command in the docs: is the scan broken?")
	}
	t.Logf("%d commands checked", checked)
}

// TestCommandScan: what pluginCommands takes for a command line, and what
// checkCommand says of it.
func TestCommandScan(t *testing.T) {
	for _, tc := range []struct {
		text string
		want [][]string
	}{
		{"kubectl roomsync status -n chat   # the ChatApp", [][]string{{"status", "-n", "chat"}}},
		{"kubectl roomsync describe <the room> -n <ns> | less", [][]string{{"describe", "<the room>", "-n", "<ns>"}}},
		{"watch kubectl roomsync status -A 2>/dev/null", [][]string{{"status", "-A"}}},
		{"kubectl roomsync resync r --timeout=5m && kubectl roomsync status", [][]string{{"resync", "r", "--timeout=5m"}, {"status"}}},
		{`kubectl roomsync send demo --url "https://x.example/cb?a=b" --room-id 'r 1'; echo`, [][]string{{"send", "demo", "--url", "https://x.example/cb?a=b", "--room-id", "r 1"}}},
		{"kubectl roomsync …", [][]string{{}}},
		{"kubectl roomsync send demo $(ls *.json) > out", [][]string{{"send", "demo", "$(ls *.json)"}}},
		{"kubectl-roomsync_<tag>.tar.gz, kubectl roomsyncs", nil},
	} {
		if got := pluginCommands(tc.text); !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("pluginCommands(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	for args, ok := range map[string]bool{
		"":                         true,
		"--help":                   true,
		"status -A --context prod": true,
		"describe ROOM -n <ns> --kubeconfig ~/.kube/config": true,
		"resync --all <chatapp> --timeout <duration>":       true,
		"send CHATAPP --url URL --room-id ID --now":         true,
		"<command>":               true,
		"frobnicate":              false,
		"status --bogus":          false,
		"describe r -A":           false,
		"resync r --timeout soon": false,
	} {
		if err := checkCommand(strings.Fields(args)); (err == nil) != ok {
			t.Errorf("checkCommand(%q) = %v, want ok %v", args, err, ok)
		}
	}
}

// pluginCommands returns the arguments of each `kubectl roomsync` command
// in text, a line of shell or an inline code span: its words
// (docscan.Commands) up to an ellipsis.
func pluginCommands(text string) [][]string {
	var out [][]string
	for _, words := range docscan.Commands(text) {
		for i := 0; i+1 < len(words); i++ {
			if words[i] != "kubectl" || words[i+1] != "roomsync" {
				continue
			}
			args := words[i+2:]
			if j := slices.IndexFunc(args, func(w string) bool { return w == "…" || w == "..." }); j >= 0 {
				args = args[:j]
			}
			out = append(out, args)
			break
		}
	}
	return out
}

// checkCommand checks that `kubectl roomsync args...` names a command and
// only flags that command takes, as the plugin would parse it. It does not
// check the number of arguments: the docs name a command without its
// arguments when they talk about it (`kubectl roomsync send`).
func checkCommand(args []string) error {
	p := &plugin{flags: genericclioptions.NewConfigFlags(true), streams: genericiooptions.NewTestIOStreamsDiscard(), now: time.Now}
	root := newRootCommand(p)
	cmd, rest, err := root.Find(args)
	if err != nil {
		return fmt.Errorf("no such command: %w", err)
	}
	cmd.InitDefaultHelpFlag()
	if err := cmd.ParseFlags(fillPlaceholders(cmd, rest)); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	if positional := cmd.Flags().Args(); cmd == root && len(positional) > 0 && !docscan.IsPlaceholder(positional[0]) {
		return fmt.Errorf("unknown command %q", positional[0])
	}
	return nil
}

// sampleValues are values of flag types, by pflag's names for them, for
// placeholders: `--timeout <duration>` is a flag that exists, with a value
// to fill in, though <duration> is no duration.
var sampleValues = map[string]string{"duration": "1s", "bool": "true", "int": "1", "int32": "1", "int64": "1", "float64": "1"}

// fillPlaceholders returns args with the placeholder values of cmd's flags
// that are not strings replaced by sampleValues.
func fillPlaceholders(cmd *cobra.Command, args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		lookup := cmd.Flags().Lookup
		inherited := cmd.InheritedFlags().Lookup
		if !strings.HasPrefix(a, "--") {
			lookup, inherited = cmd.Flags().ShorthandLookup, cmd.InheritedFlags().ShorthandLookup
			if len(name) != 1 {
				continue // -An: shorthands together
			}
		}
		f := lookup(name)
		if f == nil {
			if f = inherited(name); f == nil {
				continue // ParseFlags says so
			}
		}
		sample, ok := sampleValues[f.Value.Type()]
		switch {
		case !ok:
		case hasValue && docscan.IsPlaceholder(value):
			out[i] = a[:len(a)-len(value)] + sample
		case !hasValue && f.NoOptDefVal == "" && i+1 < len(out) && docscan.IsPlaceholder(out[i+1]):
			out[i+1] = sample
		}
	}
	return out
}
