package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

// The catch-up round of the scale run (goal: every changed room healed
// within 2 minutes of the receivers' return). The fake Tencent holds every
// room, and the ChatApp gets its REST API with the default budget
// (requestsPerSecond 20, of which the sweep's share is 10): the sweep
// starts over all the Rooms. 1,000 rooms are made the most active (an
// update each through the receiver), then both replicas stop; while they
// are down for outageDown, those rooms are renamed in the fake, whose
// callbacks nobody receives. Both replicas start again; the one that finds
// no replica was serving asks for a catch-up, which reads the Rooms active
// lately, most recently active first, ahead of the sweep.
const (
	catchUpRooms = 1000
	outageDown   = 60 * time.Second
	renamed      = "renamed while roomsync was down"
)

type catchUpResult struct {
	Rooms int `json:"rooms"`
	// Healed is the time from Ready's end until every renamed Room has its
	// new name (0: not within the bench's 5 minutes).
	Healed time.Duration `json:"healedNanos"`
	// Ready is the time from the leader's start until it leads and the
	// receiver-only replica, started then, serves callbacks (scaleBench.start).
	Ready time.Duration `json:"readyNanos"`
	// Requests are the REST requests the fake answered from the return
	// until healed.
	Requests int `json:"requests"`
	// FirstRead is the time from Ready's end until the first REST request
	// about a renamed room (the leader's start, up to its catch-up), and
	// LastRead until the last one before every renamed Room was healed:
	// where Healed goes.
	FirstRead time.Duration `json:"firstReadNanos"`
	LastRead  time.Duration `json:"lastReadNanos"`
	// LeaderIndexSynced is the time from the leader's start until its Room
	// index (lookup.RoomIndex), which the catch-up plans from, had every
	// Room, as its log says (0: not found in the log).
	LeaderIndexSynced time.Duration `json:"leaderIndexSyncedNanos"`
	// RequestsBeforeIndex are the REST requests the fake answered from the
	// return until the leader's Room index synced: the catch-up's reads of
	// the record of active Rooms, before it can plan from the index.
	RequestsBeforeIndex int `json:"requestsBeforeIndex"`
}

// benchTB is the testing.TB the fake Tencent wants, outside a test: it
// reports what the fake finds wrong on stderr.
type benchTB struct {
	testing.TB
	cleanups []func()
}

func (b *benchTB) Helper()          {}
func (b *benchTB) Cleanup(f func()) { b.cleanups = append(b.cleanups, f) }
func (b *benchTB) Errorf(f string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: fake Tencent: "+f+"\n", args...)
}
func (b *benchTB) Logf(f string, args ...any) {}
func (b *benchTB) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

