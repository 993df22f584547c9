package roomstore

import (
	"context"
	"sync"
)

// keyedMutex serialises work per key (one room) within this process, so that
// concurrent callbacks for the same room take turns instead of racing into
// resourceVersion conflicts. Across replicas the optimistic lock on the
// write still decides. Waiting honours the caller's context.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds one token while the key is locked
	refs int           // callers holding or waiting for the lock
}

// lock blocks until key is free or ctx is done. On success it returns the
// function that unlocks the key.
func (m *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = make(map[string]*keyLock)
	}
	l, ok := m.locks[key]
	if !ok {
		l = &keyLock{ch: make(chan struct{}, 1)}
		m.locks[key] = l
	}
	l.refs++
	m.mu.Unlock()

	release := func() {
		m.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(m.locks, key)
		}
		m.mu.Unlock()
	}

	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
