package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/roomsync/roomsync/plugins/krew"
)

const krewTemplate = "../../plugins/krew/roomsync.yaml"

// renderKrew renders the template as krew-release-bot does for tag, with a
// made-up sha256 for every archive (nothing is downloaded).
func renderKrew(t *testing.T, tag string) []byte {
	t.Helper()
	src, err := os.ReadFile(krewTemplate)
	if err != nil {
		t.Fatal(err)
	}
	out, err := krew.Render(src, tag, func(string) (string, error) { return strings.Repeat("ab", 32), nil })
	if err != nil {
		t.Fatalf("%s: %v", krewTemplate, err)
	}
	return out
}

func TestKrewManifest(t *testing.T) {
	const tag = "v0.3.1"
	rendered := renderKrew(t, tag)
	var p krew.Plugin
	if err := yaml.UnmarshalStrict(rendered, &p); err != nil {
		t.Fatalf("the rendered manifest is not a Krew Plugin: %v\n%s", err, rendered)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" {
		t.Errorf("apiVersion %q, kind %q", p.APIVersion, p.Kind)
	}
	// Krew installs it as kubectl-<name>: `kubectl roomsync`.
	if p.Metadata.Name != "roomsync" {
		t.Errorf("name %q, want roomsync", p.Metadata.Name)
	}
	if p.Spec.Version != tag || p.Spec.ShortDescription == "" || len(p.Spec.ShortDescription) > 50 ||
		!strings.HasPrefix(p.Spec.Homepage, "https://") || p.Spec.Description == "" {
		t.Errorf("version %q, shortDescription %q (%d characters), homepage %q, description %d bytes",
			p.Spec.Version, p.Spec.ShortDescription, len(p.Spec.ShortDescription), p.Spec.Homepage, len(p.Spec.Description))
	}
	for _, command := range []string{"status", "resync", "send", "describe"} {
		if !strings.Contains(p.Spec.Description, command) {
			t.Errorf("the description does not mention %s", command)
		}
	}

	want := map[string]bool{"linux/amd64": true, "linux/arm64": true, "darwin/amd64": true, "darwin/arm64": true, "windows/amd64": true, "windows/arm64": true}
	sha := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, pl := range p.Spec.Platforms {
		os, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		platform := os + "/" + arch
		if !want[platform] {
			t.Errorf("platform %s is unexpected or listed twice", platform)
		}
		delete(want, platform)
		bin := "kubectl-roomsync"
		if os == "windows" {
			bin += ".exe"
		}
		if pl.Bin != bin {
			t.Errorf("%s: bin %q, want %q", platform, pl.Bin, bin)
		}
		wantURI := fmt.Sprintf("https://github.com/roomsync/roomsync/releases/download/%s/kubectl-roomsync_%s_%s_%s.", tag, tag, os, arch)
		if !strings.HasPrefix(pl.URI, wantURI) || strings.Contains(pl.URI, "{{") {
			t.Errorf("%s: uri %q, want it to start %q", platform, pl.URI, wantURI)
		}
		if !sha.MatchString(pl.SHA256) {
			t.Errorf("%s: sha256 %q", platform, pl.SHA256)
		}
	}
	for platform := range want {
		t.Errorf("no archive for %s", platform)
	}
}
