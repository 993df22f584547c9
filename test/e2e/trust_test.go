package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

// TestAChatAppWithoutAuthGetsNoCallbacks: with the binary's defaults
// (--allow-unsigned-callbacks off), a ChatApp without callbackAuth says
// how to set a token, and the 25 unsigned callbacks that once made 25 Rooms
// and 25 recording Jobs make nothing.
func TestAChatAppWithoutAuthGetsNoCallbacks(t *testing.T) {
	ctx := context.Background()
	const ns, appID = "e2e-unsigned", 1400000077
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	app := &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "open"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: appID, Recording: testenv.Recording()},
	}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	waitFor(t, app, "the ChatApp is Stalled CallbackAuthRequired", func() bool {
		return conditionReason(app.Status.Conditions, chatv1alpha1.StalledCondition) == chatv1alpha1.CallbackAuthRequiredReason &&
			!isTrue(app.Status.Conditions, chatv1alpha1.ReadyCondition)
	})
	if msg := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.ReadyCondition).Message; !strings.Contains(msg, "spec.callbackAuth") ||
		!strings.Contains(msg, "kubectl create secret") {
		t.Errorf("the Ready message %q does not say how to set a token", msg)
	}

	for i := range 25 {
		body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterCreateRoom","EventTime":%d,"RoomInfo":{"RoomId":"open-%d","IsCloudRecordingDisabled":false}}`, 1000+i, i)
		q := tencent.CallbackQuery{SDKAppID: appID, Command: tencent.CommandAfterCreateRoom, ClientIP: "203.0.113.9", OptPlatform: "Web"}
		resp, err := http.Post(callbackURL+"?"+q.Encode(time.Now()), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unsigned callback %d answered %d, want 401", i, resp.StatusCode)
		}
	}
	var rooms chatv1alpha1.RoomList
	var jobs batchv1.JobList
	if err := env.Client.List(ctx, &rooms, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.List(ctx, &jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(rooms.Items) != 0 || len(jobs.Items) != 0 {
		t.Fatalf("unsigned callbacks made %d Rooms and %d Jobs", len(rooms.Items), len(jobs.Items))
	}
}

// TestUnauthenticatedUploadsCostAlmostNothing opens 200 uploads of nearly
// 1 MiB each for an SdkAppid no ChatApp claims, and stalls them before
// their last bytes: the receiver must refuse them from the query alone,
// not buffer them (it once grew by 170 MiB), while the replica's RSS grows
// by less than 16 MiB.
func TestUnauthenticatedUploadsCostAlmostNothing(t *testing.T) {
	replica := nonLeader(t)
	before := rss(t, replica)

	addr := strings.TrimPrefix(strings.TrimSuffix(replica.CallbackURL, "/callback"), "http://")
	q := url.Values{"SdkAppid": {"999999"}, "CallbackCommand": {tencent.CommandAfterUpdateRoomInfo}}
	head := "POST /callback?" + q.Encode() + " HTTP/1.1\r\nHost: roomsync\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
	chunk := []byte(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","Pad":"` + strings.Repeat("x", 64<<10))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	answered, otherAnswers := 0, 0
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := c.Write([]byte(head)); err != nil {
				return
			}
			go func() {
				// Up to 960 KiB, then stall; a refused upload ends early.
				for range 15 {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			mu.Lock()
			if resp.StatusCode == http.StatusUnauthorized {
				answered++
			} else {
				otherAnswers++
			}
			mu.Unlock()
		}()
	}
	// While the uploads are open (the server's read timeout is 5 s), the
	// replica's memory is sampled.
	peak := before
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		peak = max(peak, rss(t, replica))
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	mu.Lock()
	for _, c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	t.Logf("RSS %d KiB before, %d KiB at the peak; %d of 200 uploads answered 401", before>>10, peak>>10, answered)
	if grew := peak - before; grew >= 16<<20 {
		t.Errorf("200 unauthenticated uploads grew the replica's RSS by %d MiB, want under 16", grew>>20)
	}
	// A refused upload's connection is closed with its body unread; a
	// client still writing may see the reset before the answer, so a few
	// may have none.
	if otherAnswers > 0 || answered < 180 {
		t.Errorf("%d of 200 unauthenticated uploads were answered 401, %d otherwise", answered, otherAnswers)
	}
}

// nonLeader returns a live replica that does not lead: it serves callbacks
// and runs no controllers, so its memory moves only with the callbacks.
func nonLeader(t *testing.T) *testenv.Operator {
	t.Helper()
	leader := waitForLeader(t)
	for _, r := range replicas {
		if r != leader && !r.Exited() {
			return r
		}
	}
	return leader
}

// rss is the resident set size of the replica's process, in bytes.
func rss(t *testing.T, r *testenv.Operator) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
