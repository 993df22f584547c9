package roomstore

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

func info(t int64, name string) Event {
	n := tencent.String(name)
	return Event{EventTime: t, Command: tencent.CommandAfterUpdateRoomInfo, RoomInfo: &RoomInfoChange{Info: tencent.RoomInfo{RoomName: &n}}}
}

func destroy(t int64) Event {
	return Event{EventTime: t, Command: tencent.CommandAfterDestroyRoom, Operator: "admin", Destroy: &DestroyChange{Received: time.Unix(100, 0)}}
}

func members(t, count int64, typ string, accounts int64) Event {
	return Event{EventTime: t, Command: tencent.CommandAfterMemberLeave, Members: &MembersChange{Count: &count, Type: typ, Accounts: accounts}}
}

func seats(t, total, taken int64) Event {
	return Event{EventTime: t, Command: tencent.CommandAfterSeatInfoChanged, Seats: &SeatsChange{Total: total, Taken: taken}}
}

// run applies events in order and returns the status and which applied.
func run(events ...Event) (chatv1alpha1.RoomStatus, []bool) {
	var st chatv1alpha1.RoomStatus
	var applied []bool
	for _, ev := range events {
		applied = append(applied, transition(&st, ev))
	}
	return st, applied
}

func TestTransitionOrdersEachKindSeparately(t *testing.T) {
	st, applied := run(
		info(100, "a"),
		members(200, 5, MemberEnter, 5),
		info(150, "b"),                  // newer room info, older than the member event: applies
		members(180, 3, MemberLeave, 2), // late member event: changes nothing
		seats(50, 8, 2),                 // seats have their own clock: applies
		info(120, "stale"),              // older room info: changes nothing
	)
	want := []bool{true, true, true, false, true, false}
	for i := range want {
		if applied[i] != want[i] {
			t.Errorf("event %d applied %v, want %v", i, applied[i], want[i])
		}
	}
	if st.RoomName != "b" || st.LastEventTime != 150 {
		t.Errorf("room info %q at %d, want b at 150", st.RoomName, st.LastEventTime)
	}
	if m := st.Members; *st.MemberCount != 5 || m.Left != 0 || m.EventTime != 200 {
		t.Errorf("members %+v: a late leave must not roll back the count nor be counted", m)
	}
	if s := st.Seats; s.Total != 8 || s.Taken != 2 {
		t.Errorf("seats %+v", s)
	}
	if st.Phase != chatv1alpha1.RoomPhaseActive {
		t.Errorf("phase %q", st.Phase)
	}
}

func TestTransitionCountsLeaveReasonsOnce(t *testing.T) {
	st, _ := run(
		members(1, 10, MemberEnter, 10),
		members(2, 8, MemberLeave, 2),
		members(3, 7, MemberKicked, 1),
		members(3, 7, MemberKicked, 1), // a retried callback
		members(4, 4, MemberExpired, 3),
		members(5, 4, "SomethingNew", 1),
	)
	if m := st.Members; *st.MemberCount != 4 || m.Left != 2 || m.Kicked != 1 || m.Expired != 3 || m.EventTime != 5 {
		t.Errorf("members %+v, want count 4, left 2, kicked 1, expired 3", m)
	}
}

func TestTransitionDestroy(t *testing.T) {
	t.Run("destroy marks the room and late events change nothing", func(t *testing.T) {
		st, applied := run(info(100, "a"), destroy(200), members(150, 1, MemberLeave, 1), info(190, "late"), seats(199, 1, 1))
		if st.Phase != chatv1alpha1.RoomPhaseDestroyed || st.Destroyed.EventTime != 200 || st.Destroyed.Operator != "admin" ||
			!st.Destroyed.Time.Equal(ptrTime(time.UnixMilli(200))) {
			t.Fatalf("status %+v, destroyed %+v", st, st.Destroyed)
		}
		if applied[2] || applied[3] || applied[4] || st.RoomName != "a" || st.Members != nil || st.Seats != nil {
			t.Errorf("events older than the destroy applied: %v", applied)
		}
		if st.LastCallbackCommand != tencent.CommandAfterDestroyRoom || st.LastOperator != "admin" {
			t.Errorf("last* describe %q by %q, want the destroy", st.LastCallbackCommand, st.LastOperator)
		}
	})
	t.Run("room info newer than the destroy brings the room back", func(t *testing.T) {
		st, applied := run(info(100, "a"), destroy(200), info(300, "reused"))
		if !applied[2] || st.Phase != chatv1alpha1.RoomPhaseActive || st.RoomName != "reused" {
			t.Fatalf("status %+v", st)
		}
		// The destroy is remembered: events older than it still change nothing.
		if transition(&st, members(150, 9, MemberEnter, 1)) {
			t.Error("an event older than the earlier destroy applied")
		}
	})
	t.Run("a late destroy does not end a later life of the room", func(t *testing.T) {
		st, applied := run(info(300, "reused"), destroy(250))
		if applied[1] || st.Phase != chatv1alpha1.RoomPhaseActive {
			t.Fatalf("a destroy older than the room info applied: %+v", st)
		}
	})
	t.Run("a retried destroy keeps the first receive time", func(t *testing.T) {
		st, _ := run(destroy(200))
		first := st.Destroyed.ReceivedTime
		retry := destroy(200)
		retry.Destroy.Received = time.Unix(999, 0)
		if !transition(&st, retry) || !st.Destroyed.ReceivedTime.Equal(&first) {
			t.Fatalf("retry: %+v", st.Destroyed)
		}
	})
}

