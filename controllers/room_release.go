package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// UnwatchedRoomReleaser lets go of the Rooms this roomsync put its
// destroy-room finalizer on and no longer watches (--watch-namespaces
// changed): nobody would destroy their rooms, and deleting them would wait
// forever. It removes the finalizer, with a Warning Event Orphaned saying
// the room will be left in Tencent. It runs once, on the leader, when the
// operator starts; only Rooms whose FinalizerOwnerAnnotation names this
// instance are touched, so another roomsync's Rooms are left alone. When
// roomsync may not list Rooms outside the namespaces it watches (a
// namespace-scoped install), it says so in the log and does nothing.
type UnwatchedRoomReleaser struct {
	// APIReader lists Rooms across the cluster (the cache holds the watched
	// namespaces only); Client patches them.
	APIReader client.Reader
	Client    client.Client
	Recorder  recorder.EventRecorder
	// Watched are the watched namespaces; nil or empty: all (nothing to do).
	Watched map[string]bool
	// Instance identifies this roomsync (see FinalizerOwnerAnnotation).
	Instance string
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (r *UnwatchedRoomReleaser) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable: one sweep.
func (r *UnwatchedRoomReleaser) Start(ctx context.Context) error {
	if len(r.Watched) == 0 {
		return nil
	}
	log := ctrl.Log.WithName("room-release")
	// A page at a time: the cluster may hold 100,000 Rooms.
	for next := ""; ; {
		var rooms chatv1alpha1.RoomList
		if err := r.APIReader.List(ctx, &rooms, client.Limit(500), client.Continue(next)); err != nil {
			if apierrors.IsForbidden(err) {
				log.Info("Cannot list Rooms outside the watched namespaces, so Rooms left there with the destroy-room finalizer are not released: remove it by hand if one waits to be deleted", "finalizer", chatv1alpha1.DestroyRoomFinalizer)
				return nil
			}
			log.Error(err, "Listing Rooms to release those no longer watched")
			return nil // not worth stopping the operator for
		}
		for i := range rooms.Items {
			room := &rooms.Items[i]
			if r.Watched[room.Namespace] || !controllerutil.ContainsFinalizer(room, chatv1alpha1.DestroyRoomFinalizer) ||
				room.Annotations[chatv1alpha1.FinalizerOwnerAnnotation] != r.Instance {
				continue
			}
			if err := r.release(ctx, room); err != nil {
				log.Error(err, "Releasing a Room no longer watched", "room", client.ObjectKeyFromObject(room))
			}
		}
		if next = rooms.Continue; next == "" {
			return nil
		}
	}
}

func (r *UnwatchedRoomReleaser) release(ctx context.Context, room *chatv1alpha1.Room) error {
	orig := room.DeepCopy()
	controllerutil.RemoveFinalizer(room, chatv1alpha1.DestroyRoomFinalizer)
	delete(room.Annotations, chatv1alpha1.FinalizerOwnerAnnotation)
	if err := r.Client.Patch(ctx, room, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("removing the finalizer: %w", client.IgnoreNotFound(err))
	}
	r.Recorder.Eventf(room, nil, corev1.EventTypeWarning, chatv1alpha1.OrphanedEvent, "Release",
		"Namespace %s is no longer watched by roomsync (--watch-namespaces): %s will be left in Tencent when this Room is deleted",
		room.Namespace, describe(room))
	return nil
}
