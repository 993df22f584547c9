package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

// Secret is a credential the tests hand out: it must appear in no object
// that a namespace's viewers can read and in no log.
type Secret struct {
	// Kind says what it is, e.g. "callback token". A report names a secret
	// by its Kind and its first 4 characters, never whole.
	Kind  string
	Value string
}

// registry holds what this process handed out, for CheckNoLeaks: every
// operator LaunchOperator started and every token CreateSignedApp stored.
var registry struct {
	mu        sync.Mutex
	operators []*Operator
	tokens    []string
}

func registerOperator(o *Operator) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.operators = append(registry.operators, o)
}

func registerToken(token string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if !slices.Contains(registry.tokens, token) {
		registry.tokens = append(registry.tokens, token)
	}
}

// Operators returns every operator process LaunchOperator (or
// StartOperator) started in this process, running or not.
func Operators() []*Operator {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return slices.Clone(registry.operators)
}

// Secrets returns extra and every credential this process handed out so
// far: the callback token of each CreateSignedApp, and the secret key, the
// callback token and each accepted UserSig of every fake Tencent
// (tencenttest.Servers).
func Secrets(extra ...Secret) []Secret {
	out := slices.Clone(extra)
	registry.mu.Lock()
	for _, t := range registry.tokens {
		out = append(out, Secret{Kind: "callback token", Value: t})
	}
	registry.mu.Unlock()
	for _, s := range tencenttest.Servers() {
		out = append(out, Secret{Kind: "secret key", Value: s.SecretKey()})
		if t := s.CallbackToken(); t != "" {
			out = append(out, Secret{Kind: "callback token", Value: t})
		}
		for _, sig := range s.AcceptedUserSigs() {
			out = append(out, Secret{Kind: "UserSig the fake Tencent accepted", Value: sig})
		}
	}
	return out
}

// CheckNoLeaks is ScanForLeaks of everything this process knows of: e's
// API server, the log of every operator it started (Operators), and
// Secrets(extra...).
func (e *Env) CheckNoLeaks(ctx context.Context, extra ...Secret) error {
	return ScanForLeaks(ctx, e.Client, Operators(), Secrets(extra...))
}

// usersigParam is the UserSig's query parameter: a URL that carries one
// must never be shown.
var usersigParam = regexp.MustCompile(`(?i)usersig=`)

// ScanForLeaks looks for a credential where anyone may read it: in every
// Room and ChatApp (all of each, status and conditions included), every
// Event (core/v1 and events.k8s.io/v1) in every namespace, and the whole
// log and /metrics page (label values included) of each operator. A credential is `usersig=` (in any case) or one of
// secrets, in any of the forms it takes when quoted, JSON-escaped or put in
// a query. The error lists each place found, with an excerpt where every
// credential is masked; it never holds a secret itself.
func ScanForLeaks(ctx context.Context, c client.Client, operators []*Operator, secrets []Secret) error {
	s := newScanner(secrets)
	lists := []struct {
		kind string
		list client.ObjectList
	}{
		{"ChatApp", &chatv1alpha1.ChatAppList{}},
		{"Room", &chatv1alpha1.RoomList{}},
		{"Event", &corev1.EventList{}},
		{"events.k8s.io Event", &eventsv1.EventList{}},
	}
	for _, l := range lists {
		if err := c.List(ctx, l.list); err != nil {
			return fmt.Errorf("listing every %s: %w", l.kind, err)
		}
		data, err := json.Marshal(l.list)
		if err != nil {
			return err
		}
		var doc struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return err
		}
		for _, item := range doc.Items {
			meta, _ := item["metadata"].(map[string]any)
			ns, _ := meta["namespace"].(string)
			name, _ := meta["name"].(string)
			s.walk(l.kind+" "+ns+"/"+name+" ", "", item)
		}
	}
	for i, o := range operators {
		pid := 0
		if o.Cmd.Process != nil {
			pid = o.Cmd.Process.Pid
		}
		// The metrics page of a live process, or the last one read before
		// it was stopped (a process that could not be asked, killed or
		// never scraped, has none).
		metrics, _ := o.Metrics()
		for what, text := range map[string]string{"log": o.Log.String(), "metrics": metrics} {
			if !s.holds(text) {
				continue // the common case: no need to look line by line
			}
			place := fmt.Sprintf("the %s of operator %d (pid %d)", what, i+1, pid)
			for n, line := range strings.Split(text, "\n") {
				s.check(place, fmt.Sprintf("line %d: ", n+1), line)
			}
		}
	}
	return s.err()
}

