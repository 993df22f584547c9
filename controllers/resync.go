package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

// ResyncFieldManager writes status.resync of ChatApps, and the time and drift
// of a Room's last read; ResyncRequestFieldManager writes the resync request
// a Room's status says was handled. Two managers, so that neither write
// takes back the other's field.
const (
	ResyncFieldManager        = "roomsync-resync"
	ResyncRequestFieldManager = "roomsync-resync-request"
	// CatchUpFieldManager sets and clears a ChatApp's
	// status.resync.catchUp, with optimistic locking.
	CatchUpFieldManager = "roomsync-catch-up"
)

var (
	resyncsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_resyncs_total",
		Help: "Rooms the resync read from Tencent's REST API and applied, by result (in_sync, drift, stale, error), and Rooms a sweep left unread because a callback confirmed them (confirmed).",
	}, []string{"result"})
	resyncDriftTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roomsync_resync_drift_total",
		Help: "Rooms a resync found out of date and corrected.",
	})
	restRequestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_rest_requests_total",
		Help: "Attempts to call Tencent's REST API, by command and code (Tencent's ErrorCode, or other for one roomsync does not know; http_<status>, or its class for an uncommon status; network or bad_answer).",
	}, []string{"command", "code"})
)

func init() {
	metrics.Registry.MustRegister(resyncsTotal, resyncDriftTotal, restRequestsTotal)
}

// ResyncReconciler heals the drift that lost callbacks leave: for every
// ChatApp with spec.restAPI it runs a worker that reads Rooms' rooms (their
// info and member count, and their seats) from Tencent's REST API and
// applies what it reads through the callback receiver's write path
// (roomstore) as events timestamped when each request was sent: a callback
// newer than the read still wins, an older one loses. Which Rooms, and when
// (resync_plan.go): the sweep reads each live Room that has gone
// resyncInterval without confirmation by a callback or a read, least
// recently confirmed first, within the sweep's share of the app's budget;
// a catch-up (status.resync.catchUp, asked for by ServingRecord) reads the
// Rooms active around a moment callbacks may have been lost, most recently
// active first, ahead of the sweep.
// It also resyncs one Room when its resync-requested-at annotation changes,
// and makes a full pass at once when the ChatApp's does.
type ResyncReconciler struct {
	client.Client
	// Store is the receiver's write path.
	Store *roomstore.Store
	// Secrets reads the secret key Secrets (lookup.SecretReader).
	Secrets client.Reader
	// APIs gives the ChatApps' REST API clients.
	APIs *RESTAPIs
	// Index lists an app's Rooms by identity and last activity, and
	// APIReader reads from the API server: a catch-up plans and reads with
	// them, so that it starts before the cache of every Room has synced.
	Index     AppRoomLister
	APIReader client.Reader
	// Active, when not nil, gives the Rooms most recently active before
	// the start (ActiveRooms): a catch-up reads those first, without
	// waiting for the index.
	Active   ActiveRoomReader
	Recorder recorder.EventRecorder
	// Context bounds the workers' lives: the manager's.
	Context context.Context

	mu      sync.Mutex
	workers map[types.NamespacedName]*resyncWorker
	// handled is the last request acted on per Room or ChatApp, for when
	// the cache has not seen the status that says so yet.
	handled sync.Map // types.UID → string
	// seatErrors is the kind of the last get_seat_list failure a Room's
	// Event told of (seatsErrorKind), until its seats are read again.
	seatErrors sync.Map // types.UID → string
}

// AppRoomLister lists the Rooms of an app that are not being deleted, by
// identity and last activity: lookup.RoomIndex, which every replica keeps
// from its start.
type AppRoomLister interface {
	AppRooms(ctx context.Context, namespace string, sdkAppID int64) ([]*lookup.RoomRef, error)
	// HasSynced reports whether AppRooms answers without waiting, and
	// WaitForSync waits until it does (or ctx is done), and reports it.
	HasSynced() bool
	WaitForSync(ctx context.Context) bool
}

// ActiveRoomReader reads the record of the Rooms most recently active
// (ActiveRooms.Read).
type ActiveRoomReader interface {
	Read(ctx context.Context, namespace string, sdkAppID int64) ([]*lookup.RoomRef, error)
}

// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms,verbs=get;list;watch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms/status,verbs=patch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=chatapps/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// resyncConfig is what a worker runs with; a change restarts the worker.
// The client itself comes from RESTAPIs, which makes a new one when the
// credentials change.
type resyncConfig struct {
	uid      types.UID
	interval time.Duration
	// sweepRate is the sweep's share of the app's request budget.
	sweepRate int32
	// secretKey is here so that a new key restarts the resync: a resync
	// stopped by rejected credentials tries again with it.
	secretKey string
}