// TestTransitionShuffled applies events of every kind in random orders: the
// result is always the newest event of each kind.
func TestTransitionShuffled(t *testing.T) {
	var events []Event
	for i := int64(1); i <= 30; i++ {
		events = append(events, info(i*10, "name"+string(rune('a'+i%26))), members(i*10+1, i, MemberEnter, 1), seats(i*10+2, i, i/2))
	}
	want, _ := run(events...)
	for round := range 50 {
		shuffled := append([]Event(nil), events...)
		rand.New(rand.NewPCG(uint64(round), 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, _ := run(shuffled...)
		// Leave counts and last* are order-dependent by design; compare the state.
		if got.RoomName != want.RoomName || got.LastEventTime != want.LastEventTime || *got.MemberCount != *want.MemberCount ||
			got.Members.EventTime != want.Members.EventTime || *got.Seats != *want.Seats {
			t.Fatalf("round %d: got %+v, want %+v", round, got, want)
		}
		if got.LastCallbackCommand != tencent.CommandAfterSeatInfoChanged {
			t.Fatalf("round %d: last* describe %s, want the newest event, the seat change at %d", round, got.LastCallbackCommand, want.Seats.EventTime)
		}
	}
}

func TestReceiverPatchLeavesControllerFieldsAlone(t *testing.T) {
	room := &chatv1alpha1.Room{}
	room.Name, room.Namespace, room.ResourceVersion = "r", "ns", "42"
	room.Status.ObservedGeneration = 3
	room.Status.Conditions = append(room.Status.Conditions, readyCondition())
	room.Status.Recording = &chatv1alpha1.RoomRecording{Active: true, Sessions: 2}
	room.Status.MemberCount = ptr.To[int64](1)
	room.Status.RoomName = "unchanged"
	st := receiverStatus(room.Status)
	transition(&st, members(1, 0, MemberLeave, 1))
	data, err := statusPatch(room, st)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(data, &got)
	status := got["status"].(map[string]any)
	if _, ok := status["conditions"]; ok {
		t.Error("the receiver's patch carries conditions")
	}
	if _, ok := status["observedGeneration"]; ok {
		t.Error("the receiver's patch carries observedGeneration")
	}
	if _, ok := status["recording"]; ok {
		t.Error("the receiver's patch carries the recording controller's status.recording")
	}
	if _, ok := status["roomName"]; ok {
		t.Error("the receiver's patch carries a field that did not change")
	}
	if n, ok := status["memberCount"]; !ok || n != float64(0) {
		t.Errorf("memberCount %v: a count of 0 must be sent, not dropped", n)
	}
	if m := status["members"].(map[string]any); m["left"] != float64(1) {
		t.Errorf("members %v", m)
	}
	if got["metadata"].(map[string]any)["resourceVersion"] != "42" {
		t.Error("the patch is not made on top of the resourceVersion read")
	}
}

func ptrTime(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

func readyCondition() metav1.Condition {
	return metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "R", LastTransitionTime: metav1.Now()}
}

func TestTransitionRecordsEachEnable(t *testing.T) {
	flag := func(at int64, disabled bool) Event {
		b := tencent.Bool(disabled)
		return Event{EventTime: at, Command: tencent.CommandAfterUpdateRoomInfo, RoomInfo: &RoomInfoChange{Info: tencent.RoomInfo{IsCloudRecordingDisabled: &b}}}
	}
	for _, tc := range []struct {
		name   string
		events []Event
		want   int64
	}{
		{name: "enabled", events: []Event{flag(10, false)}, want: 10},
		{name: "still enabled: the first enable counts", events: []Event{flag(10, false), flag(20, false), info(30, "x")}, want: 10},
		{name: "disabled and enabled again", events: []Event{flag(10, false), flag(20, true), flag(30, false)}, want: 30},
		{name: "never enabled", events: []Event{flag(10, true), info(20, "x")}, want: 0},
		{name: "brought back after a destroy while enabled", events: []Event{flag(10, false), destroy(20), info(30, "again")}, want: 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _ := run(tc.events...); st.CloudRecordingEnabledTime != tc.want {
				t.Fatalf("cloudRecordingEnabledTime %d, want %d", st.CloudRecordingEnabledTime, tc.want)
			}
		})
	}
}

func TestDrifted(t *testing.T) {
	st, _ := run(info(10, "Weekly"))
	name := func(n string) *tencent.String { s := tencent.String(n); return &s }
	read := func(at int64, roomName string) Event {
		return Event{EventTime: at, Command: CommandResync, RoomInfo: &RoomInfoChange{Info: tencent.RoomInfo{RoomName: name(roomName)}}}
	}
	if Drifted(st, read(20, "Weekly")) {
		t.Error("a read that says what the Room says is drift")
	}
	if !Drifted(st, read(20, "Daily")) {
		t.Error("a read with another name is not drift")
	}
	if Drifted(st, read(5, "Daily")) {
		t.Error("a read older than the Room's newest callback is drift")
	}
	if !Drifted(st, Event{EventTime: 20, Command: CommandResync, Destroy: &DestroyChange{Received: time.Now()}}) {
		t.Error("a room gone while the Room is active is not drift")
	}
}

// countRead and seatsRead are the events a resync makes of get_room_info's
// MemberCount and of get_seat_list.
func countRead(t, count int64) Event {
	return Event{EventTime: t, Command: CommandResync, Members: &MembersChange{Count: &count}}
}

func seatsRead(t, total, taken int64) Event {
	return Event{EventTime: t, Command: CommandResync, Seats: &SeatsChange{Total: total, Taken: taken}}
}

func TestTransitionReadOfTheMemberCount(t *testing.T) {
	t.Run("a read sets the count and counts nobody as gone", func(t *testing.T) {
		st, applied := run(
			members(10, 9, MemberEnter, 9),
			members(20, 7, MemberLeave, 2),
			members(30, 6, MemberKicked, 1),
			members(40, 5, MemberExpired, 1),
			countRead(50, 3),
			countRead(50, 3), // the same read applied again
		)
		if !applied[4] || !applied[5] {
			t.Fatalf("applied %v: a read newer than the member callbacks must apply", applied)
		}
		if m := st.Members; *st.MemberCount != 3 || m.Left != 2 || m.Kicked != 1 || m.Expired != 1 || m.EventTime != 50 {
			t.Errorf("count %d, members %+v: want count 3 at 50 and left 2, kicked 1, expired 1 unchanged", *st.MemberCount, m)
		}
		if st.LastCallbackCommand != CommandResync {
			t.Errorf("last command %q, want the read", st.LastCallbackCommand)
		}
	})
	t.Run("a read even with a Type counts nobody", func(t *testing.T) {
		ev := countRead(10, 1)
		ev.Members.Type, ev.Members.Accounts = MemberLeave, 4
		if st, _ := run(ev); st.Members.Left != 0 {
			t.Errorf("left %d after a read", st.Members.Left)
		}
	})
	t.Run("a newer member callback wins over an older read", func(t *testing.T) {
		st, applied := run(members(100, 4, MemberEnter, 1), countRead(90, 8))
		if applied[1] || *st.MemberCount != 4 || st.Members.EventTime != 100 {
			t.Errorf("applied %v, count %d at %d: want the callback's 4 at 100", applied, *st.MemberCount, st.Members.EventTime)
		}
	})
	t.Run("a newer read wins over an older member callback", func(t *testing.T) {
		st, applied := run(countRead(100, 8), members(90, 4, MemberLeave, 1))
		if applied[1] || *st.MemberCount != 8 || st.Members.Left != 0 {
			t.Errorf("applied %v, count %d, left %d: want the read's 8 and nobody counted", applied, *st.MemberCount, st.Members.Left)
		}
	})
	t.Run("lastChangeTime moves only when a read finds another count", func(t *testing.T) {
		st, _ := run(members(100, 4, MemberEnter, 1), countRead(200, 4))
		if got := st.Members.LastChangeTime; !got.Equal(ptrTime(time.UnixMilli(100))) {
			t.Errorf("lastChangeTime %v after a read of the same count, want the callback's", got)
		}
		transition(&st, countRead(300, 6))
		if got := st.Members.LastChangeTime; !got.Equal(ptrTime(time.UnixMilli(300))) || st.Members.EventTime != 300 {
			t.Errorf("lastChangeTime %v, eventTime %d after a read of another count, want both the read's", got, st.Members.EventTime)
		}
		fresh, _ := run(countRead(400, 0))
		if !fresh.Members.LastChangeTime.IsZero() || *fresh.MemberCount != 0 {
			t.Errorf("a read of 0 members in a Room that heard of none: %+v", fresh.Members)
		}
	})
	t.Run("a read of the seats is ordered against the seat callbacks", func(t *testing.T) {
		st, applied := run(seats(100, 8, 2), seatsRead(90, 8, 5), seatsRead(110, 8, 6), seats(105, 8, 1))
		if want := []bool{true, false, true, false}; !slices.Equal(applied, want) {
			t.Errorf("applied %v, want %v", applied, want)
		}
		if *st.Seats != (chatv1alpha1.RoomSeats{Total: 8, Taken: 6, EventTime: 110}) {
			t.Errorf("seats %+v, want the newer read's", st.Seats)
		}
	})
}

func TestSeatsOf(t *testing.T) {
	account := func(s string) *tencent.String { v := tencent.String(s); return &v }
	for _, tc := range []struct {
		name string
		list []tencent.SeatInfo
		want SeatsChange
	}{
		{name: "no seats", list: []tencent.SeatInfo{}, want: SeatsChange{}},
		{name: "empty seats, with and without Member_Account", list: []tencent.SeatInfo{{}, {MemberAccount: account("")}}, want: SeatsChange{Total: 2}},
		{name: "taken and empty", list: []tencent.SeatInfo{{MemberAccount: account("user2")}, {}, {MemberAccount: account("144115")}}, want: SeatsChange{Total: 3, Taken: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SeatsOf(tc.list); *got != tc.want {
				t.Errorf("%+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestDriftedCoversMembersAndSeats(t *testing.T) {
	st, _ := run(info(10, "Weekly"), members(20, 5, MemberEnter, 5), members(30, 3, MemberLeave, 2), seats(40, 8, 2))
	for _, tc := range []struct {
		name  string
		evs   []Event
		drift bool
	}{
		{name: "the same count and seats", evs: []Event{countRead(100, 3), seatsRead(101, 8, 2)}},
		{name: "another count", evs: []Event{countRead(100, 4), seatsRead(101, 8, 2)}, drift: true},
		{name: "other seats taken", evs: []Event{countRead(100, 3), seatsRead(101, 8, 3)}, drift: true},
		{name: "another number of seats", evs: []Event{seatsRead(101, 10, 2)}, drift: true},
		{name: "another count, read before the Room's newest member event", evs: []Event{countRead(25, 9), seatsRead(101, 8, 2)}},
		{name: "other seats, read before the Room's newest seat event", evs: []Event{seatsRead(35, 1, 1)}},
		{name: "the room info drifted, not the rest", evs: []Event{info(100, "Daily"), countRead(100, 3), seatsRead(101, 8, 2)}, drift: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Drifted(st, tc.evs...); got != tc.drift {
				t.Errorf("Drifted %v, want %v", got, tc.drift)
			}
		})
	}

	// A Room that has not heard of members or seats says there are none.
	fresh, _ := run(info(10, "New"))
	if Drifted(fresh, countRead(100, 0), seatsRead(101, 0, 0)) {
		t.Error("a read of no members and no seats is drift in a Room that heard of none")
	}
	if !Drifted(fresh, countRead(100, 2)) || !Drifted(fresh, seatsRead(101, 4, 0)) {
		t.Error("a read of members or seats a Room never heard of is not drift")
	}
	// Drifted applies events in EventTime order, as the Store does.
	if Drifted(st, seatsRead(102, 8, 2), seatsRead(101, 1, 1)) {
		t.Error("an older read given last decided the drift")
	}
}
