package roomstore

import (
	"context"
	"testing"
	"time"
)

func TestQueuesStartOneCommitterPerBusyRoom(t *testing.T) {
	var q queues
	r := func(ctx context.Context) *request { return &request{ctx: ctx, done: make(chan result, 1)} }
	ctx := context.Background()

	if !q.add("a", r(ctx)) {
		t.Fatal("first request of an idle room must start its committer")
	}
	if q.add("a", r(ctx)) {
		t.Fatal("a busy room must not get a second committer")
	}
	if !q.add("b", r(ctx)) {
		t.Fatal("rooms are independent")
	}

	gone, cancel := context.WithCancel(ctx)
	cancel()
	q.add("a", r(gone))
	batch, ok := q.take("a")
	if !ok || len(batch) != 2 {
		t.Fatalf("take = %d requests, %v; want the 2 whose callers still wait", len(batch), ok)
	}
	// Taken but not done: the room stays busy until a take finds nothing.
	if q.add("a", r(ctx)) {
		t.Fatal("a room whose committer runs must not get a second one")
	}
	if batch, ok := q.take("a"); !ok || len(batch) != 1 {
		t.Fatalf("take = %d requests, %v; want 1", len(batch), ok)
	}
	if _, ok := q.take("a"); ok {
		t.Fatal("take on an empty queue must end the committer")
	}
	if !q.add("a", r(ctx)) {
		t.Fatal("an idle room's next request must start a committer again")
	}
}

func TestBatchContextEndsWhenNobodyWaits(t *testing.T) {
	first, cancelFirst := context.WithCancel(context.Background())
	second, cancelSecond := context.WithTimeout(context.Background(), time.Hour)
	defer cancelSecond()
	ctx, cancel := batchContext([]*request{{ctx: first}, {ctx: second}})
	defer cancel()

	cancelFirst()
	select {
	case <-ctx.Done():
		t.Fatal("the batch ended while a caller still waits")
	case <-time.After(20 * time.Millisecond):
	}
	cancelSecond()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("the batch goes on after every caller left")
	}
}
