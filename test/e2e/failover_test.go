package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/testenv"
)

// TestLeaderFailover: both replicas answer callbacks; when the leader is
// killed, the other takes over the controllers and Rooms keep being updated.
func TestLeaderFailover(t *testing.T) {
	if len(replicas) < 2 || replicas[1].Exited() {
		t.Fatal("the suite runs two replicas")
	}
	base := time.Now().UnixMilli()
	for i, r := range replicas {
		body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":"ha-%d","RoomName":"before"}}`, base, i)
		if status, answer := postTo(t, r.CallbackURL, body, ""); status != http.StatusOK {
			t.Fatalf("replica %d: answer %d %v", i, status, answer)
		}
	}

	leader := waitForLeader(t)
	var survivor *testenv.Operator
	for _, r := range replicas {
		if r != leader {
			survivor = r
		}
	}
	if strings.Contains(scrape(t, survivor.MetricsURL), leaderMetric) {
		t.Fatal("both replicas lead")
	}
	leader.Kill()
	usePrimary(survivor)

	// The survivor still answers, and once it leads its controllers act on
	// the Rooms: a new Room becomes Ready.
	body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":"ha-after","RoomName":"after"}}`, base+1)
	if status, answer := post(t, body, ""); status != http.StatusOK {
		t.Fatalf("the survivor: answer %d %v", status, answer)
	}
	if waitForLeader(t) != survivor {
		t.Fatal("the survivor does not lead")
	}
	waitForRoom(t, "ha-after", "the new leader's Room controller marks the Room Ready", func(r *chatv1alpha1.Room) bool {
		return meta.IsStatusConditionTrue(r.Status.Conditions, chatv1alpha1.ReadyCondition) && r.Status.ObservedGeneration == r.Generation
	})
}
