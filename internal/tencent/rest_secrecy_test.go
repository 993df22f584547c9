package tencent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// secrecyKey is the secret key the UserSigs of these tests are made with.
const secrecyKey = "s3cret-KEY-of-the-app-0123456789abcdef"

// secrecyCase is one way a REST call fails.
type secrecyCase struct {
	name string
	// setup starts what the client talks to and returns its endpoint, the
	// HTTP client to use and the context of the call.
	setup func(t *testing.T, sig string) (endpoint string, hc *http.Client, ctx context.Context)
	// why are words the error must still have: what went wrong.
	why []string
	// notFollowed, when set, counts requests to a redirect's target.
	notFollowed *atomic.Int32
}

// TestRESTErrorsKeepCredentialsOut: whatever fails (the network, TLS, a
// timeout, a redirect, an HTTP error, an answer that echoes the request),
// the error's text holds neither the query string nor the UserSig nor the
// secret key, and still says what went wrong.
func TestRESTErrorsKeepCredentialsOut(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		// Read first: the server notices a closed connection only then.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	serve := func(t *testing.T, h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	plain := func() *http.Client { return &http.Client{Timeout: 5 * time.Second} }
	bg := context.Background()
	var redirected atomic.Int32

	cases := []secrecyCase{
		{name: "connection refused", why: []string{"connection refused"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			_ = l.Close()
			return "http://" + addr, plain(), bg
		}},
		{name: "connection reset", why: []string{"connection reset"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return "http://" + resettingListener(t), plain(), bg
		}},
		{name: "TLS certificate not trusted", why: []string{"certificate"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			t.Cleanup(srv.Close)
			return srv.URL, plain(), bg
		}},
		{name: "client timeout", why: []string{"Client.Timeout"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, slow), &http.Client{Timeout: 200 * time.Millisecond}, bg
		}},
		{name: "context deadline", why: []string{"deadline exceeded"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
			t.Cleanup(cancel)
			return serve(t, slow), &http.Client{}, ctx
		}},
		{name: "unresolvable host", why: []string{"no such host"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			transport, asked := localDNS(t)
			t.Cleanup(func() {
				if asked.Load() == 0 {
					t.Error("the local DNS server was not asked")
				}
			})
			return "http://nonexistent.invalid", &http.Client{Timeout: 5 * time.Second, Transport: transport}, bg
		}},
		{name: "unparseable endpoint", why: []string{"invalid"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return "http://127.0.0.1:1/a\x7fb", plain(), bg
		}},
		{name: "307 redirect echoing the query", why: []string{"HTTP 307", "redirect", "/elsewhere"}, notFollowed: &redirected,
			setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
				return serve(t, func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/elsewhere" {
						redirected.Add(1)
					}
					w.Header().Set("Location", "/elsewhere?"+r.URL.RawQuery)
					w.WriteHeader(http.StatusTemporaryRedirect)
					_, _ = w.Write([]byte(`<a href="/elsewhere?` + r.URL.RawQuery + `">Temporary Redirect</a>`))
				}), plain(), bg
			}},
		{name: "302 redirect to another host", why: []string{"HTTP 302", "redirect"}, notFollowed: &redirected,
			setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
				target := serve(t, func(http.ResponseWriter, *http.Request) { redirected.Add(1) })
				return serve(t, func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, target+"/v4/x?"+r.URL.RawQuery, http.StatusFound)
				}), plain(), bg
			}},
		{name: "redirect with a Location Go cannot parse", why: []string{"Location"}, notFollowed: &redirected,
			setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
				return serve(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Location", "http://%zz/?"+r.URL.RawQuery)
					w.WriteHeader(http.StatusFound)
				}), plain(), bg
			}},
		{name: "HTTP 500 echoing the URL", why: []string{"HTTP 500", "failed at"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "failed at "+r.URL.String(), http.StatusInternalServerError)
			}), plain(), bg
		}},
		{name: "HTTP 400 echoing the UserSig", why: []string{"HTTP 400", "sig"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "bad sig "+r.URL.Query().Get("usersig"), http.StatusBadRequest)
			}), plain(), bg
		}},
		{name: "FAIL whose ErrorInfo echoes the URL", why: []string{"ErrorCode 70001", "expired"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				answer, _ := json.Marshal(map[string]any{"ActionStatus": "FAIL", "ErrorCode": 70001, "ErrorInfo": "expired: " + r.URL.String()})
				_, _ = w.Write(answer)
			}), plain(), bg
		}},
		{name: "FAIL whose ErrorInfo echoes the UserSig", why: []string{"ErrorCode 70003", "signature"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				answer, _ := json.Marshal(map[string]any{"ActionStatus": "FAIL", "ErrorCode": 70003,
					"ErrorInfo": "signature " + r.URL.Query().Get("usersig") + " is invalid; query " + r.URL.RawQuery})
				_, _ = w.Write(answer)
			}), plain(), bg
		}},
		{name: "OK answer echoing the URL, not as documented", why: []string{"not as Tencent documents"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				// Go's JSON writes '&' as \u0026.
				answer, _ := json.Marshal(map[string]any{"ActionStatus": "OK", "ErrorCode": 0, "Echo": r.URL.String()})
				_, _ = w.Write(answer)
			}), plain(), bg
		}},
		{name: "OK answer about another room named with the UserSig", why: []string{"not the room asked for"}, setup: func(t *testing.T, _ string) (string, *http.Client, context.Context) {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				answer, _ := json.Marshal(map[string]any{"ActionStatus": "OK", "ErrorCode": 0,
					"Response": map[string]any{"RoomInfo": map[string]any{"RoomId": r.URL.Query().Get("usersig")}}})
				_, _ = w.Write(answer)
			}), plain(), bg
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := &UserSigCache{SDKAppID: 1400000001, Key: secrecyKey, Identifier: "administrator", Lifetime: time.Hour, Now: time.Now}
			sig, err := cache.Get()
			if err != nil {
				t.Fatal(err)
			}
			endpoint, hc, ctx := tc.setup(t, sig)
			c := &RESTClient{Endpoint: endpoint, SDKAppID: 1400000001, Identifier: "administrator", UserSig: cache.Get,
				HTTP: hc, Attempts: 2, Backoff: time.Millisecond}
			redirected.Store(0)
			_, err = c.GetRoomDetails(ctx, "room-1")
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			for _, secret := range []string{sig, url.QueryEscape(sig), secrecyKey} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q holds a credential %q", msg, secret)
				}
			}
			if strings.Contains(strings.ToLower(msg), "usersig") {
				t.Errorf("error %q names usersig: a query string or a parameter is left", msg)
			}
			for _, want := range tc.why {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if tc.notFollowed != nil && tc.notFollowed.Load() != 0 {
				t.Errorf("the redirect was followed %d times: the UserSig went to another URL", tc.notFollowed.Load())
			}
			// What callers rely on still holds through the redaction.
			var apiErr *APIError
			if errors.As(err, &apiErr) && (strings.Contains(apiErr.Info, sig) || strings.Contains(strings.ToLower(apiErr.Info), "usersig")) {
				t.Errorf("APIError.Info %q holds the query or the UserSig", apiErr.Info)
			}
			var bad *BadAnswerError
			if errors.As(err, &bad) && (strings.Contains(bad.Answer+bad.Why, sig) || strings.Contains(strings.ToLower(bad.Answer+bad.Why), "usersig")) {
				t.Errorf("BadAnswerError %+v holds the query or the UserSig", bad)
			}
			var uerr *url.Error
			if errors.As(err, &uerr) && (strings.Contains(uerr.Error(), sig) || strings.Contains(strings.ToLower(uerr.Error()), "usersig")) {
				t.Errorf("the *url.Error %q holds the query or the UserSig", uerr.Error())
			}
		})
	}
}

