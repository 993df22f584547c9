package roomstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/spool"
)

// Replay. The replayer takes the oldest spooled events in chunks, groups
// them by room, and writes each room's events with one ApplyAll (so a room
// that gathered many events costs one write), many rooms at a time. Each
// event then leaves the spool: written (or found needing no write), stale
// (the Room holds a newer event: another replica, a resync or a later
// callback stored it meanwhile; EventTime ordering makes that safe to drop),
// or dead-lettered when it can never be written (its ChatApp is gone, its
// Room's name is taken, the API server refuses it). An event whose write
// fails in a way that retrying may fix stays, in order, and the replayer
// backs off and tries again.
const (
	replayChunk       = 4096
	replayParallel    = 32
	replayWaitTimeout = 10 * time.Second
	// replayIdle is how often an empty spool is looked at without a wake-up.
	replayIdle = 5 * time.Second
)

// replayCounts is what the replay did with one ChatApp's events.
type replayCounts struct {
	app                             appRef
	applied, stale, ignored, buried int
	longestWait                     time.Duration
}

// Start implements manager.Runnable: it replays the spool until ctx ends,
// then, once the receiver has stopped, drains what it can in DrainTimeout
// and closes the spool. (A process that ends without this, killed or
// losing its leader lease, loses nothing: every spooled event was
// committed to disk before it was answered.)
func (s *Spooler) Start(ctx context.Context) error {
	s.init()
	s.logDeadLetters()
	if st := s.Spool.Stats(); st.Entries > 0 {
		s.Log.Info("Replaying events spooled before this start", "events", st.Entries, "bytes", st.Bytes, "oldest", st.Oldest)
	}
	backoff := replayBackoff()
	for ctx.Err() == nil {
		err := s.replayOnce(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			pause := backoff.Step()
			s.Log.V(1).Info("Replay failed; trying again", "in", pause, "error", err.Error())
			sleep(ctx, pause, nil)
		case s.Spool.Stats().Entries == 0:
			backoff = replayBackoff()
			s.finishEpisode(ctx, false)
			s.down.Store(false) // nothing left to keep in order: let writes try again
			// With writes going to the API server again, Puts are rare: the
			// time to give back the disk an outage's backlog took.
			if err := s.Spool.Compact(); err != nil {
				s.Log.Error(err, "Compacting the spool failed; it keeps its size until the next try")
			}
			sleep(ctx, replayIdle, s.wake)
		default:
			backoff = replayBackoff()
		}
	}
	s.drain()
	spoolInUse.Store(nil)
	return s.Spool.Close()
}

func replayBackoff() wait.Backoff {
	return wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 1 << 30, Cap: 2 * time.Second}
}

// sleep waits for d, ctx or a wake-up.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// drain replays what it can once no callback can arrive any more, and says
// what is left.
func (s *Spooler) drain() {
	if s.ReceiverStopped != nil {
		<-s.ReceiverStopped
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.DrainTimeout)
	defer cancel()
	for s.Spool.Stats().Entries > 0 && ctx.Err() == nil {
		if err := s.replayOnce(ctx); err != nil {
			break
		}
	}
	s.finishEpisode(ctx, true)
	if st := s.Spool.Stats(); st.Entries > 0 {
		s.Log.Info("Stopping with events in the spool: the API server did not take them. They are replayed when roomsync "+
			"starts again with the same --spool-dir; a pod that is deleted takes its emptyDir, and them, with it",
			"events", st.Entries, "bytes", st.Bytes, "oldest", st.Oldest)
		return
	}
	s.Log.Info("Spool drained")
}

