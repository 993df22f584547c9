// Package faults runs the built roomsync binary through the failures a
// production receiver meets mid-stream: the API server going away, and the
// operator being killed. Tencent's sender waits 2 s for an answer and does
// not retry, so the promise under test is: an OK means stored, nothing older
// overwrites newer, and no answer takes longer than the budget.
//
// The operator runs without leader election here. With it on,
// controller-runtime ends the process when the lease cannot be renewed for
// the renew deadline (10 s by default), which an API server outage longer
// than that causes by design; the Deployment's restart then takes over.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	sdkAppID = 1400000009
	token    = "faults-token"
	// budget is how long Tencent's sender waits for an answer.
	budget = 2 * time.Second
)

var (
	env        *testenv.Env
	binary     string
	kubeconfig string
	nextApp    atomic.Int64
	// cluster runs the recording Jobs: a controller manager, a scheduler and
	// kwok's fake nodes.
	cluster *testenv.Cluster
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, func(ctx context.Context) error {
		// No credential the tests hand out may show where others can read
		// it: token is also stored without CreateSignedApp.
		env.AfterTests = func(ctx context.Context) error {
			return env.CheckNoLeaks(ctx, testenv.Secret{Kind: "callback token", Value: token})
		}
		dir, err := os.MkdirTemp("", "roomsync-faults-")
		if err != nil {
			return err
		}
		if binary, err = testenv.BuildOperator(dir); err != nil {
			return err
		}
		kubeconfig = filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
			return err
		}
		// Recording Jobs really run, and their controllers must outlive the
		// API server outages these tests make.
		cluster, err = env.StartCluster(ctx, 2)
		return err
	}))
}

// newApp creates a namespace with a token Secret and a ChatApp that records
// rooms, and returns the namespace and the ChatApp's sdkAppID.
func newApp(t *testing.T) (string, int64) {
	t.Helper()
	n := nextApp.Add(1)
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("faults-%d", n), Name: "app"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID + n, Recording: testenv.Recording()},
	}
	if err := testenv.CreateSignedApp(context.Background(), env.Client, app, token); err != nil {
		t.Fatal(err)
	}
	return app.Namespace, app.Spec.SDKAppID
}

// sent is one callback and what became of it.
type sent struct {
	room      string
	eventTime int64
	target    string    // the callback URL it was sent to
	at        time.Time // when it was sent
	status    int       // HTTP status; 0 when the request failed
	err       error     // the request's error, or an answer that is not JSON
	took      time.Duration
	answer    struct {
		ErrorCode int
		ErrorInfo string
	}
}

// stream sends updates, each with recording on, from senders goroutines until
// stop is closed. The rooms are shared out among the senders (room j is
// sender j%senders's), and each sender sends to its rooms in turn, each event
// newer than the last, as Tencent's sender does, waiting interval between
// two. target returns the callback URL to use now.
func stream(sdkAppID int64, target func() string, senders, rooms int, interval time.Duration, stop <-chan struct{}) []sent {
	var (
		mu    sync.Mutex
		all   []sent
		wg    sync.WaitGroup
		clock atomic.Int64
	)
	clock.Store(time.Now().UnixMilli())
	// A longer timeout than the budget, so that an answer past it is seen
	// rather than cut off.
	c := &http.Client{Timeout: 3 * budget}
	for s := range senders {
		var owned []string
		for j := s; j < rooms; j += senders {
			owned = append(owned, fmt.Sprintf("room-%d", j))
		}
		wg.Go(func() {
			var mine []sent
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					all = append(all, mine...)
					mu.Unlock()
					return
				default:
				}
				if i > 0 {
					time.Sleep(interval)
				}
				x := sent{room: owned[i%len(owned)], eventTime: clock.Add(1)}
				body, _ := json.Marshal(map[string]any{
					"CallbackCommand": tencent.CommandAfterUpdateRoomInfo,
					"EventTime":       x.eventTime,
					"RoomInfo": map[string]any{
						"RoomId":                   x.room,
						"RoomName":                 name(x.eventTime),
						"IsCloudRecordingDisabled": false,
					},
				})
				q := tencent.CallbackQuery{SDKAppID: sdkAppID, Command: tencent.CommandAfterUpdateRoomInfo, Token: token}
				t0 := time.Now()
				x.at, x.target = t0, target()
				resp, err := c.Post(x.target+"?"+q.Encode(t0), "application/json", bytes.NewReader(body))
				if err == nil {
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					x.status = resp.StatusCode
					if jerr := json.Unmarshal(data, &x.answer); jerr != nil {
						err = fmt.Errorf("answer %d %q is not JSON", resp.StatusCode, data)
					}
				}
				x.took, x.err = time.Since(t0), err
				mine = append(mine, x)
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the operator is down: do not spin
				}
			}
		})
	}
	wg.Wait()
	return all
}