// TestRESTErrorsKeepTheirMeaning: redacting the text keeps errors.Is and
// the timeout of a *url.Error.
func TestRESTErrorsKeepTheirMeaning(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer, _ := json.Marshal(map[string]any{"ActionStatus": "FAIL", "ErrorCode": CodeRoomNotFound, "ErrorInfo": "no room; you sent " + r.URL.String()})
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	cache := &UserSigCache{SDKAppID: 1, Key: secrecyKey, Identifier: "admin", Lifetime: time.Hour, Now: time.Now}
	c := &RESTClient{Endpoint: srv.URL, SDKAppID: 1, Identifier: "admin", UserSig: cache.Get, HTTP: http.DefaultClient}
	_, err := c.GetRoomInfo(context.Background(), "r")
	if !errors.Is(err, ErrRoomNotFound) || strings.Contains(err.Error(), "usersig") {
		t.Errorf("error %v: want ErrRoomNotFound, without the query", err)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	c.Endpoint, c.HTTP = slow.URL, &http.Client{Timeout: 100 * time.Millisecond}
	_, err = c.GetRoomInfo(context.Background(), "r")
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Errorf("error %v: want a timeout", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://adminapisgp.im.qcloud.com/v4/room_engine_http_srv/get_room_info?sdkappid=1&usersig=abc": "https://adminapisgp.im.qcloud.com/v4/room_engine_http_srv/get_room_info?…",
		"https://user:pw@host:8443/path?q#frag":                                                          "https://host:8443/path?…",
		"http://host/path":                                                                               "http://host/path",
		"http://host/a\x7fb?usersig=abc":                                                                 "http://host/a\x7fb?…",
		"http://user:pw@host/a\x7fb":                                                                     "(URL not shown)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// resettingListener accepts connections and resets each (SetLinger(0),
// then Close) once the request has begun to arrive; it returns its address.
func resettingListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1)
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = conn.Read(buf)
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
	}()
	return l.Addr().String()
}

// localDNS returns a transport whose resolver asks a DNS server on
// 127.0.0.1 that answers every question NXDOMAIN (no query leaves the
// machine; Go's error still names the server of /etc/resolv.conf), and the
// count of questions it answered.
func localDNS(t *testing.T) (*http.Transport, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	var asked atomic.Int32
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// The question: its labels, then type and class.
			end := 12
			for end < n && buf[end] != 0 {
				end += int(buf[end]) + 1
			}
			end += 5
			if end > n {
				continue
			}
			answer := append([]byte{}, buf[:end]...)
			binary.BigEndian.PutUint16(answer[2:], 0x8183) // response, recursion desired and available, NXDOMAIN
			binary.BigEndian.PutUint16(answer[4:], 1)      // one question
			binary.BigEndian.PutUint32(answer[6:], 0)      // no answers, no authorities
			binary.BigEndian.PutUint16(answer[10:], 0)     // no additional records
			asked.Add(1)
			_, _ = pc.WriteTo(answer, from)
		}
	}()
	server := pc.LocalAddr().String()
	dialer := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = dialer.DialContext
	return transport, &asked
}
