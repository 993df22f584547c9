package roomstore

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

func TestWrittenIsUsedOnlyWhenCurrent(t *testing.T) {
	w := newWritten()
	mine := &chatv1alpha1.Room{}
	mine.UID, mine.ResourceVersion, mine.Status.RoomName = "a", "120", "mine"
	w.add(mine)
	ref := func(uid types.UID, rv string) *lookup.RoomRef {
		r := &lookup.RoomRef{}
		r.UID, r.ResourceVersion = uid, rv
		return r
	}
	for _, tc := range []struct {
		index *lookup.RoomRef
		want  bool
	}{
		{ref("a", "99"), true}, // the index is behind: 99 < 120, though shorter as text
		{ref("a", "120"), true},
		{ref("a", "1000"), false}, // someone wrote since
		{ref("b", "1"), false},    // another Room
		{ref("a", "not-a-number"), false},
	} {
		got := w.current(tc.index)
		if (got != nil) != tc.want {
			t.Errorf("index has %s at %s: got %v, want written: %v", tc.index.UID, tc.index.ResourceVersion, got, tc.want)
		}
		if got != nil && (got == mine || got.Status.RoomName != "mine") {
			t.Errorf("index has %s at %s: got %p %q, want a copy of what was written", tc.index.UID, tc.index.ResourceVersion, got, got.Status.RoomName)
		}
	}
}
