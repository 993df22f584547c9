package tencenttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

// postTo sends body to v4/path as Tencent documents a client does and
// returns the answer, decoded as generic JSON.
func postTo(t *testing.T, f *tencenttest.Server, path string, body []byte) map[string]any {
	t.Helper()
	sig, err := tencent.UserSig(sdkAppID, key, admin, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"sdkappid": {strconv.Itoa(sdkAppID)}, "identifier": {admin}, "usersig": {sig}, "random": {"99999999"}, "contenttype": {"json"}}
	resp, err := http.Post(f.URL+"/v4/"+path+"?"+q.Encode(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var answer map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &answer) != nil {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, data)
	}
	return answer
}

func documented(t *testing.T, dir, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(tencenttest.Sample(dir, name), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// client is roomsync's REST client for the fake.
func client(f *tencenttest.Server) *tencent.RESTClient {
	cache := &tencent.UserSigCache{SDKAppID: sdkAppID, Key: key, Identifier: admin, Lifetime: time.Hour, Now: time.Now}
	return &tencent.RESTClient{Endpoint: f.URL, SDKAppID: sdkAppID, Identifier: admin, UserSig: cache.Get,
		HTTP: &http.Client{Timeout: time.Second}, Attempts: 1}
}

// TestCallsAnswerAsDocumented sends each documented sample request and holds
// the answer to the documented sample answer: the same members, of the same
// JSON types; the same values where the fake holds the sample's state.
func TestCallsAnswerAsDocumented(t *testing.T) {
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	for _, tc := range []struct {
		path, dir  string
		sameValues bool
	}{
		{"room_engine_http_srv/create_room", "create_room", true},
		{"room_engine_http_srv/update_room_info", "update_room_info", true},
		{"room_engine_http_mic/get_seat_list", "get_seat_list", true},
		{"room_engine_http_srv/get_room_info", "get_room_info", false},
		{"room_engine_http_srv/destroy_room", "destroy_room", true},
		{"room_config/set_callback", "room_config.set_callback", true},
		{"room_config/update_callback", "room_config.update_callback", true},
		{"room_config/get_callback", "room_config.get_callback", false},
		{"room_config/delete_callback", "room_config.delete_callback", true},
	} {
		if tc.dir == "get_seat_list" {
			f.SetSeats("room-test", []tencenttest.Seat{{Index: 0, Member: "user2"}, {Index: 1}})
		}
		got := postTo(t, f, tc.path, tencenttest.Sample(tc.dir, "request.json"))
		want := documented(t, tc.dir, "response.json")
		if !reflect.DeepEqual(shapeOf(t, got), shapeOf(t, want)) {
			t.Errorf("%s: the fake's answer\n%v\nis not shaped as the documented sample\n%v", tc.dir, shapeOf(t, got), shapeOf(t, want))
		}
		if got["RequestId"] == want["RequestId"] {
			t.Errorf("%s: the fake repeats the sample's RequestId", tc.dir)
		}
		delete(got, "RequestId")
		delete(want, "RequestId")
		if tc.sameValues && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the fake answers\n%v\nnot the documented\n%v", tc.dir, got, want)
		}
	}

	// get_callback answers what set_callback stored: the sample's list.
	postTo(t, f, "room_config/set_callback", []byte(`{"Url":"http://www.example.com/callback","CallbackCommandList":[
		"Room.CallbackAfterCreateRoom","Room.CallbackAfterDestroyRoom","Room.CallbackUpdateRoomInfo",
		"Room.CallbackAfterMemberEnter","Room.CallbackAfterMemberLeave","Mic.CallbackAfterSeatInfoChanged"]}`))
	got, want := postTo(t, f, "room_config/get_callback", []byte(`{}`)), documented(t, "room_config.get_callback", "response.json")
	delete(got, "RequestId")
	delete(want, "RequestId")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("get_callback answers\n%v\nnot the documented\n%v", got, want)
	}
}

