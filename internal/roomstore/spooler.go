package roomstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/spool"
)

// Spooled: the API server did not take the event's write in time, so the
// event was put in the spool on local disk, to be written by the replayer
// (replay.go). It is stored: durable, and written into its Room as soon as
// the API server takes writes again.
const Spooled Outcome = "spooled"

// ErrSpoolFull is returned when an event could be neither written nor
// spooled because the spool holds --spool-max-bytes already.
var ErrSpoolFull = errors.New("the spool is full")

// Spooler is the receiver's write path when a spool directory is set. It
// writes through the Store as usual; when the API server does not take an
// event's write within WriteTimeout, or refuses it in a way that retrying
// may fix, it puts the event in the spool instead, so that an OK answer
// still means stored. Start runs the replayer, which writes spooled events
// into their Rooms, oldest first, once the API server takes writes again.
//
// Order: while a room has events in the spool, its newer events are spooled
// behind them rather than written past them; and while the API server is
// known not to take writes, every event is spooled at once, so callbacks are
// answered fast during an outage instead of each waiting WriteTimeout. It
// is known not to when a write failed because it could not be reached
// (connection refused, 503) or when no write at all has been taken for
// longer than WriteTimeout; until a replay works. A write that is merely
// slow while others are taken (a saturated API server) spools only its own
// event.
type Spooler struct {
	Store *Store
	Spool *spool.Spool
	// WriteTimeout is how long a callback's write may take before its event
	// is spooled instead. Keep it well under --callback-timeout: spooling
	// takes an fsync.
	WriteTimeout time.Duration
	// Apps reads the ChatApps of spooled events at replay (the cache).
	Apps client.Reader
	// Recorder records an Event on each ChatApp whose events a replay wrote.
	Recorder recorder.EventRecorder
	// Events, when set, writes those Events itself in the drain on
	// shutdown: the Recorder sends its Events in the background, and the
	// manager stops it right after the drain, dropping what it has not
	// sent yet (retries against an API server that has just come back
	// included).
	Events client.Writer
	// Reporter names the writer of Events written through Events: its
	// controller (as Recorder's name) and instance (the Pod).
	Reporter EventReporter
	// ReceiverStopped, when set, is closed once no callback can arrive any
	// more; on shutdown the replayer drains the spool after it.
	ReceiverStopped <-chan struct{}
	// DrainTimeout bounds that last drain.
	DrainTimeout time.Duration
	// Lost, when set, is told of each event dead-lettered while its
	// ChatApp exists: its room missed it (controllers.LostEvents asks for a
	// catch-up of the room).
	Lost func(app types.NamespacedName, roomID string, at time.Time)
	Log  logr.Logger

	// down: the API server is known not to take writes now.
	down atomic.Bool
	// lastWrite is when a write was last taken (Unix nanoseconds).
	lastWrite atomic.Int64
	wake      chan struct{}
	once      sync.Once

	mu      sync.Mutex
	episode map[types.UID]*replayCounts // since the spool was last empty
}

// EventReporter is the reportingController and reportingInstance of an
// events.k8s.io/v1 Event.
type EventReporter struct{ Controller, Instance string }

func (s *Spooler) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		s.episode = map[types.UID]*replayCounts{}
		spoolInUse.Store(s.Spool)
	})
}

// Apply stores ev for app: in its Room when the API server takes the write
// in time, else in the spool (outcome Spooled). Errors that retrying cannot
// fix are returned as the Store's; ErrSpoolFull when the event could be
// neither written nor spooled.
func (s *Spooler) Apply(ctx context.Context, app *chatv1alpha1.ChatApp, ev Event) (Outcome, error) {
	s.init()
	key := RoomKey(app, ev.RoomID)
	if s.Spool.Pending(key) > 0 || s.down.Load() {
		return s.put(key, app, ev, nil)
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, s.WriteTimeout)
	outcome, err := s.Store.Apply(wctx, app, ev)
	cancel()
	if err == nil {
		s.lastWrite.Store(time.Now().UnixNano())
	}
	if err == nil || !retriable(err) {
		return outcome, err
	}
	if Unreachable(err) || s.lastWrite.Load() < start.UnixNano() {
		// Not one write was taken while this one waited.
		s.down.Store(true)
	}
	return s.put(key, app, ev, err)
}

// put spools ev; writeErr is why it was not written, if a write was tried.
func (s *Spooler) put(key string, app *chatv1alpha1.ChatApp, ev Event, writeErr error) (Outcome, error) {
	data, err := encodeSpooled(app, ev)
	if err != nil {
		return "", fmt.Errorf("encoding the event for the spool: %w", err)
	}
	if _, err := s.Spool.Put(key, data); err != nil {
		if errors.Is(err, spool.ErrFull) {
			err = ErrSpoolFull
		}
		switch {
		case writeErr != nil:
			return "", fmt.Errorf("%w, and the write failed: %w", err, writeErr)
		case s.down.Load():
			return "", fmt.Errorf("%w, and the API server is not taking writes", err)
		}
		return "", fmt.Errorf("%w, and older events of room %q wait in it", err, ev.RoomID)
	}
	spoolEvents.WithLabelValues("spooled").Inc()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return Spooled, nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica replays its own spool.
func (s *Spooler) NeedLeaderElection() bool { return false }

// Unreachable reports whether err says the API server could not be reached,
// or could not serve at all, rather than that it was slow.
func Unreachable(err error) bool {
	var netErr net.Error
	return (errors.As(err, &netErr) && !netErr.Timeout()) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err)
}
