package termsafe

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "Daily standup", want: "Daily standup"},
		{in: "会议室 🎉 ünïcode", want: "会议室 🎉 ünïcode"},
		{in: `quotes " and \ stay`, want: `quotes " and \ stay`},
		{in: "\ufffd", want: "\ufffd"}, // a replacement character sent as such is text
		// OSC 52 writes "rm -rf ~" to the clipboard, ended by BEL.
		{in: "clip\x1b]52;c;cm0gLXJmIH4=\a", want: `clip\x1b]52;c;cm0gLXJmIH4=\a`},
		{in: "\x1b[2J\x1b[Hx", want: `\x1b[2J\x1b[Hx`}, // clear the screen, home the cursor
		// CSI and OSC as single C1 characters.
		{in: "\u009b31m\u009d52;c;eA==\u009c", want: `\u009b31m\u009d52;c;eA==\u009c`},
		{in: "a\x7fb", want: `a\x7fb`},
		{in: "bad \xff\xfe utf-8", want: `bad \xff\xfe utf-8`},
		{in: "cut \xe4\xbd", want: `cut \xe4\xbd`},
		{in: "one\nConditions:", want: `one\nConditions:`},
		{in: "a\tb\rc\x00d\be", want: `a\tb\rc\x00d\be`},
		{in: "abc\u202etxt.exe", want: `abc\u202etxt.exe`},
		{in: "a\u2028b", want: `a\u2028b`},
	}
	for _, tt := range tests {
		got := Escape(tt.in)
		if got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := Escape(got); again != got {
			t.Errorf("Escape is not idempotent on %q: %q", got, again)
		}
		for i, r := range got {
			if r == utf8.RuneError && !strings.HasPrefix(got[i:], "\ufffd") || !strconv.IsPrint(r) {
				t.Errorf("Escape(%q) = %q holds %U at byte %d", tt.in, got, r, i)
			}
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in       string
		limit    int
		want     string
		wantLeft int
	}{
		{in: "short", limit: 10, want: "short"},
		{in: "exactly", limit: 7, want: "exactly"},
		{in: "abcdef", limit: 3, want: "abc", wantLeft: 3},
		// 会 is three bytes: a cut inside it keeps none of it.
		{in: "ab会议", limit: 4, want: "ab", wantLeft: 6},
		{in: "ab会议", limit: 5, want: "ab会", wantLeft: 3},
		{in: "会", limit: 0, want: "", wantLeft: 3},
	}
	for _, tt := range tests {
		got, left := Clip(tt.in, tt.limit)
		if got != tt.want || left != tt.wantLeft {
			t.Errorf("Clip(%q, %d) = %q, %d, want %q, %d", tt.in, tt.limit, got, left, tt.want, tt.wantLeft)
		}
	}
}
