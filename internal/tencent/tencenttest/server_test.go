package tencenttest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

const (
	sdkAppID = 1400000001
	admin    = "administrator"
	key      = "the-secret-key"
)

// post sends body to the fake as Tencent's documentation says a client does
// and returns the answer, decoded as generic JSON.
func post(t *testing.T, f *tencenttest.Server, secretKey string, body []byte) map[string]any {
	t.Helper()
	sig, err := tencent.UserSig(sdkAppID, secretKey, admin, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"sdkappid": {strconv.Itoa(sdkAppID)}, "identifier": {admin}, "usersig": {sig}, "random": {"99999999"}, "contenttype": {"json"}}
	resp, err := http.Post(f.URL+"/v4/room_engine_http_srv/get_room_info?"+q.Encode(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, data)
	}
	var answer map[string]any
	if err := json.Unmarshal(data, &answer); err != nil {
		t.Fatalf("answer %s: %v", data, err)
	}
	return answer
}

// shape lists every member path of v with its JSON type, e.g.
// "Response.RoomInfo.MaxMemberCount number".
func shape(prefix string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			shape(prefix+k+".", child, out)
		}
		return
	case string:
		*out = append(*out, prefix+" string")
	case float64:
		*out = append(*out, prefix+" number")
	case bool:
		*out = append(*out, prefix+" bool")
	default:
		*out = append(*out, prefix+" other")
	}
}

func shapeOf(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	shape("", v, &out)
	sort.Strings(out)
	return out
}

// TestAnswersAsDocumented holds the fake to Tencent's documented sample
// answers: the same members, of the same JSON types, at the same places.
func TestAnswersAsDocumented(t *testing.T) {
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	f.SetRoom("room-test", "room-name-test")

	var sample map[string]any
	if err := json.Unmarshal(tencenttest.Sample(tencent.CommandGetRoomInfo, "response.json"), &sample); err != nil {
		t.Fatal(err)
	}
	got := post(t, f, key, tencenttest.Sample(tencent.CommandGetRoomInfo, "request.json"))
	if !reflect.DeepEqual(shapeOf(t, got), shapeOf(t, sample)) {
		t.Errorf("the fake's answer\n%v\nis not shaped as the documented sample\n%v", shapeOf(t, got), shapeOf(t, sample))
	}
	if got["RequestId"] == sample["RequestId"] {
		t.Error("the fake repeats the sample's RequestId instead of making its own")
	}
	delete(got, "RequestId")
	delete(sample, "RequestId")
	if !reflect.DeepEqual(got, sample) {
		t.Errorf("for the sample's room, the fake answers\n%v\nnot the documented\n%v", got, sample)
	}

	for _, tc := range []struct {
		name      string
		secretKey string
		body      string
		code      float64
	}{
		{"room that does not exist", key, `{"RoomId":"nowhere"}`, tencent.CodeRoomNotFound},
		{"wrong secret key", "another-key", `{"RoomId":"room-test"}`, tencenttest.CodeBadUserSig},
		{"body that is not JSON", key, `{"RoomId":`, tencenttest.CodeBadBody},
		{"no RoomId", key, `{}`, tencenttest.CodeBadParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := post(t, f, tc.secretKey, []byte(tc.body))
			if got["ActionStatus"] != "FAIL" || got["ErrorCode"] != tc.code || got["ErrorInfo"] == "" {
				t.Errorf("answer %v, want FAIL with ErrorCode %v and an ErrorInfo", got, tc.code)
			}
		})
	}
}
