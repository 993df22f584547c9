package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// recordingCache records what roomsOnDemand asks of the cache under it.
type recordingCache struct {
	cache.Cache
	calls []string
}

func (c *recordingCache) IndexField(_ context.Context, obj client.Object, field string, _ client.IndexerFunc) error {
	c.calls = append(c.calls, "index "+kindOf(obj)+" "+field)
	return nil
}

func (c *recordingCache) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	c.calls = append(c.calls, "list "+kindOf(list))
	return nil
}

func kindOf(obj any) string {
	switch obj.(type) {
	case *chatv1alpha1.Room, *chatv1alpha1.RoomList:
		return "Room"
	case *chatv1alpha1.ChatApp, *chatv1alpha1.ChatAppList:
		return "ChatApp"
	}
	return "other"
}

// A replica that never reads Rooms never makes their informer: the Room
// indexes registered at start wait for the first read, which adds them
// before it reads.
func TestRoomsOnDemandMakesTheRoomInformerOnFirstUse(t *testing.T) {
	under := &recordingCache{}
	c := &roomsOnDemand{Cache: under}
	ctx := context.Background()
	noop := func(client.Object) []string { return nil }
	for _, ix := range []struct {
		obj   client.Object
		field string
	}{{&chatv1alpha1.Room{}, "spec.roomID"}, {&chatv1alpha1.ChatApp{}, "spec.sdkAppID"}, {&chatv1alpha1.Room{}, "spec.sdkAppID"}} {
		if err := c.IndexField(ctx, ix.obj, ix.field, noop); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.List(ctx, &chatv1alpha1.ChatAppList{})
	if want := []string{"index ChatApp spec.sdkAppID", "list ChatApp"}; !slices.Equal(under.calls, want) {
		t.Fatalf("before any Room is read: %v, want %v", under.calls, want)
	}
	_ = c.List(ctx, &chatv1alpha1.RoomList{})
	_ = c.List(ctx, &chatv1alpha1.RoomList{})
	if err := c.IndexField(ctx, &chatv1alpha1.Room{}, "late", noop); err != nil {
		t.Fatal(err)
	}
	want := []string{"index ChatApp spec.sdkAppID", "list ChatApp",
		"index Room spec.roomID", "index Room spec.sdkAppID", "list Room", "list Room", "index Room late"}
	if !slices.Equal(under.calls, want) {
		t.Errorf("after Rooms are read: %v, want %v", under.calls, want)
	}
}

// With RoomsAfter, the Room informer waits for what it is told to wait for
// (the Room index, in main.go); a read of another kind does not, and a read
// whose context ends first fails without making the informer.
func TestRoomsAfterHoldsTheRoomInformerBack(t *testing.T) {
	under := &recordingCache{}
	c := &roomsOnDemand{Cache: under}
	synced := make(chan struct{})
	RoomsAfter(c, func(ctx context.Context) bool {
		select {
		case <-synced:
			return true
		case <-ctx.Done():
			return false
		}
	})
	if err := c.List(context.Background(), &chatv1alpha1.ChatAppList{}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.List(short, &chatv1alpha1.RoomList{}); err == nil {
		t.Error("a Room read whose context ended before the wait did not fail")
	}
	done := make(chan error, 1)
	go func() { done <- c.List(context.Background(), &chatv1alpha1.RoomList{}) }()
	select {
	case err := <-done:
		t.Fatalf("a Room read did not wait: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(synced)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []string{"list ChatApp", "list Room"}; !slices.Equal(under.calls, want) {
		t.Errorf("calls %v, want %v", under.calls, want)
	}
}

func TestSlimRoomKeepsWhatTheControllersRead(t *testing.T) {
	room := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "board",
			Labels:        map[string]string{chatv1alpha1.SDKAppIDLabel: "1400000001"},
			Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: `{"big":"spec"}`, chatv1alpha1.ResyncRequestedAtAnnotation: "now"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: chatv1alpha1.RoomSpec{SDKAppID: 1400000001, RoomID: "board"},
		Status: chatv1alpha1.RoomStatus{Phase: chatv1alpha1.RoomPhaseActive, RoomName: "Board", LastOptPlatform: "Web",
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Mirrored", Message: "ok"}}},
	}
	want := room.DeepCopy()
	want.ManagedFields = nil
	delete(want.Annotations, corev1.LastAppliedConfigAnnotation)
	got, err := SlimRoom(room)
	if err != nil {
		t.Fatal(err)
	}
	slim := got.(*chatv1alpha1.Room)
	if slim.ManagedFields != nil || slim.Annotations[corev1.LastAppliedConfigAnnotation] != "" {
		t.Errorf("SlimRoom kept managedFields or last-applied-configuration: %+v", slim.ObjectMeta)
	}
	if slim.Annotations[chatv1alpha1.ResyncRequestedAtAnnotation] != "now" {
		t.Error("SlimRoom dropped an annotation the resync controller reads")
	}
	if !equalRooms(slim, want) {
		t.Errorf("SlimRoom changed what the controllers read:\n got %+v\nwant %+v", slim, want)
	}
	// Idempotent, as informers' transforms must be.
	if again, _ := SlimRoom(slim); !equalRooms(again.(*chatv1alpha1.Room), want) {
		t.Error("SlimRoom is not idempotent")
	}
}

func equalRooms(a, b *chatv1alpha1.Room) bool { return equality.Semantic.DeepEqual(a, b) }