// reconcileApp starts, restarts or stops the worker of a ChatApp, and hands
// it the ChatApp's resync request.
func (r *ResyncReconciler) reconcileApp(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &chatv1alpha1.ChatApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			r.stop(req.NamespacedName)
			r.APIs.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	requested := r.appResyncRequested(app)
	if app.Spec.RestAPI == nil || !app.DeletionTimestamp.IsZero() {
		r.stop(req.NamespacedName)
		r.APIs.Forget(req.NamespacedName)
		if app.Spec.RestAPI == nil && requested != "" {
			r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, "ResyncUnavailable", "Resync",
				"Resync requested (%s) but the ChatApp has no spec.restAPI", requested)
			if err := r.handledApp(ctx, app.Name, app.Namespace, app.UID, requested); err != nil {
				return ctrl.Result{}, err
			}
		}
		if app.Spec.RestAPI == nil && showsResync(app.Status.Resync) {
			// No resync any more: drop what status.resync said of the last.
			apply := chatac.ChatApp(app.Name, app.Namespace).WithStatus(chatac.ChatAppStatus())
			return ctrl.Result{}, r.Status().Apply(ctx, apply, client.FieldOwner(ResyncFieldManager), client.ForceOwnership)
		}
		return ctrl.Result{}, nil
	}
	cfg, err := r.config(ctx, app)
	if errors.Is(err, lookup.ErrSecretKeyNotFound) {
		r.stop(req.NamespacedName)
		if err := r.writeAppResync(ctx, app, withFailure(app.Status.Resync, chatv1alpha1.SecretKeyNotFoundReason, err.Error())); err != nil {
			return ctrl.Result{}, err
		}
		if requested != "" {
			r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, "ResyncFailed", "Resync", "Resync requested (%s): %v", requested, err)
			if err := r.handledApp(ctx, app.Name, app.Namespace, app.UID, requested); err != nil {
				return ctrl.Result{}, err
			}
		}
		// A labelled Secret's arrival brings the ChatApp back; an unlabelled
		// one is not watched: look again when what was read of it expires.
		return ctrl.Result{RequeueAfter: lookup.UnlabelledSecretTTL}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	r.ensure(req.NamespacedName, cfg, requested, app.Status.Resync != nil && app.Status.Resync.CatchUp != nil)
	// No watch tells of a change of an unlabelled Secret: read it again
	// when what was read of it expires.
	unwatched, err := lookup.UnlabelledSecrets(ctx, r.Secrets, app)
	if err != nil || len(unwatched) == 0 {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: lookup.UnlabelledSecretTTL}, nil
}

// config reads the worker's configuration, the secret key included.
func (r *ResyncReconciler) config(ctx context.Context, app *chatv1alpha1.ChatApp) (resyncConfig, error) {
	key, err := lookup.RESTSecretKey(ctx, r.Secrets, app)
	if err != nil {
		return resyncConfig{}, err
	}
	return resyncConfig{uid: app.UID, interval: resyncInterval(app.Spec.RestAPI), sweepRate: sweepRequestsPerSecond(app.Spec.RestAPI), secretKey: key}, nil
}

// ensure runs a worker with cfg for app, replacing one with another config,
// and asks it for a full pass for requested (a resync-requested-at value not
// acted on yet; "" for none), or for a pass now when the ChatApp asks for a
// catch-up.
func (r *ResyncReconciler) ensure(app types.NamespacedName, cfg resyncConfig, requested string, catchUp bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.workers[app]; ok {
		if w.cfg == cfg {
			w.request(requested)
			if catchUp {
				w.poke()
			}
			return
		}
		w.cancel()
	}
	if r.workers == nil {
		r.workers = map[types.NamespacedName]*resyncWorker{}
	}
	ctx, cancel := context.WithCancel(r.Context)
	_, changed := r.workers[app]
	w := newResyncWorker(r, app, cfg, cancel)
	// A new endpoint, administrator, key, interval or budget: what was read
	// with the old one says little of what the new one sees.
	w.fullFirst = changed
	// Before it starts: the pass it starts with is the one asked for.
	w.request(requested)
	r.workers[app] = w
	go w.run(ctx)
}

func (r *ResyncReconciler) stop(app types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.workers[app]; ok {
		w.cancel()
		delete(r.workers, app)
	}
}

func (r *ResyncReconciler) worker(app types.NamespacedName) *resyncWorker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.workers[app]
}

// reconcileRequest resyncs a Room whose resync-requested-at annotation has a
// value it has not acted on yet, once.
func (r *ResyncReconciler) reconcileRequest(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	room := &chatv1alpha1.Room{}
	if err := r.Get(ctx, req.NamespacedName, room); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	requested := resyncRequested(room)
	if last, ok := r.handled.Load(room.UID); requested == "" || (ok && last == requested) {
		return ctrl.Result{}, nil
	}
	app, err := lookup.ChatAppFor(ctx, r.Secrets, room.Namespace, room.Spec.SDKAppID)
	if err != nil {
		return ctrl.Result{}, err
	}
	var w *resyncWorker
	if app != nil {
		w = r.worker(client.ObjectKeyFromObject(app))
	}
	if w == nil {
		r.Recorder.Eventf(room, nil, corev1.EventTypeWarning, "ResyncUnavailable", "Resync",
			"Resync requested (%s) but the Room's ChatApp has no working spec.restAPI", requested)
	} else if _, err := w.resyncRoom(ctx, app, room); failureReason(err) != "" {
		// Asking again at once would get the same answer: record it and
		// treat the request as handled.
		w.failed(ctx, failureReason(err), err)
		r.Recorder.Eventf(room, nil, corev1.EventTypeWarning, "ResyncFailed", "Resync", "Resync requested (%s): %v", requested, err)
	} else if apierrors.IsNotFound(err) {
		return ctrl.Result{}, nil // the Room went meanwhile
	} else if err != nil {
		return ctrl.Result{}, err // try again, with backoff
	}
	apply := chatac.Room(room.Name, room.Namespace).WithStatus(chatac.RoomStatus().WithResync(chatac.RoomResync().WithHandledRequest(requested)))
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(ResyncRequestFieldManager), client.ForceOwnership); err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the resync request of Room %s as handled: %w", req, err)
	}
	r.handled.Store(room.UID, requested)
	return ctrl.Result{}, nil
}

// appResyncRequested returns the ChatApp's resync-requested-at value when
// it has not been acted on, else "".
func (r *ResyncReconciler) appResyncRequested(app *chatv1alpha1.ChatApp) string {
	requested := app.Annotations[chatv1alpha1.ResyncRequestedAtAnnotation]
	if requested == "" || (app.Status.Resync != nil && app.Status.Resync.HandledRequest == requested) {
		return ""
	}
	if last, ok := r.handled.Load(app.UID); ok && last == requested {
		return "" // handled; the cache has not seen it yet
	}
	return requested
}

