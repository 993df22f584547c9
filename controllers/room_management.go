package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

// ManagementFieldManager is the server-side apply field manager of the
// management controller: it owns status.management.
const ManagementFieldManager = "roomsync-management"

// RoomManagementReconciler makes Tencent match the Rooms that manage their
// room (spec.managementPolicies beyond Observe): it creates the room, keeps
// its declared settings, and destroys it with the Room. What it learns from
// Tencent it writes through the callback receiver's path (Store), like a
// resync; what it did it records in status.management. The Room controller
// derives the conditions from both.
type RoomManagementReconciler struct {
	client.Client
	// Store is the receiver's write path.
	Store *roomstore.Store
	// APIReader reads a Room from the API server before acting on it.
	APIReader client.Reader
	// APIs gives the ChatApps' REST API clients (shared with resync).
	APIs     *RESTAPIs
	Recorder recorder.EventRecorder
	// Instance identifies this roomsync on the Rooms it puts its finalizer
	// on (see UnwatchedRoomReleaser).
	Instance string
}

// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms/status,verbs=patch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms/finalizers,verbs=update
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=chatapps,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile implements reconcile.Reconciler.
func (r *RoomManagementReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	room := &chatv1alpha1.Room{}
	if err := r.Get(ctx, req.NamespacedName, room); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !room.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, room)
	}
	// A duplicate acts on nothing and gets no finalizer (the Room
	// controller stalls it); one it has from an older roomsync is removed,
	// without a call to Tencent, when it is deleted.
	if holder, err := r.holds(ctx, room); err != nil || !holder {
		return ctrl.Result{}, err
	}
	if changed, err := r.ensureFinalizer(ctx, room); changed || err != nil {
		return ctrl.Result{}, err
	}
	if !room.Spec.Allows(chatv1alpha1.ManagementCreate) && !room.Spec.Allows(chatv1alpha1.ManagementUpdate) {
		return ctrl.Result{}, r.dropFailure(ctx, room)
	}
	app, rest, failure := r.restAPI(ctx, room)
	if failure != nil {
		return ctrl.Result{}, r.fail(ctx, room, failure)
	}
	interval := resyncInterval(app.Spec.RestAPI)
	step := planManagement(room, interval, time.Now())
	if step.action == actCreate || step.action == actUpdate {
		// Decide on the Room as it is, not as the cache last heard of it:
		// a create recorded a moment ago must not look like someone else's.
		if err := r.APIReader.Get(ctx, req.NamespacedName, room); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		step = planManagement(room, interval, time.Now())
	}
	var err error
	switch step.action {
	case actNothing:
		return ctrl.Result{}, nil
	case actWait:
		return ctrl.Result{RequeueAfter: step.after + jitter(step.after)}, nil
	case actObserved:
		err = r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) { m.ObservedGeneration = room.Generation; m.Failure = nil })
	case actCreate:
		err = r.create(ctx, app, rest, room)
	case actUpdate:
		err = r.update(ctx, app, rest, room, step.drift)
	}
	var failed *managementError
	if errors.As(err, &failed) {
		if ferr := r.fail(ctx, room, failed.failure); ferr != nil {
			return ctrl.Result{}, ferr
		}
		if !stallingReasons[failed.failure.Reason] {
			return ctrl.Result{}, err // try again, with backoff
		}
		return ctrl.Result{RequeueAfter: interval + jitter(interval)}, nil
	}
	return ctrl.Result{}, err
}

// jitter is up to ±10% of d.
func jitter(d time.Duration) time.Duration {
	return time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
}

