package tencent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// samples are Tencent's documented sample requests and answers, kept where
// the fake REST API (tencenttest) reads them too.
const samples = "tencenttest/testdata"

func sample(t *testing.T, command, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, command, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// answering returns a client whose every call is answered with answer,
// verbatim, and which records the request bodies it sent.
func answering(t *testing.T, answer []byte) (*RESTClient, *[]string, *[]map[string]any) {
	t.Helper()
	var bodies []map[string]any
	c, observed := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		bodies = append(bodies, body)
		_, _ = w.Write(answer)
	})
	return c, observed, &bodies
}

// TestGetRoomInfoDecodesTheDocumentedSample decodes Tencent's sample answer
// verbatim, and sends a request shaped as Tencent's sample request.
func TestGetRoomInfoDecodesTheDocumentedSample(t *testing.T) {
	c, observed, bodies := answering(t, sample(t, CommandGetRoomInfo, "response.json"))
	info, err := c.GetRoomInfo(context.Background(), "room-test")
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *String { v := String(s); return &v }
	i64 := func(n int64) *Int64 { v := Int64(n); return &v }
	yes := func() *Bool { v := Bool(true); return &v }
	want := &RoomInfo{
		RoomID: str("room-test"), RoomName: str("room-name-test"), RoomType: str("Conference"),
		OwnerAccount: str("user2"), MaxMemberCount: i64(300), MaxSeatCount: i64(16),
		IsVideoDisabled: yes(), IsAudioDisabled: yes(), IsMessageDisabled: yes(),
		IsScreenSharingDisabled: yes(), IsCloudRecordingDisabled: yes(), CustomInfo: str("custom123"),
		ScheduleStartTime: i64(1703491546), ScheduleEndTime: i64(1703495146), RoomStatus: str("Running"),
		IsSeatEnabled: yes(), TakeSeatMode: str("ApplyToTake"), CreateTime: i64(1703491546),
	}
	if !reflect.DeepEqual(info, want) {
		got, _ := json.Marshal(info)
		exp, _ := json.Marshal(want)
		t.Errorf("decoded\n%s\nwant\n%s", got, exp)
	}
	if len(*observed) != 1 || (*observed)[0] != "get_room_info 0" {
		t.Errorf("observed %v", *observed)
	}

	var wantBody map[string]any
	if err := json.Unmarshal(sample(t, CommandGetRoomInfo, "request.json"), &wantBody); err != nil {
		t.Fatal(err)
	}
	if len(*bodies) != 1 || !reflect.DeepEqual((*bodies)[0], wantBody) {
		t.Errorf("request bodies %v, want the documented %v", *bodies, wantBody)
	}
}

// TestGetRoomInfoErrorsFromTheDocumentedSamples maps each documented
// failure to its error, without retrying an answer that retrying cannot
// change.
func TestGetRoomInfoErrorsFromTheDocumentedSamples(t *testing.T) {
	for _, tc := range []struct {
		file              string
		code              int
		notFound, creds   bool
		attemptsAtLeast   int
		observedFirstCode string
	}{
		{file: "error-100004.json", code: 100004, notFound: true, attemptsAtLeast: 1},
		{file: "error-70001.json", code: 70001, creds: true, attemptsAtLeast: 1},
		{file: "error-70009.json", code: 70009, creds: true, attemptsAtLeast: 1},
		{file: "error-100002.json", code: 100002, attemptsAtLeast: 1},
		{file: "error-100006.json", code: 100006, attemptsAtLeast: 1},
		{file: "error-90001.json", code: 90001, attemptsAtLeast: 1},
		{file: "error-100001.json", code: 100001, attemptsAtLeast: 3}, // internal error: tried again
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, observed, bodies := answering(t, sample(t, CommandGetRoomInfo, tc.file))
			_, err := c.GetRoomInfo(context.Background(), "room-test")
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.Info == "" {
				t.Fatalf("error %v, want an APIError with ErrorCode %d and its ErrorInfo", err, tc.code)
			}
			if errors.Is(err, ErrRoomNotFound) != tc.notFound || errors.Is(err, ErrCredentials) != tc.creds || errors.Is(err, ErrBadAnswer) {
				t.Errorf("error %v: not found %v, credentials %v", err, errors.Is(err, ErrRoomNotFound), errors.Is(err, ErrCredentials))
			}
			if len(*bodies) != tc.attemptsAtLeast {
				t.Errorf("%d attempts, want %d", len(*bodies), tc.attemptsAtLeast)
			}
			for _, o := range *observed {
				if o != "get_room_info "+apiErrCode(tc.code) {
					t.Errorf("observed %q", o)
				}
			}
		})
	}
}

func apiErrCode(code int) string { b, _ := json.Marshal(code); return string(b) }

// TestGetRoomInfoRefusesUndocumentedAnswers: an OK answer without
// Response.RoomInfo (like the RoomInfo at the top level that roomsync used
// to read) is a bad answer that quotes what came.
func TestGetRoomInfoRefusesUndocumentedAnswers(t *testing.T) {
	for _, answer := range []string{
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RoomInfo":{"RoomId":"room-test","RoomName":"top level"}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"RoomInfo":null}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"RoomInfo":{"RoomId":"another-room"}}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":{"RoomInfo":{"RoomId":"room-test","MaxMemberCount":true}}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Response":"RoomInfo"}`,
		`<html>502 Bad Gateway</html>`,
		`{}`,
	} {
		c, observed, _ := answering(t, []byte(answer))
		_, err := c.GetRoomInfo(context.Background(), "room-test")
		var bad *BadAnswerError
		if !errors.Is(err, ErrBadAnswer) || !errors.As(err, &bad) {
			t.Errorf("%s: error %v, want a bad answer", answer, err)
			continue
		}
		if !strings.HasPrefix(answer, bad.Answer) || bad.Answer == "" || !strings.Contains(err.Error(), bad.Answer[:min(len(bad.Answer), 20)]) {
			t.Errorf("%s: the error %q does not quote the answer's start", answer, err)
		}
		if len(*observed) != 1 || (*observed)[0] != "get_room_info bad_answer" {
			t.Errorf("%s: observed %v, want one bad_answer", answer, *observed)
		}
	}

	long := `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"` + strings.Repeat("x", 5000) + `"}`
	c, _, _ := answering(t, []byte(long))
	_, err := c.GetRoomInfo(context.Background(), "room-test")
	var bad *BadAnswerError
	if !errors.As(err, &bad) || len(bad.Answer) != answerQuoteBytes {
		t.Errorf("a long answer is quoted with %d bytes, want %d", len(bad.Answer), answerQuoteBytes)
	}
}
