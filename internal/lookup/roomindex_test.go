package lookup

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// indexRooms are Rooms of two rooms in two namespaces, with a duplicate, one
// of another sdkAppID, and one being deleted.
func indexRooms() []chatv1alpha1.Room {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Unix(1_700_000_000+int64(s), 0)) }
	room := func(ns, name, roomID string, sdkAppID int64, created int) chatv1alpha1.Room {
		return chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), ResourceVersion: "7",
				CreationTimestamp: at(created), Annotations: map[string]string{"big": "not kept"}},
			Spec:   chatv1alpha1.RoomSpec{SDKAppID: sdkAppID, RoomID: roomID},
			Status: chatv1alpha1.RoomStatus{RoomName: "not kept"},
		}
	}
	deleting := room("a", "going", "r1", 1, 0)
	deleting.DeletionTimestamp, deleting.Finalizers = &metav1.Time{Time: time.Unix(1_800_000_000, 0)}, []string{"x"}
	return []chatv1alpha1.Room{
		room("a", "young-duplicate", "r1", 1, 20),
		room("a", "holder", "r1", 1, 10),
		room("a", "other-app", "r1", 2, 5),
		room("b", "elsewhere", "r1", 1, 1),
		room("a", "another-room", "r2", 1, 1),
		deleting,
	}
}

func names(refs []*RoomRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Namespace+"/"+r.Name)
	}
	return out
}

// indexOf returns a RoomIndex, not started, of every namespace, whose list
// gives items.
func indexOf(t *testing.T, items []chatv1alpha1.Room) *RoomIndex {
	t.Helper()
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &chatv1alpha1.RoomList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: items}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
	}
	x, err := newRoomIndex(map[string]toolscache.ListerWatcher{"": listOnly{lw}}, ListFinder{Reader: fake.NewClientBuilder().Build()})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestRoomIndexFindsTheHolderFirst(t *testing.T) {
	items := indexRooms()
	x := indexOf(t, items)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = x.Start(ctx) }()
	if !x.WaitForSync(ctx) {
		t.Fatal("the index did not sync")
	}
	refs, err := x.Rooms(ctx, "a", 1, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(refs), []string{"a/holder", "a/young-duplicate"}; !slices.Equal(got, want) {
		t.Errorf("Rooms: got %v, want %v (holder first; not another app's, namespace's or a deleting one)", got, want)
	}
	if refs[0].UID != "a/holder" || refs[0].ResourceVersion != "7" || refs[0].RoomID != "r1" || refs[0].SDKAppID != 1 {
		t.Errorf("the holder's ref lacks what identifies it: %+v", refs[0])
	}
	// The informer keeps refs only, not the Rooms' annotations or status.
	for _, obj := range x.informers[""].GetIndexer().List() {
		ref, ok := obj.(*RoomRef)
		if !ok {
			t.Fatalf("the index holds a %T", obj)
		}
		if ref.Annotations != nil {
			t.Errorf("the index keeps annotations of %s", ref.Name)
		}
	}
	// What the caller does with a ref does not change the index's.
	refs[0].Name = "changed"
	again, _ := x.Rooms(ctx, "a", 1, "r1")
	if again[0].Name != "holder" {
		t.Error("Rooms hands out the index's own refs")
	}
}

