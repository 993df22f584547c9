package docscan

import (
	"reflect"
	"slices"
	"testing"
)

const sample = "# Title\n" + // 1
	"\n" +
	"Run `make dev`, then `kubectl roomsync status\n" + // 3
	"-n chat`. See [the install](install.md#helm-chart) and\n" + // 4
	"![a diagram](img/arch.png \"Architecture\") or [Go](https://go.dev).\n" + // 5
	"\n" +
	"- a list item\n" + // 7
	"  ```yaml\n" + // 8
	"  kind: Room\n" +
	"  ```\n" +
	"\n" +
	"```sh\n" + // 12
	"make test # [not](a-link.md)\n" +
	"````\n" + // 14: closes the fence (longer is allowed)
	"\n" +
	"## Title\n" + // 16
	"## What's `new`?\n" + // 17
	"Setext heading\n" + // 18
	"--------------\n" +
	"[ref]: ../CONTRIBUTING.md\n" + // 20
	"[^1]: a footnote, no link\n" +
	"<a id=\"custom\"></a>`code [x](y.md)` \\`not code\\`\n" // 22

func TestParse(t *testing.T) {
	d := Parse("docs/x.md", sample)
	wantBlocks := []Block{
		{Lang: "yaml", Line: 8, Lines: []string{"kind: Room"}},
		{Lang: "sh", Line: 12, Lines: []string{"make test # [not](a-link.md)"}},
	}
	if !reflect.DeepEqual(d.Blocks, wantBlocks) {
		t.Errorf("blocks:\n got %+v\nwant %+v", d.Blocks, wantBlocks)
	}
	wantSpans := []Span{
		{Line: 3, Text: "make dev"},
		{Line: 3, Text: "kubectl roomsync status -n chat"},
		{Line: 17, Text: "new"},
		{Line: 22, Text: "code [x](y.md)"},
	}
	if !reflect.DeepEqual(d.Spans, wantSpans) {
		t.Errorf("spans:\n got %+v\nwant %+v", d.Spans, wantSpans)
	}
	wantLinks := []Link{
		{Line: 4, Target: "install.md#helm-chart"},
		{Line: 5, Target: "img/arch.png"},
		{Line: 5, Target: "https://go.dev"},
		{Line: 20, Target: "../CONTRIBUTING.md"},
	}
	if !reflect.DeepEqual(d.Links, wantLinks) {
		t.Errorf("links:\n got %+v\nwant %+v", d.Links, wantLinks)
	}
	want := []string{"custom", "setext-heading", "title", "title-1", "whats-new"}
	if got := d.SortedAnchors(); !reflect.DeepEqual(got, want) {
		t.Errorf("anchors: got %q, want %q", got, want)
	}
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Install with Helm":                      "install-with-helm",
		"`kubectl roomsync`":                     "kubectl-roomsync",
		"Rooms, ChatApps & Secrets (v1alpha1)":   "rooms-chatapps--secrets-v1alpha1",
		"spec.recording.jobTemplate":             "specrecordingjobtemplate",
		"snake_case and kebab-case":              "snake_case-and-kebab-case",
		"See [the API](api.md)":                  "see-the-api",
		"Größe <em>matters</em>":                 "größe-matters",
		"RoomsyncSpoolBackingUp":                 "roomsyncspoolbackingup",
		"What happens when Tencent is down?":     "what-happens-when-tencent-is-down",
		"Upgrading: 0.1 → 0.2":                   "upgrading-01--02",
		"  Leading and trailing spaces trimmed ": "leading-and-trailing-spaces-trimmed",
	} {
		if got := Slug(heading); got != want {
			t.Errorf("Slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ doc, target, file, fragment string }{
		{"docs/install.md", "concepts.md#rooms", "docs/concepts.md", "rooms"},
		{"docs/runbooks/RoomsyncDown.md", "../operations.md", "docs/operations.md", ""},
		{"README.md", "docs/", "docs", ""},
		{"README.md", "#quick-start", "README.md", "quick-start"},
		{"docs/plugin.md", "/config/samples/declared-room.yaml", "config/samples/declared-room.yaml", ""},
		{"docs/a.md", "my%20file.md#x%2Dy", "docs/my file.md", "x-y"},
	} {
		file, fragment, err := Resolve(tc.doc, tc.target)
		if err != nil || file != tc.file || fragment != tc.fragment {
			t.Errorf("Resolve(%q, %q) = %q, %q, %v; want %q, %q", tc.doc, tc.target, file, fragment, err, tc.file, tc.fragment)
		}
	}
	for target, want := range map[string]bool{
		"https://example.com": true, "mailto:a@example.com": true, "//cdn.example.com/x": true,
		"docs/x.md": false, "#anchor": false, "../a:b.md": false,
	} {
		if got := IsAbsolute(target); got != want {
			t.Errorf("IsAbsolute(%q) = %v", target, got)
		}
	}
}

func TestCommands(t *testing.T) {
	for text, want := range map[string][][]string{
		"make dev && make test":                            {{"make", "dev"}, {"make", "test"}},
		"(cd x; make y) 2>&1 | tee log # done":             {{"cd", "x"}, {"make", "y"}, {"tee", "log"}},
		"echo $(make z) >> out < in":                       {{"echo", "$(make z)"}, {"make", "z"}},
		`kubectl roomsync describe <the room> --url "a b"`: {{"kubectl", "roomsync", "describe", "<the room>", "--url", "a b"}},
		"# a comment": nil,
	} {
		if got := Commands(text); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("Commands(%q) = %q, want %q", text, got, want)
		}
	}
}
