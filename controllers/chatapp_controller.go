package controllers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// ChatAppFieldManager is the server-side apply field manager of the ChatApp
// controller.
const ChatAppFieldManager = "roomsync-chatapp-controller"

// ChatAppReconciler reports whether a ChatApp's callbacks are accepted: it
// authenticates them, or unsigned callbacks are allowed; its token Secret
// is readable; and no older ChatApp of its sdkAppID takes its callbacks
// (lookup.ShadowedBy).
type ChatAppReconciler struct {
	client.Client
	// Secrets reads the token Secrets (lookup.SecretReader: the cache holds
	// only labelled ones).
	Secrets  client.Reader
	Recorder recorder.EventRecorder
	// AllowUnsignedCallbacks is --allow-unsigned-callbacks: a ChatApp
	// without spec.callbackAuth is Ready (with a warning) rather than
	// Stalled CallbackAuthRequired.
	AllowUnsignedCallbacks bool
}

// +kubebuilder:rbac:groups=chat.roomsync.io,resources=chatapps,verbs=get;list;watch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=chatapps/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile implements reconcile.Reconciler.
func (r *ChatAppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &chatv1alpha1.ChatApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	claims, err := lookup.Claims(ctx, r.Secrets, app.Spec.SDKAppID)
	if err != nil {
		return ctrl.Result{}, err
	}
	shadow := shadowOf(ctx, claims, app)
	_, tokenErr := lookup.CallbackTokens(ctx, r.Secrets, app)
	if tokenErr != nil && !errors.Is(tokenErr, lookup.ErrTokenSecretNotFound) && !errors.Is(tokenErr, lookup.ErrTokenKeyNotFound) {
		return ctrl.Result{}, tokenErr // could not tell; retry with backoff
	}
	unwatched, err := r.warnOfUnlabelledSecrets(ctx, app)
	if err != nil {
		return ctrl.Result{}, err
	}
	// No watch tells of a Secret that is not labelled (or not there yet):
	// look again when a read of it from the API server would.
	var result ctrl.Result
	if unwatched || tokenErr != nil {
		result.RequeueAfter = lookup.UnlabelledSecretTTL
	}

	// Counted, not kept: the cache's own copies, not 100,000 new ones.
	appRooms, err := lookup.RoomsOfApp(ctx, r.Client, app.Namespace, app.Spec.SDKAppID, client.UnsafeDisableDeepCopy)
	if err != nil {
		return ctrl.Result{}, err
	}
	rooms := int64(len(appRooms))

	conds, changed := mergeConditions(app.Status.Conditions, chatAppConditionTypes, chatAppConditions(app, shadow, tokenErr, r.AllowUnsignedCallbacks))
	if changed && app.Spec.CallbackAuth == nil && r.AllowUnsignedCallbacks {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, chatv1alpha1.CallbacksUnauthenticatedEvent, "AcceptCallbacks", "%s", unsignedMessage(app))
	}
	if !changed && app.Status.ObservedGeneration == app.Generation && app.Status.RoomCount != nil && *app.Status.RoomCount == rooms {
		return result, nil
	}
	status := chatac.ChatAppStatus().
		WithObservedGeneration(app.Generation).
		WithConditions(conditionApplyConfigurations(conds)...).
		WithRoomCount(rooms)
	if err := r.Status().Apply(ctx, chatac.ChatApp(app.Name, app.Namespace).WithStatus(status),
		client.FieldOwner(ChatAppFieldManager), client.ForceOwnership); err != nil {
		return ctrl.Result{}, fmt.Errorf("applying status of ChatApp %s: %w", req, err)
	}
	return result, nil
}

// warnOfUnlabelledSecrets records a Warning Event on app for each Secret it
// reads that lacks SecretLabel: roomsync does not watch such a Secret, it
// reads it from the API server every lookup.UnlabelledSecretTTL. It reports
// whether there was any.
func (r *ChatAppReconciler) warnOfUnlabelledSecrets(ctx context.Context, app *chatv1alpha1.ChatApp) (bool, error) {
	names, err := lookup.UnlabelledSecrets(ctx, r.Secrets, app)
	if err != nil {
		return false, err
	}
	for _, name := range names {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, "SecretNotLabelled", "ReadSecret",
			"Secret %s/%s lacks the label %s=true, so roomsync does not watch it and reads it from the API server every %s "+
				"(a change takes that long to be seen). Label it: kubectl label secret -n %s %s %s=true",
			app.Namespace, name, chatv1alpha1.SecretLabel, lookup.UnlabelledSecretTTL, app.Namespace, name, chatv1alpha1.SecretLabel)
	}
	return len(names) > 0, nil
}