// needle is one form of a secret to look for.
type needle struct {
	form   string
	secret *Secret
}

// scanner finds credentials in strings and remembers where.
type scanner struct {
	needles []needle
	// found counts, by place and credential, the strings that held it;
	// first is an excerpt of the first, masked.
	found map[[2]string]*finding
}

type finding struct {
	count int
	first string
}

func newScanner(secrets []Secret) *scanner {
	s := &scanner{found: map[[2]string]*finding{}}
	for i := range secrets {
		sec := &secrets[i]
		if sec.Value == "" {
			continue
		}
		js, _ := json.Marshal(sec.Value)
		q := strconv.Quote(sec.Value)
		forms := []string{sec.Value, string(js[1 : len(js)-1]), q[1 : len(q)-1], url.QueryEscape(sec.Value), url.PathEscape(sec.Value)}
		slices.Sort(forms)
		for _, f := range slices.Compact(forms) {
			s.needles = append(s.needles, needle{form: f, secret: sec})
		}
	}
	// Longest first, so that masking a form does not leave a longer one
	// that contains it half-masked.
	sort.SliceStable(s.needles, func(i, j int) bool { return len(s.needles[i].form) > len(s.needles[j].form) })
	return s
}

// walk checks every key and string value of v, a decoded JSON value,
// naming each by its path below prefix.
func (s *scanner) walk(place, path string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			s.check(place+p+" (a key)", "", k)
			s.walk(place, p, child)
		}
	case []any:
		for i, child := range v {
			s.walk(place, fmt.Sprintf("%s[%d]", path, i), child)
		}
	case string:
		s.check(place+path, "", v)
	}
}

// holds reports whether text holds a credential.
func (s *scanner) holds(text string) bool {
	if usersigParam.MatchString(text) {
		return true
	}
	for _, n := range s.needles {
		if strings.Contains(text, n.form) {
			return true
		}
	}
	return false
}

// check records each credential text holds, at place; detail says where
// in place the text is.
func (s *scanner) check(place, detail, text string) {
	if text == "" {
		return
	}
	var what []string
	if usersigParam.MatchString(text) {
		what = append(what, `"usersig="`)
	}
	for _, n := range s.needles {
		if strings.Contains(text, n.form) {
			what = append(what, describeSecret(n.secret))
		}
	}
	slices.Sort(what)
	for _, w := range slices.Compact(what) {
		key := [2]string{place, w}
		if f := s.found[key]; f != nil {
			f.count++
			continue
		}
		s.found[key] = &finding{count: 1, first: detail + s.excerpt(text)}
	}
}

// describeSecret names sec without giving it away.
func describeSecret(sec *Secret) string {
	prefix := sec.Value
	if len(prefix) > 4 {
		prefix = prefix[:4]
	}
	return fmt.Sprintf("a %s (%q…)", sec.Kind, prefix)
}

// usersigValue is a UserSig query parameter with its value.
var usersigValue = regexp.MustCompile(`(?i)(usersig=)[^&\s"'\\]*`)

// excerpt returns text with every credential masked, cut to about 300
// bytes around the first mask.
func (s *scanner) excerpt(text string) string {
	text = usersigValue.ReplaceAllString(text, "${1}<masked>")
	for _, n := range s.needles {
		text = strings.ReplaceAll(text, n.form, "<masked "+n.secret.Kind+">")
	}
	const width = 300
	if len(text) <= width {
		return text
	}
	at := max(0, strings.Index(text, "<masked"))
	start := max(0, min(at-width/2, len(text)-width))
	return "…" + strings.ToValidUTF8(text[start:start+width], "") + "…"
}

// err lists what was found, or is nil.
func (s *scanner) err() error {
	if len(s.found) == 0 {
		return nil
	}
	keys := make([][2]string, 0, len(s.found))
	for k := range s.found {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	var b strings.Builder
	fmt.Fprintf(&b, "credentials leaked in %d places (the values are masked):", len(keys))
	const shown = 30
	for i, k := range keys {
		if i == shown {
			fmt.Fprintf(&b, "\n- and %d more", len(keys)-shown)
			break
		}
		f := s.found[k]
		fmt.Fprintf(&b, "\n- %s holds %s", k[0], k[1])
		if f.count > 1 {
			fmt.Fprintf(&b, " (%d times)", f.count)
		}
		fmt.Fprintf(&b, ": %s", f.first)
	}
	return fmt.Errorf("%s", b.String())
}