// handledApp records in the ChatApp's status.resync.handledRequest that its
// resync request value was acted on.
func (r *ResyncReconciler) handledApp(ctx context.Context, name, namespace string, uid types.UID, requested string) error {
	apply := chatac.ChatApp(name, namespace).WithStatus(chatac.ChatAppStatus().WithResync(chatac.ChatAppResync().WithHandledRequest(requested)))
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(ResyncRequestFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("recording the resync request of ChatApp %s/%s as handled: %w", namespace, name, err)
	}
	r.handled.Store(uid, requested)
	return nil
}

// showsResync reports whether st says anything of a resync, beyond the
// last request handled.
func showsResync(st *chatv1alpha1.ChatAppResync) bool {
	return st != nil && *st != chatv1alpha1.ChatAppResync{HandledRequest: st.HandledRequest}
}

// resyncRequested returns the Room's resync-requested-at value when it has
// not been acted on, else "".
func resyncRequested(room *chatv1alpha1.Room) string {
	requested := room.Annotations[chatv1alpha1.ResyncRequestedAtAnnotation]
	if room.Status.Resync != nil && room.Status.Resync.HandledRequest == requested {
		return ""
	}
	return requested
}

// writeRoomRead records in room's status.resync when it was read, and
// whether the read found drift.
func (r *ResyncReconciler) writeRoomRead(ctx context.Context, room *chatv1alpha1.Room, drift bool) error {
	apply := chatac.Room(room.Name, room.Namespace).WithStatus(chatac.RoomStatus().WithResync(
		chatac.RoomResync().WithTime(metav1.Now()).WithDriftFound(drift)))
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(ResyncFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing status.resync of Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	return nil
}

func (r *ResyncReconciler) writeAppResync(ctx context.Context, app *chatv1alpha1.ChatApp, st *chatv1alpha1.ChatAppResync) error {
	ac := chatac.ChatAppResync().WithRooms(st.Rooms).WithLiveRooms(st.LiveRooms).WithChecked(st.Checked).WithDrifted(st.Drifted)
	if st.Period != nil {
		ac.WithPeriod(*st.Period)
	}
	if st.StartTime != nil {
		ac.WithStartTime(*st.StartTime)
	}
	if st.CompletionTime != nil {
		ac.WithCompletionTime(*st.CompletionTime)
	}
	if f := st.Failure; f != nil {
		ac.WithFailure(chatac.ResyncFailure().WithReason(f.Reason).WithMessage(f.Message).WithTime(f.Time))
	}
	apply := chatac.ChatApp(app.Name, app.Namespace).WithStatus(chatac.ChatAppStatus().WithResync(ac))
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(ResyncFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing status.resync of ChatApp %s/%s: %w", app.Namespace, app.Name, err)
	}
	return nil
}

func withFailure(st *chatv1alpha1.ChatAppResync, reason, msg string) *chatv1alpha1.ChatAppResync {
	out := &chatv1alpha1.ChatAppResync{}
	if st != nil {
		out = st.DeepCopy()
	}
	out.Failure = &chatv1alpha1.ResyncFailure{Reason: reason, Message: msg, Time: metav1.Now()}
	return out
}

// catchUpAsked passes a ChatApp update that asks for a catch-up
// (status.resync.catchUp set, or set earlier).
var catchUpAsked = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, oldOK := e.ObjectOld.(*chatv1alpha1.ChatApp)
		app, ok := e.ObjectNew.(*chatv1alpha1.ChatApp)
		if !oldOK || !ok || app.Status.Resync == nil || app.Status.Resync.CatchUp == nil {
			return false
		}
		return old.Status.Resync == nil || !equality.Semantic.DeepEqual(old.Status.Resync.CatchUp, app.Status.Resync.CatchUp)
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// SetupWithManager registers the two controllers: one keeps a worker per
// ChatApp (restarted when the ChatApp or its secret key Secret changes) and
// hands it the ChatApp's resync-requested-at annotation, the other acts on
// the Rooms' resync-requested-at annotations.
func (r *ResyncReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Context == nil || r.Store == nil || r.APIs == nil || r.Secrets == nil || r.Index == nil || r.APIReader == nil {
		return errors.New("the resync controller needs a Context, a Store, Secrets, RESTAPIs, an Index and an APIReader")
	}
	if err := ctrl.NewControllerManagedBy(mgr).
		Named("resync").
		For(&chatv1alpha1.ChatApp{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, catchUpAsked))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(chatAppsUsingSecret(r.Client))).
		Complete(reconcile.Func(r.reconcileApp)); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("resync-request").
		For(&chatv1alpha1.Room{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			room, ok := o.(*chatv1alpha1.Room)
			return ok && resyncRequested(room) != ""
		}))).
		Complete(reconcile.Func(r.reconcileRequest))
}

// resyncWorker resyncs one ChatApp's Rooms.
type resyncWorker struct {
	r      *ResyncReconciler
	app    types.NamespacedName
	cfg    resyncConfig
	cancel context.CancelFunc

	// sweep paces the sweep's reads: its share of the app's budget.
	sweep *rate.Limiter
	// fullFirst makes the first pass a full one: the worker replaces one
	// with another configuration.
	fullFirst bool
	// wake starts a pass now (request).
	wake chan struct{}
	mu   sync.Mutex
	// requested is the last resync-requested-at value given to the worker;
	// pending is that value until the pass for it starts.
	requested, pending string
}

