package webhookserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/roomsync/roomsync/internal/tencent"
)

// TestCallbacksGoToTheClaimantWhoseTokenVerifies: squattedApp is claimed,
// oldest first, by a ChatApp without auth, one with another token, one
// whose token Secret is missing, and then its owner. Each callback goes to
// the ChatApp whose token verifies it, whatever is older.
func TestCallbacksGoToTheClaimantWhoseTokenVerifies(t *testing.T) {
	rt := strconv.FormatInt(now.Unix(), 10)
	for _, tc := range []struct {
		name          string
		cb            callback
		allowUnsigned bool
		status        int
		app           string // who gets it
	}{
		{name: "signed with the owner's token", cb: callback{app: squattedApp}, status: 200, app: "owner/signed"},
		{name: "signed with the squatter's token", cb: callback{app: squattedApp, sign: tencent.Sign("guess", rt)}, status: 200, app: "squatter/guess"},
		{name: "unsigned, unsigned allowed: a claimant has auth", cb: callback{app: squattedApp, sign: "-"}, allowUnsigned: true, status: 401},
		{name: "signed with an unknown token", cb: callback{app: squattedApp, sign: tencent.Sign("nobody's", rt)}, allowUnsigned: true, status: 401},
		{name: "two claimants without auth, unsigned allowed: the older", cb: callback{app: unsignedPairApp}, allowUnsigned: true, status: 200, app: "ns/older"},
		{name: "two claimants without auth, unsigned not allowed", cb: callback{app: unsignedPairApp}, status: 401},
		{name: "one claimant without auth, unsigned not allowed", cb: callback{app: openApp}, status: 401},
		{name: "one claimant without auth, unsigned not allowed, though signed", cb: callback{app: openApp, sign: tencent.Sign(token, rt)}, status: 401},
		{name: "signed app, unsigned not allowed", cb: callback{app: signedApp}, status: 200, app: "ns/signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rooms := &fakeRooms{}
			h := newHandler(rooms)
			h.AllowUnsigned = tc.allowUnsigned
			status, a := serve(t, h, tc.cb.request())
			if status != tc.status {
				t.Fatalf("answer %d %+v, want %d", status, a, tc.status)
			}
			switch {
			case tc.app == "" && len(rooms.apps) > 0:
				t.Fatalf("written for %v, want nothing written", rooms.apps)
			case tc.app != "" && (len(rooms.apps) != 1 || rooms.apps[0] != tc.app):
				t.Fatalf("written for %v, want %s", rooms.apps, tc.app)
			}
		})
	}
}

// TestUnauthenticatedCallbacksLearnNothing: an unknown SdkAppid, a missing
// or wrong Sign, a token Secret that cannot be read and a ChatApp without
// auth where unsigned callbacks are not allowed all get the same answer,
// which names no namespace, ChatApp or Secret.
func TestUnauthenticatedCallbacksLearnNothing(t *testing.T) {
	rt := strconv.FormatInt(now.Unix(), 10)
	h := newHandler(&fakeRooms{})
	h.AllowUnsigned = false
	var first string
	for name, cb := range map[string]callback{
		"unknown SdkAppid":              {app: 42},
		"unknown SdkAppid, signed":      {app: 42, sign: tencent.Sign(token, rt)},
		"no Sign":                       {app: signedApp, sign: "-"},
		"wrong Sign":                    {app: signedApp, sign: tencent.Sign("wrong", rt)},
		"token Secret missing":          {app: brokenApp},
		"no auth, unsigned not allowed": {app: openApp, sign: "-"},
		"squatted, wrong Sign":          {app: squattedApp, sign: tencent.Sign("wrong", rt)},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, cb.request())
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", name, rec.Code)
		}
		body := rec.Body.String()
		if first == "" {
			first = body
		}
		if body != first {
			t.Errorf("%s: answer %s differs from %s", name, body, first)
		}
		for _, secret := range []string{"ns", "squatter", "owner", "chat-callback", "Secret", "ChatApp open", "broken"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: answer %s tells of %q", name, body, secret)
			}
		}
	}
}

// countingBody records whether anything read it.
type countingBody struct {
	mu   sync.Mutex
	read bool
	r    io.Reader
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.read = true
	b.mu.Unlock()
	return b.r.Read(p)
}

// TestTheBodyIsNotReadBeforeTheCallbackIsAuthenticated: a caller who
// cannot authenticate does not get its upload read (or buffered).
func TestTheBodyIsNotReadBeforeTheCallbackIsAuthenticated(t *testing.T) {
	for name, cb := range map[string]callback{
		"unknown SdkAppid": {app: 42},
		"wrong Sign":       {app: signedApp, sign: tencent.Sign("wrong", "1")},
		"bad query":        {query: "SdkAppid=x"},
	} {
		req := cb.request()
		body := &countingBody{r: strings.NewReader(seed)}
		req.Body = io.NopCloser(body)
		rec := httptest.NewRecorder()
		newHandler(&fakeRooms{}).ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			t.Fatalf("%s: answered 200", name)
		}
		if body.read {
			t.Errorf("%s: the body was read", name)
		}
		if rec.Header().Get("Connection") != "close" {
			t.Errorf("%s: the connection is kept (Connection %q) with the body unread", name, rec.Header().Get("Connection"))
		}
	}
}

// TestRejectionsAreLoggedOncePerSecond: a flood of rejected callbacks
// logs a line a second for each kind, each saying how many it stands for,
// and quotes what the caller chose cut short.
func TestRejectionsAreLoggedOncePerSecond(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	h := newHandler(&fakeRooms{})
	h.Log = funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{})
	long := strings.Repeat("\x1b[2J", 15000) // 60 KiB of terminal escapes
	q := url.Values{"SdkAppid": {"42"}, "CallbackCommand": {long}, "OptPlatform": {long}}
	start := time.Now()
	for range 200 {
		req := httptest.NewRequest(http.MethodPost, "/callback?"+q.Encode(), strings.NewReader("{}"))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if max := int(elapsed/rejectionLogInterval) + 1; len(lines) > max {
		t.Errorf("%d rejections in %s logged %d lines, want at most %d", 200, elapsed, len(lines), max)
	}
	if len(lines) == 0 {
		t.Fatal("no rejection logged")
	}
	for _, l := range lines {
		if len(l) > 2048 {
			t.Errorf("a log line of %d bytes: %.200s", len(l), l)
		}
		if strings.Contains(l, "\x1b") {
			t.Errorf("a log line carries a raw escape: %.200q", l)
		}
		if !strings.Contains(l, "60000 bytes") {
			t.Errorf("log line %.300q does not say how long the command was", l)
		}
	}
}

func TestRejectionLogCountsWhatItHoldsBack(t *testing.T) {
	var l rejectionLog
	t0 := time.Unix(0, 0)
	if held, ok := l.allow("a", t0); !ok || held != 0 {
		t.Fatalf("first: %d, %v", held, ok)
	}
	for i := range 5 {
		if _, ok := l.allow("a", t0.Add(time.Duration(i)*100*time.Millisecond)); ok {
			t.Fatalf("allowed again within the interval")
		}
	}
	if _, ok := l.allow("b", t0); !ok {
		t.Fatal("another kind is held back")
	}
	if held, ok := l.allow("a", t0.Add(time.Second)); !ok || held != 5 {
		t.Fatalf("after the interval: %d held, %v; want 5, true", held, ok)
	}
}