// TestRoomsAreKept drives the fake with roomsync's client: what create_room
// and update_room_info store, get_room_info answers, in the documented shape;
// destroy_room removes it.
func TestRoomsAreKept(t *testing.T) {
	ctx := context.Background()
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	c := client(f)
	name, members := "Weekly", int64(50)
	if err := c.CreateRoom(ctx, tencent.RoomSettings{RoomID: "r1", RoomName: &name, MaxMemberCount: &members}, []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.Room("r1")
	answer := postTo(t, f, "room_engine_http_srv/get_room_info", []byte(`{"RoomId":"r1"}`))
	sample := documented(t, "get_room_info", "response.json")
	if !reflect.DeepEqual(shapeOf(t, answer), shapeOf(t, sample)) {
		t.Errorf("a created room is answered as\n%v\nnot in the documented shape\n%v", shapeOf(t, answer), shapeOf(t, sample))
	}
	d, err := c.GetRoomDetails(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if *d.RoomName != "Weekly" || *d.MaxMemberCount != 50 || *d.RoomType != tencent.RoomTypeConference || *d.OwnerAccount != admin || *d.MemberCount != 0 {
		t.Errorf("created room read back as %+v (stored %v)", d, stored)
	}

	var apiErr *tencent.APIError
	if err := c.CreateRoom(ctx, tencent.RoomSettings{RoomID: "r1"}, nil); !errors.As(err, &apiErr) || apiErr.Code != tencent.CodeBadParameter {
		t.Errorf("creating r1 again: %v, want the fake's 100002", err)
	}

	newName, locked := "Monthly", true
	if err := c.UpdateRoomInfo(ctx, tencent.RoomUpdate{RoomID: "r1", RoomName: &newName, IsMessageDisabled: &locked}); err != nil {
		t.Fatal(err)
	}
	d, err = c.GetRoomDetails(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if *d.RoomName != "Monthly" || !bool(*d.IsMessageDisabled) || *d.MaxMemberCount != 50 || bool(*d.IsVideoDisabled) {
		t.Errorf("updated room read back as %+v: want the new name and mute, the rest kept", d)
	}

	f.SetSeats("r1", []tencenttest.Seat{{Index: 0, Member: "u1", IsAudioDisabled: true}, {Index: 1, IsTakenDisabled: true}})
	seats, err := c.GetSeatList(ctx, "r1")
	if err != nil || len(seats) != 2 || *seats[0].MemberAccount != "u1" || !bool(*seats[0].IsAudioDisabled) || seats[1].MemberAccount != nil || !bool(*seats[1].IsTakenDisabled) {
		t.Errorf("seats %+v, %v", seats, err)
	}

	if err := c.DestroyRoom(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get_room_info":    func() error { _, err := c.GetRoomInfo(ctx, "r1"); return err }(),
		"get_seat_list":    func() error { _, err := c.GetSeatList(ctx, "r1"); return err }(),
		"update_room_info": c.UpdateRoomInfo(ctx, tencent.RoomUpdate{RoomID: "r1"}),
		"destroy_room":     c.DestroyRoom(ctx, "r1"),
	} {
		if !errors.Is(err, tencent.ErrRoomNotFound) {
			t.Errorf("%s after destroy_room: %v, want room not found", name, err)
		}
	}
	var commands []string
	for _, r := range f.Requests("r1") {
		commands = append(commands, r.Command)
	}
	if len(commands) != 12 || commands[0] != "create_room" {
		t.Errorf("requests about r1: %v", commands)
	}
}

// TestCallbackConfigurationIsKept: one configuration per app, set, updated,
// read and deleted.
func TestCallbackConfigurationIsKept(t *testing.T) {
	ctx := context.Background()
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	c := client(f)
	if _, err := c.GetCallback(ctx); !errors.Is(err, tencent.ErrCallbackNotFound) {
		t.Errorf("get_callback before set_callback: %v", err)
	}
	if err := c.UpdateCallback(ctx, tencent.CallbackConfig{URL: "https://a"}); !errors.Is(err, tencent.ErrCallbackNotFound) {
		t.Errorf("update_callback before set_callback: %v, want the documented 100301", err)
	}
	set := tencent.CallbackConfig{URL: "https://a/cb", Commands: []string{tencent.CommandAfterCreateRoom}}
	if err := c.SetCallback(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetCallback(ctx); err != nil || !reflect.DeepEqual(got, set) {
		t.Errorf("get_callback: %+v, %v; want %+v", got, err, set)
	}
	upd := tencent.CallbackConfig{URL: "http://b/cb", Commands: []string{}}
	if err := c.UpdateCallback(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetCallback(ctx); err != nil || !reflect.DeepEqual(got, upd) {
		t.Errorf("get_callback after update: %+v, %v; want %+v", got, err, upd)
	}
	var apiErr *tencent.APIError
	if err := c.SetCallback(ctx, tencent.CallbackConfig{URL: "ftp://c"}); !errors.As(err, &apiErr) || apiErr.Code != tencent.CodeBadParameter {
		t.Errorf("set_callback of a URL that is not http(s): %v", err)
	}
	if err := c.DeleteCallback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCallback(ctx); !errors.Is(err, tencent.ErrCallbackNotFound) {
		t.Errorf("get_callback after delete_callback: %v", err)
	}
}

// receiver records the callbacks it gets; release, when set, is waited on
// before answering.
type receiver struct {
	mu      sync.Mutex
	got     []*http.Request
	bodies  [][]byte
	release chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.release != nil {
		<-rc.release
	}
	rc.mu.Lock()
	rc.got, rc.bodies = append(rc.got, r), append(rc.bodies, body)
	rc.mu.Unlock()
	_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`))
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCallbacksAreSentSigned: after create, update and destroy, the fake
// sends the matching callback to the registered URL, signed with the token,
// from RESTAPI, with the documented body; and none for what is not
// registered.
func TestCallbacksAreSentSigned(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	f.SetCallbackToken("the-token")
	c := client(f)

	// Nothing registered: nothing sent.
	if err := c.CreateRoom(ctx, tencent.RoomSettings{RoomID: "unheard"}, nil); err != nil {
		t.Fatal(err)
	}
	// Registered, but not these commands: nothing sent.
	if err := c.SetCallback(ctx, tencent.CallbackConfig{URL: hook.URL + "/cb", Commands: []string{tencent.CommandAfterMemberEnter}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DestroyRoom(ctx, "unheard"); err != nil {
		t.Fatal(err)
	}
	// The older spelling of the update callback registers it too.
	if err := c.UpdateCallback(ctx, tencent.CallbackConfig{URL: hook.URL + "/cb", Commands: []string{
		tencent.CommandAfterCreateRoom, tencent.CommandUpdateRoomInfo, tencent.CommandAfterDestroyRoom}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	name := "Weekly"
	if err := c.CreateRoom(ctx, tencent.RoomSettings{RoomID: "r1", RoomName: &name}, []string{"u1", "u2"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the create callback", func() bool { return rc.count() == 1 })
	if err := c.UpdateRoomInfo(ctx, tencent.RoomUpdate{RoomID: "r1", RoomName: &name}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update callback", func() bool { return rc.count() == 2 })
	if err := c.DestroyRoom(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the destroy callback", func() bool { return rc.count() == 3 })
	eventually(t, "Callbacks()", func() bool { return len(f.Callbacks()) == 3 })

	rc.mu.Lock()
	defer rc.mu.Unlock()
	wantCommands := []string{tencent.CommandAfterCreateRoom, tencent.CommandAfterUpdateRoomInfo, tencent.CommandAfterDestroyRoom}
	for i, r := range rc.got {
		q := r.URL.Query()
		if r.Method != http.MethodPost || r.URL.Path != "/cb" || q.Get("SdkAppid") != strconv.Itoa(sdkAppID) ||
			q.Get("CallbackCommand") != wantCommands[i] || q.Get("contenttype") != "json" || q.Get("OptPlatform") != "RESTAPI" || q.Get("ClientIP") == "" {
			t.Errorf("callback %d: %s %s", i, r.Method, r.URL)
		}
		if !tencent.VerifySign(q.Get("Sign"), q.Get("RequestTime"), "the-token") {
			t.Errorf("callback %d is not signed with the token: %s", i, r.URL.RawQuery)
		}
		env, err := tencent.DecodeEnvelope(rc.bodies[i])
		if err != nil || env.CallbackCommand != wantCommands[i] || env.EventTime == nil ||
			int64(*env.EventTime) < start.UnixMilli() || int64(*env.EventTime) > time.Now().UnixMilli() {
			t.Errorf("callback %d: envelope %+v, %v: want its command and EventTime in ms", i, env, err)
		}
		var body map[string]any
		_ = json.Unmarshal(rc.bodies[i], &body)
		if body["Operator_Account"] != admin {
			t.Errorf("callback %d: Operator_Account %v", i, body["Operator_Account"])
		}
		sent := f.Callbacks()[i]
		if sent.Command != wantCommands[i] || sent.Status != http.StatusOK || sent.Err != nil || !bytes.Equal(sent.Body, rc.bodies[i]) {
			t.Errorf("Callbacks()[%d] = %+v", i, sent)
		}
	}

	created, err := tencent.DecodeRoomInfoEvent(rc.bodies[0])
	if err != nil || created.RoomInfo == nil || *created.RoomInfo.RoomID != "r1" || *created.RoomInfo.RoomName != "Weekly" ||
		!slices.Equal(created.ScheduleInvitees, []tencent.String{"u1", "u2"}) {
		t.Errorf("create callback %s: %+v, %v", rc.bodies[0], created, err)
	}
	roomInfoKeys := func(body []byte) []string {
		var b struct{ RoomInfo map[string]any }
		_ = json.Unmarshal(body, &b)
		var keys []string
		for k := range b.RoomInfo {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	// The members the create and update callback pages list.
	wantCreate := []string{"CreateTime", "CustomInfo", "IsAudioDisabled", "IsCloudRecordingDisabled", "IsMessageDisabled",
		"IsScreenSharingDisabled", "IsSeatEnabled", "IsVideoDisabled", "MaxMemberCount", "MaxSeatCount", "Owner_Account",
		"RoomId", "RoomName", "RoomStatus", "RoomType", "ScheduleEndTime", "ScheduleStartTime", "TakeSeatMode"}
	if got := roomInfoKeys(rc.bodies[0]); !slices.Equal(got, wantCreate) {
		t.Errorf("create callback RoomInfo members %v, want %v", got, wantCreate)
	}
	wantUpdate := []string{"CustomInfo", "IsAudioDisabled", "IsCloudRecordingDisabled", "IsMessageDisabled",
		"IsScreenSharingDisabled", "IsVideoDisabled", "MaxMemberCount", "Owner_Account", "RoomId", "RoomName", "TakeSeatMode"}
	if got := roomInfoKeys(rc.bodies[1]); !slices.Equal(got, wantUpdate) {
		t.Errorf("update callback RoomInfo members %v, want %v", got, wantUpdate)
	}
	destroyed, err := tencent.DecodeDestroyRoomEvent(rc.bodies[2])
	if err != nil || destroyed.RoomID == nil || *destroyed.RoomID != "r1" {
		t.Errorf("destroy callback %s: %+v, %v", rc.bodies[2], destroyed, err)
	}
}

// TestCallbacksDoNotHoldTheAnswer: a receiver that does not answer does not
// delay the REST call's answer.
func TestCallbacksDoNotHoldTheAnswer(t *testing.T) {
	rc := &receiver{release: make(chan struct{})}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	t.Cleanup(func() { close(rc.release) })
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	c := client(f)
	ctx := context.Background()
	if err := c.SetCallback(ctx, tencent.CallbackConfig{URL: hook.URL, Commands: []string{tencent.CommandAfterCreateRoom}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.CreateRoom(ctx, tencent.RoomSettings{RoomID: "r1"}, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("create_room answered after %v, waiting for the callback's receiver", d)
	}
	if n := len(f.Callbacks()); n != 0 {
		t.Errorf("%d callbacks recorded before the receiver answered", n)
	}
}

// TestAnswersForWhatTencentLeavesOpen: SetNoCallbackAnswer changes what
// get_callback answers only while there is no configuration, and
// SetSeatAnswer what get_seat_list answers for one room.
func TestAnswersForWhatTencentLeavesOpen(t *testing.T) {
	ctx := context.Background()
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	c := client(f)
	f.SetNoCallbackAnswer(tencenttest.Sample("room_config.get_callback", "response-no-response.json"))
	if a := postTo(t, f, "room_config/get_callback", []byte(`{}`)); a["ActionStatus"] != "OK" || a["Response"] != nil {
		t.Errorf("get_callback without a configuration answered %v, want the sample without Response", a)
	}
	want := tencent.CallbackConfig{URL: "https://x/callback", Commands: []string{tencent.CommandAfterCreateRoom}}
	f.SetCallbackConfig(want)
	if cfg, err := c.GetCallback(ctx); err != nil || !reflect.DeepEqual(cfg, want) {
		t.Errorf("get_callback with a configuration: %+v, %v", cfg, err)
	}
	f.DeleteCallbackConfig()
	f.SetNoCallbackAnswer(nil)
	if _, err := c.GetCallback(ctx); !errors.Is(err, tencent.ErrCallbackNotFound) {
		t.Errorf("get_callback after SetNoCallbackAnswer(nil): %v, want 100301", err)
	}

	f.SetRoom("a", "A")
	f.SetRoom("b", "B")
	f.SetSeatAnswer("a", tencenttest.Sample(tencent.CommandGetRoomInfo, "error-100001.json"))
	var apiErr *tencent.APIError
	if _, err := c.GetSeatList(ctx, "a"); !errors.As(err, &apiErr) || apiErr.Code != tencent.CodeInternalError {
		t.Errorf("get_seat_list of a: %v, want the 100001 given", err)
	}
	if _, err := c.GetSeatList(ctx, "b"); err != nil {
		t.Errorf("get_seat_list of b: %v", err)
	}
	f.SetSeatAnswer("a", nil)
	if _, err := c.GetSeatList(ctx, "a"); err != nil {
		t.Errorf("get_seat_list of a after SetSeatAnswer(nil): %v", err)
	}
}
