package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// planRoom is a Room created at created whose kinds were last confirmed at
// the given times (zero: never), read last at read (zero: never).
type planRoom struct {
	name                 string
	info, members, seats time.Time
	read                 time.Time
	seatless             bool
}

func (p planRoom) room(created time.Time) *chatv1alpha1.Room {
	r := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Name: p.name, CreationTimestamp: metav1.NewTime(created)}}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	r.Status.LastEventTime = ms(p.info)
	if !p.members.IsZero() {
		r.Status.Members = &chatv1alpha1.RoomMembers{EventTime: ms(p.members)}
	}
	if !p.seats.IsZero() {
		r.Status.Seats = &chatv1alpha1.RoomSeats{EventTime: ms(p.seats)}
	}
	if p.seatless {
		r.Status.SeatEnabled = ptr.To(false)
	}
	if !p.read.IsZero() {
		r.Status.Resync = &chatv1alpha1.RoomResync{Time: ptr.To(metav1.NewTime(p.read))}
	}
	return r
}

func TestConfirmedAt(t *testing.T) {
	created := t0.Add(-48 * time.Hour)
	for _, tc := range []struct {
		name string
		room planRoom
		want time.Time
	}{
		{"every kind confirmed: the oldest counts",
			planRoom{info: t0, members: t0.Add(-time.Minute), seats: t0.Add(-2 * time.Minute)}, t0.Add(-2 * time.Minute)},
		{"a room-info callback alone does not confirm the seats",
			planRoom{info: t0, members: t0, seats: t0.Add(-time.Hour)}, t0.Add(-time.Hour)},
		{"a seatless room is as fresh as its info and members",
			planRoom{info: t0, members: t0.Add(-time.Minute), seats: t0.Add(-time.Hour), seatless: true}, t0.Add(-time.Minute)},
		{"never read and no member callback: due at once",
			planRoom{info: t0}, time.UnixMilli(0)},
		{"a read confirms what it could not read (no MemberCount, seats that failed)",
			planRoom{info: t0.Add(-time.Hour), read: t0}, t0},
		{"an old read does not hide a newer callback's kinds",
			planRoom{info: t0, members: t0, seats: t0, read: t0.Add(-time.Hour)}, t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := confirmedAt(tc.room.room(created)); !got.Equal(tc.want) {
				t.Errorf("confirmedAt = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPlanSweep(t *testing.T) {
	const interval = 10 * time.Minute
	now := t0
	created := t0.Add(-24 * time.Hour)
	fresh := func(name string, age time.Duration) planRoom {
		at := now.Add(-age)
		return planRoom{name: name, info: at, members: at, seats: at}
	}
	rooms := []*chatv1alpha1.Room{
		fresh("busy", time.Second).room(created),                     // its callbacks keep coming
		fresh("quiet", 11*time.Minute).room(created),                 // due
		fresh("quieter", 50*time.Minute).room(created),               // due, first
		fresh("almost", 9*time.Minute).room(created),                 // due in a minute
		fresh("exactly", interval).room(created),                     // due now
		planRoom{name: "new", info: now}.room(now.Add(-time.Minute)), // never read: due, its members unknown
	}
	plan := planSweep(rooms, now, interval, false)
	if got, want := names(plan.due), []string{"new", "quieter", "quiet", "exactly"}; !slices.Equal(got, want) {
		t.Errorf("due %v, want %v (least recently confirmed first)", got, want)
	}
	if want := now.Add(time.Minute); !plan.next.Equal(want) {
		t.Errorf("next %s, want %s (when \"almost\" falls due)", plan.next, want)
	}
	if plan.stalest != 50*time.Minute {
		t.Errorf("stalest %s, want 50m (a Room never confirmed counts from its creation)", plan.stalest)
	}

	full := planSweep(rooms, now, interval, true)
	if got, want := names(full.due), []string{"new", "quieter", "quiet", "exactly", "almost", "busy"}; !slices.Equal(got, want) {
		t.Errorf("a full pass reads %v, want %v", got, want)
	}
	if !full.next.IsZero() {
		t.Errorf("a full pass reads every Room, yet next is %s", full.next)
	}

	if plan := planSweep(nil, now, interval, false); len(plan.due) != 0 || !plan.next.IsZero() || plan.stalest != 0 {
		t.Errorf("no Rooms: %+v", plan)
	}

	room := rooms[1] // quiet
	if !stillDue(room, now, interval, false) {
		t.Error("quiet is not still due")
	}
	room.Status.LastEventTime, room.Status.Members.EventTime, room.Status.Seats.EventTime = now.UnixMilli(), now.UnixMilli(), now.UnixMilli()
	if stillDue(room, now, interval, false) {
		t.Error("a Room confirmed since the plan is still due")
	}
	if !stillDue(room, now, interval, true) {
		t.Error("a full pass skips a Room")
	}
}

func TestPlanCatchUp(t *testing.T) {
	const interval = 10 * time.Minute
	since := t0
	now := t0.Add(time.Minute)
	created := t0.Add(-24 * time.Hour)
	active := func(name string, at time.Time) *chatv1alpha1.Room {
		return planRoom{name: name, info: at, members: at, seats: at}.room(created)
	}
	rooms := []*chatv1alpha1.Room{
		active("hour-ago", since.Add(-time.Hour)),
		active("before-gap", since.Add(-5*time.Minute)),
		active("just-before", since.Add(-time.Second)),
		active("edge", since.Add(-interval)),
		active("after-return", now),
	}
	// Members changed lately in an otherwise quiet room.
	members := active("members", since.Add(-2*time.Hour))
	members.Status.Members.EventTime = since.Add(-2 * time.Second).UnixMilli()
	rooms = append(rooms, members)

	refs := func() []*lookup.RoomRef {
		out := make([]*lookup.RoomRef, len(rooms))
		for i, r := range rooms {
			out[i] = lookup.RefOf(r)
		}
		return out
	}
	gap := &chatv1alpha1.ResyncCatchUp{Since: &metav1.Time{Time: since}, Reason: chatv1alpha1.NoReplicaServingReason}
	if got, want := refNames(planCatchUp(refs(), gap, interval)), []string{"after-return", "just-before", "members", "before-gap", "edge"}; !slices.Equal(got, want) {
		t.Errorf("catch-up reads %v, want %v (most recently active first, none quiet before the gap)", got, want)
	}

	// Rooms that lost events are read first, quiet or not; without a
	// since, only they are.
	for _, r := range rooms {
		r.Spec.RoomID = r.Name
	}
	lost := &chatv1alpha1.ResyncCatchUp{Rooms: []string{"hour-ago", "edge", "not-a-room"}, Reason: chatv1alpha1.EventsNotStoredReason}
	if got, want := refNames(planCatchUp(refs(), lost, interval)), []string{"edge", "hour-ago"}; !slices.Equal(got, want) {
		t.Errorf("catch-up of lost rooms reads %v, want %v", got, want)
	}
	lost.Since = gap.Since
	if got, want := refNames(planCatchUp(refs(), lost, interval)), []string{"edge", "hour-ago", "after-return", "just-before", "members", "before-gap"}; !slices.Equal(got, want) {
		t.Errorf("catch-up of lost rooms and a gap reads %v, want %v", got, want)
	}
}

func refNames(refs []*lookup.RoomRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Name
	}
	return out
}

func names(rooms []*chatv1alpha1.Room) []string {
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = r.Name
	}
	return out
}

// syncingIndex is an AppRoomLister whose Rooms are there once synced is
// closed.
type syncingIndex struct {
	synced chan struct{}
	rooms  []*lookup.RoomRef
}

func (x *syncingIndex) HasSynced() bool {
	select {
	case <-x.synced:
		return true
	default:
		return false
	}
}

func (x *syncingIndex) WaitForSync(ctx context.Context) bool {
	select {
	case <-x.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

func (x *syncingIndex) AppRooms(ctx context.Context, _ string, _ int64) ([]*lookup.RoomRef, error) {
	select {
	case <-x.synced:
		return x.rooms, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// recordOf is an ActiveRoomReader of a record.
type recordOf []*lookup.RoomRef

func (r recordOf) Read(context.Context, string, int64) ([]*lookup.RoomRef, error) { return r, nil }

func keyNames(keys []client.ObjectKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return out
}

// TestPlanCatchUpPassStartsFromTheRecordOfActiveRooms: while the Room index
// has not synced, a catch-up plans the Rooms the record of active Rooms has
// (those active since an interval before the catch-up's since, as from the
// index), and then, once the index has synced, the index's others; once
// it has synced, the index alone.
func TestPlanCatchUpPassStartsFromTheRecordOfActiveRooms(t *testing.T) {
	now := time.Now()
	ref := func(name string, ago time.Duration) *lookup.RoomRef {
		return &lookup.RoomRef{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, SDKAppID: 1, LastActive: now.Add(-ago).UnixMilli()}
	}
	index := &syncingIndex{synced: make(chan struct{}), rooms: []*lookup.RoomRef{
		ref("recorded-newest", 0), ref("recorded-older", time.Minute), ref("quiet", 2*time.Hour),
		ref("active-since-the-record", 0), ref("recorded-quiet", 3*time.Hour),
	}}
	index.rooms[3].LastActive += 1000
	record := recordOf{ref("recorded-newest", 0), ref("recorded-older", time.Minute), ref("recorded-quiet", 3*time.Hour)}
	w := &resyncWorker{r: &ResyncReconciler{Index: index, Active: record}, cfg: resyncConfig{interval: 10 * time.Minute}}
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: 1}}
	prev := &chatv1alpha1.ChatAppResync{CatchUp: &chatv1alpha1.ResyncCatchUp{Since: &metav1.Time{Time: now.Add(-time.Minute)}}}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	plan, err := w.planCatchUpPass(ctx, app, prev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keyNames(plan.due), []string{"recorded-newest", "recorded-older"}; !slices.Equal(got, want) || plan.then == nil {
		t.Fatalf("before the index synced: due %v (then %v), want %v and then the index", got, plan.then != nil, want)
	}
	// Their reads apply once the index has synced: the Store finds Rooms
	// in it.
	if plan.applyAfter == nil {
		t.Fatal("the reads of the recorded Rooms do not wait for the index to apply")
	}
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if err := plan.applyAfter(short); err == nil {
		t.Error("applyAfter did not wait for the index")
	}
	thenDone := make(chan []client.ObjectKey, 1)
	go func() {
		more, err := plan.then(ctx)
		if err != nil {
			t.Error(err)
		}
		thenDone <- more
	}()
	select {
	case more := <-thenDone:
		t.Fatalf("the rest was planned before the index synced: %v", keyNames(more))
	case <-time.After(100 * time.Millisecond):
	}
	close(index.synced)
	if got, want := keyNames(<-thenDone), []string{"active-since-the-record"}; !slices.Equal(got, want) {
		t.Errorf("once the index synced: %v, want %v (not again what the record had)", got, want)
	}
	if err := plan.applyAfter(ctx); err != nil {
		t.Errorf("applyAfter once the index synced: %v", err)
	}

	plan, err = w.planCatchUpPass(ctx, app, prev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keyNames(plan.due), []string{"active-since-the-record", "recorded-newest", "recorded-older"}; !slices.Equal(got, want) || plan.then != nil || plan.applyAfter != nil {
		t.Errorf("with the index synced: due %v (then %v), want %v from the index alone", got, plan.then != nil, want)
	}
}
