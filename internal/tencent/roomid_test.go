package tencent

import (
	"strings"
	"testing"
)

func TestValidateRoomID(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantErr string // "": valid
	}{
		{name: "sample", id: "rid-123"},
		{name: "one byte", id: "r"},
		{name: "unicode", id: "会议室-①"},
		{name: "slashes and dots", id: "../a/b.c/./"},
		{name: "spaces and symbols", id: " Room #1 (test) "},
		{name: "48 bytes", id: strings.Repeat("a", 48)},
		{name: "48 bytes of 3-byte runes", id: strings.Repeat("会", 16)},
		{name: "empty", id: "", wantErr: "RoomId is empty"},
		{name: "49 bytes", id: strings.Repeat("a", 49), wantErr: "RoomId is 49 bytes long, more than the 48 allowed"},
		{name: "17 3-byte runes", id: strings.Repeat("会", 17), wantErr: "RoomId is 51 bytes long, more than the 48 allowed"},
		{name: "invalid UTF-8", id: "room-\xff", wantErr: "RoomId is not valid UTF-8"},
		{name: "truncated rune", id: "会"[:2], wantErr: "RoomId is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRoomID(tt.id)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateRoomID(%q) = %v, want nil", tt.id, err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("ValidateRoomID(%q) = %v, want %q", tt.id, err, tt.wantErr)
			}
		})
	}
}
