package controllers_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
)

// A roomsync restarted without a namespace in --watch-namespaces lets go of
// the Rooms there that carry its finalizer, and of no other roomsync's.
func TestRoomsNoLongerWatchedAreReleased(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	// The operator that watched ns is gone; nobody acts on the Rooms.
	stopManager()
	defer func() {
		if err := startManager(suiteCtx); err != nil {
			t.Fatal(err)
		}
	}()
	room := func(name, owner string) *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: []string{chatv1alpha1.DestroyRoomFinalizer},
				Annotations: map[string]string{chatv1alpha1.FinalizerOwnerAnnotation: owner}},
			Spec: chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: name, ManagementPolicies: []chatv1alpha1.ManagementPolicy{"*"}},
		}
		if err := env.Client.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	ours, deleted, theirs := room("ours", "roomsync-system"), room("deleted", "roomsync-system"), room("theirs", "another-roomsync")
	if err := env.Client.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}

	recorder := events.NewFakeRecorder(10)
	releaser := &controllers.UnwatchedRoomReleaser{APIReader: env.Client, Client: env.Client, Recorder: recorder,
		Watched: map[string]bool{"elsewhere": true}, Instance: "roomsync-system"}
	if err := releaser.Start(ctx); err != nil {
		t.Fatal(err)
	}

	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ours), ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Finalizers) != 0 || ours.Annotations[chatv1alpha1.FinalizerOwnerAnnotation] != "" {
		t.Errorf("our Room keeps finalizers %v and annotations %v", ours.Finalizers, ours.Annotations)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(deleted), deleted); !apierrors.IsNotFound(err) {
		t.Errorf("our Room being deleted: %v, want it gone", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(theirs), theirs); err != nil || len(theirs.Finalizers) != 1 {
		t.Errorf("another roomsync's Room: %v, finalizers %v, want it untouched", err, theirs.Finalizers)
	}
	for range 2 {
		if e := <-recorder.Events; !strings.Contains(e, "Warning Orphaned") || !strings.Contains(e, "no longer watched") {
			t.Errorf("event %q, want a Warning Orphaned", e)
		}
	}
	patch := client.MergeFrom(theirs.DeepCopy())
	theirs.Finalizers = nil
	if err := env.Client.Patch(ctx, theirs, patch); err != nil {
		t.Fatal(err)
	}

	// Watching every namespace, there is nothing to release.
	if err := (&controllers.UnwatchedRoomReleaser{APIReader: env.Client, Client: env.Client, Recorder: recorder}).Start(ctx); err != nil {
		t.Fatal(err)
	}
}