func newResyncWorker(r *ResyncReconciler, app types.NamespacedName, cfg resyncConfig, cancel context.CancelFunc) *resyncWorker {
	return &resyncWorker{r: r, app: app, cfg: cfg, cancel: cancel, wake: make(chan struct{}, 1),
		sweep: rate.NewLimiter(rate.Limit(cfg.sweepRate), 1)}
}

// request asks for a full pass for the resync-requested-at value requested,
// after the one under way if any: once per value ("" asks nothing).
func (w *resyncWorker) request(requested string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if requested == "" || requested == w.requested {
		return
	}
	w.requested, w.pending = requested, requested
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

// poke starts a pass now, for what the ChatApp's status asks (a catch-up).
func (w *resyncWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

// woken reports whether a pass was asked for since this one started; a
// sweep, which may take hours over 100,000 Rooms, gives way to it.
func (w *resyncWorker) woken() bool { return len(w.wake) > 0 }

// takeRequest returns the request the pass about to start is for ("" for
// none), and takes the wake-up that came with it.
func (w *resyncWorker) takeRequest() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	requested := w.pending
	w.pending = ""
	select {
	case <-w.wake:
	default:
	}
	return requested
}

// handled records the request as handled, trying again for a while when the
// API server does not take the write.
func (w *resyncWorker) handled(ctx context.Context, requested string) {
	var last error
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 8}
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		last = w.r.handledApp(ctx, w.app.Name, w.app.Namespace, w.cfg.uid, requested)
		return last == nil, nil
	})
	if err != nil && ctx.Err() == nil {
		ctrl.Log.WithName("resync").Error(last, "Recording the resync request as handled", "chatApp", w.app, "request", requested)
	}
}

