package webhookserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

const (
	openApp   = 1400000001 // no callbackAuth
	signedApp = 1400000002 // callbackAuth with token "s3cr3t"
	brokenApp = 1400000003 // callbackAuth whose Secret is missing
	token     = "s3cr3t"
)

var now = time.Unix(1700000000, 0)

// seed is the sample of Tencent's "after a room is updated" page, with the
// string "false" it really sends, as docs/development.md tells users to send it.
var seed = func() string {
	b, err := os.ReadFile(filepath.Join("..", "config", "samples", "callback-update-room-info.json"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

const (
	// Apps with several claimants: squattedApp is claimed by an older
	// ChatApp without auth and one with another token before the one with
	// token; unsignedPairApp by two ChatApps without auth.
	squattedApp     = 1400000004
	unsignedPairApp = 1400000005
)

type fakeApps map[int64][]*lookup.Claim

func (f fakeApps) Accepted(*chatv1alpha1.ChatApp, time.Time) {}

func (f fakeApps) Claims(_ context.Context, id int64) ([]*lookup.Claim, error) {
	return f[id], nil
}

func testApps() fakeApps {
	app := func(ns, name string, id int64, auth bool) *chatv1alpha1.ChatApp {
		a := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: id}}
		if auth {
			a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "chat-callback", Key: "token"}}
		}
		return a
	}
	return fakeApps{
		openApp:   {{App: app("ns", "open", openApp, false)}},
		signedApp: {{App: app("ns", "signed", signedApp, true), Tokens: []string{token}}},
		brokenApp: {{App: app("ns", "broken", brokenApp, true), TokenErr: errors.New("token Secret not found: Secret ns/chat-callback does not exist")}},
		squattedApp: {
			{App: app("squatter", "open", squattedApp, false)},
			{App: app("squatter", "guess", squattedApp, true), Tokens: []string{"guess"}},
			{App: app("squatter", "broken", squattedApp, true), TokenErr: errors.New("token Secret not found")},
			{App: app("owner", "signed", squattedApp, true), Tokens: []string{token}},
		},
		unsignedPairApp: {
			{App: app("ns", "older", unsignedPairApp, false)},
			{App: app("ns", "younger", unsignedPairApp, false)},
		},
	}
}

// fakeRooms records what it is asked to write and answers as told.
type fakeRooms struct {
	mu      sync.Mutex
	events  []roomstore.Event
	apps    []string // namespace/name of the ChatApp of each event
	outcome roomstore.Outcome
	err     error
}

func (f *fakeRooms) Apply(_ context.Context, app *chatv1alpha1.ChatApp, ev roomstore.Event) (roomstore.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	f.apps = append(f.apps, app.Namespace+"/"+app.Name)
	if f.err != nil {
		return "", f.err
	}
	if f.outcome == "" {
		return roomstore.Applied, nil
	}
	return f.outcome, nil
}

// callback describes a request; zero fields take the defaults of a good,
// unsigned update callback to openApp.
type callback struct {
	method  string
	query   string // raw query; when empty, built from the fields below
	app     int64
	command string
	sign    string // "" = signed correctly for signedApp, "-" = not signed
	reqTime time.Time
	body    string
}

func (c callback) request() *http.Request {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	body := c.body
	if body == "" {
		body = seed
	}
	query := c.query
	if query == "" {
		app := c.app
		if app == 0 {
			app = openApp
		}
		command := c.command
		if command == "" {
			command = tencent.CommandAfterUpdateRoomInfo
		}
		q := url.Values{}
		q.Set("SdkAppid", strconv.FormatInt(app, 10))
		q.Set("CallbackCommand", command)
		q.Set("contenttype", "json")
		q.Set("ClientIP", "10.0.0.1")
		q.Set("OptPlatform", "Android")
		if c.sign != "-" {
			reqTime := c.reqTime
			if reqTime.IsZero() {
				reqTime = now
			}
			rt := strconv.FormatInt(reqTime.Unix(), 10)
			sign := c.sign
			if sign == "" {
				sign = tencent.Sign(token, rt)
			}
			q.Set("Sign", sign)
			q.Set("RequestTime", rt)
		}
		query = q.Encode()
	}
	return httptest.NewRequest(method, "/callback?"+query, strings.NewReader(body))
}

type answerBody struct {
	ActionStatus string
	ErrorInfo    string
	ErrorCode    int
}

