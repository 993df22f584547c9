package faults

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/testenv"
)

// The spool's promise: an OK means the event is stored, in its Room or in
// the spool that is replayed into it; a 503 only when both are impossible.

const (
	// outage is how long the API server is down in the outage tests.
	outage = 60 * time.Second
	// healWithin is how soon after the API server's return every Room must
	// hold its newest event.
	healWithin = 30 * time.Second
	// pace is the pause between two callbacks of one sender: 8 senders send
	// up to 400 callbacks a second.
	pace = 20 * time.Millisecond
)

// newPlainApp is newApp without recording: tests that run several
// operators without leader election would each run the recording
// controller.
func newPlainApp(t *testing.T) (string, int64) {
	t.Helper()
	n := nextApp.Add(1)
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("faults-%d", n), Name: "app"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID + n},
	}
	if err := testenv.CreateSignedApp(context.Background(), env.Client, app, token); err != nil {
		t.Fatal(err)
	}
	return app.Namespace, app.Spec.SDKAppID
}

// spoolArgs are the operator's arguments with a spool in a directory of the
// test's own.
func spoolArgs(t *testing.T, extra ...string) []string {
	return append([]string{"--metrics-secure=false", "--spool-dir", t.TempDir()}, extra...)
}

// storedWithin waits until every Room holds the newest event sent to it
// that was answered OK, until d after from, and returns how long after from
// that was.
func storedWithin(t *testing.T, ns string, all []sent, from time.Time, d time.Duration) time.Duration {
	t.Helper()
	newestOK := map[string]int64{}
	for _, s := range all {
		if s.ok() {
			newestOK[s.room] = max(newestOK[s.room], s.eventTime)
		}
	}
	for {
		rooms := &chatv1alpha1.RoomList{}
		if err := env.Client.List(context.Background(), rooms, client.InNamespace(ns)); err == nil {
			behind := len(newestOK)
			for _, r := range rooms.Items {
				if want, ok := newestOK[r.Spec.RoomID]; ok && r.Status.LastEventTime >= want {
					behind--
				}
			}
			if behind == 0 {
				return time.Since(from)
			}
			if time.Since(from) > d {
				t.Errorf("%d of %d Rooms do not hold their newest OK'd event %s after %s", behind, len(newestOK), d, from.Format(time.TimeOnly))
				return time.Since(from)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// clock is how the tests print the times of callbacks and faults.
const clock = "15:04:05.000"

// allAnswered200 fails t for each callback not answered 200 within the
// budget.
func allAnswered200(t *testing.T, all []sent) {
	t.Helper()
	for _, s := range all {
		if !s.ok() || s.took >= budget {
			t.Errorf("event %d of %s sent at %s: answer %d %+v after %s, error %v; want 200 within %s",
				s.eventTime, s.room, s.at.Format(clock), s.status, s.answer, s.took, s.err, budget)
		}
	}
}

// p99 is the 99th percentile of the answer times of all that match.
func p99(all []sent, match func(sent) bool) time.Duration {
	var took []time.Duration
	for _, s := range all {
		if match(s) {
			took = append(took, s.took)
		}
	}
	if len(took) == 0 {
		return 0
	}
	slices.Sort(took)
	return took[len(took)*99/100]
}

// metric returns the value of the series of /metrics that starts with
// prefix (name and labels), or -1.
func metric(t *testing.T, op *testenv.Operator, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(op.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, prefix+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// spoolShrinks waits until the spool file at path, emptied by a replay, is
// compacted below 1 MiB: the disk a backlog took is given back. It waits
// at most 20 s.
func spoolShrinks(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() < 1<<20 {
			t.Logf("spool file %d KiB after the replay", fi.Size()>>10)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("spool file still %d KiB 20 s after the replay", fi.Size()>>10)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// replayEvent returns the message of the SpoolReplayed Event on the
// ChatApp of ns, waiting for it at most 20 s.
func replayEvent(t *testing.T, ns string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		events := &corev1.EventList{}
		if err := env.Client.List(context.Background(), events, client.InNamespace(ns)); err == nil {
			for _, e := range events.Items {
				if e.Reason == "SpoolReplayed" && e.InvolvedObject.Kind == "ChatApp" {
					return e.Message
				}
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("no SpoolReplayed Event on the ChatApp of %s", ns)
			return ""
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestSpoolKeepsCallbacksThroughAnAPIServerOutage stops etcd and
// kube-apiserver for a minute while two operators without leader election
// take callbacks, 8 senders over 100 rooms each. The first (whose ChatApp's
// token Secret is not labelled for roomsync's cache) answers every callback
// 200 and, within healWithin of the API server's return, every Room holds
// its newest event. The second is SIGKILLed during the outage
// and started again before the API server returns: what it answered 200
// before it died is replayed after, and nothing OK'd is lost.
func TestSpoolKeepsCallbacksThroughAnAPIServerOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nsA, appA := newPlainApp(t)
	// The first ChatApp's token Secret lacks the roomsync label, so it is
	// not in the cache: through the outage, the copy read before it must
	// keep checking callbacks.
	unlabel := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":null}}`))
	if err := env.Client.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: testenv.TokenSecret}}, unlabel); err != nil {
		t.Fatal(err)
	}
	nsB, appB := newPlainApp(t)
	dirB := t.TempDir()
	argsB := []string{"--metrics-secure=false", "--spool-dir", dirB}
	dirA := t.TempDir()
	a, err := testenv.StartOperator(ctx, binary, kubeconfig, "--metrics-secure=false", "--spool-dir", dirA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := testenv.StartOperator(ctx, binary, kubeconfig, argsB...)
	if err != nil {
		t.Fatal(err)
	}
	var currentB atomic.Pointer[testenv.Operator]
	currentB.Store(b)

	stop := make(chan struct{})
	doneA, doneB := make(chan []sent), make(chan []sent)
	go func() { doneA <- stream(appA, func() string { return a.CallbackURL }, 8, 100, pace, stop) }()
	go func() {
		doneB <- stream(appB, func() string { return currentB.Load().CallbackURL }, 8, 100, pace, stop)
	}()

	time.Sleep(3 * time.Second)
	down := time.Now()
	if err := env.StopControlPlane(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage / 3)
	b.Kill()
	restarted, err := testenv.LaunchOperator(ctx, binary, kubeconfig, argsB...)
	if err != nil {
		t.Fatal(err)
	}
	currentB.Store(restarted)
	time.Sleep(outage - time.Since(down))
	if err := env.StartControlPlane(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("control plane down for %s, from %s to %s", back.Sub(down).Round(100*time.Millisecond), down.Format(clock), back.Format(clock))
	if err := restarted.WaitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	close(stop)
	allA, allB := <-doneA, <-doneB
	checked := time.Now()

	t.Run("every callback answered 200 and stored", func(t *testing.T) {
		ok, unavailable, failed, slowest := summary(allA)
		during := p99(allA, func(s sent) bool { return s.at.After(down) && s.at.Before(back) })
		t.Logf("%d callbacks: %d OK, %d 503, %d other; slowest answer %s, p99 during the outage %s",
			len(allA), ok, unavailable, failed, slowest.Round(time.Millisecond), during.Round(time.Millisecond))
		allAnswered200(t, allA)
		healed := storedWithin(t, nsA, allA, back, healWithin)
		t.Logf("every Room held its newest event %s after the API server's return (at the latest: the check began %s after it)",
			healed.Round(100*time.Millisecond), checked.Sub(back).Round(100*time.Millisecond))
		checkStored(t, nsA, allA)
		if n := metric(t, a, `roomsync_spool_events_total{result="spooled"}`); n <= 0 {
			t.Errorf("roomsync_spool_events_total{spooled} = %v", n)
		}
		if n := metric(t, a, `roomsync_spool_events_total{result="replayed"}`); n <= 0 {
			t.Errorf("roomsync_spool_events_total{replayed} = %v", n)
		}
		if msg := replayEvent(t, nsA); msg != "" {
			t.Logf("Event on the ChatApp: %s", msg)
		}
		spoolShrinks(t, filepath.Join(dirA, "spool.db"))
	})
	t.Run("killed during the outage, nothing OK'd lost", func(t *testing.T) {
		ok, unavailable, failed, _ := summary(allB)
		t.Logf("%d callbacks: %d OK, %d 503, %d refused or cut off", len(allB), ok, unavailable, failed)
		okBeforeKill := 0
		for _, s := range allB {
			if s.ok() && s.at.After(down) && s.at.Before(down.Add(outage/3)) {
				okBeforeKill++
			}
			if s.err == nil && s.status != http.StatusOK {
				t.Errorf("event %d of %s: answer %d %+v; want 200 (or no answer while no process listened)", s.eventTime, s.room, s.status, s.answer)
			}
		}
		if okBeforeKill == 0 {
			t.Fatal("nothing was spooled before the kill: the test did not test it")
		}
		storedWithin(t, nsB, allB, back, healWithin)
		checkStored(t, nsB, allB)
	})
}

// TestSpoolWithLeaderElectionThroughAnOutage runs the shipped two-replica
// setup (leader election on, a spool each) through a minute's outage, with
// callbacks spread over both replicas. controller-runtime ends the leader's
// process when it cannot renew its lease; like the Deployment, the test
// starts it again (it becomes ready once the API server is back). The
// replica that is not the leader answers every callback 200, and nothing
// either answered 200 is lost.
func TestSpoolWithLeaderElectionThroughAnOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, appID := newPlainApp(t)
	var replicas [2]atomic.Pointer[testenv.Operator]
	args := [2][]string{}
	for i := range replicas {
		args[i] = spoolArgs(t, "--leader-elect", "--leader-election-namespace", ns)
		op, err := testenv.StartOperator(ctx, binary, kubeconfig, args[i]...)
		if err != nil {
			t.Fatal(err)
		}
		replicas[i].Store(op)
	}
	// Like the Deployment's restarts: a replica whose process ended is
	// started again, with the same spool directory (its emptyDir).
	restarts := make(chan int, 8)
	first := [2]*testenv.Operator{replicas[0].Load(), replicas[1].Load()}
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		for watch.Err() == nil {
			for i := range replicas {
				if op := replicas[i].Load(); op.Exited() {
					next, err := testenv.LaunchOperator(ctx, binary, kubeconfig, args[i]...)
					if err == nil {
						replicas[i].Store(next)
						restarts <- i
					}
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()

	stop := make(chan struct{})
	done := make(chan []sent)
	go func() {
		done <- stream(appID, func() string { return replicas[rand.IntN(2)].Load().CallbackURL }, 8, 100, pace, stop)
	}()

	time.Sleep(3 * time.Second)
	down := time.Now()
	if err := env.StopControlPlane(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage)
	if err := env.StartControlPlane(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for i := range replicas {
		if err := replicas[i].Load().WaitReady(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Second)
	close(stop)
	all := <-done
	stopWatch()
	t.Logf("control plane down for %s; %d replica restart(s)", back.Sub(down).Round(100*time.Millisecond), len(restarts))

	ok, unavailable, failed, _ := summary(all)
	t.Logf("%d callbacks: %d OK, %d 503, %d refused or cut off (sent to a replica whose process had ended)", len(all), ok, unavailable, failed)
	if len(restarts) == 0 {
		t.Error("no replica ended during the outage: leader election was not exercised")
	}
	for _, s := range all {
		if s.err == nil && s.status != http.StatusOK {
			t.Errorf("event %d of %s: answer %d %+v; want 200", s.eventTime, s.room, s.status, s.answer)
		}
	}
	// The replica whose process never ended (the one that was not the
	// leader) answered every callback sent to it 200.
	for i, op := range first {
		if replicas[i].Load() != op {
			continue
		}
		sentTo := 0
		for _, s := range all {
			if s.target == op.CallbackURL {
				sentTo++
				if !s.ok() || s.took >= budget {
					t.Errorf("replica %d, never restarted: event %d of %s answered %d %+v after %s, error %v; want 200", i, s.eventTime, s.room, s.status, s.answer, s.took, s.err)
				}
			}
		}
		t.Logf("replica %d was never restarted and answered all %d callbacks sent to it", i, sentTo)
	}
	storedWithin(t, ns, all, back, healWithin)
	checkStored(t, ns, all)
}

// TestSpoolOfAReceiverCutOffFromTheAPIServer runs two receivers on one
// healthy API server, one of them cut off from it for 15 s (a network
// partition), with the same rooms' callbacks spread over both: the cut-off
// one spools, the other writes, and afterwards every Room holds its newest
// event (the spooled events that are older are dropped as stale).
func TestSpoolOfAReceiverCutOffFromTheAPIServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, appID := newPlainApp(t)
	proxy, err := env.NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cfg, err := proxy.Kubeconfig(env)
	if err != nil {
		t.Fatal(err)
	}
	proxied := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(proxied, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	cutOff, err := testenv.StartOperator(ctx, binary, proxied, spoolArgs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	healthy, err := testenv.StartOperator(ctx, binary, kubeconfig, spoolArgs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan []sent)
	go func() {
		done <- stream(appID, func() string {
			if rand.IntN(2) == 0 {
				return cutOff.CallbackURL
			}
			return healthy.CallbackURL
		}, 8, 100, pace, stop)
	}()
	time.Sleep(2 * time.Second)
	proxy.Cut()
	cut := time.Now()
	time.Sleep(15 * time.Second)
	proxy.Heal()
	healed := time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	all := <-done

	ok, unavailable, failed, slowest := summary(all)
	t.Logf("%d callbacks: %d OK, %d 503, %d other; slowest answer %s", len(all), ok, unavailable, failed, slowest.Round(time.Millisecond))
	allAnswered200(t, all)
	storedWithin(t, ns, all, healed, healWithin)
	checkStored(t, ns, all)
	spooled := metric(t, cutOff, `roomsync_spool_events_total{result="spooled"}`)
	stale := metric(t, cutOff, `roomsync_spool_events_total{result="stale"}`)
	t.Logf("cut off for %s: the cut-off receiver spooled %v events, %v of them stale by the time they were replayed",
		healed.Sub(cut).Round(100*time.Millisecond), spooled, stale)
	if spooled <= 0 {
		t.Error("the cut-off receiver spooled nothing")
	}
	if n := metric(t, healthy, `roomsync_spool_events_total{result="spooled"}`); n != 0 {
		t.Errorf("the healthy receiver spooled %v events", n)
	}
}

// TestFullSpoolAnswers503AndLosesNothingItAnswered200 gives the operator a
// small spool and takes the API server away: callbacks are answered 200
// while the spool has room and 503 once it is full, and every one answered
// 200 is in its Room after the API server's return.
func TestFullSpoolAnswers503AndLosesNothingItAnswered200(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, appID := newPlainApp(t)
	op, err := testenv.StartOperator(ctx, binary, kubeconfig, spoolArgs(t, "--spool-max-bytes", "65536")...)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan []sent)
	go func() { done <- stream(appID, func() string { return op.CallbackURL }, 4, 40, pace, stop) }()
	time.Sleep(2 * time.Second)
	if err := env.StopControlPlane(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second)
	if err := env.StartControlPlane(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	all := <-done

	ok, unavailable, failed, slowest := summary(all)
	t.Logf("%d callbacks: %d OK, %d 503, %d other; slowest answer %s", len(all), ok, unavailable, failed, slowest.Round(time.Millisecond))
	if unavailable == 0 {
		t.Error("no callback was answered 503: the spool never filled")
	}
	for _, s := range all {
		switch {
		case s.err != nil || (s.status != http.StatusOK && s.status != http.StatusServiceUnavailable):
			t.Errorf("event %d of %s: answer %d %+v, error %v; want 200 or 503", s.eventTime, s.room, s.status, s.answer, s.err)
		case s.status == http.StatusServiceUnavailable && !strings.Contains(s.answer.ErrorInfo, "spool is full"):
			t.Errorf("a 503 that does not say the spool is full: %q", s.answer.ErrorInfo)
		}
	}
	storedWithin(t, ns, all, back, healWithin)
	checkStored(t, ns, all)
}

// TestTwoReceiversOnASaturatedAPIServer drives two receivers with 64
// senders over 300 rooms, as fast as they answer: the API server is
// saturated, and every callback is still answered 200 (in time), and every
// Room ends at its newest event.
func TestTwoReceiversOnASaturatedAPIServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, appID := newPlainApp(t)
	var ops [2]*testenv.Operator
	for i := range ops {
		op, err := testenv.StartOperator(ctx, binary, kubeconfig, spoolArgs(t)...)
		if err != nil {
			t.Fatal(err)
		}
		ops[i] = op
	}
	stop := make(chan struct{})
	done := make(chan []sent)
	go func() {
		done <- stream(appID, func() string { return ops[rand.IntN(2)].CallbackURL }, 64, 300, 0, stop)
	}()
	time.Sleep(15 * time.Second)
	close(stop)
	all := <-done
	end := time.Now()

	ok, unavailable, failed, slowest := summary(all)
	spooled := metric(t, ops[0], `roomsync_spool_events_total{result="spooled"}`) + metric(t, ops[1], `roomsync_spool_events_total{result="spooled"}`)
	t.Logf("%d callbacks in 15 s: %d OK, %d 503, %d other; slowest answer %s; %v spooled",
		len(all), ok, unavailable, failed, slowest.Round(time.Millisecond), spooled)
	allAnswered200(t, all)
	storedWithin(t, ns, all, end, healWithin)
	checkStored(t, ns, all)
}

// TestRollingUpgradeWithAnUnlabelledSecretLosesNoCallback upgrades the
// operator as a rolling update does, one process after the other, for a
// ChatApp whose token Secret lacks the chat.roomsync.io/secret label, as
// every Secret made before that label existed does: the new process reads it
// from the API server, and no callback goes unanswered or unstored.
func TestRollingUpgradeWithAnUnlabelledSecretLosesNoCallback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := nextApp.Add(1)
	ns := fmt.Sprintf("faults-%d", n)
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID + n, CallbackAuth: &chatv1alpha1.CallbackAuth{
			TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "legacy-token"},
		}},
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy-token"}, StringData: map[string]string{"token": token}},
		app,
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	old, err := testenv.StartOperator(ctx, binary, kubeconfig, spoolArgs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[testenv.Operator]
	current.Store(old)
	stop := make(chan struct{})
	done := make(chan []sent)
	go func() {
		done <- stream(app.Spec.SDKAppID, func() string { return current.Load().CallbackURL }, 8, 40, pace, stop)
	}()

	time.Sleep(3 * time.Second)
	next, err := testenv.StartOperator(ctx, binary, kubeconfig, spoolArgs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	current.Store(next) // the Service's endpoints move to the ready pod
	old.Stop()          // SIGTERM: in-flight callbacks finish
	time.Sleep(3 * time.Second)
	close(stop)
	all := <-done
	end := time.Now()

	ok, unavailable, failed, slowest := summary(all)
	t.Logf("%d callbacks: %d OK, %d 503, %d other; slowest answer %s", len(all), ok, unavailable, failed, slowest.Round(time.Millisecond))
	allAnswered200(t, all)
	storedWithin(t, ns, all, end, healWithin)
	checkStored(t, ns, all)
}

// TestSpoolDrainsOnStopAndDeadLettersWhatItCannotWrite spools callbacks
// during an outage and stops the operator (SIGTERM) right after the API
// server returns: it writes its spool before it exits. One of the spooled
// events can never be written (its Room's name is taken by a Room of
// another room): it is dead-lettered, counted, told in the ChatApp's Event,
// and listed in the log of the next start.
func TestSpoolDrainsOnStopAndDeadLettersWhatItCannotWrite(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, appID := newPlainApp(t)
	squatter := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: roomstore.NameFor("room-0")},
		Spec:       chatv1alpha1.RoomSpec{SDKAppID: appID, RoomID: "another-room"},
	}
	if err := env.Client.Create(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	args := spoolArgs(t)
	op, err := testenv.StartOperator(ctx, binary, kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.StopControlPlane(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan []sent)
	go func() { done <- stream(appID, func() string { return op.CallbackURL }, 4, 20, pace, stop) }()
	time.Sleep(3 * time.Second)
	close(stop)
	all := <-done
	if err := env.StartControlPlane(); err != nil {
		t.Fatal(err)
	}
	op.Stop() // SIGTERM at once: the spool is written before the process ends
	for _, s := range all {
		if !s.ok() {
			t.Fatalf("event %d of %s: answer %d %+v, error %v; want 200", s.eventTime, s.room, s.status, s.answer, s.err)
		}
	}
	if !strings.Contains(op.Log.String(), "Spool drained") {
		t.Errorf("the operator did not drain its spool before it exited; its log:\n%s", op.Log)
	}
	// No process runs now: what the Rooms hold, the stopping one wrote.
	var others []sent
	for _, s := range all {
		if s.room != "room-0" {
			others = append(others, s)
		}
	}
	storedWithin(t, ns, others, time.Now(), time.Second)
	checkStored(t, ns, others)
	if msg := replayEvent(t, ns); !strings.Contains(msg, "dead-lettered") || strings.Contains(msg, " 0 dead-lettered") {
		t.Errorf("the replay Event does not count the dead letters: %q", msg)
	}

	again, err := testenv.StartOperator(ctx, binary, kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n := metric(t, again, "roomsync_spool_dead_letters"); n < 1 {
		t.Errorf("roomsync_spool_dead_letters = %v after a restart, want the dead letters kept", n)
	}
	if !strings.Contains(again.Log.String(), "Dead letter in the spool") {
		t.Errorf("the next start does not list the dead letters; its log:\n%s", again.Log)
	}
}