// ensureFinalizer adds the destroy-room finalizer to a Room that holds its
// roomID (the only kind it is called for) and may destroy its room, and
// removes it from one that may not any more. It reports whether it changed
// the Room (the change brings it back).
func (r *RoomManagementReconciler) ensureFinalizer(ctx context.Context, room *chatv1alpha1.Room) (bool, error) {
	want := room.Spec.Allows(chatv1alpha1.ManagementDelete)
	if want == controllerutil.ContainsFinalizer(room, chatv1alpha1.DestroyRoomFinalizer) {
		return false, nil
	}
	orig := room.DeepCopy()
	if want {
		controllerutil.AddFinalizer(room, chatv1alpha1.DestroyRoomFinalizer)
		if r.Instance != "" {
			metav1.SetMetaDataAnnotation(&room.ObjectMeta, chatv1alpha1.FinalizerOwnerAnnotation, r.Instance)
		}
	} else {
		controllerutil.RemoveFinalizer(room, chatv1alpha1.DestroyRoomFinalizer)
		delete(room.Annotations, chatv1alpha1.FinalizerOwnerAnnotation)
	}
	// The finalizer list is replaced whole: do not overwrite another's. On
	// a conflict the newer Room is on its way, and brings this back.
	if err := r.Patch(ctx, room, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("updating the finalizers of Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	return true, nil
}

// holds reports whether room is the holder of its roomID: the one that
// callbacks update, and so the one that may act on the room.
func (r *RoomManagementReconciler) holds(ctx context.Context, room *chatv1alpha1.Room) (bool, error) {
	rooms, err := lookup.Rooms(ctx, r.Client, room.Namespace, room.Spec.SDKAppID, room.Spec.RoomID)
	if err != nil {
		return false, err
	}
	return len(rooms) == 0 || rooms[0].UID == room.UID, nil
}

// restAPI returns the Room's ChatApp and its REST API client, or the
// failure that says why Tencent cannot be asked.
func (r *RoomManagementReconciler) restAPI(ctx context.Context, room *chatv1alpha1.Room) (*chatv1alpha1.ChatApp, *tencent.RESTClient, *chatv1alpha1.ManagementFailure) {
	notConfigured := func(msg string) *chatv1alpha1.ManagementFailure {
		return &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.RESTAPINotConfiguredReason, Message: msg}
	}
	app, err := lookup.ChatAppFor(ctx, r.APIs.Secrets, room.Namespace, room.Spec.SDKAppID)
	switch {
	case err != nil:
		return nil, nil, &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.TencentUnavailableReason, Message: err.Error()}
	case app == nil:
		return nil, nil, notConfigured(fmt.Sprintf("no ChatApp of sdkAppID %d in namespace %s: roomsync cannot call Tencent for this Room", room.Spec.SDKAppID, room.Namespace))
	}
	rest, err := r.APIs.For(ctx, app)
	switch {
	case errors.Is(err, ErrNoRESTAPI):
		return nil, nil, notConfigured(fmt.Sprintf("ChatApp %s has no spec.restAPI: roomsync needs it to create, update or destroy rooms", app.Name))
	case errors.Is(err, lookup.ErrSecretKeyNotFound):
		return nil, nil, &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.SecretKeyNotFoundReason, Message: err.Error()}
	case err != nil:
		return nil, nil, &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.TencentUnavailableReason, Message: err.Error()}
	}
	return app, rest, nil
}

// create finds out whether the room exists. When it does not, it records
// the intent, calls create_room and confirms; when it does, it adopts the
// room if this Room asked to create it before or may adopt it, and refuses
// otherwise.
func (r *RoomManagementReconciler) create(ctx context.Context, app *chatv1alpha1.ChatApp, rest *tencent.RESTClient, room *chatv1alpha1.Room) error {
	sent := time.Now()
	details, err := rest.GetRoomDetails(ctx, room.Spec.RoomID)
	switch {
	case err == nil:
		return r.found(ctx, app, room, details, sent)
	case !errors.Is(err, tencent.ErrRoomNotFound):
		return failure(tencent.CommandGetRoomInfo, err)
	}
	// Tencent has no such room. Say so on the Room before asking for it, so
	// that, whatever happens to the answer, the room is known to be ours.
	now := metav1.Now()
	if err := r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) { m.CreateRequestedTime = &now }); err != nil {
		return err
	}
	if err := rest.CreateRoom(ctx, createRequest(room.Spec.RoomID, room.Spec.Settings), nil); err != nil {
		var refused *tencent.APIError
		if errors.As(err, &refused) && refused.Code != tencent.CodeInternalError {
			// Tencent answered, and made nothing: a room with this id that
			// appears later is not this Room's.
			if rerr := r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) { m.CreateRequestedTime = nil }); rerr != nil {
				return rerr
			}
		}
		return failure(tencent.CommandCreateRoom, err)
	}
	if err := r.confirm(ctx, app, rest, room); err != nil {
		return err
	}
	created := metav1.Now()
	if err := r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) {
		m.CreatedTime, m.ObservedGeneration, m.Failure = &created, room.Generation, nil
	}); err != nil {
		return err
	}
	r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RoomCreatedEvent, "Create", "Created %s in Tencent", describe(room))
	return nil
}

