package tencent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// sent is what a client sent: the URL path and the body, decoded.
type sent struct {
	path string
	body map[string]any
}

// answeringFile returns a client whose every call is answered with the
// documented sample dir/name, verbatim, and which records what it sent.
func answeringFile(t *testing.T, dir, name string) (*RESTClient, *[]string, *[]sent) {
	t.Helper()
	answer := sample(t, dir, name)
	var got []sent
	c, observed := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		got = append(got, sent{r.URL.Path, body})
		_, _ = w.Write(answer)
	})
	return c, observed, &got
}

// documentedRequest is the sample request of dir, decoded.
func documentedRequest(t *testing.T, dir string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sample(t, dir, "request.json"), &m); err != nil {
		t.Fatalf("%s/request.json: %v", dir, err)
	}
	return m
}

func ptr[T any](v T) *T { return &v }

// TestCallsSendTheDocumentedRequests: for each call, the client asked for
// the values of Tencent's sample request sends that request, to the
// documented path, and reads the documented OK answer as success.
func TestCallsSendTheDocumentedRequests(t *testing.T) {
	ctx := context.Background()
	yes := ptr(true)
	for _, tc := range []struct {
		dir, path, observed string
		call                func(c *RESTClient) error
	}{
		{CommandCreateRoom, "/v4/room_engine_http_srv/create_room", "create_room 0", func(c *RESTClient) error {
			return c.CreateRoom(ctx, RoomSettings{
				RoomID: "room-test", RoomName: ptr("room-name-test"), RoomType: "Conference", OwnerAccount: ptr("user2"),
				MaxMemberCount: ptr[int64](300), ScheduleStartTime: ptr[int64](1693271355), ScheduleEndTime: ptr[int64](1693272355),
				IsVideoDisabled: yes, IsAudioDisabled: yes, IsMessageDisabled: yes, IsScreenSharingDisabled: yes,
				IsCloudRecordingDisabled: yes, CustomInfo: ptr("custom123"), IsSeatEnabled: yes, MaxSeatCount: ptr[int64](16),
				TakeSeatMode: ptr("ApplyToTake"),
			}, []string{"user1", "user2", "user3"})
		}},
		{CommandUpdateRoom, "/v4/room_engine_http_srv/update_room_info", "update_room_info 0", func(c *RESTClient) error {
			return c.UpdateRoomInfo(ctx, RoomUpdate{
				RoomID: "room-test", RoomName: ptr("room-name-test"), MaxMemberCount: ptr[int64](300),
				IsVideoDisabled: yes, IsAudioDisabled: yes, IsMessageDisabled: yes, IsScreenSharingDisabled: yes,
				IsCloudRecordingDisabled: yes, CustomInfo: ptr("custom123"), TakeSeatMode: ptr("ApplyToTake"),
			})
		}},
		{CommandDestroyRoom, "/v4/room_engine_http_srv/destroy_room", "destroy_room 0", func(c *RESTClient) error {
			return c.DestroyRoom(ctx, "room-test")
		}},
		{CommandGetSeatList, "/v4/room_engine_http_mic/get_seat_list", "get_seat_list 0", func(c *RESTClient) error {
			_, err := c.GetSeatList(ctx, "room-test")
			return err
		}},
		{"room_config.set_callback", "/v4/room_config/set_callback", "set_callback 0", func(c *RESTClient) error {
			return c.SetCallback(ctx, CallbackConfig{URL: "http://www.example.com/callback",
				Commands: []string{CommandAfterMemberLeave, CommandAfterSeatInfoChanged}})
		}},
		{"room_config.update_callback", "/v4/room_config/update_callback", "update_callback 0", func(c *RESTClient) error {
			return c.UpdateCallback(ctx, CallbackConfig{URL: "http://www.example.com/callback",
				Commands: []string{CommandAfterMemberLeave, CommandAfterSeatInfoChanged}})
		}},
		{"room_config.get_callback", "/v4/room_config/get_callback", "get_callback 0", func(c *RESTClient) error {
			_, err := c.GetCallback(ctx)
			return err
		}},
		{"room_config.delete_callback", "/v4/room_config/delete_callback", "delete_callback 0", func(c *RESTClient) error {
			return c.DeleteCallback(ctx)
		}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			c, observed, got := answeringFile(t, tc.dir, "response.json")
			if err := tc.call(c); err != nil {
				t.Fatalf("the documented answer: %v", err)
			}
			want := documentedRequest(t, tc.dir)
			if len(*got) != 1 || (*got)[0].path != tc.path || !reflect.DeepEqual((*got)[0].body, want) {
				t.Errorf("sent %+v, want %s with the documented %v", *got, tc.path, want)
			}
			if len(*observed) != 1 || (*observed)[0] != tc.observed {
				t.Errorf("observed %v, want %q", *observed, tc.observed)
			}
		})
	}
}

