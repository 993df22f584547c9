package tencenttest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

// TestCredentials: the fake tells a leak check its secret key, its
// callback token and each UserSig it accepted, and nothing it refused.
func TestCredentials(t *testing.T) {
	f := tencenttest.NewServer(t, sdkAppID, admin, key)
	f.SetCallbackToken("the-callback-token")
	sign := func(secretKey string) string {
		sig, err := tencent.UserSig(sdkAppID, secretKey, admin, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good, bad := sign(key), sign("another-key")
	for _, sig := range []string{good, bad, good} {
		q := url.Values{"sdkappid": {strconv.Itoa(sdkAppID)}, "identifier": {admin}, "usersig": {sig}, "random": {"7"}, "contenttype": {"json"}}
		resp, err := http.Post(f.URL+"/v4/room_engine_http_srv/get_room_info?"+q.Encode(), "application/json", strings.NewReader(`{"RoomId":"r"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := f.AcceptedUserSigs(); !slices.Equal(got, []string{good}) {
		t.Errorf("AcceptedUserSigs() holds %d UserSigs, want only the one that verified, once", len(got))
	}
	if f.SecretKey() != key || f.CallbackToken() != "the-callback-token" {
		t.Error("SecretKey() or CallbackToken() is not what the fake was given")
	}
	if !slices.Contains(tencenttest.Servers(), f) {
		t.Error("Servers() does not list the fake just started")
	}
}