// run makes passes until ctx ends: a full pass when one is requested (or
// first, when the worker replaces one with another configuration), a
// catch-up when the ChatApp asks for one (status.resync.catchUp), else the
// sweep of the Rooms due. Between passes it waits until the next Room falls
// due, or a pass is requested. A requested pass is recorded as handled once
// it ends, whether it read every Room or stopped.
func (w *resyncWorker) run(ctx context.Context) {
	log := ctrl.Log.WithName("resync").WithValues("chatApp", w.app)
	full := w.fullFirst
	for {
		requested := w.takeRequest()
		next, err := w.pass(ctx, full || requested != "")
		full = false
		if err != nil && ctx.Err() == nil {
			log.Error(err, "Resync stopped")
			// Every other read would fail alike: wait an interval (or,
			// for credentials, a change of the ChatApp or its Secret).
			next = time.Now().Add(w.cfg.interval)
		}
		if requested != "" && ctx.Err() == nil {
			// A worker stopped meanwhile leaves it to the next one.
			w.handled(ctx, requested)
		}
		timer := time.NewTimer(sleepUntil(next, w.cfg.interval))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// minSweepSleep is the least time between two passes, so that Rooms whose
// reads fail are not read again in a loop.
const minSweepSleep = time.Second

// sleepUntil is how long to wait for next (zero: an interval), with up to
// 5% more so that the workers of many apps do not wake together.
func sleepUntil(next time.Time, interval time.Duration) time.Duration {
	d := interval
	if !next.IsZero() {
		d = min(time.Until(next), interval)
	}
	d = max(d, minSweepSleep)
	return d + time.Duration(rand.Float64()*0.05*float64(d))
}

// passKind is what a pass reads.
type passKind int

const (
	// sweepPass reads the Rooms not confirmed for an interval, least
	// recently confirmed first, within the sweep's budget.
	sweepPass passKind = iota
	// fullPass reads every live Room (a resync request), least recently
	// confirmed first, at the app's budget.
	fullPass
	// catchUpPass reads the Rooms active since a resyncInterval before
	// status.resync.catchUp.since, most recently active first, at the
	// app's budget.
	catchUpPass
)

// passPlan is what a pass reads, and what it tells of the app's Rooms.
type passPlan struct {
	kind passKind
	// due are the Rooms to read, in order.
	due []client.ObjectKey
	// next is when the first Room not read by the pass falls due (zero: an
	// interval from now).
	next time.Time
	// live and period are status.resync's liveRooms and period.
	live   int64
	period *metav1.Duration
	// then, when not nil, plans what the pass reads once due is read: a
	// catch-up that starts from the record of active Rooms goes on with
	// the Room index.
	then func(ctx context.Context) ([]client.ObjectKey, error)
	// applyAfter, when not nil, is waited on before a read of due is
	// applied, while the readers go on reading within the budget.
	applyAfter func(ctx context.Context) error
}

// pass makes one pass over the app's live Rooms, showing progress in the
// ChatApp's status.resync, and returns when the next Room falls due (zero
// for an interval from now). Rejected credentials and answers not as
// Tencent documents them stop it.
func (w *resyncWorker) pass(ctx context.Context, full bool) (time.Time, error) {
	app := &chatv1alpha1.ChatApp{}
	if err := w.r.Get(ctx, w.app, app); err != nil {
		return time.Time{}, client.IgnoreNotFound(err)
	}
	now := time.Now()
	prev := app.Status.Resync
	var plan passPlan
	var err error
	if !full && prev != nil && prev.CatchUp != nil {
		plan, err = w.planCatchUpPass(ctx, app, prev)
	} else {
		plan, err = w.planSweepPass(ctx, app, now, full)
	}
	if err != nil {
		return time.Time{}, err
	}
	if plan.kind == sweepPass && len(plan.due) == 0 && prev != nil && prev.Period != nil && prev.LiveRooms == plan.live &&
		prev.CompletionTime != nil && !prev.CompletionTime.Before(prev.StartTime) {
		// Nothing to read, and the status says so already: no write.
		return plan.next, nil
	}

	start := metav1.NewTime(now)
	st := &chatv1alpha1.ChatAppResync{StartTime: &start, Rooms: int64(len(plan.due)), LiveRooms: plan.live, Period: plan.period}
	if prev != nil {
		st.CompletionTime = prev.CompletionTime // the last pass's, until this one ends
		st.Failure = prev.Failure               // until a read works
	}
	if err := w.r.writeAppResync(ctx, app, st); err != nil {
		return time.Time{}, err
	}
	woken, err := w.readPass(ctx, app, plan, st)
	if err != nil {
		return time.Time{}, err
	}
	if plan.then != nil {
		more, err := plan.then(ctx)
		if err != nil {
			return time.Time{}, err
		}
		st.Rooms += int64(len(more))
		if woken, err = w.readPass(ctx, app, passPlan{kind: plan.kind, due: more}, st); err != nil {
			return time.Time{}, err
		}
	}
	if woken {
		// A catch-up or a full pass was asked for: it goes first. The
		// sweep's next pass starts from the Rooms still unconfirmed.
		return time.Now(), nil
	}
	done := metav1.Now()
	st.CompletionTime = &done
	if err := w.r.writeAppResync(ctx, app, st); err != nil { // with the failure only if no read worked
		return time.Time{}, err
	}
	if plan.kind == catchUpPass {
		// The sweep goes on at once.
		return time.Now(), w.caughtUp(ctx, prev.CatchUp)
	}
	return plan.next, nil
}

// passReaders is how many Rooms a pass reads at once, once a read has shown
// that Tencent takes the credentials. Each request still waits for the
// app's budget (a sweep's, for its share), so more readers never go over
// it: they fill it while others wait on the API server, which with 100,000
// Rooms, just after a start, can take 100 ms for one Room's writes.
const passReaders = 8

// readPass reads the Rooms of plan, in its order, counting in st what it
// read and writing st to the ChatApp's status every 2 seconds. It reads one
// Room at a time until Tencent has answered a read (rejected credentials
// stop the pass at the first request), then passReaders at a time. With
// plan.applyAfter, each read waits for it apart from the readers, and
// applies passReaders at a time; the pass ends when all have. A sweep
// gives way to a pass asked for meanwhile: woken. The error is what ended
// the pass: an error of the REST API that ends a resync (recorded as the
// ChatApp's failure), the end of ctx, or a status write that failed.
func (w *resyncWorker) readPass(ctx context.Context, app *chatv1alpha1.ChatApp, plan passPlan, st *chatv1alpha1.ChatAppResync) (woken bool, err error) {
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu        sync.Mutex // guards st and what follows
		stopped   error
		answered  bool
		lastWrite = time.Now()
	)
	// done counts in st a Room read (or not), and ends the pass on an
	// error that ends a resync.
	done := func(key client.ObjectKey, drift, skipped bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case stopped != nil || readCtx.Err() != nil:
			return
		case failureReason(err) != "":
			stopped = err
			cancel()
			return
		case apierrors.IsNotFound(err):
			// The Room went meanwhile: nothing to heal.
		case err != nil:
			ctrl.Log.WithName("resync").Error(err, "Resyncing a Room", "room", key)
		case !skipped:
			st.Failure = nil
			answered = true
		}
		st.Checked++
		if drift {
			st.Drifted++
		}
		if time.Since(lastWrite) > 2*time.Second {
			if err := w.r.writeAppResync(readCtx, app, st); err != nil {
				stopped = err
				cancel()
				return
			}
			lastWrite = time.Now()
		}
	}
	// applies bounds the reads that plan.applyAfter held back and that now
	// apply at once.
	applies := make(chan struct{}, passReaders)
	// readOne reads a Room and applies the read; or, when plan.applyAfter
	// holds applies back, returns the apply, to run apart from the readers.
	readOne := func(key client.ObjectKey) (later func()) {
		read, skipped, err := w.fetch(readCtx, app, key, plan.kind)
		if err != nil || skipped {
			done(key, false, skipped, err)
			return nil
		}
		if plan.applyAfter == nil {
			drift, err := w.apply(readCtx, app, read)
			done(key, drift, false, err)
			return nil
		}
		mu.Lock()
		answered = true
		mu.Unlock()
		return func() {
			if err := plan.applyAfter(readCtx); err != nil {
				done(key, false, false, err)
				return
			}
			select {
			case applies <- struct{}{}:
			case <-readCtx.Done():
				return
			}
			defer func() { <-applies }()
			// Drift is judged against the Room as it is now, not as it was
			// when it was read, a while ago maybe.
			now := &chatv1alpha1.Room{}
			if err := w.r.APIReader.Get(readCtx, key, now); err != nil {
				done(key, false, false, err) // NotFound: the Room went meanwhile
				return
			}
			if !catchesUp(now, app) { // only a catch-up holds reads back
				done(key, false, true, nil)
				return
			}
			read.room = now
			drift, err := w.apply(readCtx, app, read)
			done(key, drift, false, err)
		}
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, passReaders)
	for _, key := range plan.due {
		if plan.kind == sweepPass && w.woken() {
			woken = true
			break
		}
		mu.Lock()
		alone, over := !answered, stopped != nil
		mu.Unlock()
		if over || readCtx.Err() != nil {
			break
		}
		if alone { // no reader runs yet: none starts before a read is answered
			if later := readOne(key); later != nil {
				wg.Go(later)
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-readCtx.Done():
		}
		if readCtx.Err() != nil {
			break
		}
		wg.Go(func() {
			later := func() func() {
				defer func() { <-slots }()
				return readOne(key)
			}()
			if later != nil {
				later()
			}
		})
	}
	wg.Wait()
	if stopped != nil {
		if reason := failureReason(stopped); reason != "" {
			w.failed(ctx, reason, stopped)
		}
		return false, stopped
	}
	return woken, ctx.Err()
}

// planSweepPass plans a sweep, or a full pass, over the app's live Rooms in the
// cache (resync_plan.go's planSweep).
func (w *resyncWorker) planSweepPass(ctx context.Context, app *chatv1alpha1.ChatApp, now time.Time, full bool) (passPlan, error) {
	live, err := w.liveRooms(ctx, app)
	if err != nil {
		return passPlan{}, err
	}
	sweep := planSweep(live, now, w.cfg.interval, full)
	plan := passPlan{kind: sweepPass, next: sweep.next, live: int64(len(live)),
		period: &metav1.Duration{Duration: sweep.stalest.Round(time.Second)}}
	if full {
		plan.kind = fullPass
	}
	plan.due = make([]client.ObjectKey, len(sweep.due))
	for i, room := range sweep.due {
		plan.due[i] = client.ObjectKeyFromObject(room)
	}
	return plan, nil
}

// planCatchUpPass plans the catch-up the ChatApp's status asks for, from the
// Room index (resync_plan.go's planCatchUp): it does not wait for the
// cache of every Room, which takes a minute or more to fill with 100,000
// of them just after a start, when a catch-up is wanted most. While the
// index itself has not synced (half a minute with 100,000 Rooms), it
// starts with the Rooms the record of active Rooms has (ActiveRooms), and
// goes on with the index's others once it has. Its reads tell which Rooms
// are live. status.resync's liveRooms and period stay what the last sweep
// found.
func (w *resyncWorker) planCatchUpPass(ctx context.Context, app *chatv1alpha1.ChatApp, prev *chatv1alpha1.ChatAppResync) (passPlan, error) {
	plan := passPlan{kind: catchUpPass, live: prev.LiveRooms, period: prev.Period}
	fromIndex := func(ctx context.Context, read map[client.ObjectKey]bool) ([]client.ObjectKey, error) {
		refs, err := w.r.Index.AppRooms(ctx, app.Namespace, app.Spec.SDKAppID)
		if err != nil {
			return nil, err
		}
		var due []client.ObjectKey
		for _, ref := range planCatchUp(refs, prev.CatchUp, w.cfg.interval) {
			if key := (client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}); !read[key] {
				due = append(due, key)
			}
		}
		return due, nil
	}
	if w.r.Active != nil && !w.r.Index.HasSynced() {
		recorded, err := w.r.Active.Read(ctx, app.Namespace, app.Spec.SDKAppID)
		if err != nil && ctx.Err() == nil {
			// The index still has every Room: only later.
			ctrl.Log.WithName("resync").Error(err, "Reading the record of active Rooms; the catch-up waits for the Room index", "chatApp", w.app)
		}
		for _, ref := range planCatchUp(recorded, prev.CatchUp, w.cfg.interval) {
			plan.due = append(plan.due, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name})
		}
		if len(plan.due) > 0 {
			// The Store finds the Room that holds a room in the index;
			// before it has synced, with a list from the API server that,
			// with 100,000 Rooms, costs it a tenth of a second of CPU while
			// it streams every Room to each replica. So these reads apply
			// once the index has synced, the budget meanwhile spent on
			// reading more.
			plan.applyAfter = func(ctx context.Context) error {
				if !w.r.Index.WaitForSync(ctx) {
					return fmt.Errorf("waiting for the Room index to sync: %w", context.Cause(ctx))
				}
				return nil
			}
			read := map[client.ObjectKey]bool{}
			for _, key := range plan.due {
				read[key] = true
			}
			plan.then = func(ctx context.Context) ([]client.ObjectKey, error) { return fromIndex(ctx, read) }
			return plan, nil
		}
	}
	due, err := fromIndex(ctx, nil)
	plan.due = due
	return plan, err
}