// TestRequestsLeaveOutWhatIsNotSet: only the fields set are sent, so an
// update keeps the others and a creation gets Tencent's defaults.
func TestRequestsLeaveOutWhatIsNotSet(t *testing.T) {
	ctx := context.Background()
	c, _, got := answeringFile(t, CommandUpdateRoom, "response.json")
	if err := c.UpdateRoomInfo(ctx, RoomUpdate{RoomID: "r", RoomName: ptr("n"), IsMessageDisabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRoom(ctx, RoomSettings{RoomID: "r"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SetCallback(ctx, CallbackConfig{URL: "https://x"}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []map[string]any{
		{"RoomInfo": map[string]any{"RoomId": "r", "RoomName": "n", "IsMessageDisabled": false}},
		{"RoomInfo": map[string]any{"RoomId": "r", "RoomType": "Conference"}},
		{"Url": "https://x", "CallbackCommandList": []any{}},
	} {
		if !reflect.DeepEqual((*got)[i].body, want) {
			t.Errorf("sent %v, want %v", (*got)[i].body, want)
		}
	}
}

// TestAnswersDecodeTheDocumentedSamples decodes each documented answer that
// carries data, verbatim.
func TestAnswersDecodeTheDocumentedSamples(t *testing.T) {
	ctx := context.Background()

	c, _, _ := answeringFile(t, CommandGetSeatList, "response.json")
	seats, err := c.GetSeatList(ctx, "room-test")
	if err != nil {
		t.Fatal(err)
	}
	no := ptr(Bool(false))
	want := []SeatInfo{
		{Index: ptr(Int64(0)), MemberAccount: ptr(String("user2")), IsTakenDisabled: no, IsVideoDisabled: no, IsAudioDisabled: no},
		{Index: ptr(Int64(1)), IsTakenDisabled: no, IsVideoDisabled: no, IsAudioDisabled: no},
	}
	if !reflect.DeepEqual(seats, want) {
		t.Errorf("seats %+v, want %+v", seats, want)
	}

	c, _, _ = answeringFile(t, "room_config.get_callback", "response.json")
	cfg, err := c.GetCallback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := CallbackConfig{URL: "http://www.example.com/callback", Commands: []string{
		CommandAfterCreateRoom, CommandAfterDestroyRoom, CommandUpdateRoomInfo,
		CommandAfterMemberEnter, CommandAfterMemberLeave, CommandAfterSeatInfoChanged,
	}}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("callback configuration %+v, want %+v", cfg, wantCfg)
	}

	c, _, _ = answeringFile(t, CommandGetRoomInfo, "response.json")
	details, err := c.GetRoomDetails(ctx, "room-test")
	if err != nil {
		t.Fatal(err)
	}
	if details.MemberCount == nil || *details.MemberCount != 1 || details.RoomID == nil || *details.RoomID != "room-test" || *details.MaxSeatCount != 16 {
		t.Errorf("details %+v: want the sample's MemberCount 1 beside its RoomInfo", details)
	}
}

// TestCallErrorsFromTheDocumentedSamples maps the documented failures of
// the new calls to their errors.
func TestCallErrorsFromTheDocumentedSamples(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dir, file string
		call      func(c *RESTClient) error
		code      int
		target    error
	}{
		{CommandDestroyRoom, "error-100004.json", func(c *RESTClient) error { return c.DestroyRoom(ctx, "room-test") }, CodeRoomNotFound, ErrRoomNotFound},
		{CommandGetRoomInfo, "error-100004.json", func(c *RESTClient) error { return c.UpdateRoomInfo(ctx, RoomUpdate{RoomID: "room-test"}) }, CodeRoomNotFound, ErrRoomNotFound},
		{CommandGetRoomInfo, "error-100004.json", func(c *RESTClient) error { _, err := c.GetSeatList(ctx, "room-test"); return err }, CodeRoomNotFound, ErrRoomNotFound},
		{CommandGetRoomInfo, "error-70009.json", func(c *RESTClient) error { return c.CreateRoom(ctx, RoomSettings{RoomID: "r"}, nil) }, 70009, ErrCredentials},
		{"room_config.update_callback", "error-100301.json", func(c *RESTClient) error { return c.UpdateCallback(ctx, CallbackConfig{URL: "https://x"}) }, CodeCallbackNotFound, ErrCallbackNotFound},
		{CommandGetRoomInfo, "error-100002.json", func(c *RESTClient) error { return c.CreateRoom(ctx, RoomSettings{RoomID: "r"}, nil) }, CodeBadParameter, nil},
		{CommandGetRoomInfo, "error-100006.json", func(c *RESTClient) error { return c.DestroyRoom(ctx, "r") }, CodeNoPermission, nil},
	} {
		c, _, got := answeringFile(t, tc.dir, tc.file)
		err := tc.call(c)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != tc.code {
			t.Errorf("%s/%s: error %v, want ErrorCode %d", tc.dir, tc.file, err, tc.code)
			continue
		}
		for _, target := range []error{ErrRoomNotFound, ErrCredentials, ErrCallbackNotFound, ErrBadAnswer} {
			if errors.Is(err, target) != errors.Is(tc.target, target) {
				t.Errorf("%s/%s: errors.Is(%v, %v) is %v", tc.dir, tc.file, err, target, errors.Is(err, target))
			}
		}
		if len(*got) != 1 {
			t.Errorf("%s/%s: %d attempts; a documented failure is not retried", tc.dir, tc.file, len(*got))
		}
	}
}

// TestCallsRefuseUndocumentedAnswers: an OK answer without what the call
// documents is a bad answer (get_callback reads an answer without a Url as
// no configuration: TestGetCallbackReadsAnAnswerWithoutURLAsNone).
func TestCallsRefuseUndocumentedAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		call, answer string
	}{
		{"get_seat_list", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`},
		{"get_seat_list", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{}}`},
		{"get_seat_list", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","SeatList":[],"Url":"http://x","CallbackCommandList":[]}`},
		{"get_seat_list", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"SeatList":null,"Url":null}}`},
		{"get_seat_list", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"SeatList":{},"Url":7,"CallbackCommandList":"x"}}`},
		{"get_callback", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"SeatList":{},"Url":7,"CallbackCommandList":"x"}}`},
		{"get_callback", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"Url":"http://x"}}`},
		{"get_callback", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"Url":"http://x","CallbackCommandList":null}}`},
		{"get_callback", `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":"Url"}`},
	} {
		call := map[string]func(c *RESTClient) error{
			"get_seat_list": func(c *RESTClient) error { _, err := c.GetSeatList(ctx, "r"); return err },
			"get_callback":  func(c *RESTClient) error { _, err := c.GetCallback(ctx); return err },
		}[tc.call]
		c, observed := restClient(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tc.answer)) })
		if err := call(c); !errors.Is(err, ErrBadAnswer) || errors.Is(err, ErrCallbackNotFound) {
			t.Errorf("%s answered %s: error %v, want a bad answer", tc.call, tc.answer, err)
		}
		if len(*observed) != 1 || (*observed)[0] != tc.call+" bad_answer" {
			t.Errorf("%s: observed %v", tc.call, *observed)
		}
	}
	// Calls that return nothing accept any OK answer.
	c, _ := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`))
	})
	if err := c.DestroyRoom(ctx, "r"); err != nil {
		t.Errorf("destroy_room: %v", err)
	}
}

// TestGetCallbackReadsAnAnswerWithoutURLAsNone: Tencent does not document
// what get_callback answers for an app without a callback configuration.
// An OK answer without a Response, or whose Response has no Url or an empty
// one, means none, as FAIL 100301 does: not a bad answer, which would stop
// the registration for good.
func TestGetCallbackReadsAnAnswerWithoutURLAsNone(t *testing.T) {
	ctx := context.Background()
	answers := map[string][]byte{
		"response-no-response.json": sample(t, "room_config.get_callback", "response-no-response.json"),
		"response-empty-url.json":   sample(t, "room_config.get_callback", "response-empty-url.json"),
		"error-100301.json":         sample(t, "room_config.update_callback", "error-100301.json"),
	}
	for name, answer := range map[string]string{
		"Response null":            `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":null}`,
		"Response empty":           `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{}}`,
		"Response without Url":     `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"CallbackCommandList":["Room.CallbackAfterCreateRoom"]}}`,
		"Url null":                 `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"Url":null,"CallbackCommandList":null}}`,
		"Url empty, no list":       `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"Url":""}}`,
		"no ActionStatus, no Resp": `{"ErrorCode":0,"ErrorInfo":""}`,
	} {
		answers[name] = []byte(answer)
	}
	for name, answer := range answers {
		c, observed, _ := answering(t, answer)
		cfg, err := c.GetCallback(ctx)
		if !errors.Is(err, ErrCallbackNotFound) || errors.Is(err, ErrBadAnswer) || !reflect.DeepEqual(cfg, CallbackConfig{}) {
			t.Errorf("%s: %+v, error %v: want no configuration", name, cfg, err)
		}
		if len(*observed) != 1 {
			t.Errorf("%s: observed %v, want one attempt", name, *observed)
		}
	}
}
