package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// RetentionFieldManager is the field manager that owns a ChatApp's
// status.deletedRooms.
const RetentionFieldManager = "roomsync-room-retention"

const (
	// defaultRoomRetention applies when a ChatApp does not say.
	defaultRoomRetention = 24 * time.Hour
	// maxDeletedRooms bounds a ChatApp's status.deletedRooms.
	maxDeletedRooms = 1000
)

// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms,verbs=delete

// retentionDue returns when room is to be deleted, and false when it is not
// to be deleted at all: only Rooms a callback created are, a retention
// period after their destroy callback was received. app is the ChatApp that
// delivers the room's callbacks (nil if none: the Room is kept).
func retentionDue(room *chatv1alpha1.Room, app *chatv1alpha1.ChatApp) (time.Time, bool) {
	destroyed := room.Status.Destroyed
	if app == nil || destroyed == nil || room.Status.Phase != chatv1alpha1.RoomPhaseDestroyed ||
		room.Labels[chatv1alpha1.CreatedByLabel] != chatv1alpha1.CreatedByCallback {
		return time.Time{}, false
	}
	retention := defaultRoomRetention
	if app.Spec.RoomRetention != nil {
		retention = app.Spec.RoomRetention.Duration
	}
	if retention <= 0 {
		return time.Time{}, false
	}
	return destroyed.ReceivedTime.Add(retention), true
}

// recordDeletion returns records with rec added (replacing an older record
// of the same room), keeping at most maxDeletedRooms, newest deletions first.
func recordDeletion(records []chatv1alpha1.DeletedRoom, rec chatv1alpha1.DeletedRoom) []chatv1alpha1.DeletedRoom {
	out := []chatv1alpha1.DeletedRoom{rec}
	for _, r := range records {
		if r.RoomID != rec.RoomID {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out[1:], func(a, b chatv1alpha1.DeletedRoom) int { return b.DeletedTime.Compare(a.DeletedTime.Time) })
	if len(out) > maxDeletedRooms {
		out = out[:maxDeletedRooms]
	}
	return out
}

// enforceRetention deletes room once its retention has passed. The deletion
// is first recorded in the ChatApp's status, so that a late event older than
// the destroy does not bring the Room back: a Room recorded but not deleted
// is deleted on the next try, a Room deleted but not recorded could return.
func (r *RoomReconciler) enforceRetention(ctx context.Context, room *chatv1alpha1.Room) (ctrl.Result, error) {
	app, err := lookup.ChatAppFor(ctx, r.Secrets, room.Namespace, room.Spec.SDKAppID)
	if err != nil {
		return ctrl.Result{}, err
	}
	due, ok := retentionDue(room, app)
	if !ok {
		return ctrl.Result{}, nil
	}
	if wait := time.Until(due); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}

	records := recordDeletion(app.Status.DeletedRooms, chatv1alpha1.DeletedRoom{
		RoomID:           room.Spec.RoomID,
		DestroyEventTime: room.Status.Destroyed.EventTime,
		DeletedTime:      metav1.Now(),
	})
	status := chatac.ChatAppStatus()
	for _, rec := range records {
		status.WithDeletedRooms(chatac.DeletedRoom().WithRoomID(rec.RoomID).WithDestroyEventTime(rec.DestroyEventTime).WithDeletedTime(rec.DeletedTime))
	}
	// On top of the ChatApp as read: the record is this manager's whole list.
	apply := chatac.ChatApp(app.Name, app.Namespace).WithResourceVersion(app.ResourceVersion).WithStatus(status)
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(RetentionFieldManager), client.ForceOwnership); err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the deletion of Room %s/%s in ChatApp %s: %w", room.Namespace, room.Name, app.Name, err)
	}

	// Only the Room as it was judged: not one a newer callback revived.
	precondition := client.Preconditions{UID: &room.UID, ResourceVersion: &room.ResourceVersion}
	switch err := r.Delete(ctx, room, precondition); {
	case apierrors.IsConflict(err):
		// Changed since it was read (often by this reconcile's own status
		// write): judge it again.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("deleting Room %s/%s after its retention: %w", room.Namespace, room.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Deleted the Room of a destroyed room after its retention", "roomID", room.Spec.RoomID, "destroyedAt", room.Status.Destroyed.Time)
	return ctrl.Result{}, nil
}
