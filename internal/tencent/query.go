package tencent

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CallbackQuery is the query string Tencent's sender appends to the callback
// URL. Senders of callbacks (the send-callback tool, tests, the benchmark)
// build it here, so that they all speak the protocol alike.
type CallbackQuery struct {
	SDKAppID    int64
	Command     string
	ClientIP    string // left out when empty
	OptPlatform string // left out when empty
	// Token, when set, signs the callback: Sign and RequestTime are added.
	Token string
	// RequestTime is the RequestTime to send and sign, in Unix seconds; the
	// time of Encode when empty.
	RequestTime string
	// Sign, when set, is sent instead of the Sign of Token (to test forged
	// or foreign signatures), with RequestTime.
	Sign string
}

// Encode returns the query string, in the order Tencent's sender uses:
// SdkAppid, CallbackCommand, contenttype, ClientIP, OptPlatform, then Sign
// and RequestTime.
func (q CallbackQuery) Encode(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SdkAppid=%d&CallbackCommand=%s&contenttype=json", q.SDKAppID, url.QueryEscape(q.Command))
	if q.ClientIP != "" {
		b.WriteString("&ClientIP=" + url.QueryEscape(q.ClientIP))
	}
	if q.OptPlatform != "" {
		b.WriteString("&OptPlatform=" + url.QueryEscape(q.OptPlatform))
	}
	if q.Token == "" && q.Sign == "" {
		return b.String()
	}
	requestTime := q.RequestTime
	if requestTime == "" {
		requestTime = strconv.FormatInt(now.Unix(), 10)
	}
	sign := q.Sign
	if sign == "" {
		sign = Sign(q.Token, requestTime)
	}
	fmt.Fprintf(&b, "&Sign=%s&RequestTime=%s", url.QueryEscape(sign), url.QueryEscape(requestTime))
	return b.String()
}
