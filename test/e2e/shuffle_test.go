package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// TestShuffledEventsManySendersEndAtTheNewest sends 10,000 room-info events
// over 100 rooms in random order from 8 concurrent senders: every one is
// answered OK (applied or stale), and each Room ends at its newest event.
func TestShuffledEventsManySendersEndAtTheNewest(t *testing.T) {
	const rooms, perRoom, senders = 100, 100, 8
	run := time.Now().UnixNano()
	type event struct {
		room int
		at   int64
	}
	events := make([]event, 0, rooms*perRoom)
	for r := range rooms {
		for i := int64(1); i <= perRoom; i++ {
			events = append(events, event{r, i})
		}
	}
	rand.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	queue := make(chan event)
	var mu sync.Mutex
	failures := map[int]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for ev := range queue {
				body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":"mix-%d-%d","RoomName":"n%d","MaxMemberCount":%d}}`,
					ev.at, run%1e9, ev.room, ev.at, ev.at)
				if status, _ := post(t, body, ""); status != http.StatusOK {
					mu.Lock()
					failures[status]++
					mu.Unlock()
				}
			}
		})
	}
	for _, ev := range events {
		queue <- ev
	}
	close(queue)
	wg.Wait()
	t.Logf("%d callbacks from %d senders in %s", len(events), senders, time.Since(start).Round(time.Millisecond))
	if len(failures) > 0 {
		t.Fatalf("answers other than 200: %v", failures)
	}

	for r := range rooms {
		id := fmt.Sprintf("mix-%d-%d", run%1e9, r)
		var list chatv1alpha1.RoomList
		if err := env.Client.List(t.Context(), &list, client.InNamespace(namespace), client.MatchingFields{"spec.roomID": id}); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("room %s: %d Rooms", id, len(list.Items))
		}
		if st := list.Items[0].Status; st.LastEventTime != perRoom || st.RoomName != fmt.Sprint("n", perRoom) || st.MaxMemberCount != perRoom {
			t.Errorf("room %s ended at event %d (%q, %d), want the newest, %d", id, st.LastEventTime, st.RoomName, st.MaxMemberCount, perRoom)
		}
	}
}
