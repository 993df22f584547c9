package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

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

func (t *table) row(cells ...string) {
	for i, c := range cells {
		// One line per row: a message's own newlines would break the table.
		cells[i] = strings.ReplaceAll(c, "\n", " ")
	}
	fmt.Fprintln(t.tw, t.indent+strings.Join(cells, "\t"))
}

func (t *table) flush() { _ = t.tw.Flush() }

// fields writes "Name:  value" lines, aligned.
type fields struct{ t *table }

func newFields(w io.Writer, indent string) *fields { return &fields{t: newTable(w, indent)} }

func (f *fields) add(name, format string, args ...any) {
	f.t.row(name+":", fmt.Sprintf(format, args...))
}

func (f *fields) flush() { f.t.flush() }

// plural returns "1 room" or "2 rooms".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
