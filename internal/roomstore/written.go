package roomstore

import (
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/utils/lru"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// writtenSize bounds how many written Rooms are remembered: enough for the
// rooms that are busy within the time the cache may lag behind.
const writtenSize = 1024

// written remembers the Rooms this Store wrote lately, as the writes left
// them. Until the informer cache has seen a write, its copy of the Room is
// older, and a write made on it would be refused as a conflict (costing a
// read and another write); the remembered Room is used instead. Which is
// newer is told by their resourceVersions, which Kubernetes orders for one
// object (KEP-5504).
type written struct {
	rooms *lru.Cache // types.UID → *chatv1alpha1.Room
}

func newWritten() written { return written{rooms: lru.New(writtenSize)} }

func (w written) add(room *chatv1alpha1.Room) { w.rooms.Add(room.UID, room) }

// newest returns room, or the Room this Store wrote if that is newer.
func (w written) newest(room *chatv1alpha1.Room) *chatv1alpha1.Room {
	v, ok := w.rooms.Get(room.UID)
	if !ok {
		return room
	}
	mine := v.(*chatv1alpha1.Room)
	if c, err := resourceversion.CompareResourceVersion(mine.ResourceVersion, room.ResourceVersion); err != nil || c <= 0 {
		return room
	}
	return mine.DeepCopy()
}
