package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/roomsync/roomsync/internal/termsafe"
)

// Everything the commands print goes through this file (cobra's help and
// usage text aside, which is the plugin's own): printf, and the tables and
// fields below. Their format strings and headers are the plugin's own;
// every argument and every cell is data (names, messages, room info, Event
// text, errors, the receiver's answer) that chat end users, Tencent, a
// receiver or anyone who can write an object in the cluster chose, and is
// escaped by termsafe.Escape before it reaches the terminal.
// TestOutputGoesThroughFormat keeps it so.

// untrusted is a value printf prints escaped. With %q it is quoted as
// strconv.Quote does, which escapes the same characters (and quotes and
// backslashes); with any other verb it is escaped by termsafe.Escape.
type untrusted string

func (u untrusted) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, strconv.Quote(string(u)))
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), termsafe.Escape(string(u)))
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

// printf is fmt.Fprintf with every argument escaped (see termsafe.Escape); the
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

// row writes one row. Each cell is escaped (see termsafe.Escape): a cell's own
// newline or tab shows as "\n" or "\t" and cannot start a row or a column.
func (t *table) row(cells ...string) {
	safe := make([]string, len(cells))
	for i, c := range cells {
		safe[i] = termsafe.Escape(c)
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