// TestRoomIndexListsAnAppsRooms: AppRooms waits for the index to sync, then
// gives the Rooms of one app in one namespace, none being deleted, each
// with when it was last active (its newest event of any kind).
func TestRoomIndexListsAnAppsRooms(t *testing.T) {
	items := indexRooms()
	items[1].Status.LastEventTime = 1_700_000_100_000
	items[1].Status.Seats = &chatv1alpha1.RoomSeats{EventTime: 1_700_000_200_000}
	x := indexOf(t, items)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Asked before the index runs: AppRooms waits for it.
	type answer struct {
		refs []*RoomRef
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		refs, err := x.AppRooms(ctx, "a", 1)
		got <- answer{refs, err}
	}()
	go func() { _ = x.Start(ctx) }()
	var a answer
	select {
	case a = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("AppRooms did not answer once the index synced")
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	slices.SortFunc(a.refs, func(p, q *RoomRef) int { return strings.Compare(p.Name, q.Name) })
	if got, want := names(a.refs), []string{"a/another-room", "a/holder", "a/young-duplicate"}; !slices.Equal(got, want) {
		t.Errorf("AppRooms: got %v, want %v (not another app's or namespace's, nor a deleting one)", got, want)
	}
	if active := a.refs[1].LastActive; active != 1_700_000_200_000 {
		t.Errorf("the holder was last active at %d, want its newest event, the seats' 1700000200000", active)
	}
	// A context that ends before the index syncs ends the wait.
	idle := indexOf(t, items)
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	if refs, err := idle.AppRooms(short, "a", 1); err == nil {
		t.Errorf("AppRooms of an index that never syncs: %v, no error", names(refs))
	}
}

// TestRoomIndexGivesAnAppsMostActiveRooms: MostActive tells nothing until
// the index has synced, then gives the n most recently active Rooms of one
// app in one namespace, newest first, never one being deleted or never
// active, each a copy.
func TestRoomIndexGivesAnAppsMostActiveRooms(t *testing.T) {
	items := indexRooms()
	items[0].Status.LastEventTime = 1_700_000_300_000 // young-duplicate
	items[1].Status.LastEventTime = 1_700_000_100_000 // holder
	items[1].Status.Seats = &chatv1alpha1.RoomSeats{EventTime: 1_700_000_400_000}
	items[2].Status.LastEventTime = 1_700_000_900_000 // another app's
	items[3].Status.LastEventTime = 1_700_000_900_000 // another namespace's
	items[5].Status.LastEventTime = 1_700_000_900_000 // being deleted
	// items[4], another-room, was never active.
	x := indexOf(t, items)
	if refs, synced := x.MostActive("a", 1, 10); synced || len(refs) != 0 {
		t.Fatalf("MostActive before the index synced: %v, synced %v; want none, false", names(refs), synced)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = x.Start(ctx) }()
	if !x.WaitForSync(ctx) {
		t.Fatal("the index did not sync")
	}
	refs, synced := x.MostActive("a", 1, 10)
	if got, want := names(refs), []string{"a/holder", "a/young-duplicate"}; !synced || !slices.Equal(got, want) {
		t.Errorf("MostActive: got %v (synced %v), want %v: the newest event of any kind first", got, synced, want)
	}
	if refs, _ := x.MostActive("a", 1, 1); !slices.Equal(names(refs), []string{"a/holder"}) {
		t.Errorf("MostActive of 1: got %v, want the holder only", names(refs))
	}
	refs[0].Name = "changed"
	if again, _ := x.MostActive("a", 1, 1); again[0].Name != "holder" {
		t.Error("MostActive hands out the index's own refs")
	}
}

func TestRoomIndexAsksTheAPIServerUntilSynced(t *testing.T) {
	items := indexRooms()
	objs := make([]client.Object, len(items))
	for i := range items {
		objs[i] = &items[i]
	}
	reader := fake.NewClientBuilder().WithScheme(scheme()).WithObjects(objs...).
		WithIndex(&chatv1alpha1.Room{}, RoomIDField, func(o client.Object) []string { return []string{o.(*chatv1alpha1.Room).Spec.RoomID} }).
		Build()
	// Never started: not synced.
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &chatv1alpha1.RoomList{}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
	}
	x, err := newRoomIndex(map[string]toolscache.ListerWatcher{"a": listOnly{lw}}, ListFinder{Reader: reader})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := x.Rooms(context.Background(), "a", 1, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(refs), []string{"a/holder", "a/young-duplicate"}; !slices.Equal(got, want) {
		t.Errorf("Rooms before sync: got %v, want %v", got, want)
	}
	// A namespace it does not watch has no Room of roomsync's.
	if refs, err := x.Rooms(context.Background(), "b", 1, "r1"); err != nil || len(refs) != 0 {
		t.Errorf("Rooms in an unwatched namespace: %v, %v; want none", names(refs), err)
	}
}

func TestToRefIsIdempotent(t *testing.T) {
	room := indexRooms()[1]
	once, err := toRef(&room)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := toRef(once)
	if err != nil || twice != once {
		t.Errorf("toRef of a RoomRef: %v, %v; want it as it is", twice, err)
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "a/holder", Obj: once}
	if got, _ := toRef(tomb); got != tomb {
		t.Errorf("toRef of a tombstone: %v", got)
	}
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = chatv1alpha1.AddToScheme(s)
	return s
}

// listOnly is a ListWatch without watch-list streaming (a fake watch sends
// no bookmark to end it): the reflector lists, then watches.
type listOnly struct{ *toolscache.ListWatch }

func (listOnly) IsWatchListSemanticsUnSupported() bool { return true }