// found handles a room that exists while this Room has not confirmed it as
// its own: it is its own when it asked to create it; otherwise it is
// adopted with spec.adoptExisting, and refused without.
func (r *RoomManagementReconciler) found(ctx context.Context, app *chatv1alpha1.ChatApp, room *chatv1alpha1.Room, details *tencent.RoomDetails, sent time.Time) error {
	m := room.Status.Management
	asked := m != nil && m.CreateRequestedTime != nil
	if !asked && !room.Spec.AdoptExisting {
		return &managementError{failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.RoomAlreadyExistsReason, Command: tencent.CommandGetRoomInfo,
			Message: fmt.Sprintf("%s already exists in Tencent and this Room did not create it: set spec.adoptExisting to take it over, or use another roomID", describe(room)),
		}}
	}
	if err := r.mirror(ctx, app, room, details, sent); err != nil {
		return err
	}
	now := metav1.Now()
	if err := r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) {
		if asked {
			m.CreatedTime = &now // create_room's answer was lost, not the room
		} else {
			m.AdoptedTime = &now
		}
		m.Failure = nil
	}); err != nil {
		return err
	}
	if asked {
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RoomCreatedEvent, "Create", "Found %s, which this Room asked Tencent to create", describe(room))
	} else {
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RoomAdoptedEvent, "Adopt", "Adopted %s, which existed (spec.adoptExisting)", describe(room))
	}
	return nil // the next reconcile updates it to the settings, if need be
}

// update calls update_room_info with every declared updatable setting, and
// confirms.
func (r *RoomManagementReconciler) update(ctx context.Context, app *chatv1alpha1.ChatApp, rest *tencent.RESTClient, room *chatv1alpha1.Room, drift bool) error {
	diff := diffSettings(room.Spec.Settings, &room.Status)
	if err := rest.UpdateRoomInfo(ctx, updateRequest(room.Spec.RoomID, room.Spec.Settings)); err != nil {
		return failure(tencent.CommandUpdateRoom, err)
	}
	now := metav1.Now()
	if err := r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) {
		m.LastUpdateTime, m.UpdatedFields, m.ObservedGeneration, m.Failure = &now, diff.updatable, room.Generation, nil
	}); err != nil {
		return err
	}
	if drift {
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.DriftRevertedEvent, "Update",
			"%s was changed in the app; changed back: %s", describe(room), diff)
	} else {
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RoomUpdatedEvent, "Update",
			"Updated %s to spec.settings: %s", describe(room), diff)
	}
	return r.confirm(ctx, app, rest, room)
}

// confirm reads the room back and mirrors it: the callback Tencent sends
// after a change may never reach the cluster.
func (r *RoomManagementReconciler) confirm(ctx context.Context, app *chatv1alpha1.ChatApp, rest *tencent.RESTClient, room *chatv1alpha1.Room) error {
	sent := time.Now()
	details, err := rest.GetRoomDetails(ctx, room.Spec.RoomID)
	if errors.Is(err, tencent.ErrRoomNotFound) {
		// Just created or updated, and gone: not a reason to stall; the
		// next attempt finds out what happened.
		return &managementError{failure: &chatv1alpha1.ManagementFailure{
			Reason: chatv1alpha1.TencentUnavailableReason, Command: tencent.CommandGetRoomInfo,
			Message: fmt.Sprintf("%s: get_room_info does not find the room that was just changed: %v", describe(room), err),
		}}
	}
	if err != nil {
		return failure(tencent.CommandGetRoomInfo, err)
	}
	return r.mirror(ctx, app, room, details, sent)
}

// mirror applies a read of the room through the receiver's write path, as
// an event stamped when the request was sent: a newer callback still wins.
func (r *RoomManagementReconciler) mirror(ctx context.Context, app *chatv1alpha1.ChatApp, room *chatv1alpha1.Room, details *tencent.RoomDetails, sent time.Time) error {
	ev := readEvent(room.Spec.RoomID, app.Spec.RestAPI.Administrator, sent)
	ev.RoomInfo = &roomstore.RoomInfoChange{Info: details.RoomInfo}
	if _, err := r.Store.Apply(ctx, app, ev); err != nil {
		return fmt.Errorf("mirroring %s: %w", describe(room), err)
	}
	return nil
}