// liveRooms lists the app's Rooms that exist in Tencent as far as roomsync
// knows (isLive). They are the cache's own objects, not copies (a pass
// looks at every Room, and reads few): only to be read.
func (w *resyncWorker) liveRooms(ctx context.Context, app *chatv1alpha1.ChatApp) ([]*chatv1alpha1.Room, error) {
	all, err := lookup.RoomsOfApp(ctx, w.r.Client, app.Namespace, app.Spec.SDKAppID, client.UnsafeDisableDeepCopy)
	if err != nil {
		return nil, err
	}
	var rooms []*chatv1alpha1.Room
	for i := range all {
		if r := &all[i]; isLive(r) {
			rooms = append(rooms, r)
		}
	}
	return rooms, nil
}

// isLive reports whether room's room exists in Tencent as far as roomsync
// knows, and is for the resync to read: not destroyed, the Room not being
// deleted, and not a room the management controller is still to create
// (that is its business: a read now would only find it missing).
func isLive(room *chatv1alpha1.Room) bool {
	return room.Status.Phase != chatv1alpha1.RoomPhaseDestroyed && room.DeletionTimestamp.IsZero() && !awaitsCreation(room)
}

// catchesUp reports whether a catch-up of app reads room: a live Room
// still of the app. A catch-up is planned from the index, or from the
// record of active Rooms, which a Room of that name may have left since.
func catchesUp(room *chatv1alpha1.Room, app *chatv1alpha1.ChatApp) bool {
	return isLive(room) && room.Spec.SDKAppID == app.Spec.SDKAppID
}