func name(eventTime int64) string { return "name-" + strconv.FormatInt(eventTime, 10) }

// ok reports whether the callback was answered OK, that is, stored.
func (s sent) ok() bool { return s.err == nil && s.status == http.StatusOK && s.answer.ErrorCode == 0 }

// checkStored checks that every Room holds its newest OK'd event or a newer
// one that was sent, and a state that is one event's, not a mix.
func checkStored(t *testing.T, ns string, all []sent) {
	t.Helper()
	newestOK, newestSent := map[string]int64{}, map[string]int64{}
	for _, s := range all {
		newestSent[s.room] = max(newestSent[s.room], s.eventTime)
		if s.ok() {
			newestOK[s.room] = max(newestOK[s.room], s.eventTime)
		}
	}
	for room, okTime := range newestOK {
		r := &chatv1alpha1.Room{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: roomstore.NameFor(room)}, r); err != nil {
			t.Errorf("room %s was answered OK at %d but has no Room: %v", room, okTime, err)
			continue
		}
		st := r.Status
		if st.LastEventTime < okTime || st.LastEventTime > newestSent[room] {
			t.Errorf("Room %s holds event %d; the newest OK'd was %d and the newest sent %d", room, st.LastEventTime, okTime, newestSent[room])
		}
		if st.RoomName != name(st.LastEventTime) {
			t.Errorf("Room %s holds event %d with the name %q of another event", room, st.LastEventTime, st.RoomName)
		}
	}
}

func summary(all []sent) (ok, unavailable, failed int, slowest time.Duration) {
	for _, s := range all {
		switch {
		case s.ok():
			ok++
		case s.err == nil && s.status == http.StatusServiceUnavailable:
			unavailable++
		default:
			failed++
		}
		slowest = max(slowest, s.took)
	}
	return ok, unavailable, failed, slowest
}