// catchUp runs the catch-up round over the hot rooms and the seeded ones.
func (s *scaleBench) catchUp(ctx context.Context, hot []string) (catchUpResult, error) {
	res := catchUpResult{Rooms: catchUpRooms}
	tb := &benchTB{}
	defer tb.close()
	const key = "bench-scale-secret-key"
	fake := tencenttest.NewServer(tb, scaleSDKAppID, "administrator", key)
	for _, id := range hot {
		fake.SetRoom(id, "hot")
	}
	for i := range s.rooms - len(hot) {
		fake.SetRoom(scaleRoomID(i), "Lesson "+fmt.Sprint(i))
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: scaleNamespace, Name: "tencent-rest", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"secretKey": key},
	}
	if err := s.env.Client.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return res, err
	}
	app := &chatv1alpha1.ChatApp{}
	if err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: scaleNamespace, Name: appName}, app); err != nil {
		return res, err
	}
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Endpoint: fake.URL, Administrator: "administrator",
		SecretKeyRef: chatv1alpha1.SecretKeyReference{Name: secret.Name, Key: "secretKey"}}
	if err := s.env.Client.Patch(ctx, app, patch); err != nil {
		return res, err
	}
	// The sweep is under way before the outage, as it always is.
	if err := waitFor(ctx, 2*time.Minute, func() bool {
		return s.env.Client.Get(ctx, client.ObjectKeyFromObject(app), app) == nil &&
			app.Status.Resync != nil && app.Status.Resync.StartTime != nil && len(fake.Requests("")) > 0
	}); err != nil {
		return res, fmt.Errorf("waiting for the sweep to start: %w", err)
	}

	// The 1,000 most active rooms: the hot ones and as many seeded ones,
	// each just updated through the receiver.
	// EventTimes from now on: the sweep's reads are events of their time,
	// and an update older than a read of its room is stale.
	s.clock.Store(max(s.clock.Load(), time.Now().UnixMilli()))
	active := append([]string{}, hot...)
	for i := 0; len(active) < catchUpRooms; i++ {
		active = append(active, scaleRoomID(i))
	}
	if err := parallel(len(active), 16, func(i int) error { return s.sender.storedUpdate(active[i], s.clock.Add(1)) }); err != nil {
		return res, fmt.Errorf("updating the active rooms: %w", err)
	}
	s.receiver.Stop()
	s.leader.Stop()
	downAt := time.Now()
	time.Sleep(5 * time.Second)
	for _, id := range active {
		fake.SetRoom(id, renamed)
	}
	time.Sleep(time.Until(downAt.Add(outageDown)))

	// Healing is watched, not polled: a GET of each pending Room every
	// second would load the API server the leader is reading and writing.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	healed, err := s.watchRenamed(watchCtx, active)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if _, _, err := s.start(ctx); err != nil {
		return res, err
	}
	res.Ready = time.Since(t0)
	back := time.Now()
	before := len(fake.Requests(""))
	if s.cpuProfile != "" {
		go s.profile(s.cpuProfile, time.Minute)
	}
	select {
	case at := <-healed:
		res.Healed = at.Sub(back)
	case <-time.After(5 * time.Minute):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.LeaderIndexSynced = indexSyncTime(s.leader.Log.String())
	after := fake.Requests("")[before:]
	res.Requests = len(after)
	indexAt := t0.Add(res.LeaderIndexSynced)
	for _, r := range after {
		if res.LeaderIndexSynced > 0 && r.At.Before(indexAt) {
			res.RequestsBeforeIndex++
		}
		if slices.Contains(active, r.RoomID) {
			if res.FirstRead == 0 {
				res.FirstRead = r.At.Sub(back)
			}
			res.LastRead = r.At.Sub(back)
		}
	}
	return res, nil
}

// watchRenamed watches the Rooms of ids from now on, and sends on the channel
// it returns the time the last of them had the name renamed.
func (s *scaleBench) watchRenamed(ctx context.Context, ids []string) (<-chan time.Time, error) {
	c, err := client.NewWithWatch(s.env.Config, client.Options{Scheme: s.env.Client.Scheme()})
	if err != nil {
		return nil, err
	}
	rooms := &chatv1alpha1.RoomList{}
	if err := c.List(ctx, rooms, client.InNamespace(scaleNamespace), client.Limit(1)); err != nil {
		return nil, err
	}
	w, err := c.Watch(ctx, &chatv1alpha1.RoomList{}, client.InNamespace(scaleNamespace),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rooms.ResourceVersion}})
	if err != nil {
		return nil, err
	}
	pending := map[string]bool{}
	for _, id := range ids {
		pending[roomstore.NameFor(id)] = true
	}
	healed := make(chan time.Time, 1)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if room, ok := ev.Object.(*chatv1alpha1.Room); ok && room.Status.RoomName == renamed {
				delete(pending, room.Name)
			}
			if len(pending) == 0 {
				healed <- time.Now()
				return
			}
		}
		fmt.Fprintln(os.Stderr, "bench: the watch of the renamed Rooms ended before every one was healed")
	}()
	return healed, nil
}

// waitFor polls check every 250 ms for at most timeout.
func waitFor(ctx context.Context, timeout time.Duration, check func() bool) error {
	for deadline := time.Now().Add(timeout); !check(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// indexSynced finds the time the Room index took to sync in an operator's
// log (its "Room index synced" line; JSON, as the operator logs by default).
var indexSynced = regexp.MustCompile(`"msg":"Room index synced".*"took":"?([0-9.a-zµ]+)"?`)

// indexSyncTime returns the time an operator's Room index took to sync,
// from its log (0 when the log does not say).
func indexSyncTime(log string) time.Duration {
	m := indexSynced.FindStringSubmatch(log)
	if m == nil {
		return 0
	}
	if d, err := time.ParseDuration(m[1]); err == nil {
		return d
	}
	if secs, err := strconv.ParseFloat(m[1], 64); err == nil {
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}
