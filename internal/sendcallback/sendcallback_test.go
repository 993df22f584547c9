package sendcallback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roomsync/roomsync/internal/tencent"
)

const sampleFile = "../../config/samples/callback-update-room-info.json"

func TestBuildRequest(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	nowSeconds := strconv.FormatInt(now.Unix(), 10)
	sample, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	base := Options{URL: "http://127.0.0.1:8082/callback", SDKAppID: 1400000001, ClientIP: "127.0.0.1", Platform: "RESTAPI"}
	const tencentQuery = "SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterUpdateRoomInfo&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI"

	tests := []struct {
		name string
		opts func(o *Options)
		// wantURL is the URL without Sign and RequestTime.
		wantURL         string
		wantRequestTime string // "": no Sign, no RequestTime
		wantToken       string
	}{{
		name:    "unsigned",
		opts:    func(*Options) {},
		wantURL: "http://127.0.0.1:8082/callback?" + tencentQuery,
	}, {
		name:            "signed",
		opts:            func(o *Options) { o.Token = "s3cr3t" },
		wantURL:         "http://127.0.0.1:8082/callback?" + tencentQuery,
		wantRequestTime: nowSeconds,
		wantToken:       "s3cr3t",
	}, {
		name:            "RequestTime given",
		opts:            func(o *Options) { o.Token = "s3cr3t"; o.RequestTime = "1669872112" },
		wantURL:         "http://127.0.0.1:8082/callback?" + tencentQuery,
		wantRequestTime: "1669872112",
		wantToken:       "s3cr3t",
	}, {
		name: "query characters escaped, URL's own query kept",
		opts: func(o *Options) {
			o.URL = "https://example.com:8443/tencent/callback?tenant=a"
			o.ClientIP = "::1"
			o.Platform = "Mac OS&x=y"
		},
		wantURL: "https://example.com:8443/tencent/callback?tenant=a&SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterUpdateRoomInfo" +
			"&contenttype=json&ClientIP=%3A%3A1&OptPlatform=Mac+OS%26x%3Dy",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			tt.opts(&opts)
			req, err := BuildRequest(t.Context(), opts, sample, now)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("got %s with Content-Type %q, want a POST of application/json", req.Method, req.Header.Get("Content-Type"))
			}
			wantURL := tt.wantURL
			if tt.wantRequestTime != "" {
				wantURL += "&Sign=" + tencent.Sign(tt.wantToken, tt.wantRequestTime) + "&RequestTime=" + tt.wantRequestTime
			}
			if got := req.URL.String(); got != wantURL {
				t.Errorf("URL\n got %s\nwant %s", got, wantURL)
			}
			if tt.wantRequestTime != "" {
				q := req.URL.Query()
				if !tencent.VerifySign(q.Get("Sign"), q.Get("RequestTime"), tt.wantToken) {
					t.Errorf("Sign %q does not verify with token %q and RequestTime %q", q.Get("Sign"), tt.wantToken, q.Get("RequestTime"))
				}
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, sample) {
				t.Errorf("the body was changed:\n%s", body)
			}
		})
	}
}

func TestBuildRequestNowSetsEventTime(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := map[string]string{
		"replaced":            `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","RoomId":"a<b>&c","EventTime":1670574414123,"X":{"EventTime":1}}`,
		"replaced, a string":  `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","RoomId":"a<b>&c","EventTime":"1670574414123","X":{"EventTime":1}}`,
		"added":               `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","RoomId":"a<b>&c","X":{"EventTime":1}}`,
		"replaced, not valid": `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","RoomId":"a<b>&c","EventTime":{"x":[]},"X":{"EventTime":1}}`,
	}
	want := map[string]any{
		"CallbackCommand": "Room.CallbackAfterDestroyRoom",
		"RoomId":          "a<b>&c",
		"EventTime":       json.Number("1714979289123"),
		"X":               map[string]any{"EventTime": json.Number("1")},
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			opts := Options{URL: "http://127.0.0.1/", SDKAppID: 1, Now: true}
			req, err := BuildRequest(t.Context(), opts, []byte(body), now)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			sent, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(sent))
			dec.UseNumber()
			var got map[string]any
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("the sent body is not JSON: %v\n%s", err, sent)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("sent %s, want %v", sent, want)
			}
			if bytes.Contains(sent, []byte(`\u003c`)) {
				t.Errorf("the body's strings were re-escaped: %s", sent)
			}
			env, err := tencent.DecodeEnvelope(sent)
			if err != nil || env.EventTime == nil || int64(*env.EventTime) != now.UnixMilli() {
				t.Errorf("the receiver decodes EventTime %v (error %v), want %d", env.EventTime, err, now.UnixMilli())
			}
		})
	}
}

func TestBuildRequestRejectsBadBodies(t *testing.T) {
	tests := map[string]string{
		"":                              "the body is not a JSON object: ...",
		"[]":                            "the body is not a JSON object: ...",
		`{"CallbackCommand":"x"} {}`:    "the body is not a JSON object: ...",
		"null":                          "the body has no CallbackCommand",
		`{"EventTime":1}`:               "the body has no CallbackCommand",
		`{"callbackcommand":"x"}`:       "the body has no CallbackCommand",
		`{"CallbackCommand":""}`:        "the body's CallbackCommand is not a non-empty string",
		`{"CallbackCommand":null}`:      "the body's CallbackCommand is not a non-empty string",
		`{"CallbackCommand":1}`:         "the body's CallbackCommand is not a non-empty string",
		`{"CallbackCommand":["x"]}`:     "the body's CallbackCommand is not a non-empty string",
		`{"CallbackCommand":"x",}`:      "the body is not a JSON object: ...",
		`{"CallbackCommand":"x"`:        "the body is not a JSON object: ...",
		"{\"CallbackCommand\":\"x\"}\n": "",
	}
	for body, wantErr := range tests {
		for _, now := range []bool{false, true} {
			_, err := BuildRequest(t.Context(), Options{URL: "http://127.0.0.1/", SDKAppID: 1, Now: now}, []byte(body), time.Now())
			prefix, isPrefix := strings.CutSuffix(wantErr, "...")
			switch {
			case wantErr == "" && err == nil:
			case err == nil,
				isPrefix && !strings.HasPrefix(err.Error(), prefix),
				!isPrefix && err.Error() != wantErr:
				t.Errorf("body %q, -now=%v: error = %v, want %q", body, now, err, wantErr)
			}
		}
	}
}

