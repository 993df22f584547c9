package roomstore

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

func TestWrittenIsUsedOnlyWhenNewerThanTheCache(t *testing.T) {
	room := func(uid types.UID, rv, name string) *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{}
		r.UID, r.ResourceVersion, r.Status.RoomName = uid, rv, name
		return r
	}
	w := newWritten()
	w.add(room("a", "120", "mine"))
	for _, tc := range []struct {
		cached *chatv1alpha1.Room
		want   string
	}{
		{room("a", "99", "cache behind"), "mine"}, // 99 < 120, though shorter as text
		{room("a", "120", "cache caught up"), "cache caught up"},
		{room("a", "1000", "someone wrote since"), "someone wrote since"},
		{room("b", "1", "another Room"), "another Room"},
		{room("a", "not-a-number", "unordered"), "unordered"},
	} {
		if got := w.newest(tc.cached).Status.RoomName; got != tc.want {
			t.Errorf("cache has %s at %s: got %q, want %q", tc.cached.UID, tc.cached.ResourceVersion, got, tc.want)
		}
	}
}
