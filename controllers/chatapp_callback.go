package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
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
	"github.com/roomsync/roomsync/internal/tencent"
)

// CallbackRegistrationFieldManager writes status.callbackRegistration of
// ChatApps.
const CallbackRegistrationFieldManager = "roomsync-callback-registration"

// defaultCallbackCommands are the callbacks roomsync handles: what it
// registers when spec.callbackRegistration.commands is empty.
var defaultCallbackCommands = []string{
	tencent.CommandAfterCreateRoom,
	tencent.CommandAfterUpdateRoomInfo,
	tencent.CommandAfterDestroyRoom,
	tencent.CommandAfterMemberEnter,
	tencent.CommandAfterMemberLeave,
	tencent.CommandAfterSeatInfoChanged,
}

// CallbackRegistrationReconciler keeps each ChatApp's callback configuration
// in Tencent (room_config) as spec.callbackRegistration says, and reports
// in status.callbackRegistration what Tencent has. It checks when the
// ChatApp starts being watched (so on start), when its spec or its secret
// key Secret changes, and every resyncInterval, which sets back a change
// made in Tencent's console. It never replaces another URL without
// takeOver, and never deletes a configuration.
type CallbackRegistrationReconciler struct {
	client.Client
	// APIs gives the ChatApps' REST API clients (shared with the other
	// controllers that call Tencent, so one request budget per app).
	APIs     *RESTAPIs
	Recorder recorder.EventRecorder
}

// +kubebuilder:rbac:groups=chat.roomsync.io,resources=chatapps,verbs=get;list;watch
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=chatapps/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// callbackResult is what one check found: what to write in
// status.callbackRegistration and which Event to record. A nil have keeps
// the URL and commands status had (Tencent could not be read).
type callbackResult struct {
	have            *tencent.CallbackConfig
	reason, message string
	// eventType and eventReason are empty when nothing deserves an Event.
	eventType, eventReason, eventNote string
}

