// Package termsafe makes text that others chose safe to show on a
// terminal: room names chosen by chat end users, what Tencent or a
// callback receiver answered, messages anyone who can write an object in
// the cluster wrote. kubectl-roomsync and hack/send-callback print through
// it.
package termsafe

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character a terminal could act on
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
func Escape(s string) string {
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

// Clip returns at most limit bytes of s, cut where a character starts, and
// how many bytes it left out.
func Clip(s string, limit int) (string, int) {
	if len(s) <= limit {
		return s, 0
	}
	cut := limit
	for cut > 0 && cut > limit-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], len(s) - cut
}