// reconcileDelete destroys the room of a Room being deleted, when it may
// (planDelete: only a Room that holds its roomID ever does), and then lets
// the Room go. When Tencent cannot be asked at all it lets the Room go with
// a Warning Event rather than keep it forever.
func (r *RoomManagementReconciler) reconcileDelete(ctx context.Context, room *chatv1alpha1.Room) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(room, chatv1alpha1.DestroyRoomFinalizer) {
		return ctrl.Result{}, nil
	}
	// The cache may still show the finalizer of a Room whose room was just
	// destroyed and its finalizer removed: ask the API server, so that
	// destroy_room is called once.
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(room), room); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !controllerutil.ContainsFinalizer(room, chatv1alpha1.DestroyRoomFinalizer) {
		return ctrl.Result{}, nil
	}
	// Who holds the roomID decides whether a room is destroyed, so ask the
	// API server, not the cache.
	var claimants chatv1alpha1.RoomList
	if err := r.APIReader.List(ctx, &claimants, client.InNamespace(room.Namespace),
		client.MatchingFields{lookup.RoomIDField: room.Spec.RoomID}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the Rooms of roomID %q in %s: %w", room.Spec.RoomID, room.Namespace, err)
	}
	step := planDelete(room, claimants.Items)
	switch step.action {
	case delLeave:
		// Delete was taken out of the policies: leave the room.
	case delNotHolder:
		why := "this Room was a duplicate (DuplicateRoomID) when it was deleted"
		if step.holder != nil {
			why = fmt.Sprintf("Room %s is older and holds the roomID", step.holder.Name)
		}
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RoomNotDestroyedEvent, "Delete",
			"%s was left in Tencent: %s, and a Room that does not hold its roomID never acts on the room", describe(room), why)
	case delOrphan:
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.OrphanedEvent, "Delete",
			"%s was left in Tencent: this Room neither created nor adopted it", describe(room))
	case delDestroy:
		if done, result, err := r.destroy(ctx, room); !done {
			return result, err
		}
	}
	orig := room.DeepCopy()
	controllerutil.RemoveFinalizer(room, chatv1alpha1.DestroyRoomFinalizer)
	if err := r.Patch(ctx, room, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsConflict(err) {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil // after a conflict, the newer Room comes back here
}

// destroy calls destroy_room. done reports whether the Room may go: the room
// is destroyed (or was already), or Tencent cannot be asked at all.
func (r *RoomManagementReconciler) destroy(ctx context.Context, room *chatv1alpha1.Room) (done bool, result ctrl.Result, err error) {
	_, rest, unavailable := r.restAPI(ctx, room)
	if unavailable != nil && unavailable.Reason != chatv1alpha1.TencentUnavailableReason {
		r.Recorder.Eventf(room, nil, corev1.EventTypeWarning, chatv1alpha1.OrphanedEvent, "Delete",
			"%s was left in Tencent: %s", describe(room), unavailable.Message)
		return true, ctrl.Result{}, nil
	}
	if unavailable != nil {
		return false, ctrl.Result{}, errors.New(unavailable.Message)
	}
	err = rest.DestroyRoom(ctx, room.Spec.RoomID)
	switch {
	case err == nil:
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RoomDestroyedEvent, "Delete", "Destroyed %s in Tencent", describe(room))
	case errors.Is(err, tencent.ErrRoomNotFound):
		// Already gone: done.
	default:
		var failed *managementError
		errors.As(failure(tencent.CommandDestroyRoom, err), &failed)
		if ferr := r.fail(ctx, room, failed.failure); ferr != nil {
			return false, ctrl.Result{}, ferr
		}
		r.Recorder.Eventf(room, nil, corev1.EventTypeWarning, failed.failure.Reason, "Delete",
			"Destroying %s: %s (remove Delete from spec.managementPolicies to leave it in Tencent)", describe(room), failed.failure.Message)
		if stallingReasons[failed.failure.Reason] {
			return false, ctrl.Result{RequeueAfter: time.Minute}, nil
		}
		return false, ctrl.Result{}, err
	}
	return true, ctrl.Result{}, nil
}

// managementError is a failure to record in status.management.
type managementError struct {
	failure *chatv1alpha1.ManagementFailure
}

func (e *managementError) Error() string { return e.failure.Message }

// failure maps an error of a REST API call to the failure to record:
// rejected credentials and Tencent's refusals need a human; anything else
// (the network, Tencent failing inside, an answer not as documented) is
// tried again.
func failure(command string, err error) error {
	f := &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.TencentUnavailableReason, Command: command, Message: err.Error()}
	var apiErr *tencent.APIError
	switch {
	case errors.Is(err, tencent.ErrCredentials):
		f.Reason = chatv1alpha1.RESTAPICredentialsRejectedReason
	case errors.Is(err, tencent.ErrBadAnswer):
		f.Reason = chatv1alpha1.RESTAPIBadAnswerReason
	case errors.As(err, &apiErr) && apiErr.Code != tencent.CodeInternalError:
		f.Reason = chatv1alpha1.TencentRejectedReason
	}
	if errors.As(err, &apiErr) {
		f.ErrorCode = int64(apiErr.Code)
		f.Message = fmt.Sprintf("%s: Tencent answered ErrorCode %d: %s", command, apiErr.Code, apiErr.Info)
	}
	if len(f.Message) > 1024 {
		f.Message = f.Message[:1021] + "..."
	}
	return &managementError{failure: f}
}