func TestSend(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		answer  string
		wantErr string
		want    Answer
	}{
		{name: "OK", status: 200, answer: `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`,
			want: Answer{StatusCode: 200, ActionStatus: "OK"}},
		{name: "spooled", status: 200, answer: `{"ActionStatus":"OK","ErrorInfo":"spooled: the API server did not take the write in time","ErrorCode":0}`,
			want: Answer{StatusCode: 200, ActionStatus: "OK", ErrorInfo: "spooled: the API server did not take the write in time"}},
		{name: "refused", status: 401, answer: `{"ActionStatus":"FAIL","ErrorInfo":"Sign does not match","ErrorCode":40101}`,
			wantErr: "the receiver answered 401 Unauthorized",
			want:    Answer{StatusCode: 401, ActionStatus: "FAIL", ErrorCode: 40101, ErrorInfo: "Sign does not match"}},
		{name: "FAIL with 200", status: 200, answer: `{"ActionStatus":"FAIL","ErrorInfo":"no","ErrorCode":1}`,
			wantErr: `the receiver answered ActionStatus "FAIL"`, want: Answer{StatusCode: 200, ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: "no"}},
		{name: "not JSON", status: 200, answer: "OK", wantErr: "the answer is not JSON: invalid character 'O' looking for beginning of value", want: Answer{StatusCode: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			t.Cleanup(srv.Close)
			opts := Options{URL: srv.URL, SDKAppID: 1, Token: "t", Timeout: 5 * time.Second}
			req, err := BuildRequest(t.Context(), opts, []byte(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom"}`), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			a, err := Send(NewClient(opts), req)
			if (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if a == nil {
				t.Fatal("no answer")
			}
			got := *a
			got.Proto, got.Status, got.Body = "", "", nil
			if !reflect.DeepEqual(got, tt.want) || string(a.Body) != tt.answer {
				t.Errorf("answer %+v (body %q), want %+v", got, a.Body, tt.want)
			}
		})
	}
}

// TestSendKeepsTheSignOutOfErrors: a Sign is good for a replay within the
// receiver's maxClockSkew, so an error that is printed leaves it out.
func TestSendKeepsTheSignOutOfErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	opts := Options{URL: addr + "/callback", SDKAppID: 1, Token: "s3cr3t", Timeout: 5 * time.Second}
	req, err := BuildRequest(t.Context(), opts, []byte(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom"}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, err := Send(NewClient(opts), req)
	if a != nil || err == nil {
		t.Fatalf("answer %+v, error %v: want none and an error", a, err)
	}
	if msg := err.Error(); strings.Contains(msg, "Sign=") || !strings.Contains(msg, addr+"/callback?…") || !strings.Contains(msg, "connection refused") {
		t.Errorf("error %q: want the URL without its query, and why", msg)
	}
}

// TestAnswerStringIsBoundedAndEscaped: the receiver may be anyone's, and
// what it answers is printed on a terminal.
func TestAnswerStringIsBoundedAndEscaped(t *testing.T) {
	hostile := "\x1b]52;c;cm0gLXJmIH4=\a\u009b31m\xff\nforged line"
	a := &Answer{Proto: "HTTP/1.1", Status: "500 Oops\x1b[2J" + strings.Repeat("s", 1000),
		Body: []byte(hostile + strings.Repeat("A", 1<<20) + "\n")}
	got := a.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("String() has %d lines, want 3 (status, body, what was left out):\n%.300q", len(lines), got)
	}
	if want := `HTTP/1.1 500 Oops\x1b[2J`; !strings.HasPrefix(lines[0], want) || len(lines[0]) > MaxShownStatusBytes+8 {
		t.Errorf("status line %.80q… (%d bytes), want it to start %q and be cut near %d bytes", lines[0], len(lines[0]), want, MaxShownStatusBytes)
	}
	if want := `\x1b]52;c;cm0gLXJmIH4=\a\u009b31m\xff\nforged lineAAA`; !strings.HasPrefix(lines[1], want) {
		t.Errorf("body line starts %.80q, want %q", lines[1], want)
	}
	if len(lines[1]) > MaxShownBodyBytes+32 {
		t.Errorf("body line has %d bytes, want about %d", len(lines[1]), MaxShownBodyBytes)
	}
	if want := fmt.Sprintf("(the answer goes on: %d more bytes, not shown)", len(hostile)+1<<20-MaxShownBodyBytes); lines[2] != want {
		t.Errorf("last line %q, want %q", lines[2], want)
	}
	for i, r := range got {
		if r != '\n' && (r == utf8.RuneError || !strconv.IsPrint(r)) {
			t.Fatalf("String() holds %U at byte %d", r, i)
		}
	}
	if short := (&Answer{Proto: "HTTP/1.1", Status: "200 OK", Body: []byte(`{"ActionStatus":"OK"}` + "\n")}).String(); short != "HTTP/1.1 200 OK\n{\"ActionStatus\":\"OK\"}\n" {
		t.Errorf("String() of a plain answer = %q", short)
	}
}
