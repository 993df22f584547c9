package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Everything the commands print goes through this file (cobra's help and
// usage text aside, which is the plugin's own): printf, and the tables and
// fields below. Their format strings and headers are the plugin's own;
// every argument and every cell is data (names, messages, room info, Event
// text, errors, the receiver's answer) that chat end users, Tencent, a
// receiver or anyone who can write an object in the cluster chose, and is
// escaped by terminalSafe before it reaches the terminal.
// TestOutputGoesThroughFormat keeps it so.

// terminalSafe returns s with every character a terminal could act on
// written out as Go writes it in a quoted string: C0 controls ("\x1b",
// "\a", "\n", "\t"), DEL ("\x7f"), C1 controls ("\u009b"), the other
// characters Go does not count as printable (bidi overrides, zero-width
// and line-separator characters: "\u202e"), and each byte of invalid UTF-8
// ("\xff"). So a value can neither drive the terminal (OSC 52 clipboard
// writes, screen clears, cursor moves) nor start a line or a column of its
// own. Quotes and backslashes are kept as they are: the result is for
// reading, not for parsing back.
//
// kubectl's printers.EscapeTerminal (the fix for CVE-2021-25743) escapes
// only ESC and CR, which leaves BEL, backspace, C1's single-byte CSI and
// OSC, DEL and invalid UTF-8 through; hence this.
func terminalSafe(s string) string {
	i := 0
	for i < len(s) && s[i] >= ' ' && s[i] < utf8.RuneSelf && s[i] != 0x7f {
		i++
	}
	if i == len(s) {
		return s // printable ASCII: the common case
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u009b'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// clip returns at most limit bytes of s, cut where a character starts, and
// how many bytes it left out.
func clip(s string, limit int) (string, int) {
	if len(s) <= limit {
		return s, 0
	}
	cut := limit
	for cut > 0 && cut > limit-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], len(s) - cut
}

// untrusted is a value printf prints escaped. With %q it is quoted as
// strconv.Quote does, which escapes the same characters (and quotes and
// backslashes); with any other verb it is terminalSafe.
type untrusted string

func (u untrusted) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, strconv.Quote(string(u)))
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), terminalSafe(string(u)))
}

// safeArgs returns args with every one that prints as text made untrusted:
// strings, byte slices, errors, Stringers and anything else but numbers
// and booleans.
func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, untrusted:
			out[i] = a
		case string:
			out[i] = untrusted(v)
		case []byte:
			out[i] = untrusted(v)
		case error:
			out[i] = untrusted(v.Error())
		case fmt.Stringer:
			out[i] = untrusted(v.String())
		default:
			out[i] = untrusted(fmt.Sprint(v))
		}
	}
	return out
}

// printf is fmt.Fprintf with every argument escaped (see terminalSafe); the
// format, a constant, is the plugin's own. Write errors are ignored, as
// fmt.Fprintf's are by callers that print to a terminal.
func printf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, safeArgs(args)...)
}

// ago says how long before now t was, as kubectl's AGE column does ("5m ago").
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if d := now.Sub(t); d >= 0 {
		return duration.HumanDuration(d) + " ago"
	}
	return "in " + duration.HumanDuration(t.Sub(now))
}

// age is ago without the "ago", for columns.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// took formats how long something took.
func took(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return duration.HumanDuration(d)
}

// stamp formats t for a timeline: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// table writes rows aligned in columns, each line indented by indent.
type table struct {
	tw     *tabwriter.Writer
	indent string
}

func newTable(w io.Writer, indent string, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0), indent: indent}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// row writes one row. Each cell is escaped (see terminalSafe): a cell's own
// newline or tab shows as "\n" or "\t" and cannot start a row or a column.
func (t *table) row(cells ...string) {
	safe := make([]string, len(cells))
	for i, c := range cells {
		safe[i] = terminalSafe(c)
	}
	_, _ = io.WriteString(t.tw, t.indent+strings.Join(safe, "\t")+"\n")
}

func (t *table) flush() { _ = t.tw.Flush() }

// fields writes "Name:  value" lines, aligned. The value is escaped as a
// table cell is.
type fields struct{ t *table }

func newFields(w io.Writer, indent string) *fields { return &fields{t: newTable(w, indent)} }

func (f *fields) add(name, format string, args ...any) {
	f.t.row(name+":", fmt.Sprintf(format, safeArgs(args)...))
}

func (f *fields) flush() { f.t.flush() }

// plural returns "1 room" or "2 rooms".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
