package roomstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestKeyedMutexSerialisesOneKey(t *testing.T) {
	var m keyedMutex
	var inside, maxInside int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			unlock, err := m.lock(context.Background(), "room")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once, want 1", maxInside)
	}
	if len(m.locks) != 0 {
		t.Fatalf("%d keys left in the map after all unlocked, want 0", len(m.locks))
	}
}

func TestKeyedMutexOtherKeysDoNotWait(t *testing.T) {
	var m keyedMutex
	unlock, err := m.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	unlockB, err := m.lock(ctx, "b")
	if err != nil {
		t.Fatalf("locking another key while %q is held: %v", "a", err)
	}
	unlockB()
}

func TestKeyedMutexGivesUpWithContext(t *testing.T) {
	var m keyedMutex
	unlock, err := m.lock(context.Background(), "room")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := m.lock(ctx, "room"); err == nil {
		t.Fatal("second lock of a held key succeeded, want the context's error")
	}
	unlock()
	if len(m.locks) != 0 {
		t.Fatalf("%d keys left after the waiter gave up and the holder unlocked, want 0", len(m.locks))
	}
}
