// Package docscan reads roomsync's Markdown documentation for the tests that
// keep it true (test/docs, cmd/kubectl-roomsync): which files are the docs,
// their fenced code blocks, inline code spans, links and heading anchors.
// It follows CommonMark and GitHub's rendering as far as those tests need,
// no further: no indented code blocks, no nested containers beyond fences
// indented inside list items.
package docscan

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Files returns the Markdown files the docs tests check, slash-separated
// and relative to root (the repository's root): README.md, CONTRIBUTING.md
// and SECURITY.md where present, and every .md file under docs/ except the
// generated docs/api.md.
func Files(root string) ([]string, error) {
	var files []string
	for _, name := range []string{"README.md", "CONTRIBUTING.md", "SECURITY.md"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			files = append(files, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
	}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".md") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != "docs/api.md" {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing docs/: %w", err)
	}
	return files, nil
}

// Doc is a Markdown file, split up.
type Doc struct {
	// Path is the file's path relative to the repository's root,
	// slash-separated, for messages.
	Path string
	// Lines are the file's lines.
	Lines []string
	// Blocks are its fenced code blocks.
	Blocks []Block
	// Spans are its inline code spans (outside code blocks).
	Spans []Span
	// Links are the targets of its links and images (outside code).
	Links []Link
	// Anchors are the fragment identifiers its headings and HTML anchors
	// define, as GitHub renders them.
	Anchors map[string]bool
}

// Block is a fenced code block.
type Block struct {
	// Lang is the first word of the info string, in lower case: yaml, sh.
	Lang string
	// Line is the 1-based line of the opening fence: its content starts on
	// the next line.
	Line int
	// Lines is its content, without the fence's indentation.
	Lines []string
}

// Span is an inline code span.
type Span struct {
	// Line is the 1-based line where it starts.
	Line int
	// Text is its content, line ends as spaces, as CommonMark renders it.
	Text string
}

// Link is the target of a link, an image or a link reference definition.
type Link struct {
	Line   int
	Target string
}

// Read reads and splits the Markdown file rel (slash-separated) of the
// repository at root.
func Read(root, rel string) (*Doc, error) {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	return Parse(rel, string(data)), nil
}

var fenceRE = regexp.MustCompile("^( *)(`{3,}|~{3,})\\s*([^`\\s]*)")

// Parse splits text, the content of the Markdown file path.
func Parse(path, text string) *Doc {
	d := &Doc{Path: path, Lines: strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n"), Anchors: map[string]bool{}}
	slugs := map[string]int{}
	// para holds the lines of the current paragraph-like run of text, for
	// code spans and links, which may span lines but not blank ones.
	var para []string
	paraStart := 0
	flush := func() {
		if len(para) > 0 {
			d.inline(paraStart, para)
		}
		para = nil
	}
	for i := 0; i < len(d.Lines); i++ {
		line := d.Lines[i]
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			flush()
			b := Block{Lang: strings.ToLower(m[3]), Line: i + 1}
			indent, fence := len(m[1]), m[2]
			for i++; i < len(d.Lines); i++ {
				l := d.Lines[i]
				if t := strings.TrimSpace(l); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
					break
				}
				b.Lines = append(b.Lines, trimIndent(l, indent))
			}
			d.Blocks = append(d.Blocks, b)
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if h, ok := heading(line); ok {
			flush()
			d.addHeading(slugs, h)
			d.inline(i, []string{line})
			continue
		}
		if len(para) == 1 && setextRE.MatchString(line) && !listItemRE.MatchString(para[0]) && !strings.HasPrefix(strings.TrimSpace(para[0]), "|") {
			d.addHeading(slugs, para[0])
			flush()
			continue
		}
		if len(para) == 0 {
			paraStart = i
		}
		para = append(para, line)
	}
	flush()
	return d
}

// trimIndent removes up to n leading spaces from line.
func trimIndent(line string, n int) string {
	for n > 0 && strings.HasPrefix(line, " ") {
		line, n = line[1:], n-1
	}
	return line
}

var (
	atxRE      = regexp.MustCompile(`^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$`)
	setextRE   = regexp.MustCompile(`^ {0,3}(=+|-+)\s*$`)
	listItemRE = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s`)
	anchorRE   = regexp.MustCompile(`<[a-zA-Z][^>]*\s(?:id|name)="([^"]+)"`)
)