// SetupWithManager registers the controller. A ChatApp is re-evaluated when
// it changes (but not for the receiver's lastCallbackTime or a resync
// pass's progress), when its token Secret changes, when another ChatApp claiming the same sdkAppID
// appears or goes away, and when one of its Rooms does.
func (r *ChatAppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Secrets == nil || r.Recorder == nil {
		return errors.New("the ChatApp controller needs Secrets and a Recorder")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&chatv1alpha1.ChatApp{}, builder.WithPredicates(chatAppInputsChanged)).
		Watches(&chatv1alpha1.ChatApp{},
			handler.EnqueueRequestsFromMapFunc(r.chatAppsWithSameSDKAppID),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.claimantsUsingSecret)).
		Watches(&chatv1alpha1.Room{}, handler.Funcs{
			CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.countRoomsSoon(ctx, e.Object, q)
			},
			DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.countRoomsSoon(ctx, e.Object, q)
			},
		}).
		Named("chatapp").
		Complete(r)
}

func (r *ChatAppReconciler) chatAppsWithSameSDKAppID(ctx context.Context, obj client.Object) []reconcile.Request {
	app := obj.(*chatv1alpha1.ChatApp)
	apps, err := lookup.ChatApps(ctx, r.Client, app.Spec.SDKAppID)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing ChatApps with the same sdkAppID")
		return nil
	}
	return requestsForOthers(app, apps)
}

// claimantsUsingSecret maps a Secret to the ChatApps that read it and to
// every other ChatApp of their sdkAppIDs: a changed token can make or end a
// conflict between them.
func (r *ChatAppReconciler) claimantsUsingSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	reqs := chatAppsUsingSecret(r.Client)(ctx, obj)
	for _, req := range reqs {
		app := &chatv1alpha1.ChatApp{}
		if err := r.Get(ctx, req.NamespacedName, app); err != nil {
			continue
		}
		reqs = append(reqs, r.chatAppsWithSameSDKAppID(ctx, app)...)
	}
	return reqs
}

// shadowOf returns the claim that takes app's callbacks (lookup.ShadowedBy),
// or nil; it logs which, as a status may not when it is in another
// namespace.
func shadowOf(ctx context.Context, claims []*lookup.Claim, app *chatv1alpha1.ChatApp) *lookup.Claim {
	_, i := lookup.ClaimOf(claims, app)
	if i < 0 {
		return nil
	}
	shadow := lookup.ShadowedBy(claims, i)
	if shadow != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("Another ChatApp takes this ChatApp's callbacks", "sdkAppID", app.Spec.SDKAppID,
			"takenBy", shadow.App.Namespace+"/"+shadow.App.Name)
	}
	return shadow
}

// roomCountDelay is how long a Room's creation or deletion waits before its
// ChatApp recounts its Rooms: the Rooms made or deleted meanwhile are
// counted by the same reconcile. Counting goes over every Room of the app
// (100,000 of them, say), so a burst must not cost one count per Room.
const roomCountDelay = 2 * time.Second

// countRoomsSoon has the ChatApps of obj, a Room, reconciled in
// roomCountDelay (once, however many Rooms come and go meanwhile).
func (r *ChatAppReconciler) countRoomsSoon(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	room, ok := obj.(*chatv1alpha1.Room)
	if !ok {
		return
	}
	for _, req := range chatAppsInNamespace(ctx, r.Client, room.Namespace, lookup.SDKAppIDField, strconv.FormatInt(room.Spec.SDKAppID, 10)) {
		q.AddAfter(req, roomCountDelay)
	}
}

// chatAppsUsingSecret maps a Secret to the ChatApps that read it (for their
// callback token or their REST API secret key).
func chatAppsUsingSecret(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		return chatAppsInNamespace(ctx, c, obj.GetNamespace(), lookup.SecretsField, obj.GetName())
	}
}

// chatAppsInNamespace returns a request for each ChatApp in namespace whose
// index field has value.
func chatAppsInNamespace(ctx context.Context, c client.Reader, namespace, field, value string) []reconcile.Request {
	var list chatv1alpha1.ChatAppList
	if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{field: value}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing ChatApps", "namespace", namespace, field, value)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, app := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&app)})
	}
	return reqs
}