// fail records f in status.management (with the time and the generation).
func (r *RoomManagementReconciler) fail(ctx context.Context, room *chatv1alpha1.Room, f *chatv1alpha1.ManagementFailure) error {
	ctrl.LoggerFrom(ctx).Info("Managing the room failed", "reason", f.Reason, "message", f.Message)
	f = f.DeepCopy()
	f.Time, f.ObservedGeneration = metav1.Now(), room.Generation
	return r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) { m.Failure = f })
}

// dropFailure forgets a failure of a Room that no longer manages its room.
func (r *RoomManagementReconciler) dropFailure(ctx context.Context, room *chatv1alpha1.Room) error {
	if m := room.Status.Management; m == nil || m.Failure == nil {
		return nil
	}
	return r.record(ctx, room, func(m *chatv1alpha1.RoomManagement) { m.Failure = nil })
}

// record changes status.management with change and applies all of it, as
// the management controller's field manager. room is updated to match.
func (r *RoomManagementReconciler) record(ctx context.Context, room *chatv1alpha1.Room, change func(*chatv1alpha1.RoomManagement)) error {
	m := &chatv1alpha1.RoomManagement{}
	if room.Status.Management != nil {
		m = room.Status.Management.DeepCopy()
	}
	change(m)
	ac := chatac.RoomManagement().WithObservedGeneration(m.ObservedGeneration).WithUpdatedFields(m.UpdatedFields...)
	for _, t := range []struct {
		at  *metav1.Time
		set func(metav1.Time) *chatac.RoomManagementApplyConfiguration
	}{
		{m.CreateRequestedTime, ac.WithCreateRequestedTime},
		{m.CreatedTime, ac.WithCreatedTime},
		{m.AdoptedTime, ac.WithAdoptedTime},
		{m.LastUpdateTime, ac.WithLastUpdateTime},
	} {
		if t.at != nil {
			t.set(*t.at)
		}
	}
	if f := m.Failure; f != nil {
		ac.WithFailure(chatac.ManagementFailure().WithReason(f.Reason).WithCommand(f.Command).WithErrorCode(f.ErrorCode).
			WithMessage(f.Message).WithTime(f.Time).WithObservedGeneration(f.ObservedGeneration))
	}
	apply := chatac.Room(room.Name, room.Namespace).WithStatus(chatac.RoomStatus().WithManagement(ac))
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(ManagementFieldManager), client.ForceOwnership); err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		return fmt.Errorf("writing status.management of Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	room.Status.Management = m
	return nil
}

// SetupWithManager registers the controller. It sees the Rooms that manage
// their room (or did: a finalizer or a failure to clear), and a ChatApp's
// change brings its managing Rooms back (a restAPI added, for one).
func (r *RoomManagementReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Store == nil || r.APIs == nil || r.Recorder == nil || r.APIReader == nil {
		return errors.New("the management controller needs a Store, an APIReader, RESTAPIs and a Recorder")
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("room-management").
		For(&chatv1alpha1.Room{}, builder.WithPredicates(predicate.NewPredicateFuncs(managementConcerns))).
		Watches(&chatv1alpha1.ChatApp{}, handler.EnqueueRequestsFromMapFunc(r.managingRooms), builder.WithPredicates(chatAppSpecChanged)).
		Complete(r)
}

// managementConcerns reports whether the management controller has
// anything to do with obj.
func managementConcerns(obj client.Object) bool {
	room, ok := obj.(*chatv1alpha1.Room)
	return ok && (room.Spec.Manages() || controllerutil.ContainsFinalizer(room, chatv1alpha1.DestroyRoomFinalizer) ||
		(room.Status.Management != nil && room.Status.Management.Failure != nil))
}

func (r *RoomManagementReconciler) managingRooms(ctx context.Context, obj client.Object) []reconcile.Request {
	app := obj.(*chatv1alpha1.ChatApp)
	rooms, err := lookup.RoomsOfApp(ctx, r.Client, app.Namespace, app.Spec.SDKAppID, client.UnsafeDisableDeepCopy)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the Rooms of a ChatApp")
		return nil
	}
	var reqs []reconcile.Request
	for i := range rooms {
		if managementConcerns(&rooms[i]) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rooms[i])})
		}
	}
	return reqs
}
