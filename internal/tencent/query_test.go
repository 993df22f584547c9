package tencent

import (
	"testing"
	"time"
)

func TestCallbackQuery(t *testing.T) {
	now := time.Unix(1669872112, 0)
	for _, tc := range []struct {
		name string
		q    CallbackQuery
		want string
	}{
		{"unsigned", CallbackQuery{SDKAppID: 1400000001, Command: CommandAfterUpdateRoomInfo, ClientIP: "203.0.113.7", OptPlatform: "iOS"},
			"SdkAppid=1400000001&CallbackCommand=Room.CallbackAfterUpdateRoomInfo&contenttype=json&ClientIP=203.0.113.7&OptPlatform=iOS"},
		// The docs' worked example: token xxxxyyyy at RequestTime 1669872112.
		{"signed now", CallbackQuery{SDKAppID: 1, Command: "C", Token: "xxxxyyyy"},
			"SdkAppid=1&CallbackCommand=C&contenttype=json&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112"},
		{"signed at a given time", CallbackQuery{SDKAppID: 1, Command: "C", Token: "xxxxyyyy", RequestTime: "1669872112"},
			"SdkAppid=1&CallbackCommand=C&contenttype=json&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112"},
		{"a forged Sign", CallbackQuery{SDKAppID: 1, Command: "C", Sign: "00ff"},
			"SdkAppid=1&CallbackCommand=C&contenttype=json&Sign=00ff&RequestTime=1669872112"},
		{"escaped", CallbackQuery{SDKAppID: 1, Command: "a b&c", OptPlatform: "Mac OS"},
			"SdkAppid=1&CallbackCommand=a+b%26c&contenttype=json&OptPlatform=Mac+OS"},
	} {
		if got := tc.q.Encode(now); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
