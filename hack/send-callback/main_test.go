package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
)

const sampleFile = "../../config/samples/callback-update-room-info.json"

// received is what the test receiver saw of one request.
type received struct {
	method      string
	path        string
	rawQuery    string
	query       map[string][]string
	contentType string
	body        []byte
}

// receiver starts a test server that records each request and answers with
// status and answer.
func receiver(t *testing.T, status int, answer string) (*httptest.Server, *[]received) {
	t.Helper()
	var got []received
	srv := httptest.NewServer(recordingHandler(t, &got, status, answer))
	t.Cleanup(srv.Close)
	return srv, &got
}

func recordingHandler(t *testing.T, got *[]received, status int, answer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request body: %v", err)
		}
		*got = append(*got, received{
			method:      r.Method,
			path:        r.URL.Path,
			rawQuery:    r.URL.RawQuery,
			query:       r.URL.Query(),
			contentType: r.Header.Get("Content-Type"),
			body:        body,
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}
}

const answerOK = `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`

// TestSampleFile checks that the sample body that the documentation sends is
// the seed sample, and that roomsync's decoder reads it as intended.
func TestSampleFile(t *testing.T) {
	body, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tencent.DecodeRoomInfoEvent(body)
	if err != nil {
		t.Fatalf("decoding %s: %v", sampleFile, err)
	}
	ri := e.RoomInfo
	switch {
	case e.CallbackCommand != tencent.CommandAfterUpdateRoomInfo,
		e.EventTime == nil || *e.EventTime != 1670574414123,
		e.OperatorAccount == nil || *e.OperatorAccount != "bob",
		ri == nil,
		ri.RoomID == nil || *ri.RoomID != "rid-123",
		ri.MaxMemberCount == nil || *ri.MaxMemberCount != 300,
		ri.IsCloudRecordingDisabled == nil || bool(*ri.IsCloudRecordingDisabled),
		ri.CustomInfo == nil || *ri.CustomInfo != "123":
		t.Fatalf("%s is not the seed sample: %s", sampleFile, body)
	}
	if !bytes.Contains(body, []byte(`"IsCloudRecordingDisabled": "false"`)) {
		t.Errorf("%s lost the string-typed IsCloudRecordingDisabled of the seed sample", sampleFile)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	const body = `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","RoomId":"r","EventTime":1}`
	if err := os.WriteFile(bodyFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		status int
		answer string
		args   []string // after -url
		env    map[string]string
		stdin  string
		// wantCode is the exit code; wantSent whether the receiver got a request.
		wantCode   int
		wantSent   bool
		wantToken  string // the token the request must be signed with; "": unsigned
		wantStdout string
		wantStderr string
	}{{
		name: "OK", status: 200, answer: answerOK,
		args:     []string{"-sdkappid", "1400000001", bodyFile},
		wantCode: 0, wantSent: true,
		wantStdout: "HTTP/1.1 200 OK\n" + answerOK + "\n",
	}, {
		name: "signed with -token", status: 200, answer: answerOK,
		args:     []string{"-sdkappid", "1400000001", "-token", "s3cr3t", bodyFile},
		env:      map[string]string{tokenEnv: "from-env"},
		wantCode: 0, wantSent: true, wantToken: "s3cr3t",
	}, {
		name: "signed with the token from the environment", status: 200, answer: answerOK,
		args:     []string{"-sdkappid", "1400000001", bodyFile},
		env:      map[string]string{tokenEnv: "from-env"},
		wantCode: 0, wantSent: true, wantToken: "from-env",
	}, {
		name: "-token= overrides the environment", status: 200, answer: answerOK,
		args:     []string{"-sdkappid", "1400000001", "-token=", bodyFile},
		env:      map[string]string{tokenEnv: "from-env"},
		wantCode: 0, wantSent: true,
	}, {
		name: "body from standard input", status: 200, answer: answerOK,
		args: []string{"-sdkappid", "1400000001"}, stdin: body,
		wantCode: 0, wantSent: true,
	}, {
		name: "body from standard input, named", status: 200, answer: answerOK,
		args: []string{"-sdkappid", "1400000001", "-"}, stdin: body,
		wantCode: 0, wantSent: true,
	}, {
		name: "ActionStatus FAIL", status: 200, answer: `{"ActionStatus":"FAIL","ErrorInfo":"bad sign","ErrorCode":1}`,
		args:     []string{"-sdkappid", "1400000001", bodyFile},
		wantCode: 1, wantSent: true,
		wantStdout: "HTTP/1.1 200 OK\n" + `{"ActionStatus":"FAIL","ErrorInfo":"bad sign","ErrorCode":1}` + "\n",
		wantStderr: `send-callback: the receiver answered ActionStatus "FAIL"` + "\n",
	}, {
		name: "status 401 with OK", status: 401, answer: answerOK,
		args:     []string{"-sdkappid", "1400000001", bodyFile},
		wantCode: 1, wantSent: true,
		wantStdout: "HTTP/1.1 401 Unauthorized\n" + answerOK + "\n",
		wantStderr: "send-callback: the receiver answered 401 Unauthorized\n",
	}, {
		name: "answer not JSON", status: 200, answer: "OK",
		args:     []string{"-sdkappid", "1400000001", bodyFile},
		wantCode: 1, wantSent: true,
		wantStdout: "HTTP/1.1 200 OK\nOK\n",
	}, {
		name:     "no -sdkappid",
		args:     []string{bodyFile},
		wantCode: 2, wantStderr: "send-callback: -sdkappid is required and must be a positive integer\n",
	}, {
		name:     "-sdkappid not a number",
		args:     []string{"-sdkappid", "app", bodyFile},
		wantCode: 2,
	}, {
		name:     "unknown flag",
		args:     []string{"-sdkappid", "1", "-sign", "x", bodyFile},
		wantCode: 2,
	}, {
		name:     "two files",
		args:     []string{"-sdkappid", "1", bodyFile, bodyFile},
		wantCode: 2, wantStderr: "send-callback: want at most one body file, got 2 arguments\n",
	}, {
		name:     "-request-time without a token",
		args:     []string{"-sdkappid", "1", "-request-time", "1669872112", bodyFile},
		wantCode: 2, wantStderr: "send-callback: -request-time needs a token (-token or $ROOMSYNC_CALLBACK_TOKEN)\n",
	}, {
		name:     "no such file",
		args:     []string{"-sdkappid", "1", filepath.Join(dir, "missing.json")},
		wantCode: 2,
	}, {
		name:     "body without CallbackCommand",
		args:     []string{"-sdkappid", "1"},
		stdin:    `{"RoomId":"r"}`,
		wantCode: 2, wantStderr: "send-callback: the body has no CallbackCommand\n",
	}, {
		name:     "help",
		args:     []string{"-h"},
		wantCode: 0,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := receiver(t, tt.status, tt.answer)
			var stdout, stderr bytes.Buffer
			args := append([]string{"-url", srv.URL + "/tencent"}, tt.args...)
			code := run(args, func(k string) string { return tt.env[k] }, strings.NewReader(tt.stdin), &stdout, &stderr)

			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if tt.wantStdout != "" && stdout.String() != tt.wantStdout {
				t.Errorf("stdout\n%q\nwant\n%q", stdout.String(), tt.wantStdout)
			}
			if tt.wantStderr != "" && stderr.String() != tt.wantStderr {
				t.Errorf("stderr\n%q\nwant\n%q", stderr.String(), tt.wantStderr)
			}
			if tt.wantCode == 2 && stdout.Len() > 0 {
				t.Errorf("a usage error wrote to stdout: %q", stdout.String())
			}
			if tt.wantCode != 0 && stderr.Len() == 0 && tt.name != "help" {
				t.Errorf("exit code %d but nothing on stderr", code)
			}
			if !tt.wantSent {
				if len(*got) != 0 {
					t.Fatalf("sent %d requests, want none", len(*got))
				}
				return
			}
			if len(*got) != 1 {
				t.Fatalf("sent %d requests, want 1", len(*got))
			}
			checkReceived(t, (*got)[0], body, tt.wantToken)
		})
	}
}