// heading returns the text of an ATX heading line.
func heading(line string) (string, bool) {
	m := atxRE.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// addHeading records the anchor GitHub gives heading, numbered as GitHub
// numbers a repeated one: foo, foo-1, foo-2.
func (d *Doc) addHeading(slugs map[string]int, heading string) {
	base := Slug(heading)
	slug := base
	if n, seen := slugs[base]; seen {
		for {
			n++
			slug = base + "-" + strconv.Itoa(n)
			if _, taken := slugs[slug]; !taken {
				break
			}
		}
		slugs[base] = n
	}
	slugs[slug] = 0
	d.Anchors[slug] = true
}

var (
	inlineLinkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTagRE    = regexp.MustCompile(`<[^>]*>`)
)

// Slug returns the anchor GitHub gives a heading with the Markdown text
// heading: its rendered text in lower case, without punctuation other than
// - and _, spaces turned into -.
func Slug(heading string) string {
	text := inlineLinkRE.ReplaceAllString(heading, "$1")
	text = htmlTagRE.ReplaceAllString(text, "")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// inline finds the code spans, links and HTML anchors of lines, a run of
// text starting at 0-based line start.
func (d *Doc) inline(start int, lines []string) {
	text := strings.Join(lines, "\n")
	// masked is text with the code spans blanked out, newlines kept, for
	// the links.
	masked := []byte(text)
	for i := 0; i < len(text); {
		if text[i] == '\\' {
			i += 2
			continue
		}
		if text[i] != '`' {
			i++
			continue
		}
		n := runLength(text, i)
		end := closingRun(text, i+n, n)
		if end < 0 {
			i += n // literal backticks
			continue
		}
		content := strings.ReplaceAll(text[i+n:end], "\n", " ")
		if len(content) > 1 && content[0] == ' ' && content[len(content)-1] == ' ' && strings.TrimSpace(content) != "" {
			content = content[1 : len(content)-1]
		}
		d.Spans = append(d.Spans, Span{Line: start + 1 + strings.Count(text[:i], "\n"), Text: content})
		for j := i; j < end+n; j++ {
			if masked[j] != '\n' {
				masked[j] = ' '
			}
		}
		i = end + n
	}
	d.links(start, string(masked))
}

// runLength is the number of backticks starting at text[i].
func runLength(text string, i int) int {
	n := 0
	for i+n < len(text) && text[i+n] == '`' {
		n++
	}
	return n
}

// closingRun returns the index of the next run of exactly n backticks at
// or after from, or -1.
func closingRun(text string, from, n int) int {
	for i := from; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		m := runLength(text, i)
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

// refDefRE matches a link reference definition, not a footnote ([^1]: ...).
var refDefRE = regexp.MustCompile(`(?m)^ {0,3}\[[^\]^][^\]]*\]:\s*(<[^>]*>|\S+)`)

// links records the link targets in text, which starts at 0-based line
// start and has its code spans blanked out.
func (d *Doc) links(start int, text string) {
	lineOf := func(i int) int { return start + 1 + strings.Count(text[:i], "\n") }
	for i := 0; ; {
		j := strings.Index(text[i:], "](")
		if j < 0 {
			break
		}
		from := i + j + 2
		if target, ok := linkTarget(text[from:]); ok {
			d.Links = append(d.Links, Link{Line: lineOf(from), Target: target})
		}
		i = from
	}
	for _, m := range refDefRE.FindAllStringSubmatchIndex(text, -1) {
		d.Links = append(d.Links, Link{Line: lineOf(m[2]), Target: strings.Trim(text[m[2]:m[3]], "<>")})
	}
	for _, m := range anchorRE.FindAllStringSubmatch(text, -1) {
		d.Anchors[m[1]] = true
	}
}

// linkTarget parses the destination at the start of s, what follows "](":
// <dest> or dest (with balanced parentheses), then an optional title.
func linkTarget(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t\n")
	if strings.HasPrefix(s, "<") {
		end := strings.IndexAny(s, ">\n")
		if end < 0 || s[end] != '>' {
			return "", false
		}
		return s[1:end], true
	}
	depth := 0
	for i, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth == 0:
			return s[:i], i > 0
		case r == ')':
			depth--
		case unicode.IsSpace(r):
			return s[:i], i > 0
		}
	}
	return "", false
}

var schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

// IsAbsolute says whether a link target names a URL (http:, https:,
// mailto:, any scheme) rather than a file of the repository.
func IsAbsolute(target string) bool {
	return schemeRE.MatchString(target) || strings.HasPrefix(target, "//")
}

// Resolve returns the file a relative link target in the doc at docPath
// (slash-separated, relative to root) names, relative to root, and its
// fragment, unescaped. A target starting with / is relative to root, as on
// GitHub.
func Resolve(docPath, target string) (file, fragment string, err error) {
	path, fragment, _ := strings.Cut(target, "#")
	path, _, _ = strings.Cut(path, "?")
	if path, err = url.PathUnescape(path); err != nil {
		return "", "", fmt.Errorf("link %q: %w", target, err)
	}
	if fragment, err = url.PathUnescape(fragment); err != nil {
		return "", "", fmt.Errorf("link %q: %w", target, err)
	}
	switch {
	case path == "":
		file = docPath
	case strings.HasPrefix(path, "/"):
		file = strings.TrimPrefix(path, "/")
	default:
		file = filepath.ToSlash(filepath.Join(filepath.Dir(docPath), path))
	}
	return filepath.ToSlash(filepath.Clean(file)), fragment, nil
}

// SortedAnchors returns d's anchors in order, for messages.
func (d *Doc) SortedAnchors() []string {
	anchors := make([]string, 0, len(d.Anchors))
	for a := range d.Anchors {
		anchors = append(anchors, a)
	}
	slices.Sort(anchors)
	return anchors
}

// ShellLine is a line of shell in a code block.
type ShellLine struct {
	// Line is the 1-based line of the file where it starts.
	Line int
	Text string
}

// ShellLines returns the lines of b as a shell reads them: a line that
// ends in a backslash goes on on the next.
func (b Block) ShellLines() []ShellLine {
	var out []ShellLine
	for i := 0; i < len(b.Lines); i++ {
		l := ShellLine{Line: b.Line + 1 + i, Text: b.Lines[i]}
		for i+1 < len(b.Lines) && strings.HasSuffix(strings.TrimRight(l.Text, " \t"), `\`) {
			i++
			l.Text = strings.TrimSuffix(strings.TrimRight(l.Text, " \t"), `\`) + " " + strings.TrimSpace(b.Lines[i])
		}
		out = append(out, l)
	}
	return out
}

var placeholderRE = regexp.MustCompile(`^(<.*>|[A-Z][A-Z0-9_]*|.*…|\.\.\.)$`)

// IsPlaceholder says whether a word of a command in the docs stands for
// what the reader fills in: <name>, NAME, ROOM_ID, … or ...
func IsPlaceholder(word string) bool {
	return placeholderRE.MatchString(word)
}

// Commands splits text, a line of shell or an inline code span, into its
// simple commands, each the words the shell would pass: quotes removed, a
// <placeholder> one word, spaces and all, and a $(command substitution) one
// word, whose own commands follow it in the list. A command ends at |, &,
// ;, (, ), a backtick or the end; a redirection (>, 2>, <) and its file are
// no words; a comment ends the line.
func Commands(text string) [][]string {
	var (
		cmds     [][]string
		words    []string
		w        strings.Builder
		inWord   bool
		redirect bool // the next word is a redirection's file
		inner    [][]string
	)
	endWord := func() {
		if inWord && !redirect {
			words = append(words, w.String())
		}
		if inWord {
			redirect = false
		}
		w.Reset()
		inWord = false
	}
	endCommand := func() {
		endWord()
		redirect = false
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		cmds, words, inner = append(cmds, inner...), nil, nil
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			endWord()
		case c == '\'' || c == '"':
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				j = len(text) - i - 1 // unterminated: the rest of the line
			}
			w.WriteString(text[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '<' && !inWord:
			j := strings.IndexByte(text[i:], '>')
			if j < 0 {
				redirect = true // an input redirection
				continue
			}
			w.WriteString(text[i : i+j+1])
			inWord = true
			i += j
		case c == '$' && strings.HasPrefix(text[i:], "$("):
			j := matchingParen(text, i+1)
			w.WriteString(text[i : j+1])
			inWord = true
			inner = append(inner, Commands(text[i+2:j])...)
			i = j
		case c == '#' && !inWord:
			endCommand()
			return cmds
		case c == '>':
			if inWord && strings.Trim(w.String(), "0123456789") == "" {
				w.Reset() // 2>file: the 2 is no argument
				inWord = false
			}
			endWord()
			if i+1 < len(text) && (text[i+1] == '>' || text[i+1] == '&') {
				i++ // >> file, >&2
			}
			redirect = true
		case strings.IndexByte("|;&()`", c) >= 0:
			endCommand()
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCommand()
	return cmds
}

// matchingParen returns the index of the ) that closes the ( at s[open],
// or the last index of s.
func matchingParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return len(s) - 1
}
