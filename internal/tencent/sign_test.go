package tencent

import (
	"strings"
	"testing"
	"time"
)

// The worked example of Tencent's callback protocol documentation.
const (
	docToken       = "xxxxyyyy"
	docRequestTime = "1669872112"
	docSign        = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
)

func TestSign(t *testing.T) {
	tests := []struct{ token, requestTime, want string }{
		{docToken, docRequestTime, docSign},
		// SHA-256 of nothing.
		{"", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		if got := Sign(tt.token, tt.requestTime); got != tt.want {
			t.Errorf("Sign(%q, %q) = %s, want %s", tt.token, tt.requestTime, got, tt.want)
		}
	}
}

func TestVerifySign(t *testing.T) {
	tests := []struct {
		name        string
		sign        string
		requestTime string
		tokens      []string
		want        bool
	}{
		{"documented example", docSign, docRequestTime, []string{docToken}, true},
		{"upper-case hex", strings.ToUpper(docSign), docRequestTime, []string{docToken}, true},
		{"mixed-case hex", strings.ToUpper(docSign[:32]) + docSign[32:], docRequestTime, []string{docToken}, true},
		{"wrong token", docSign, docRequestTime, []string{"xxxxyyyz"}, false},
		{"wrong RequestTime", docSign, "1669872113", []string{docToken}, false},
		{"second token", docSign, docRequestTime, []string{"old-token", docToken}, true},
		{"first of two tokens", docSign, docRequestTime, []string{docToken, "new-token"}, true},
		{"empty token skipped", docSign, docRequestTime, []string{"", docToken}, true},
		{"no tokens", docSign, docRequestTime, nil, false},
		{"only an empty token", Sign("", docRequestTime), docRequestTime, []string{""}, false},
		{"empty sign", "", docRequestTime, []string{docToken}, false},
		{"sign too short", docSign[:62], docRequestTime, []string{docToken}, false},
		{"sign too long", docSign + "00", docRequestTime, []string{docToken}, false},
		{"sign with surrounding space", " " + docSign[:63], docRequestTime, []string{docToken}, false},
		{"sign not hex", "g" + docSign[1:], docRequestTime, []string{docToken}, false},
		{"one digit changed", "0" + docSign[1:], docRequestTime, []string{docToken}, false},
		{"base64 of the digest", "F3c7w5pnHXuaqDVFhwTSptuBNgpZQCkrWH1tdg1IQGE=", docRequestTime, []string{docToken}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySign(tt.sign, tt.requestTime, tt.tokens...); got != tt.want {
				t.Fatalf("VerifySign(%q, %q, %q) = %v, want %v", tt.sign, tt.requestTime, tt.tokens, got, tt.want)
			}
		})
	}
}

func TestParseRequestTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: docRequestTime, want: time.Date(2022, 12, 1, 5, 21, 52, 0, time.UTC)},
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: "0001669872112", want: time.Unix(1669872112, 0).UTC()},
		{in: "9223372036854775807", want: time.Unix(9223372036854775807, 0).UTC()},
		{in: "", wantErr: "RequestTime is empty"},
		{in: "-1", wantErr: `RequestTime "-1" is negative`},
		{in: "+1669872112", wantErr: `RequestTime "+1669872112" is not a number of seconds`},
		{in: " 1669872112", wantErr: `RequestTime " 1669872112" is not a number of seconds`},
		{in: "1669872112 ", wantErr: `RequestTime "1669872112 " is not a number of seconds`},
		{in: "1669872112.5", wantErr: `RequestTime "1669872112.5" is not a number of seconds`},
		{in: "1669872112123e-3", wantErr: `RequestTime "1669872112123e-3" is not a number of seconds`},
		{in: "0x10", wantErr: `RequestTime "0x10" is not a number of seconds`},
		{in: "١٢٣", wantErr: `RequestTime "١٢٣" is not a number of seconds`},
		{in: "now", wantErr: `RequestTime "now" is not a number of seconds`},
		{in: "9223372036854775808", wantErr: `RequestTime "9223372036854775808" is out of range`},
		{in: strings.Repeat("9", 40), wantErr: `RequestTime "99999999999999999999999999999999"... is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRequestTime(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseRequestTime(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRequestTime(%q): unexpected error: %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("ParseRequestTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