// Reconcile implements reconcile.Reconciler.
func (r *CallbackRegistrationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	app := &chatv1alpha1.ChatApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if app.Spec.CallbackRegistration == nil {
		// Tencent's configuration stays as it is; only the report of it goes.
		if app.Status.CallbackRegistration == nil {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, r.writeStatus(ctx, app, nil)
	}

	res, err := r.register(ctx, app)
	if res == nil {
		return ctrl.Result{}, err // nothing learnt: retry with backoff
	}
	defer func() {
		if werr := r.writeStatus(ctx, app, callbackStatusOf(app, res)); werr != nil {
			retErr = kerrors.NewAggregate([]error{retErr, werr})
		}
	}()
	if res.eventReason != "" {
		r.Recorder.Eventf(app, nil, res.eventType, res.eventReason, "RegisterCallback", "%s", res.eventNote)
	}
	if err != nil {
		ctrl.LoggerFrom(ctx).Info("Tencent's callback configuration could not be read or set; retrying", "reason", res.reason, "error", err.Error())
		return ctrl.Result{}, err // TencentUnavailable: backoff
	}
	return ctrl.Result{RequeueAfter: nextCallbackCheck(app, res.reason)}, nil
}

// register compares Tencent's callback configuration with app's spec and
// sets it where planCallback says so. A nil result means an error that
// says nothing of Tencent (the cache, the API server); a result with an
// error means Tencent was unavailable.
func (r *CallbackRegistrationReconciler) register(ctx context.Context, app *chatv1alpha1.ChatApp) (*callbackResult, error) {
	spec := app.Spec.CallbackRegistration
	claims, err := lookup.Claims(ctx, r.APIs.Secrets, app.Spec.SDKAppID)
	if err != nil {
		return nil, err
	}
	if shadow := shadowOf(ctx, claims, app); shadow != nil {
		// Two ChatApps that receive the same callbacks would fight over the
		// app's one URL.
		return &callbackResult{reason: chatv1alpha1.SDKAppIDConflictReason, message: fmt.Sprintf(
			"%s receives the callbacks of sdkAppID %d that this ChatApp would: this one does not register its callback URL",
			lookup.Describe(shadow, app.Namespace), app.Spec.SDKAppID)}, nil
	}
	rest, err := r.APIs.For(ctx, app)
	if err != nil && !errors.Is(err, lookup.ErrSecretKeyNotFound) && !errors.Is(err, ErrNoRESTAPI) {
		return nil, err
	}
	var have tencent.CallbackConfig
	found := false
	if err == nil {
		have, found, err = readCallback(ctx, rest)
	}
	if err != nil {
		return callbackFailed(err)
	}

	want := tencent.CallbackConfig{URL: spec.URL, Commands: wantedCommands(spec)}
	switch action := planCallback(spec, have, found); action {
	case callbackNothing:
		return &callbackResult{have: &have, reason: chatv1alpha1.CallbackRegisteredReason, message: callbackRegisteredMessage(have)}, nil
	case callbackRefuse:
		return &callbackResult{have: &have, reason: chatv1alpha1.CallbackURLTakenReason, message: urlTakenMessage(spec, have.URL),
			eventType: corev1.EventTypeWarning, eventReason: callbackRefusalEvent(app.Status.CallbackRegistration, have.URL), eventNote: urlTakenMessage(spec, have.URL)}, nil
	default:
		if err := writeCallback(ctx, rest, action, want); err != nil {
			return callbackFailed(err)
		}
	}
	// Report what Tencent has now, not what was asked for.
	after, stored, err := readCallback(ctx, rest)
	if err != nil {
		return callbackFailed(err)
	}
	if !stored || !callbackMatches(spec, after) {
		return &callbackResult{have: &after, reason: chatv1alpha1.RESTAPIBadAnswerReason, message: fmt.Sprintf(
			"Tencent answered OK to setting the callback configuration, but get_callback then answered %s", describeCallback(after, stored))}, nil
	}
	res := &callbackResult{have: &after, reason: chatv1alpha1.CallbackRegisteredReason, message: callbackRegisteredMessage(after), eventType: corev1.EventTypeNormal}
	res.eventReason, res.eventNote = callbackWriteEvent(spec, app.Status.CallbackRegistration, have, found)
	return res, nil
}

// readCallback reads the app's configuration; found is false when it has
// none (ErrCallbackNotFound).
func readCallback(ctx context.Context, rest *tencent.RESTClient) (cfg tencent.CallbackConfig, found bool, err error) {
	cfg, err = rest.GetCallback(ctx)
	if errors.Is(err, tencent.ErrCallbackNotFound) {
		return tencent.CallbackConfig{}, false, nil
	}
	return cfg, err == nil, err
}

// writeCallback creates or replaces the app's configuration; an update of a
// configuration removed meanwhile creates it.
func writeCallback(ctx context.Context, rest *tencent.RESTClient, action callbackAction, want tencent.CallbackConfig) error {
	if action == callbackUpdate {
		err := rest.UpdateCallback(ctx, want)
		if !errors.Is(err, tencent.ErrCallbackNotFound) {
			return err
		}
	}
	return rest.SetCallback(ctx, want)
}

// callbackAction is what roomsync does to an app's callback configuration.
type callbackAction int

const (
	// callbackNothing: Tencent has spec's URL and commands.
	callbackNothing callbackAction = iota
	// callbackSet: Tencent has no configuration (set_callback).
	callbackSet
	// callbackUpdate: Tencent has spec's URL (or none, or takeOver allows
	// replacing another) with other commands (update_callback).
	callbackUpdate
	// callbackRefuse: Tencent has another URL and takeOver is false.
	callbackRefuse
)

// planCallback decides what to do with Tencent's configuration have
// (found false: none) for spec. URLs compare exactly, commands as sets
// (see normalCallbackCommands).
func planCallback(spec *chatv1alpha1.CallbackRegistration, have tencent.CallbackConfig, found bool) callbackAction {
	switch {
	case !found:
		return callbackSet
	case callbackMatches(spec, have):
		return callbackNothing
	case have.URL == "" || have.URL == spec.URL || spec.TakeOver:
		return callbackUpdate
	}
	return callbackRefuse
}

// callbackMatches reports whether Tencent's configuration have is spec's.
func callbackMatches(spec *chatv1alpha1.CallbackRegistration, have tencent.CallbackConfig) bool {
	return have.URL == spec.URL && slices.Equal(normalCallbackCommands(have.Commands), normalCallbackCommands(wantedCommands(spec)))
}

// callbackStatusMatches reports whether st says Tencent had spec's configuration.
func callbackStatusMatches(spec *chatv1alpha1.CallbackRegistration, st *chatv1alpha1.CallbackRegistrationStatus) bool {
	return st != nil && st.Reason == chatv1alpha1.CallbackRegisteredReason &&
		callbackMatches(spec, tencent.CallbackConfig{URL: st.URL, Commands: st.Commands})
}

// wantedCommands are the commands to register for spec, as spelled there
// (each once), or every command roomsync handles when it lists none.
func wantedCommands(spec *chatv1alpha1.CallbackRegistration) []string {
	if len(spec.Commands) == 0 {
		return slices.Clone(defaultCallbackCommands)
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range spec.Commands {
		if n := normalCallbackCommand(c); !seen[n] {
			seen[n] = true
			out = append(out, c)
		}
	}
	return out
}

// normalCallbackCommands returns commands sorted, each once, with the older
// spelling of the update callback read as the newer.
func normalCallbackCommands(commands []string) []string {
	out := make([]string, 0, len(commands))
	for _, c := range commands {
		out = append(out, normalCallbackCommand(c))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func normalCallbackCommand(c string) string {
	if c == tencent.CommandUpdateRoomInfo {
		return tencent.CommandAfterUpdateRoomInfo
	}
	return c
}

// callbackWriteEvent names the Normal Event for setting Tencent's
// configuration (which was have, or none): CallbackRestored when status
// said Tencent had spec's configuration before, so that it was changed
// outside roomsync; CallbackRegistered otherwise (first registration, a
// changed spec, a takeOver).
func callbackWriteEvent(spec *chatv1alpha1.CallbackRegistration, before *chatv1alpha1.CallbackRegistrationStatus, have tencent.CallbackConfig, found bool) (reason, note string) {
	set := fmt.Sprintf("%s with %s", spec.URL, strings.Join(wantedCommands(spec), ", "))
	switch {
	case callbackStatusMatches(spec, before):
		return chatv1alpha1.CallbackRestoredEvent, fmt.Sprintf(
			"Tencent's callback configuration was changed outside roomsync (to %s); set it back to %s", describeCallback(have, found), set)
	case found && have.URL != "" && have.URL != spec.URL:
		return chatv1alpha1.CallbackRegisteredEvent, fmt.Sprintf("Registered the callback URL %s, replacing %s (takeOver)", set, have.URL)
	}
	return chatv1alpha1.CallbackRegisteredEvent, "Registered the callback URL " + set
}

// callbackRefusalEvent is the Warning Event's reason for leaving another
// URL in place: only when status did not already say so, so that every
// interval does not repeat it.
func callbackRefusalEvent(before *chatv1alpha1.CallbackRegistrationStatus, url string) string {
	if before != nil && before.Reason == chatv1alpha1.CallbackURLTakenReason && before.URL == url {
		return ""
	}
	return chatv1alpha1.CallbackURLTakenReason
}

// callbackFailed maps a failed REST call to a status reason. Only an
// unavailable Tencent comes back with the error, to be tried again with
// backoff; the others wait for the next interval or a change.
func callbackFailed(err error) (*callbackResult, error) {
	res := &callbackResult{message: err.Error()}
	var apiErr *tencent.APIError
	switch {
	case errors.Is(err, lookup.ErrSecretKeyNotFound):
		res.reason = chatv1alpha1.SecretKeyNotFoundReason
	case errors.Is(err, ErrNoRESTAPI):
		res.reason = chatv1alpha1.RESTAPINotConfiguredReason
	case errors.Is(err, tencent.ErrCredentials):
		res.reason = chatv1alpha1.RESTAPICredentialsRejectedReason
	case errors.Is(err, tencent.ErrBadAnswer):
		res.reason = chatv1alpha1.RESTAPIBadAnswerReason
	case errors.As(err, &apiErr) && apiErr.Code != tencent.CodeInternalError:
		res.reason = chatv1alpha1.TencentRejectedReason
	default:
		res.reason = chatv1alpha1.TencentUnavailableReason
		return res, err
	}
	return res, nil
}

// nextCallbackCheck is when to look again: after the app's resyncInterval,
// ±10%; a missing Secret, which may be created without the label that
// roomsync watches, sooner.
func nextCallbackCheck(app *chatv1alpha1.ChatApp, reason string) time.Duration {
	interval := resyncInterval(app.Spec.RestAPI)
	if reason == chatv1alpha1.SecretKeyNotFoundReason {
		interval = min(interval, lookup.UnlabelledSecretTTL)
	}
	return interval + time.Duration((rand.Float64()*0.2-0.1)*float64(interval))
}

func callbackRegisteredMessage(have tencent.CallbackConfig) string {
	return fmt.Sprintf("Tencent sends the app's callbacks to %s (%d commands)", have.URL, len(have.Commands))
}

// urlTakenMessage says that Tencent has another URL than spec's, and what
// to do about it.
func urlTakenMessage(spec *chatv1alpha1.CallbackRegistration, url string) string {
	return fmt.Sprintf("Tencent sends the app's callbacks to %s, not to %s; roomsync changes nothing there, so that two clusters "+
		"do not fight over one app. Set spec.callbackRegistration.takeOver to true to replace it", url, spec.URL)
}

func describeCallback(cfg tencent.CallbackConfig, found bool) string {
	if !found {
		return "no configuration"
	}
	return fmt.Sprintf("%q with [%s]", cfg.URL, strings.Join(cfg.Commands, ", "))
}

// callbackStatusOf is the status.callbackRegistration to write for res:
// Tencent's configuration as read now, or as last read when it could not
// be.
func callbackStatusOf(app *chatv1alpha1.ChatApp, res *callbackResult) *chatv1alpha1.CallbackRegistrationStatus {
	st := &chatv1alpha1.CallbackRegistrationStatus{}
	if prev := app.Status.CallbackRegistration; prev != nil {
		st.URL, st.Commands, st.CheckTime = prev.URL, prev.Commands, prev.CheckTime
	}
	if res.have != nil {
		now := metav1.Now()
		st.URL, st.Commands, st.CheckTime = res.have.URL, res.have.Commands, &now
	}
	st.Reason, st.Message, st.ObservedGeneration = res.reason, truncateMessage(res.message, 1024), app.Generation
	return st
}

// writeStatus applies st as status.callbackRegistration; nil removes it.
func (r *CallbackRegistrationReconciler) writeStatus(ctx context.Context, app *chatv1alpha1.ChatApp, st *chatv1alpha1.CallbackRegistrationStatus) error {
	status := chatac.ChatAppStatus()
	if st != nil {
		ac := chatac.CallbackRegistrationStatus().WithReason(st.Reason).WithMessage(st.Message).WithObservedGeneration(st.ObservedGeneration)
		if st.URL != "" {
			ac.WithURL(st.URL)
		}
		if len(st.Commands) > 0 {
			ac.WithCommands(st.Commands...)
		}
		if st.CheckTime != nil {
			ac.WithCheckTime(*st.CheckTime)
		}
		status.WithCallbackRegistration(ac)
	}
	apply := chatac.ChatApp(app.Name, app.Namespace).WithStatus(status)
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(CallbackRegistrationFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing status.callbackRegistration of ChatApp %s/%s: %w", app.Namespace, app.Name, err)
	}
	return nil
}

// truncateMessage cuts s to at most n bytes, on a rune boundary.
func truncateMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// SetupWithManager registers the controller. It looks at a ChatApp when it
// appears (so for every ChatApp on start), when its spec changes, when a
// Secret it reads changes, when another ChatApp claiming its sdkAppID comes
// or goes, and every resyncInterval.
func (r *CallbackRegistrationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIs == nil || r.Recorder == nil {
		return errors.New("the callback registration controller needs RESTAPIs and a Recorder")
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("callback-registration").
		For(&chatv1alpha1.ChatApp{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(chatAppsUsingSecret(r.Client))).
		Watches(&chatv1alpha1.ChatApp{},
			handler.EnqueueRequestsFromMapFunc(r.chatAppsWithSameSDKAppID),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Complete(r)
}

func (r *CallbackRegistrationReconciler) chatAppsWithSameSDKAppID(ctx context.Context, obj client.Object) []reconcile.Request {
	app := obj.(*chatv1alpha1.ChatApp)
	apps, err := lookup.ChatApps(ctx, r.Client, app.Spec.SDKAppID)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing ChatApps with the same sdkAppID")
		return nil
	}
	return requestsForOthers(app, apps)
}
