package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
)

// The outage round: callbacks go on arriving while the control plane is
// down, as they do when a cluster's API server restarts or is unreachable.
// With a spool, the operator answers them 200 from the spool, fast, and
// writes them into their Rooms once the API server is back.
const (
	outageSenders = 8
	outageRooms   = 100
	outagePace    = 20 * time.Millisecond // between one sender's callbacks
	outageLead    = 3 * time.Second       // sending before the control plane stops
	outageTail    = 5 * time.Second       // and after the API server is back
	healTimeout   = 60 * time.Second
	healPoll      = 200 * time.Millisecond
)

// outageRun is the state of the round that the senders share.
type outageRun struct {
	sender *sender
	ids    []string
	// newest is, for each Room, the EventTime of the newest event answered
	// OK. Each Room has one sender, whose EventTimes rise.
	newest []atomic.Int64
	stop   chan struct{}
	start  time.Time

	mu       sync.Mutex
	calls    []call
	notOK    int
	firstErr error
}

// call is one callback: when it was sent, and how long its answer took.
type call struct {
	sent time.Time
	took time.Duration
}

// outage sends update callbacks from outageSenders senders over outageRooms
// Rooms, stops the control plane for d meanwhile, and measures the answers
// and how long after the API server's return the Rooms hold every event
// answered OK.
func (b *bench) outage(ctx context.Context, d time.Duration) (*outageResult, error) {
	run := &outageRun{
		sender: newSender(b.operator.CallbackURL, outageSDKAppID),
		ids:    make([]string, outageRooms),
		newest: make([]atomic.Int64, outageRooms),
		stop:   make(chan struct{}),
	}
	for i := range run.ids {
		run.ids[i] = fmt.Sprintf("outage-room-%03d", i)
	}
	if err := parallel(outageRooms, 16, func(i int) error {
		et := b.clock.Add(1)
		run.newest[i].Store(et)
		return run.sender.storedUpdate(run.ids[i], et)
	}); err != nil {
		return nil, fmt.Errorf("creating the Rooms: %w", err)
	}
	spoolBefore, err := b.spoolCounts()
	if err != nil {
		return nil, err
	}

	var senders sync.WaitGroup
	run.start = time.Now()
	for s := range outageSenders {
		senders.Go(func() { run.send(ctx, s, &b.clock) })
	}
	stopSenders := sync.OnceFunc(func() { close(run.stop); senders.Wait() })
	defer stopSenders()

	res := &outageResult{Senders: outageSenders, Rooms: outageRooms, Outage: ms(d)}
	if err := pause(ctx, outageLead); err != nil {
		return nil, err
	}
	fmt.Println("  stopping the control plane...")
	down := time.Now()
	if err := b.env.StopControlPlane(); err != nil {
		return nil, fmt.Errorf("stopping the control plane: %w", err)
	}
	if err := pause(ctx, d); err != nil {
		return nil, err
	}
	fmt.Println("  starting the control plane...")
	if err := b.env.StartControlPlane(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	back := time.Now()
	res.Down = ms(back.Sub(down))

	// The Rooms are polled while the senders go on: each must come to hold
	// at least the newest event answered OK before it is read.
	deadline := back.Add(healTimeout)
	healed := make(chan error, 1)
	go func() {
		at, err := run.waitRooms(ctx, b.env.Client, deadline, false)
		if err == nil {
			res.HealedAfter = ms(at.Sub(back))
		}
		healed <- err
	}()
	if err := pause(ctx, outageTail); err != nil {
		return nil, err
	}
	stopSenders()
	healErr := <-healed
	res.Healed = healErr == nil
	// Then, with nothing more sent, exactly the newest.
	_, finalErr := run.waitRooms(ctx, b.env.Client, deadline, true)
	res.FinalIsNewest = finalErr == nil
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	spoolAfter, err := b.spoolCounts()
	if err != nil {
		return nil, err
	}
	res.Spool = spoolAfter.minus(spoolBefore)
	var whileDown []time.Duration
	for _, c := range run.calls {
		if !c.sent.Before(down) && c.sent.Before(back) {
			whileDown = append(whileDown, c.took)
		}
	}
	res.Sent, res.NotOK, res.SentDown = len(run.calls), run.notOK, len(whileDown)
	res.OK = res.Sent - res.NotOK
	res.DownP50, res.DownP99, res.DownMax = ms(percentile(whileDown, 50)), ms(percentile(whileDown, 99)), ms(percentile(whileDown, 100))

	for _, err := range []error{run.firstErr, healErr, finalErr} {
		if err != nil {
			fmt.Println("  failure:", err)
		}
	}
	if !res.correct() {
		b.saveOperatorLog()
	}
	fmt.Printf("  %d callbacks, %d answered 200; p99 while down %.1f ms; Rooms healed %.1f s after the API server's return: %v\n",
		res.Sent, res.OK, res.DownP99, res.HealedAfter/1000, res.Healed)
	return res, nil
}

// send sends update callbacks for sender s's Rooms (every outageSenders-th
// from the s-th) in turn, with rising EventTimes, one every outagePace,
// until stop is closed.
func (r *outageRun) send(ctx context.Context, s int, clock *atomic.Int64) {
	for room := s; ; room += outageSenders {
		if room >= len(r.ids) {
			room = s
		}
		et := clock.Add(1)
		sent := time.Now()
		o, err := r.sender.update(r.ids[room], et)
		took := time.Since(sent)
		if err == nil && o != applied && o != spooled {
			err = fmt.Errorf("event %d for room %q answered %s", et, r.ids[room], o)
		}
		r.record(room, et, call{sent: sent, took: took}, err)
		select {
		case <-r.stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(time.Until(sent.Add(outagePace))):
		}
	}
}

func (r *outageRun) record(room int, eventTime int64, c call, err error) {
	if err == nil {
		r.newest[room].Store(eventTime)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	if err != nil {
		r.notOK++
		if r.firstErr == nil {
			r.firstErr = fmt.Errorf("sent %s into the round: %w", c.sent.Sub(r.start).Round(time.Millisecond), err)
		}
	}
}

// waitRooms polls the Rooms until each holds the newest event answered OK
// for it before the poll (or, unless exact, a newer one), or deadline
// passes. It returns when the Rooms were seen to hold them.
func (r *outageRun) waitRooms(ctx context.Context, c client.Client, deadline time.Time, exact bool) (time.Time, error) {
	for {
		want := make(map[string]int64, len(r.ids))
		for i, id := range r.ids {
			want[roomstore.NameFor(id)] = r.newest[i].Load()
		}
		var list chatv1alpha1.RoomList
		err := c.List(ctx, &list, client.InNamespace(outageNamespace))
		if err == nil {
			held := map[string]int64{}
			for _, room := range list.Items {
				et, ok := want[room.Name]
				newest := room.Status.LastEventTime == et && room.Status.RoomName == roomName(et)
				if ok && (newest || (!exact && room.Status.LastEventTime > et)) {
					delete(want, room.Name)
				}
				held[room.Name] = room.Status.LastEventTime
			}
			if len(want) == 0 {
				return time.Now(), nil
			}
			for name, et := range want {
				err = fmt.Errorf("%d of %d Rooms do not hold the newest event answered OK for them; %s holds EventTime %d, not %d",
					len(want), len(r.ids), name, held[name], et)
				break
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s after the API server's return: %w", healTimeout, err)
		}
		if err := pause(ctx, healPoll); err != nil {
			return time.Time{}, err
		}
	}
}

// pause waits for d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// saveOperatorLog keeps the operator's log, for a failure to be looked into.
func (b *bench) saveOperatorLog() {
	f, err := os.CreateTemp("", "roomsync-bench-operator-*.log")
	if err == nil {
		_, err = f.WriteString(b.operator.Log.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: saving the operator's log:", err)
		return
	}
	fmt.Println("  the operator's log:", f.Name())
}
