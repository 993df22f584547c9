package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// maxCatchUpRooms bounds status.resync.catchUp.rooms (the CRD's MaxItems).
const maxCatchUpRooms = 100

// LostEvents records, on each replica, the rooms whose events roomsync
// knows it lost (a callback answered with an error after it was
// authenticated, a spooled event dead-lettered), and asks their ChatApp for
// a catch-up of those rooms: status.resync.catchUp.rooms, read by the
// leader's resync ahead of the sweep. Lost is cheap and never blocks the
// receiver; the ChatApps are written every Flush (2 s when zero), and what
// could not be written (the API server is down, often the very reason the
// events were lost) is tried again until it is.
type LostEvents struct {
	Client    client.Client
	APIReader client.Reader
	Flush     time.Duration
	Log       logr.Logger

	mu   sync.Mutex
	lost map[types.NamespacedName]*lostRooms
}

// lostRooms is what one ChatApp lost since the last write.
type lostRooms struct {
	first time.Time
	rooms map[string]bool
}

// NeedLeaderElection is false: every replica receives callbacks.
func (l *LostEvents) NeedLeaderElection() bool { return false }

// Lost records that roomID of app missed an event at at.
func (l *LostEvents) Lost(app types.NamespacedName, roomID string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = map[types.NamespacedName]*lostRooms{}
	}
	r := l.lost[app]
	if r == nil {
		r = &lostRooms{first: at, rooms: map[string]bool{}}
		l.lost[app] = r
	}
	if at.Before(r.first) {
		r.first = at
	}
	if len(r.rooms) <= maxCatchUpRooms {
		r.rooms[roomID] = true
	}
}

// Start writes what was lost every Flush until ctx ends, and once more
// after.
func (l *LostEvents) Start(ctx context.Context) error {
	if l.Flush <= 0 {
		l.Flush = 2 * time.Second
	}
	everyUntilDone(ctx, l.Flush, l.write)
	return nil
}

// everyUntilDone calls f every period until ctx ends, then once more with
// a context of its own (of 5 s): what a runnable gathered last is written
// as the replica stops.
func everyUntilDone(ctx context.Context, period time.Duration, f func(context.Context)) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f(last)
			return
		case <-ticker.C:
			f(ctx)
		}
	}
}

// write asks each ChatApp that lost events for a catch-up, keeping what it
// could not write for the next time.
func (l *LostEvents) write(ctx context.Context) {
	l.mu.Lock()
	lost := l.lost
	l.lost = nil
	l.mu.Unlock()
	for app, r := range lost {
		rooms := make([]string, 0, len(r.rooms))
		for id := range r.rooms {
			rooms = append(rooms, id)
		}
		var since *time.Time
		if len(rooms) > maxCatchUpRooms {
			since, rooms = &r.first, nil
		}
		err := askCatchUp(ctx, l.Client, l.APIReader, app, since, rooms, chatv1alpha1.EventsNotStoredReason)
		if apierrors.IsInvalid(err) {
			// Trying again would be refused again (the receiver stores only
			// RoomIds the schema takes, so this is not expected): the sweep
			// reads these rooms in their turn.
			l.Log.Error(err, "Asking for a catch-up of the rooms that lost events was refused; the sweep reads them in their turn", "chatApp", app, "rooms", len(r.rooms))
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				l.Log.Error(err, "Asking for a catch-up of the rooms that lost events; trying again", "chatApp", app, "rooms", len(r.rooms))
			}
			for id := range r.rooms {
				l.Lost(app, id, r.first)
			}
		}
	}
}

// askCatchUp adds to app's status.resync.catchUp: since (the earlier of
// the two), rooms (a union; past maxCatchUpRooms, since becomes the time of
// the first loss instead), and reason when it has none. It reads the
// ChatApp from the API server, so that two replicas' asks add up.
func askCatchUp(ctx context.Context, c client.Client, reader client.Reader, key types.NamespacedName, since *time.Time, rooms []string, reason string) error {
	err := updateCatchUp(ctx, c, reader, key, retry.DefaultRetry, func(app *chatv1alpha1.ChatApp) bool {
		if app.Spec.RestAPI == nil {
			return false // no resync to catch up with
		}
		if app.Status.Resync == nil {
			app.Status.Resync = &chatv1alpha1.ChatAppResync{}
		}
		before := app.Status.Resync.CatchUp
		cu := before.DeepCopy()
		if cu == nil {
			cu = &chatv1alpha1.ResyncCatchUp{Reason: reason}
		}
		if since != nil && (cu.Since == nil || since.Before(cu.Since.Time)) {
			cu.Since = &metav1.Time{Time: *since}
		}
		for _, id := range rooms {
			if !slices.Contains(cu.Rooms, id) {
				cu.Rooms = append(cu.Rooms, id)
			}
		}
		if len(cu.Rooms) > maxCatchUpRooms {
			// Too many to name: every Room active lately.
			now := time.Now()
			if cu.Since == nil || now.Before(cu.Since.Time) {
				cu.Since = &metav1.Time{Time: now}
			}
			cu.Rooms = nil
		}
		app.Status.Resync.CatchUp = cu
		return !equality.Semantic.DeepEqual(before, cu)
	})
	if err != nil {
		return fmt.Errorf("asking ChatApp %s for a catch-up: %w", key, err)
	}
	return nil
}

// updateCatchUp changes key's status.resync.catchUp with change, which
// reports whether it changed anything. It reads the ChatApp with reader and
// writes with optimistic locking, trying again after backoff on a
// conflict: what replicas ask for, and the resync's clearing of what it
// caught up, never overwrite each other.
func updateCatchUp(ctx context.Context, c client.Client, reader client.Reader, key types.NamespacedName,
	backoff wait.Backoff, change func(*chatv1alpha1.ChatApp) bool) error {
	return retry.RetryOnConflict(backoff, func() error {
		app := &chatv1alpha1.ChatApp{}
		if err := reader.Get(ctx, key, app); err != nil {
			return client.IgnoreNotFound(err)
		}
		patch := client.MergeFromWithOptions(app.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if !change(app) {
			return nil
		}
		return c.Status().Patch(ctx, app, patch, client.FieldOwner(CatchUpFieldManager))
	})
}
