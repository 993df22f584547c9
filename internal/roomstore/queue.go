package roomstore

import (
	"context"
	"sync"
	"sync/atomic"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// Group commit. Callbacks for one room are written by one goroutine at a
// time (per process), so they do not race each other into resourceVersion
// conflicts. While that goroutine's write is in flight, the callbacks that
// arrive for the room queue; when the write ends, they are taken together,
// applied in EventTime order to the Room as the write left it, and sent in one
// write. Each caller is answered only after the write that holds its event,
// so an answer still means stored, and a hot room costs one write per round
// trip instead of one per callback.

// request is one callback waiting for its room's next write.
type request struct {
	ctx  context.Context
	app  *chatv1alpha1.ChatApp
	ev   Event
	done chan result // buffered: the committer never waits for the caller
}

type result struct {
	outcome Outcome
	err     error
}

// queues holds the callbacks waiting for each busy room. A room is in rooms
// while a committer runs for it.
type queues struct {
	mu    sync.Mutex
	rooms map[string][]*request
}

// add queues rs for key, together. It reports whether the room was idle, in
// which case the caller must start the room's committer.
func (q *queues) add(key string, rs ...*request) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rooms == nil {
		q.rooms = make(map[string][]*request)
	}
	pending, busy := q.rooms[key]
	q.rooms[key] = append(pending, rs...)
	return !busy
}

// take removes and returns the requests waiting for key whose callers still
// wait (a caller whose context ended has been answered already). When none
// were queued the room becomes idle and take reports false: the committer
// must stop.
func (q *queues) take(key string) ([]*request, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	pending := q.rooms[key]
	if len(pending) == 0 {
		delete(q.rooms, key)
		return nil, false
	}
	q.rooms[key] = pending[:0:0]
	live := pending[:0]
	for _, r := range pending {
		if r.ctx.Err() == nil {
			live = append(live, r)
		}
	}
	return live, true
}

// batchContext returns a context that ends when the contexts of all of
// batch's callers have ended: a write is worth finishing while anyone still
// waits for it, and never after.
func batchContext(batch []*request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var waiting atomic.Int64
	waiting.Store(int64(len(batch)))
	stops := make([]func() bool, 0, len(batch))
	for _, r := range batch {
		stops = append(stops, context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel(context.Cause(r.ctx))
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel(context.Canceled)
	}
}