// caughtUp clears the ChatApp's status.resync.catchUp, unless a newer one
// was asked for meanwhile.
func (w *resyncWorker) caughtUp(ctx context.Context, done *chatv1alpha1.ResyncCatchUp) error {
	// The cache may not have seen the last write yet: a conflict waits.
	backoff := wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 8}
	return updateCatchUp(ctx, w.r.Client, w.r.Client, w.app, backoff, func(app *chatv1alpha1.ChatApp) bool {
		cur := app.Status.Resync
		if cur == nil || !equality.Semantic.DeepEqual(cur.CatchUp, done) {
			return false // none, or another asked for meanwhile
		}
		cur.CatchUp = nil
		return true
	})
}

// failureReason returns the ChatApp's status.resync.failure reason for an
// error of the REST API that ends a resync, or "" for one that does not
// (a room gone, a network error: the other rooms are read on).
func failureReason(err error) string {
	switch {
	case errors.Is(err, tencent.ErrCredentials):
		return chatv1alpha1.RESTAPICredentialsRejectedReason
	case errors.Is(err, tencent.ErrBadAnswer):
		return chatv1alpha1.RESTAPIBadAnswerReason
	}
	return ""
}

// failed records in the ChatApp's status.resync why the resync stopped.
func (w *resyncWorker) failed(ctx context.Context, reason string, err error) {
	app := &chatv1alpha1.ChatApp{}
	if getErr := w.r.Get(ctx, w.app, app); getErr != nil {
		return
	}
	if werr := w.r.writeAppResync(ctx, app, withFailure(app.Status.Resync, reason, err.Error())); werr != nil {
		ctrl.Log.WithName("resync").Error(werr, "Recording why the resync stopped", "chatApp", w.app, "reason", reason)
	}
}

// resyncRoom reads room's room, applies it and records the read in the
// Room's status.resync. It reports whether the Room had drifted.
func (w *resyncWorker) resyncRoom(ctx context.Context, app *chatv1alpha1.ChatApp, room *chatv1alpha1.Room) (bool, error) {
	read, _, err := w.fetch(ctx, app, client.ObjectKeyFromObject(room), fullPass)
	if err != nil {
		return false, err
	}
	return w.apply(ctx, app, read)
}

// fetchedRoom is what the REST API said of a Room's room, to apply.
type fetchedRoom struct {
	// room is the Room as it was before the read.
	room   *chatv1alpha1.Room
	events []roomstore.Event
}

// fetch reads the Room key from the API server and its room from the REST
// API (within the app's budget; see readRoom). Seats that could not be read
// are no error: the rest of the read applies, and seatsNotRead records why.
//
// A sweep reads only a Room still due (stillDue), and a catch-up only a
// live one of the app (isLive); skipped reports a Room left alone. A sweep
// waits for its own share of the budget before each request.
func (w *resyncWorker) fetch(ctx context.Context, app *chatv1alpha1.ChatApp, key client.ObjectKey, kind passKind) (read *fetchedRoom, skipped bool, err error) {
	rest, err := w.r.APIs.For(ctx, app)
	if err != nil {
		return nil, false, err
	}
	// A pass planned its Rooms minutes ago, maybe: judge drift against the
	// Room as it is now. A catch-up reads it from the API server, so as
	// not to wait for the cache of every Room (planCatchUp).
	reader := client.Reader(w.r.Client)
	if kind == catchUpPass {
		reader = w.r.APIReader
	}
	room := &chatv1alpha1.Room{}
	if err := reader.Get(ctx, key, room); err != nil {
		return nil, false, err // NotFound: the Room went meanwhile
	}
	switch {
	case kind == sweepPass && !stillDue(room, time.Now(), w.cfg.interval, false):
		resyncsTotal.WithLabelValues("confirmed").Inc()
		return nil, true, nil
	case kind == catchUpPass && !catchesUp(room, app):
		return nil, true, nil
	}
	var wait func(context.Context) error
	if kind == sweepPass {
		wait = w.sweep.Wait
	}
	r, err := readRoom(ctx, rest, app.Spec.RestAPI.Administrator, room.Spec.RoomID, wait)
	if err != nil {
		resyncsTotal.WithLabelValues("error").Inc()
		return nil, false, err
	}
	if r.seatsErr != nil {
		w.seatsNotRead(room, r.seatsErr)
	} else {
		w.r.seatErrors.Delete(room.UID)
	}
	return &fetchedRoom{room: room, events: r.events}, false, nil
}

// apply applies read through the Store, as events of the time each request
// was sent, and records the read in the Room's status.resync. It reports
// whether the Room had drifted: whether the events that applied changed
// what it says.
func (w *resyncWorker) apply(ctx context.Context, app *chatv1alpha1.ChatApp, read *fetchedRoom) (drift bool, err error) {
	room, evs := read.room, read.events
	outcomes, err := w.r.Store.ApplyAll(ctx, app, evs)
	if err != nil {
		resyncsTotal.WithLabelValues("error").Inc()
		return false, err
	}
	var applied []roomstore.Event
	for i, outcome := range outcomes {
		if outcome == roomstore.Applied {
			applied = append(applied, evs[i])
		}
	}
	drift = roomstore.Drifted(room.Status, applied...)
	switch {
	case len(applied) == 0:
		resyncsTotal.WithLabelValues("stale").Inc()
	case drift:
		resyncsTotal.WithLabelValues("drift").Inc()
		resyncDriftTotal.Inc()
		w.r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, "DriftCorrected", "Resync",
			"The REST API's view of room %q differed from this Room; the Room was updated", room.Spec.RoomID)
	default:
		resyncsTotal.WithLabelValues("in_sync").Inc()
	}
	return drift, w.r.writeRoomRead(ctx, room, drift)
}

// roomRead is what readRoom read of a room.
type roomRead struct {
	// events are what the read says, one per kind.
	events []roomstore.Event
	// seatsErr is why get_seat_list failed after get_room_info answered:
	// events then hold the room info and the member count, not the seats.
	seatsErr error
}

