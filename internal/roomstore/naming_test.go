package roomstore

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNameFor(t *testing.T) {
	for _, tc := range []struct {
		roomID string
		want   string // exact name, or a prefix when wantHash
		hashed bool
	}{
		{roomID: "rid-123", want: "rid-123"},
		{roomID: "room.1", want: "room.1"},
		{roomID: "123456", want: "123456"},
		{roomID: "Rid-123", want: "rid-123-", hashed: true},
		{roomID: "room_1", want: "room-1-", hashed: true},
		{roomID: "a/b/c", want: "a-b-c-", hashed: true},
		{roomID: "-lead", want: "lead-", hashed: true},
		{roomID: "trail.", want: "trail-", hashed: true},
		{roomID: "会议室", want: "room-", hashed: true},
		{roomID: "会议室 42", want: "42-", hashed: true},
		{roomID: "room..1", want: "room-1-", hashed: true},
		{roomID: " ", want: "room-", hashed: true},
	} {
		t.Run(tc.roomID, func(t *testing.T) {
			got := NameFor(tc.roomID)
			if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
				t.Fatalf("NameFor(%q) = %q, not a valid name: %v", tc.roomID, got, errs)
			}
			if !tc.hashed {
				if got != tc.want {
					t.Fatalf("NameFor(%q) = %q, want %q", tc.roomID, got, tc.want)
				}
				return
			}
			if !strings.HasPrefix(got, tc.want) || len(got) != len(tc.want)+hashSuffixLen {
				t.Fatalf("NameFor(%q) = %q, want %q followed by %d hex digits", tc.roomID, got, tc.want, hashSuffixLen)
			}
			if NameFor(tc.roomID) != got {
				t.Fatalf("NameFor(%q) is not deterministic", tc.roomID)
			}
		})
	}
}

func TestNameForKeepsSanitisedTwinsApart(t *testing.T) {
	twins := []string{"Room_1", "room.1 ", "ROOM-1!", "room/1", "room 1", "rOOm:1"}
	seen := map[string]string{}
	for _, id := range twins {
		name := NameFor(id)
		if prev, ok := seen[name]; ok {
			t.Fatalf("RoomIds %q and %q both map to %q", prev, id, name)
		}
		seen[name] = id
	}
}

func FuzzNameFor(f *testing.F) {
	for _, s := range []string{"rid-123", "Room_1", "会议室", "", "a/b", strings.Repeat("x", 48)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, roomID string) {
		name := NameFor(roomID)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Fatalf("NameFor(%q) = %q, not a valid name: %v", roomID, name, errs)
		}
	})
}
