package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// unreachableKubeconfig writes a kubeconfig whose API server refuses
// connections.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: chat}}]
current-context: x
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExitCodes: usage errors exit 2 before anything is sent; a command
// that cannot reach the cluster exits 1.
func TestExitCodes(t *testing.T) {
	kubeconfig := unreachableKubeconfig(t)
	tests := []struct {
		args       []string
		want       int
		wantStderr string // a part of it
		wantStdout string
	}{
		{args: nil, want: 0, wantStdout: "Available Commands"},
		{args: []string{"--help"}, want: 0, wantStdout: "kubectl roomsync"},
		{args: []string{"frobnicate"}, want: 2, wantStderr: `unknown command "frobnicate"`},
		{args: []string{"status", "--bogus"}, want: 2, wantStderr: "unknown flag: --bogus"},
		{args: []string{"status", "extra"}, want: 2, wantStderr: "status takes no arguments"},
		{args: []string{"resync"}, want: 2, wantStderr: "resync wants ROOM (or --all CHATAPP)"},
		{args: []string{"resync", "--all"}, want: 2, wantStderr: "resync wants ROOM"},
		{args: []string{"resync", "a", "b"}, want: 2},
		{args: []string{"resync", "a", "--timeout", "0s"}, want: 2, wantStderr: "--timeout must be positive"},
		{args: []string{"resync", "a", "--timeout", "soon"}, want: 2, wantStderr: "invalid argument"},
		{args: []string{"describe"}, want: 2, wantStderr: "describe wants ROOM"},
		{args: []string{"send"}, want: 2, wantStderr: "want the ChatApp's name"},
		{args: []string{"send", "demo", "a.json", "b.json"}, want: 2},
		{args: []string{"send", "demo", "a.json", "--room-id", "r"}, want: 2, wantStderr: "--room-id makes the body up"},
		{args: []string{"send", "demo", "--room-name", "n"}, want: 2, wantStderr: "--room-name needs --room-id"},
		{args: []string{"send", "demo", "--url", "ftp://example.com/", "--room-id", "r"}, want: 2, wantStderr: "not an http or https URL"},
		{args: []string{"status", "--kubeconfig", filepath.Join(t.TempDir(), "missing")}, want: 1, wantStderr: "error: reading the kubeconfig"},
		{args: []string{"status", "--kubeconfig", kubeconfig}, want: 1, wantStderr: "connection refused"},
		{args: []string{"describe", "r", "--kubeconfig", kubeconfig}, want: 1, wantStderr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr}
			if code := run(t.Context(), tt.args, streams); code != tt.want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.wantStderr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not say %q", stdout.String(), tt.wantStdout)
			}
			if tt.want == 2 && !strings.Contains(stderr.String(), "See 'kubectl roomsync --help'") {
				t.Errorf("a usage error does not point at the help: %q", stderr.String())
			}
		})
	}
}