// TestAPIServerOutageMidStream stops etcd and kube-apiserver for some
// seconds while callbacks stream in: every callback is answered OK (and is
// then stored) or 503, within the budget, and the same operator process
// stores callbacks again once the API server is back.
func TestAPIServerOutageMidStream(t *testing.T) {
	ns, appID := newApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op, err := testenv.StartOperator(ctx, binary, kubeconfig, "--metrics-secure=false")
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	done := make(chan []sent)
	go func() { done <- stream(appID, func() string { return op.CallbackURL }, 8, 80, 0, stop) }()

	time.Sleep(2 * time.Second)
	down := time.Now()
	if err := env.StopControlPlane(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if err := env.StartControlPlane(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("control plane down for %s", back.Sub(down).Round(100*time.Millisecond))
	time.Sleep(6 * time.Second)
	close(stop)
	all := <-done

	ok, unavailable, failed, slowest := summary(all)
	t.Logf("%d callbacks: %d OK, %d 503, %d other; slowest answer %s", len(all), ok, unavailable, failed, slowest.Round(time.Millisecond))
	for _, s := range all {
		if !s.ok() && (s.err != nil || s.status != http.StatusServiceUnavailable) {
			t.Errorf("event %d of %s: answer %d %+v, error %v; want OK or 503", s.eventTime, s.room, s.status, s.answer, s.err)
		}
		if s.took >= budget {
			t.Errorf("event %d of %s answered after %s, past the %s budget", s.eventTime, s.room, s.took, budget)
		}
	}
	if unavailable == 0 {
		t.Error("no callback was answered 503: the outage was not exercised")
	}
	if op.Exited() {
		t.Fatalf("the operator exited during the outage; its log:\n%s", op.Log)
	}
	// Recovered without a restart: what is sent once the API server is back
	// is stored again.
	after := 0
	for _, s := range all {
		if s.at.After(back.Add(3 * time.Second)) {
			after++
			if !s.ok() {
				t.Errorf("event %d of %s, sent %s after the API server was back: answer %d %+v, error %v",
					s.eventTime, s.room, s.at.Sub(back).Round(time.Millisecond), s.status, s.answer, s.err)
			}
		}
	}
	if after == 0 {
		t.Error("nothing was sent after the API server came back")
	}
	checkStored(t, ns, all)
}

// TestOperatorKilledMidStream kills the operator with SIGKILL while
// callbacks stream in, and starts it again: every OK'd event is in its Room,
// no older event overwrote a newer one, and each recording session still
// has exactly one Job.
func TestOperatorKilledMidStream(t *testing.T) {
	ns, appID := newApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := testenv.StartOperator(ctx, binary, kubeconfig, "--metrics-secure=false")
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[testenv.Operator]
	current.Store(first)

	stop := make(chan struct{})
	done := make(chan []sent)
	go func() {
		done <- stream(appID, func() string { return current.Load().CallbackURL }, 8, 40, 0, stop)
	}()

	time.Sleep(3 * time.Second)
	first.Kill()
	time.Sleep(500 * time.Millisecond)
	second, err := testenv.StartOperator(ctx, binary, kubeconfig, "--metrics-secure=false")
	if err != nil {
		t.Fatal(err)
	}
	current.Store(second)
	time.Sleep(4 * time.Second)
	close(stop)
	all := <-done

	ok, unavailable, failed, slowest := summary(all)
	t.Logf("%d callbacks: %d OK, %d 503, %d refused or cut off; slowest answer %s", len(all), ok, unavailable, failed, slowest.Round(time.Millisecond))
	for _, s := range all {
		// While no process listens, the request fails: Tencent sees no OK.
		if s.err == nil && s.status != http.StatusOK && s.status != http.StatusServiceUnavailable {
			t.Errorf("event %d of %s: answer %d %+v; want OK or 503", s.eventTime, s.room, s.status, s.answer)
		}
		if s.ok() && s.took >= budget {
			t.Errorf("event %d of %s answered after %s, past the %s budget", s.eventTime, s.room, s.took, budget)
		}
	}
	if failed == 0 {
		t.Error("no callback failed: the kill was not exercised")
	}
	checkStored(t, ns, all)

	// Every Room records (each event had recording on), in one session: one
	// Job each, whether the first process or the second made it.
	rooms := &chatv1alpha1.RoomList{}
	if err := env.Client.List(ctx, rooms, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	jobsPerRoom := func() map[string]int {
		jobs := &batchv1.JobList{}
		if err := env.Client.List(ctx, jobs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, j := range jobs.Items {
			for _, ref := range j.OwnerReferences {
				if ref.Kind == "Room" {
					n[ref.Name]++
				}
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, missing := jobsPerRoom(), 0
		for _, r := range rooms.Items {
			if n[r.Name] == 0 {
				missing++
			}
			if n[r.Name] > 1 {
				t.Fatalf("Room %s has %d recording Jobs for one session", r.Name, n[r.Name])
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Rooms have no recording Job; operator log:\n%s", missing, len(rooms.Items), second.Log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// And no second Job shows up later.
	time.Sleep(2 * time.Second)
	for room, n := range jobsPerRoom() {
		if n != 1 {
			t.Errorf("Room %s has %d recording Jobs for one session", room, n)
		}
	}
}
