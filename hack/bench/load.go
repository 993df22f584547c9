package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/roomsync/roomsync/internal/tencent"
)

// load is what one round of load measured.
type load struct {
	Stored    int             `json:"stored"`
	Failed    int             `json:"failed"`
	Elapsed   time.Duration   `json:"-"`
	latencies []time.Duration // of stored operations
	firstErr  error
}

func (r load) PerSecond() float64 { return float64(r.Stored) / r.Elapsed.Seconds() }

// drive calls op from concurrency workers, each as soon as its previous call
// returned, until duration has passed.
func drive(concurrency int, duration time.Duration, op func(i int64) error) load {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		total   load
		wg      sync.WaitGroup
		started = time.Now()
		end     = started.Add(duration)
	)
	for range concurrency {
		wg.Go(func() {
			var mine load
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := op(next.Add(1)); err != nil {
					mine.Failed++
					if mine.firstErr == nil {
						mine.firstErr = err
					}
					continue
				}
				mine.Stored++
				mine.latencies = append(mine.latencies, time.Since(t0))
			}
			mu.Lock()
			total.Stored += mine.Stored
			total.Failed += mine.Failed
			total.latencies = append(total.latencies, mine.latencies...)
			if total.firstErr == nil {
				total.firstErr = mine.firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	total.Elapsed = time.Since(started)
	return total
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// sender posts callbacks to the receiver as Tencent's sender does: signed,
// with the query string Tencent appends, over kept-alive connections.
type sender struct {
	url      string
	sdkAppID int64
	token    string
	client   *http.Client
}

// newSender returns a sender to callbackURL for sdkAppID, signing with token.
func newSender(callbackURL string, sdkAppID int64) *sender {
	return &sender{
		url:      callbackURL,
		sdkAppID: sdkAppID,
		token:    token,
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 256},
		},
	}
}

// answer is the receiver's reply.
type answer struct {
	ActionStatus string
	ErrorCode    int
	ErrorInfo    string
}

// send posts body and returns the answer; an HTTP error status is an error.
func (s *sender) send(command string, body []byte) (answer, error) {
	q := tencent.CallbackQuery{SDKAppID: s.sdkAppID, Command: command, ClientIP: "203.0.113.9", OptPlatform: "Android", Token: s.token}
	resp, err := s.client.Post(s.url+"?"+q.Encode(time.Now()), "application/json", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return answer{}, fmt.Errorf("answer %d %q is not JSON", resp.StatusCode, data)
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("answer %d %s", resp.StatusCode, data)
	}
	return a, nil
}

// outcome is what the receiver did with an event, read from its answer:
// applied when ErrorInfo is empty, else ErrorInfo's first word.
type outcome string

const (
	applied outcome = "applied"
	// spooled: kept in the operator's spool, to be written into its Room
	// once the API server takes writes. Stored, as applied is.
	spooled outcome = "spooled"
	stale   outcome = "stale"
)

// update sends an update callback for roomID at eventTime that changes the
// room's name and size, and returns what the receiver did with it.
func (s *sender) update(roomID string, eventTime int64) (outcome, error) {
	body, _ := json.Marshal(map[string]any{
		"CallbackCommand":  tencent.CommandAfterUpdateRoomInfo,
		"EventTime":        eventTime,
		"Operator_Account": "bench",
		"RoomInfo": map[string]any{
			"RoomId":         roomID,
			"RoomName":       roomName(eventTime),
			"MaxMemberCount": eventTime%1000 + 1,
			"Owner_Account":  "bench",
		},
	})
	a, err := s.send(tencent.CommandAfterUpdateRoomInfo, body)
	if err != nil {
		return "", err
	}
	if a.ErrorCode != 0 {
		return "", fmt.Errorf("answer %+v", a)
	}
	if a.ErrorInfo == "" {
		return applied, nil
	}
	word, _, _ := strings.Cut(a.ErrorInfo, ":")
	return outcome(word), nil
}

func roomName(eventTime int64) string { return "room-at-" + strconv.FormatInt(eventTime, 10) }

// storedUpdate is update for load rounds: anything but stored (applied or
// spooled) is a failure, as every event of a round is newer than the room's.
func (s *sender) storedUpdate(roomID string, eventTime int64) error {
	o, err := s.update(roomID, eventTime)
	if err == nil && o != applied && o != spooled {
		err = fmt.Errorf("event %d for room %q answered %s", eventTime, roomID, o)
	}
	return err
}

var roomsGVR = schema.GroupVersionResource{Group: "chat.roomsync.io", Version: "v1alpha1", Resource: "rooms"}

// rawPatch writes what an update callback would into a Room's status with
// a plain JSON merge patch: the API server's own write speed, the ceiling
// the receiver is measured against.
func rawPatch(ctx context.Context, c dynamic.Interface, namespace, name string, eventTime int64) error {
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{
		"roomName":       roomName(eventTime),
		"maxMemberCount": eventTime%1000 + 1,
		"ownerAccount":   "bench",
		"lastEventTime":  eventTime,
	}})
	_, err := c.Resource(roomsGVR).Namespace(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "bench-raw"}, "status")
	return err
}