// replayOnce replays one chunk of the oldest spooled events. It returns an
// error when some could not be written for a reason that may pass.
func (s *Spooler) replayOnce(ctx context.Context) error {
	entries, err := s.Spool.Oldest(replayChunk)
	if err != nil || len(entries) == 0 {
		return err
	}
	var (
		order  []string
		byRoom = map[string][]spool.Entry{}
	)
	for _, e := range entries {
		if _, ok := byRoom[e.Key]; !ok {
			order = append(order, e.Key)
		}
		byRoom[e.Key] = append(byRoom[e.Key], e)
	}

	var (
		mu      sync.Mutex
		done    []uint64
		lastErr error
		wg      sync.WaitGroup
		slots   = make(chan struct{}, replayParallel)
	)
	for _, key := range order {
		slots <- struct{}{}
		wg.Add(1)
		go func(group []spool.Entry) {
			defer func() { <-slots; wg.Done() }()
			removed, err := s.replayRoom(ctx, group)
			mu.Lock()
			defer mu.Unlock()
			done = append(done, removed...)
			if err != nil {
				lastErr = err
			}
		}(byRoom[key])
	}
	wg.Wait()
	if err := s.Spool.Remove(done...); err != nil {
		return fmt.Errorf("removing replayed events from the spool: %w", err)
	}
	if lastErr == nil {
		s.lastWrite.Store(time.Now().UnixNano())
		s.down.Store(false)
	}
	return lastErr
}

// replayRoom writes one room's spooled events (in spool order) and returns
// the Seqs of those that may leave the spool.
func (s *Spooler) replayRoom(ctx context.Context, group []spool.Entry) ([]uint64, error) {
	var (
		seqs    []uint64
		records []spooledEvent
		kept    []spool.Entry
	)
	for _, e := range group {
		rec, err := decodeSpooled(e.Data)
		if err != nil {
			s.bury(e, appRef{}, err.Error())
			continue
		}
		records, kept = append(records, rec), append(kept, e)
	}
	if len(records) == 0 {
		return nil, nil
	}
	ref := records[0].App
	app := &chatv1alpha1.ChatApp{}
	err := s.Apps.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, app)
	if apierrors.IsNotFound(err) || (err == nil && (app.UID != ref.UID || app.Spec.SDKAppID != ref.SDKAppID)) {
		for _, e := range kept {
			s.bury(e, ref, "ChatApp "+ref.String()+" no longer exists")
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ChatApp %s: %w", ref, err)
	}

	evs := make([]Event, len(records))
	for i, r := range records {
		evs[i] = r.Event
	}
	wctx, cancel := context.WithTimeout(ctx, replayWaitTimeout)
	defer cancel()
	outcomes, err := s.Store.ApplyAll(wctx, app, evs)
	switch {
	case err == nil:
		for i, e := range kept {
			s.count(ref, outcomes[i], e)
			seqs = append(seqs, e.Seq)
		}
		return seqs, nil
	case retriable(err):
		return nil, err
	}
	// Something in the batch can never be written: find what, one by one.
	for i, e := range kept {
		outcome, err := s.Store.Apply(wctx, app, evs[i])
		switch {
		case err == nil:
			s.count(ref, outcome, e)
			seqs = append(seqs, e.Seq)
		case retriable(err):
			return seqs, err // the rest keep their order
		default:
			s.bury(e, ref, err.Error())
			if s.Lost != nil {
				s.Lost(types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, records[i].Event.RoomID, time.Now())
			}
		}
	}
	return seqs, nil
}

// count records what replaying e did.
func (s *Spooler) count(ref appRef, outcome Outcome, e spool.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.countsOf(ref)
	switch outcome {
	case Applied:
		c.applied++
		spoolEvents.WithLabelValues("replayed").Inc()
	case Stale:
		c.stale++
		spoolEvents.WithLabelValues("stale").Inc()
		s.Log.Info("Spooled event is stale: its Room holds a newer one, stored meanwhile", "chatApp", ref.String(),
			"roomKey", e.Key, "spooledAt", e.Spooled)
	default: // UnknownRoom: as the receiver would have answered
		c.ignored++
		spoolEvents.WithLabelValues("replayed").Inc()
	}
	c.longestWait = max(c.longestWait, time.Since(e.Spooled))
}