// checkReceived checks a request that run sent with body from bodyFile.
func checkReceived(t *testing.T, r received, body, token string) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/tencent" || r.contentType != "application/json" {
		t.Errorf("got %s %s of %q, want a POST to /tencent of application/json", r.method, r.path, r.contentType)
	}
	if string(r.body) != body {
		t.Errorf("body %s, want %s", r.body, body)
	}
	wantQuery := map[string][]string{
		"SdkAppid":        {"1400000001"},
		"CallbackCommand": {tencent.CommandAfterDestroyRoom},
		"contenttype":     {"json"},
		"ClientIP":        {"127.0.0.1"},
		"OptPlatform":     {"RESTAPI"},
	}
	if token != "" {
		sign, requestTime := r.query["Sign"], r.query["RequestTime"]
		if len(sign) != 1 || len(requestTime) != 1 || !tencent.VerifySign(sign[0], requestTime[0], token) {
			t.Errorf("query %s is not signed with token %q", r.rawQuery, token)
		} else if _, err := tencent.ParseRequestTime(requestTime[0]); err != nil {
			t.Errorf("RequestTime: %v", err)
		}
		wantQuery["Sign"], wantQuery["RequestTime"] = sign, requestTime
	}
	if !reflect.DeepEqual(r.query, wantQuery) {
		t.Errorf("query %v, want %v", r.query, wantQuery)
	}
}

