package roomstore

import (
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/utils/lru"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// writtenSize bounds how many written Rooms are remembered: enough for the
// rooms that are busy within the time the cache may lag behind.
const writtenSize = 1024

// written remembers the Rooms this Store wrote lately, as the writes left
// them: a busy room is written from what this Store wrote last, without
// reading it back, as long as nobody else wrote it since (the RoomIndex has
// no newer resourceVersion). Which is newer is told by their
// resourceVersions, which Kubernetes orders for one object (KEP-5504).
type written struct {
	rooms *lru.Cache // types.UID → *chatv1alpha1.Room
}

func newWritten() written { return written{rooms: lru.New(writtenSize)} }

func (w written) add(room *chatv1alpha1.Room) { w.rooms.Add(room.UID, room) }

// current returns a copy of the Room ref names as this Store wrote it
// last, if that write is at least as new as ref; nil otherwise.
func (w written) current(ref *lookup.RoomRef) *chatv1alpha1.Room {
	v, ok := w.rooms.Get(ref.UID)
	if !ok {
		return nil
	}
	mine := v.(*chatv1alpha1.Room)
	if c, err := resourceversion.CompareResourceVersion(mine.ResourceVersion, ref.ResourceVersion); err != nil || c < 0 {
		return nil
	}
	return mine.DeepCopy()
}