// bury moves e to the dead letters, for good.
func (s *Spooler) bury(e spool.Entry, ref appRef, reason string) {
	if err := s.Spool.DeadLetter(e, reason); err != nil {
		s.Log.Error(err, "Moving a spooled event to the dead letters", "seq", e.Seq)
		return
	}
	spoolEvents.WithLabelValues("dead_lettered").Inc()
	s.Log.Error(errors.New(reason), "Spooled event dead-lettered: it can never be written; it is kept in the spool's dead letters",
		"seq", e.Seq, "roomKey", e.Key, "spooledAt", e.Spooled, "chatApp", ref.String())
	if ref.Name == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.countsOf(ref)
	c.buried++
	c.longestWait = max(c.longestWait, time.Since(e.Spooled))
}

func (s *Spooler) countsOf(ref appRef) *replayCounts {
	c, ok := s.episode[ref.UID]
	if !ok {
		c = &replayCounts{app: ref}
		s.episode[ref.UID] = c
	}
	return c
}

// finishEpisode records, once the spool is empty, an Event on every ChatApp
// whose events were replayed since it last was. On shutdown (stopping), with
// Events set, it writes them itself before it returns, retrying until ctx
// ends.
func (s *Spooler) finishEpisode(ctx context.Context, stopping bool) {
	s.mu.Lock()
	episode := s.episode
	s.episode = map[types.UID]*replayCounts{}
	s.mu.Unlock()
	for _, c := range episode {
		app := &chatv1alpha1.ChatApp{}
		if err := s.Apps.Get(ctx, client.ObjectKey{Namespace: c.app.Namespace, Name: c.app.Name}, app); err != nil || app.UID != c.app.UID {
			continue
		}
		total := c.applied + c.stale + c.ignored + c.buried
		kind := corev1.EventTypeNormal
		if c.buried > 0 {
			kind = corev1.EventTypeWarning
		}
		note := fmt.Sprintf("Replayed %d spooled callback(s) after the API server did not take them in time: %d written, %d stale, %d for no Room, %d dead-lettered; they waited up to %s",
			total, c.applied, c.stale, c.ignored, c.buried, c.longestWait.Round(time.Millisecond))
		if stopping && s.Events != nil {
			s.writeEvent(ctx, app, kind, note)
			continue
		}
		s.Recorder.Eventf(app, nil, kind, spoolReplayedReason, replayAction, "%s", note)
	}
}

const (
	spoolReplayedReason = "SpoolReplayed"
	replayAction        = "Replay"
)

// writeEvent writes a SpoolReplayed Event on app through Events, trying
// again until ctx ends: the API server may be just back from the outage
// that filled the spool.
func (s *Spooler) writeEvent(ctx context.Context, app *chatv1alpha1.ChatApp, kind, note string) {
	now := time.Now()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: fmt.Sprintf("%s.%x", app.Name, now.UnixNano())},
		EventTime:  metav1.NewMicroTime(now),
		Regarding: corev1.ObjectReference{
			APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "ChatApp",
			Namespace: app.Namespace, Name: app.Name, UID: app.UID, ResourceVersion: app.ResourceVersion,
		},
		Type: kind, Reason: spoolReplayedReason, Action: replayAction, Note: note,
		ReportingController: s.Reporter.Controller, ReportingInstance: s.Reporter.Instance,
	}
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		switch err := s.Events.Create(ctx, ev.DeepCopy()); {
		case err == nil || apierrors.IsAlreadyExists(err):
			return true, nil
		case apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			return false, err // no retry mends these
		}
		return false, nil
	})
	if err != nil {
		s.Log.Info("The SpoolReplayed Event could not be written before the drain's end", "chatApp", app.Namespace+"/"+app.Name, "error", err.Error())
	}
}

// logDeadLetters lists the dead letters, a log line each.
func (s *Spooler) logDeadLetters() {
	dead, err := s.Spool.DeadLetters()
	if err != nil {
		s.Log.Error(err, "Reading the spool's dead letters")
		return
	}
	for _, d := range dead {
		s.Log.Info("Dead letter in the spool", "seq", d.Seq, "roomKey", d.Key, "spooledAt", d.Spooled, "deadLetteredAt", d.Time,
			"reason", d.Reason, "event", string(d.Data))
	}
}