// readRoom reads roomID with two requests and returns what they say as
// events, one per kind, each stamped when its own request was sent:
// get_room_info gives the room info and the member count (its MemberCount),
// get_seat_list the seats. A room get_room_info says does not exist
// (ErrorCode 100004) is one destroy event, and its seats are not read. Only
// get_room_info decides that a room is gone: when get_seat_list answers
// 100004 for a room get_room_info has just described, the room was
// destroyed between the two requests (or the seat call says so of a room
// it has no seats for); the seats are left as they are, and the next read
// tells. Any other error of get_seat_list (an ErrorCode Tencent gives a
// room without seats, a command an older region does not know, an answer
// not as documented, the network) leaves the seats as they are too, and is
// returned as seatsErr beside the room info and member count, which still
// apply: a room whose seats cannot be read still heals the rest. An error
// of get_room_info, or the end of ctx, is returned as the error, and
// nothing of the read applies.
//
// Each stamp is taken before the client waits for the request budget: a
// read stamped a little early loses to a callback it may already reflect,
// which is the safe way to be wrong.
//
// A room get_room_info reports with IsSeatEnabled false has no seats: its
// seat list is not asked for. wait, when not nil, is waited on before each
// request (the sweep's share of the budget).
func readRoom(ctx context.Context, rest *tencent.RESTClient, administrator, roomID string, wait func(context.Context) error) (roomRead, error) {
	if wait == nil {
		wait = func(context.Context) error { return nil }
	}
	event := func(sent time.Time) roomstore.Event { return readEvent(roomID, administrator, sent) }
	if err := wait(ctx); err != nil {
		return roomRead{}, err
	}
	sent := time.Now()
	details, err := rest.GetRoomDetails(ctx, roomID)
	if errors.Is(err, tencent.ErrRoomNotFound) {
		gone := event(sent)
		gone.Destroy = &roomstore.DestroyChange{Received: time.Now()}
		return roomRead{events: []roomstore.Event{gone}}, nil
	}
	if err != nil {
		return roomRead{}, err
	}
	info := event(sent)
	info.RoomInfo = &roomstore.RoomInfoChange{Info: details.RoomInfo}
	evs := []roomstore.Event{info}
	if details.MemberCount != nil {
		members := event(sent)
		members.Members = &roomstore.MembersChange{Count: new(int64(*details.MemberCount))}
		evs = append(evs, members)
	}

	if seatsOff := details.IsSeatEnabled; seatsOff != nil && !bool(*seatsOff) {
		return roomRead{events: evs}, nil
	}
	if err := wait(ctx); err != nil {
		return roomRead{}, err
	}
	sent = time.Now()
	list, err := rest.GetSeatList(ctx, roomID)
	switch {
	case errors.Is(err, tencent.ErrRoomNotFound):
		return roomRead{events: evs}, nil
	case err != nil && ctx.Err() != nil:
		return roomRead{}, err
	case err != nil:
		return roomRead{events: evs, seatsErr: err}, nil
	}
	seats := event(sent)
	seats.Seats = roomstore.SeatsOf(list)
	return roomRead{events: append(evs, seats)}, nil
}

// SeatsNotReadEvent is the reason of the Warning Event on a Room whose
// seats a resync could not read (get_seat_list failed after get_room_info
// answered).
const SeatsNotReadEvent = "SeatsNotRead"

// seatEventNoteBytes bounds the error an Event quotes.
const seatEventNoteBytes = 400

// seatsNotRead records that room's seats could not be read: a log line at
// Info, and a Warning Event (SeatsNotReadEvent) with the error, once per
// kind of failure (the ErrorCode, a bad answer, anything else) until the
// seats are read again, so that a room whose seats always fail does not
// get one every pass. The REST client's errors hold no credentials, and
// quote at most 200 bytes of an answer; the Event's note is bounded too.
func (w *resyncWorker) seatsNotRead(room *chatv1alpha1.Room, err error) {
	ctrl.Log.WithName("resync").Info("The seats could not be read; the room info and member count were applied",
		"chatApp", w.app, "room", client.ObjectKeyFromObject(room), "error", err.Error())
	kind := seatsErrorKind(err)
	if last, ok := w.r.seatErrors.Load(room.UID); ok && last == kind {
		return
	}
	w.r.seatErrors.Store(room.UID, kind)
	msg := err.Error()
	if len(msg) > seatEventNoteBytes {
		msg = strings.ToValidUTF8(msg[:seatEventNoteBytes], "") + "…"
	}
	w.r.Recorder.Eventf(room, nil, corev1.EventTypeWarning, SeatsNotReadEvent, "Resync",
		"get_seat_list failed for room %q; its room info and member count were read, its seats are left as they were: %s", room.Spec.RoomID, msg)
}

// seatsErrorKind names the kind of a get_seat_list failure, to tell a new
// failure from the same one again.
func seatsErrorKind(err error) string {
	var apiErr *tencent.APIError
	switch {
	case errors.As(err, &apiErr):
		return "ErrorCode " + strconv.Itoa(apiErr.Code)
	case errors.Is(err, tencent.ErrBadAnswer):
		return "bad answer"
	}
	return "other"
}

// readEvent is the start of an event made from a read of roomID from the
// REST API, as administrator, whose request was sent at sent: stamped then,
// so that a newer callback still wins. Resync and the room management
// controller's confirming reads make theirs with it.
func readEvent(roomID, administrator string, sent time.Time) roomstore.Event {
	return roomstore.Event{RoomID: roomID, EventTime: sent.UnixMilli(), Command: roomstore.CommandResync, Operator: administrator}
}