func serve(t *testing.T, h *Handler, r *http.Request) (int, answerBody) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var a answerBody
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q is not JSON: %v", rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	wantStatus := "OK"
	if a.ErrorCode != 0 {
		wantStatus = "FAIL"
	}
	if a.ActionStatus != wantStatus {
		t.Errorf("ActionStatus %q with ErrorCode %d, want %q", a.ActionStatus, a.ErrorCode, wantStatus)
	}
	if (rec.Code == http.StatusOK) != (a.ErrorCode == 0) {
		t.Errorf("HTTP %d with ErrorCode %d: OK answers and only they have code 0", rec.Code, a.ErrorCode)
	}
	return rec.Code, a
}

func newHandler(rooms *fakeRooms) *Handler {
	return &Handler{Apps: testApps(), Rooms: rooms, AllowUnsigned: true, Timeout: time.Second, Now: func() time.Time { return now }}
}

func TestHandlerAnswers(t *testing.T) {
	big := `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","Pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	withRoomID := func(id string) string {
		b, _ := json.Marshal(map[string]any{"CallbackCommand": tencent.CommandAfterUpdateRoomInfo, "EventTime": 1, "RoomInfo": map[string]any{"RoomId": id}})
		return string(b)
	}
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "chat.roomsync.io", Resource: "rooms"}, "x")
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "chat.roomsync.io", Kind: "Room"}, "x", nil)

	for _, tc := range []struct {
		name      string
		cb        callback
		outcome   roomstore.Outcome
		writeErr  error
		status    int
		code      ErrorCode
		info      string // substring of ErrorInfo
		wantWrite bool
	}{
		{name: "seed sample is applied", cb: callback{}, status: 200, code: CodeOK, wantWrite: true},
		{name: "older command spelling", cb: callback{command: tencent.CommandUpdateRoomInfo, body: strings.Replace(seed, "Room.CallbackAfterUpdateRoomInfo", "Room.CallbackUpdateRoomInfo", 1)}, status: 200, wantWrite: true},
		{name: "create carries room info", cb: callback{command: tencent.CommandAfterCreateRoom, body: strings.Replace(seed, "Room.CallbackAfterUpdateRoomInfo", "Room.CallbackAfterCreateRoom", 1)}, status: 200, wantWrite: true},
		{name: "signed callback", cb: callback{app: signedApp}, status: 200, wantWrite: true},
		{name: "upper-case Sign", cb: callback{app: signedApp, sign: strings.ToUpper(tencent.Sign(token, strconv.FormatInt(now.Unix(), 10)))}, status: 200, wantWrite: true},
		{name: "RequestTime at the edge of the window", cb: callback{app: signedApp, reqTime: now.Add(-time.Minute)}, status: 200, wantWrite: true},
		{name: "stale", cb: callback{}, outcome: roomstore.Stale, status: 200, info: "stale", wantWrite: true},
		{name: "unknown room, no auto-create", cb: callback{}, outcome: roomstore.UnknownRoom, status: 200, info: "autoCreateRooms", wantWrite: true},
		{name: "destroy", cb: callback{command: tencent.CommandAfterDestroyRoom, body: `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"rid-123","EventTime":5}`}, status: 200, wantWrite: true},
		{name: "destroy of an unknown room", cb: callback{command: tencent.CommandAfterDestroyRoom, body: `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","RoomId":"r","EventTime":5}`}, outcome: roomstore.UnknownRoom, status: 200, info: "only room-info callbacks create", wantWrite: true},
		{name: "destroy without RoomId", cb: callback{command: tencent.CommandAfterDestroyRoom, body: `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","EventTime":5}`}, status: 400, code: CodeBadEvent, info: "RoomId"},
		{name: "member enter", cb: callback{command: tencent.CommandAfterMemberEnter, body: `{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","EventTime":"6","MemberCount":"3","Type":"Enter","MemberList_Account":["a",12345]}`}, status: 200, wantWrite: true},
		{name: "member leave", cb: callback{command: tencent.CommandAfterMemberLeave, body: `{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"r","EventTime":6,"MemberCount":2,"Type":"Kicked","Reason":"spam","MemberList_Account":["a"]}`}, status: 200, wantWrite: true},
		{name: "member event without EventTime", cb: callback{command: tencent.CommandAfterMemberLeave, body: `{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"r","MemberCount":2}`}, status: 400, code: CodeBadEvent, info: "EventTime"},
		{name: "member count of the wrong type", cb: callback{command: tencent.CommandAfterMemberEnter, body: `{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","EventTime":6,"MemberCount":true}`}, status: 400, code: CodeBadBody, info: "MemberCount"},
		{name: "seats", cb: callback{command: tencent.CommandAfterSeatInfoChanged, body: `{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","EventTime":7,"SeatList":[{"Index":0,"Member_Account":"a"},{"Index":1,"Member_Account":""},{"Index":2}]}`}, status: 200, wantWrite: true},
		{name: "seat RoomId over 48 bytes", cb: callback{command: tencent.CommandAfterSeatInfoChanged, body: `{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"` + strings.Repeat("x", 49) + `","EventTime":7}`}, status: 400, code: CodeBadEvent},
		{name: "unknown command is ignored", cb: callback{command: "Room.CallbackSomethingNew", body: `{"CallbackCommand":"Room.CallbackSomethingNew"}`}, status: 200, info: "ignored"},

		{name: "GET", cb: callback{method: http.MethodGet}, status: 405, code: CodeMethodNotAllowed},
		{name: "PUT", cb: callback{method: http.MethodPut}, status: 405, code: CodeMethodNotAllowed},
		{name: "body over 1 MiB", cb: callback{body: big}, status: 413, code: CodeBodyTooLarge},
		{name: "body over 1 MiB beats a bad query", cb: callback{body: big, query: "x=1"}, status: 413, code: CodeBodyTooLarge},
		{name: "no SdkAppid", cb: callback{query: "CallbackCommand=Room.CallbackAfterUpdateRoomInfo"}, status: 400, code: CodeBadQuery, info: "SdkAppid"},
		{name: "SdkAppid not a number", cb: callback{query: "SdkAppid=abc&CallbackCommand=Room.CallbackAfterUpdateRoomInfo"}, status: 400, code: CodeBadQuery},
		{name: "SdkAppid negative", cb: callback{query: "SdkAppid=-1&CallbackCommand=Room.CallbackAfterUpdateRoomInfo"}, status: 400, code: CodeBadQuery},
		{name: "SdkAppid empty", cb: callback{query: "SdkAppid=&CallbackCommand=Room.CallbackAfterUpdateRoomInfo"}, status: 400, code: CodeBadQuery},
		{name: "SdkAppid repeated", cb: callback{query: "SdkAppid=1400000001&SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterUpdateRoomInfo"}, status: 400, code: CodeBadQuery, info: "repeated"},
		{name: "another parameter repeated", cb: callback{query: "SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterUpdateRoomInfo&ClientIP=1&ClientIP=2"}, status: 400, code: CodeBadQuery, info: "ClientIP"},
		{name: "query does not parse", cb: callback{query: "SdkAppid=1400000001&x=%zz"}, status: 400, code: CodeBadQuery},
		{name: "unknown SdkAppid", cb: callback{app: 42}, status: 401, code: CodeUnauthorized, info: unauthorizedInfo},
		{name: "unknown SdkAppid beats a bad body", cb: callback{app: 42, body: "{"}, status: 401, code: CodeUnauthorized},
		{name: "no Sign", cb: callback{app: signedApp, sign: "-"}, status: 401, code: CodeUnauthorized, info: unauthorizedInfo},
		{name: "wrong Sign", cb: callback{app: signedApp, sign: tencent.Sign("other", strconv.FormatInt(now.Unix(), 10))}, status: 401, code: CodeUnauthorized},
		{name: "Sign not hex", cb: callback{app: signedApp, sign: "zz"}, status: 401, code: CodeUnauthorized},
		{name: "RequestTime too old", cb: callback{app: signedApp, reqTime: now.Add(-61 * time.Second)}, status: 401, code: CodeUnauthorized, info: "maxClockSkew"},
		{name: "RequestTime in the future", cb: callback{app: signedApp, reqTime: now.Add(2 * time.Minute)}, status: 401, code: CodeUnauthorized, info: "maxClockSkew"},
		{name: "RequestTime not a number", cb: callback{query: "SdkAppid=1400000002&CallbackCommand=Room.CallbackAfterUpdateRoomInfo&RequestTime=soon&Sign=" + tencent.Sign(token, "soon")}, status: 401, code: CodeUnauthorized},
		{name: "token Secret missing", cb: callback{app: brokenApp}, status: 401, code: CodeUnauthorized, info: unauthorizedInfo},
		{name: "bad Sign beats a bad body", cb: callback{app: signedApp, sign: "-", body: "{"}, status: 401, code: CodeUnauthorized},
		{name: "body not JSON", cb: callback{body: "{"}, status: 400, code: CodeBadBody},
		{name: "body a JSON array", cb: callback{body: "[]"}, status: 400, code: CodeBadBody},
		{name: "body with trailing data", cb: callback{body: seed + "{}"}, status: 400, code: CodeBadBody},
		{name: "body without CallbackCommand", cb: callback{body: `{"EventTime":1}`}, status: 400, code: CodeBadBody},
		{name: "CallbackCommand differs", cb: callback{command: tencent.CommandAfterCreateRoom}, status: 400, code: CodeBadBody, info: "differs"},
		{name: "CallbackCommand missing from the query", cb: callback{query: "SdkAppid=1400000001"}, status: 400, code: CodeBadQuery, info: "CallbackCommand"},
		{name: "field of the wrong type", cb: callback{body: strings.Replace(seed, ": 300", `: "many"`, 1)}, status: 400, code: CodeBadBody, info: "MaxMemberCount"},
		{name: "unknown command still needs valid JSON", cb: callback{command: "X", body: `{"CallbackCommand":"X"`}, status: 400, code: CodeBadBody},
		{name: "no RoomInfo", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":1}`}, status: 400, code: CodeBadEvent, info: "RoomId"},
		{name: "no RoomId", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":1,"RoomInfo":{}}`}, status: 400, code: CodeBadEvent, info: "RoomId"},
		{name: "empty RoomId", cb: callback{body: withRoomID("")}, status: 400, code: CodeBadEvent},
		{name: "RoomId of 49 bytes", cb: callback{body: withRoomID(strings.Repeat("r", 49))}, status: 400, code: CodeBadEvent},
		{name: "RoomId of 48 bytes", cb: callback{body: withRoomID(strings.Repeat("r", 48))}, status: 200, wantWrite: true},
		{name: "RoomId of 17 three-byte runes", cb: callback{body: withRoomID(strings.Repeat("会", 17))}, status: 400, code: CodeBadEvent},
		{name: "RoomId not UTF-8", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":1,"RoomInfo":{"RoomId":"` + "\xff\xfe" + `"}}`}, status: 400, code: CodeBadBody, info: "UTF-8"},
		{name: "no EventTime", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","RoomInfo":{"RoomId":"r"}}`}, status: 400, code: CodeBadEvent, info: "EventTime"},
		{name: "EventTime zero", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":0,"RoomInfo":{"RoomId":"r"}}`}, status: 400, code: CodeBadEvent},
		{name: "EventTime as a numeric string", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":"1670574414123","RoomInfo":{"RoomId":"r"}}`}, status: 200, wantWrite: true},
		{name: "API server too slow", cb: callback{}, writeErr: context.DeadlineExceeded, status: 503, code: CodeUnavailable, wantWrite: true},
		{name: "API server gone", cb: callback{}, writeErr: notFound, status: 503, code: CodeUnavailable, wantWrite: true},
		{name: "API server refuses the values", cb: callback{}, writeErr: invalid, status: 400, code: CodeBadEvent, wantWrite: true},
		{name: "Room name taken", cb: callback{}, writeErr: fmt.Errorf("%w: x", roomstore.ErrNameTaken), status: 500, code: CodeInternal, wantWrite: true},
		{name: "spooled", cb: callback{}, outcome: roomstore.Spooled, status: 200, code: CodeOK, info: "spooled", wantWrite: true},
		{name: "spool full", cb: callback{}, writeErr: fmt.Errorf("%w, and the write failed: %w", roomstore.ErrSpoolFull, context.DeadlineExceeded),
			status: 503, code: CodeUnavailable, info: "spool is full", wantWrite: true},
		{name: "room name the Room refuses, refused before any write", cb: callback{body: strings.Replace(seed, `"rname-123"`, `"`+strings.Repeat("n", 1025)+`"`, 1)},
			status: 400, code: CodeBadEvent, info: "roomName would be 1025 characters"},
		{name: "negative MaxMemberCount, refused before any write", cb: callback{body: strings.Replace(seed, ": 300", ": -1", 1)},
			status: 400, code: CodeBadEvent, info: "maxMemberCount"},
		{name: "EventTime past the year 9999", cb: callback{body: `{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":9000000000000000,"RoomInfo":{"RoomId":"r"}}`},
			status: 400, code: CodeBadEvent, info: "9999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rooms := &fakeRooms{outcome: tc.outcome, err: tc.writeErr}
			status, a := serve(t, newHandler(rooms), tc.cb.request())
			if status != tc.status || ErrorCode(a.ErrorCode) != tc.code {
				t.Fatalf("answer %d %+v, want HTTP %d with ErrorCode %d", status, a, tc.status, tc.code)
			}
			if !strings.Contains(a.ErrorInfo, tc.info) {
				t.Errorf("ErrorInfo %q does not mention %q", a.ErrorInfo, tc.info)
			}
			if tc.code != CodeOK && a.ErrorInfo == "" {
				t.Error("a rejection without ErrorInfo")
			}
			if got := len(rooms.events) > 0; got != tc.wantWrite {
				t.Errorf("Room write attempted: %v, want %v", got, tc.wantWrite)
			}
		})
	}
}

func TestHandlerPassesTheEventOn(t *testing.T) {
	rooms := &fakeRooms{}
	if status, a := serve(t, newHandler(rooms), callback{}.request()); status != 200 {
		t.Fatalf("answer %d %+v, want 200", status, a)
	}
	ev := rooms.events[0]
	info := ev.RoomInfo.Info
	if ev.RoomID != "rid-123" || ev.EventTime != 1670574414123 || ev.Command != tencent.CommandAfterUpdateRoomInfo ||
		ev.Operator != "bob" || ev.ClientIP != "10.0.0.1" || ev.OptPlatform != "Android" {
		t.Errorf("event %+v does not carry the callback's identity", ev)
	}
	if info.IsCloudRecordingDisabled == nil || *info.IsCloudRecordingDisabled || info.MaxMemberCount == nil || *info.MaxMemberCount != 300 ||
		info.OwnerAccount == nil || *info.OwnerAccount != "jack" {
		t.Errorf("room info %+v does not carry the seed's values (string \"false\" must read as false)", info)
	}
}

func TestHandlerDecodesEachKind(t *testing.T) {
	rooms := &fakeRooms{}
	h := newHandler(rooms)
	for _, cb := range []callback{
		{command: tencent.CommandAfterCreateRoom, body: `{"CallbackCommand":"Room.CallbackAfterCreateRoom","EventTime":1,"RoomInfo":{"RoomId":"r","RoomType":"Conference","MaxSeatCount":8,"IsSeatEnabled":"true","CreateTime":17},"ScheduleInviteeList_Account":["a","b",3]}`},
		{command: tencent.CommandAfterDestroyRoom, body: `{"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"r","EventTime":2}`},
		{command: tencent.CommandAfterMemberLeave, body: `{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"r","EventTime":3,"MemberCount":1,"Type":"Expired","MemberList_Account":["a","b"]}`},
		{command: tencent.CommandAfterSeatInfoChanged, body: `{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","EventTime":4,"SeatList":[{"Member_Account":"a"},{"Member_Account":""},{}]}`},
	} {
		if status, a := serve(t, h, cb.request()); status != 200 {
			t.Fatalf("%s: answer %d %+v", cb.command, status, a)
		}
	}
	create, destroy, leave, seat := rooms.events[0], rooms.events[1], rooms.events[2], rooms.events[3]
	if c := create.RoomInfo; c == nil || c.Invitees == nil || *c.Invitees != 3 || *c.Info.MaxSeatCount != 8 || !bool(*c.Info.IsSeatEnabled) {
		t.Errorf("create: %+v", c)
	}
	if destroy.Destroy == nil || destroy.Operator != "admin" || !destroy.Destroy.Received.Equal(now) || destroy.EventTime != 2 {
		t.Errorf("destroy: %+v", destroy)
	}
	if m := leave.Members; m == nil || *m.Count != 1 || m.Type != "Expired" || m.Accounts != 2 {
		t.Errorf("leave: %+v", m)
	}
	if s := seat.Seats; s == nil || s.Total != 3 || s.Taken != 1 {
		t.Errorf("seats: %+v", s)
	}
	for _, ev := range rooms.events {
		if ev.RoomID != "r" || ev.ClientIP != "10.0.0.1" || ev.OptPlatform != "Android" || ev.Command == "" {
			t.Errorf("event %+v lacks the callback's identity", ev)
		}
	}
}

func TestHandlerTimesOutWaitingWriter(t *testing.T) {
	h := newHandler(nil)
	h.Timeout = 50 * time.Millisecond
	h.Rooms = blockingRooms{}
	start := time.Now()
	status, a := serve(t, h, callback{}.request())
	if status != 503 || ErrorCode(a.ErrorCode) != CodeUnavailable {
		t.Fatalf("answer %d %+v, want 503", status, a)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("answered after %s with a 50ms timeout", elapsed)
	}
}

// blockingRooms never finishes a write before the context ends.
type blockingRooms struct{}

func (blockingRooms) Apply(ctx context.Context, _ *chatv1alpha1.ChatApp, _ roomstore.Event) (roomstore.Outcome, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// FuzzHandler sends arbitrary queries and bodies: every answer is one of the
// documented ones, and nothing but an OK answer follows a stored write.
func FuzzHandler(f *testing.F) {
	rt := strconv.FormatInt(now.Unix(), 10)
	f.Add("SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterUpdateRoomInfo", seed)
	f.Add("SdkAppid=1400000002&CallbackCommand=Room.CallbackAfterUpdateRoomInfo&RequestTime="+rt+"&Sign="+tencent.Sign(token, rt), seed)
	f.Add("SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterCreateRoom", `{"CallbackCommand":"Room.CallbackAfterCreateRoom","EventTime":"5","RoomInfo":{"RoomId":"会议室/1"}}`)
	f.Add("SdkAppid=1400000001&CallbackCommand=X", `{"CallbackCommand":"X"}`)
	f.Add("SdkAppid=1&SdkAppid=2", "{}")
	codes := map[ErrorCode]int{
		CodeOK: 200, CodeBadQuery: 400, CodeBadBody: 400, CodeBadEvent: 400, CodeUnauthorized: 401,
		CodeMethodNotAllowed: 405, CodeBodyTooLarge: 413, CodeInternal: 500, CodeUnavailable: 503,
	}
	f.Fuzz(func(t *testing.T, query, body string) {
		rooms := &fakeRooms{}
		r := httptest.NewRequest(http.MethodPost, "/callback", strings.NewReader(body))
		r.URL.RawQuery = query
		status, a := serve(t, newHandler(rooms), r)
		if want, ok := codes[ErrorCode(a.ErrorCode)]; !ok || want != status {
			t.Fatalf("answer %d %+v is not a documented one", status, a)
		}
		if len(rooms.events) > 0 && status != 200 {
			t.Fatalf("a Room was written, yet the answer is %d %+v", status, a)
		}
	})
}

// TestHandlerTellsOfLostEvents: an authenticated callback answered with an
// error is told to Lost, with its ChatApp and room; an OK answer, a
// refusal before authentication and a malformed body are not.
func TestHandlerTellsOfLostEvents(t *testing.T) {
	type lostCall struct {
		app    types.NamespacedName
		roomID string
	}
	for _, tc := range []struct {
		name string
		err  error
		cb   callback
		want []lostCall
	}{
		{name: "a write that failed", err: errors.New("the API server is down"), cb: callback{},
			want: []lostCall{{types.NamespacedName{Namespace: "ns", Name: "open"}, "rid-123"}}},
		{name: "a full spool", err: roomstore.ErrSpoolFull, cb: callback{},
			want: []lostCall{{types.NamespacedName{Namespace: "ns", Name: "open"}, "rid-123"}}},
		{name: "stored", cb: callback{}},
		{name: "unknown app", err: errors.New("down"), cb: callback{app: 1499999999}},
		{name: "malformed body", err: errors.New("down"), cb: callback{body: "{"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []lostCall
			h := newHandler(&fakeRooms{err: tc.err, outcome: roomstore.Applied})
			h.Lost = func(app types.NamespacedName, roomID string, at time.Time) {
				got = append(got, lostCall{app, roomID})
				if !at.Equal(now) {
					t.Errorf("lost at %s, want the handler's now", at)
				}
			}
			serve(t, h, tc.cb.request())
			if !slices.Equal(got, tc.want) {
				t.Errorf("Lost was told %v, want %v", got, tc.want)
			}
		})
	}
}