func TestRunNow(t *testing.T) {
	srv, got := receiver(t, 200, answerOK)
	var stdout, stderr bytes.Buffer
	before := time.Now().UnixMilli()
	code := run([]string{"-url", srv.URL, "-sdkappid", "1400000001", "-now", sampleFile}, func(string) string { return "" }, nil, &stdout, &stderr)
	after := time.Now().UnixMilli()
	if code != 0 || len(*got) != 1 {
		t.Fatalf("exit code %d, %d requests, want 0 and 1; stderr:\n%s", code, len(*got), stderr.String())
	}
	e, err := tencent.DecodeRoomInfoEvent((*got)[0].body)
	if err != nil {
		t.Fatalf("the receiver cannot decode the body: %v", err)
	}
	if e.EventTime == nil || int64(*e.EventTime) < before || int64(*e.EventTime) > after {
		t.Errorf("EventTime %v, want between %d and %d", e.EventTime, before, after)
	}
	if e.RoomInfo == nil || e.RoomInfo.IsCloudRecordingDisabled == nil || bool(*e.RoomInfo.IsCloudRecordingDisabled) ||
		e.RoomInfo.MaxMemberCount == nil || *e.RoomInfo.MaxMemberCount != 300 {
		t.Errorf("-now changed the rest of the body: %s", (*got)[0].body)
	}
}

func TestRunDoesNotFollowRedirects(t *testing.T) {
	redirected := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			redirected++
			return
		}
		http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	stdin := strings.NewReader(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom"}`)
	code := run([]string{"-url", srv.URL, "-sdkappid", "1"}, func(string) string { return "" }, stdin, &stdout, &stderr)
	if code != 1 || redirected != 0 {
		t.Errorf("exit code %d, %d requests to the redirect target, want 1 and 0", code, redirected)
	}
	if !strings.HasPrefix(stdout.String(), "HTTP/1.1 307 Temporary Redirect\n") {
		t.Errorf("stdout %q does not show the redirect", stdout.String())
	}
}

func TestRunTLS(t *testing.T) {
	var got []received
	srv := httptest.NewTLSServer(recordingHandler(t, &got, 200, answerOK))
	t.Cleanup(srv.Close)
	env := func(string) string { return "" }
	stdin := `{"CallbackCommand":"Room.CallbackAfterDestroyRoom"}`

	var stdout, stderr bytes.Buffer
	if code := run([]string{"-url", srv.URL, "-sdkappid", "1"}, env, strings.NewReader(stdin), &stdout, &stderr); code != 1 || len(got) != 0 {
		t.Errorf("self-signed certificate without -insecure: exit code %d, %d requests, want 1 and 0", code, len(got))
	}
	if !strings.Contains(stderr.String(), "certificate") {
		t.Errorf("stderr %q does not explain the certificate error", stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-url", srv.URL, "-sdkappid", "1", "-insecure"}, env, strings.NewReader(stdin), &stdout, &stderr); code != 0 || len(got) != 1 {
		t.Errorf("with -insecure: exit code %d, %d requests, want 0 and 1; stderr:\n%s", code, len(got), stderr.String())
	}
}

func TestRunTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // Answer only once the test is over.
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // Runs first.
	var stdout, stderr bytes.Buffer
	stdin := strings.NewReader(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom"}`)
	start := time.Now()
	code := run([]string{"-url", srv.URL, "-sdkappid", "1", "-timeout", "200ms"}, func(string) string { return "" }, stdin, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("gave up after %v, want about 200ms", elapsed)
	}
	if !strings.Contains(stderr.String(), "Timeout") {
		t.Errorf("stderr %q does not mention the timeout", stderr.String())
	}
}

func TestRunConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var stdout, stderr bytes.Buffer
	stdin := strings.NewReader(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom"}`)
	if code := run([]string{"-url", url, "-sdkappid", "1"}, func(string) string { return "" }, stdin, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr.String())
	}
}
