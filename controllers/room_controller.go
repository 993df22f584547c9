// Package controllers holds the reconcilers that act on the state the
// callback receiver mirrors into Rooms, and keep ChatApps' status honest.
package controllers

import (
	"context"
	"errors"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// RoomFieldManager is the server-side apply field manager of the Room
// controller. It owns status.observedGeneration and the Ready, Stalled,
// Reconciling and Synced conditions; the callback receiver owns the room
// info.
const RoomFieldManager = "roomsync-room-controller"

// RoomReconciler derives a Room's conditions from the room info the callback
// receiver wrote into its status, and deletes the Rooms that callbacks
// created once their retention after a destroy has passed.
type RoomReconciler struct {
	client.Client
	// Secrets reads callback token Secrets (lookup.SecretReader), to tell
	// which ChatApp governs a Room (lookup.ChatAppFor).
	Secrets client.Reader
}

// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms,verbs=get;list;watch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms/status,verbs=patch

// Reconcile implements reconcile.Reconciler.
func (r *RoomReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	room := &chatv1alpha1.Room{}
	if err := r.Get(ctx, req.NamespacedName, room); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !room.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // nothing outside the cluster to clean up
	}

	rooms, err := lookup.Rooms(ctx, r.Client, room.Namespace, room.Spec.SDKAppID, room.Spec.RoomID)
	if err != nil {
		return ctrl.Result{}, err
	}
	var holder *chatv1alpha1.Room
	if len(rooms) > 0 {
		holder = rooms[0]
	}

	conds, changed := mergeConditions(room.Status.Conditions, roomConditionTypes, roomConditions(room, holder))
	if changed || room.Status.ObservedGeneration != room.Generation {
		status := chatac.RoomStatus().
			WithObservedGeneration(room.Generation).
			WithConditions(conditionApplyConfigurations(conds)...)
		if err := r.Status().Apply(ctx, chatac.Room(room.Name, room.Namespace).WithStatus(status),
			client.FieldOwner(RoomFieldManager), client.ForceOwnership); err != nil {
			return ctrl.Result{}, fmt.Errorf("applying status of Room %s: %w", req, err)
		}
	}
	return r.enforceRetention(ctx, room)
}

// SetupWithManager registers the controller. Besides each Room's own
// changes, a Room appearing or going away re-evaluates the other Rooms with
// the same roomID, as it may change which of them is the holder.
func (r *RoomReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Secrets == nil {
		return errors.New("the Room controller needs Secrets")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&chatv1alpha1.Room{}, builder.WithPredicates(roomConditionsInputsChanged)).
		Watches(&chatv1alpha1.Room{},
			handler.EnqueueRequestsFromMapFunc(r.roomsWithSameRoomID),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Named("room").
		Complete(r)
}

func (r *RoomReconciler) roomsWithSameRoomID(ctx context.Context, obj client.Object) []reconcile.Request {
	room := obj.(*chatv1alpha1.Room)
	rooms, err := lookup.Rooms(ctx, r.Client, room.Namespace, room.Spec.SDKAppID, room.Spec.RoomID)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Rooms with the same roomID")
		return nil
	}
	return requestsForOthers(room, rooms)
}
