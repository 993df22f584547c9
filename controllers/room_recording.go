package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// RecordingFieldManager owns a Room's status.recording and its Recording
// condition.
const RecordingFieldManager = "roomsync-recording"

// recordingConditionTypes are the condition types the recording controller
// owns.
var recordingConditionTypes = []string{chatv1alpha1.RecordingCondition}

// Default history limits, as in CronJob.
const (
	defaultSuccessfulJobsHistoryLimit = 3
	defaultFailedJobsHistoryLimit     = 1
)

// RecordingJobSelector selects the Jobs roomsync manages. The manager's
// cache holds only those, so its memory does not grow with the cluster's
// other Jobs.
func RecordingJobSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{chatv1alpha1.ManagedByLabel: chatv1alpha1.ManagedByValue})
}

// RecordingReconciler runs one recording Job per recording session of a
// room: a session opens when the room's cloud recording becomes enabled and
// closes when it is disabled or the room is destroyed.
type RecordingReconciler struct {
	client.Client
	// Secrets reads callback token Secrets (lookup.SecretReader), to tell
	// which ChatApp governs a Room (lookup.ChatAppFor).
	Secrets  client.Reader
	Scheme   *runtime.Scheme
	Recorder recorder.EventRecorder
}

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=list;watch;create;delete
// Owner references with blockOwnerDeletion need this where the
// OwnerReferencesPermissionEnforcement admission plugin runs.
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile implements reconcile.Reconciler.
func (r *RecordingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	room := &chatv1alpha1.Room{}
	if err := r.Get(ctx, req.NamespacedName, room); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	app, err := lookup.ChatAppFor(ctx, r.Secrets, room.Namespace, room.Spec.SDKAppID)
	if err != nil {
		return ctrl.Result{}, err
	}
	var rec chatv1alpha1.RoomRecording
	if room.Status.Recording != nil {
		rec = *room.Status.Recording
	}
	wanted := wantsRecording(room, app)
	if !wanted && rec.Sessions == 0 {
		return ctrl.Result{}, nil // never recorded
	}
	_, jobsFailed := recordingCounters(room.Namespace, app)

	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(room.Namespace), client.MatchingLabels{chatv1alpha1.RoomLabel: roomLabelValue(room)}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the recording Jobs of Room %s: %w", req, err)
	}
	succeeded, failed := historyLimits(app)
	plan := planRecording(wanted, rec, room, jobs.Items, succeeded, failed)

	if plan.deleteJob != "" {
		if err := r.deleteJob(ctx, room.Namespace, plan.deleteJob); err != nil {
			return ctrl.Result{}, err
		}
	}
	var result ctrl.Result
	switch {
	case plan.startSession:
		rec = chatv1alpha1.RoomRecording{Active: true, Sessions: rec.Sessions + 1, EnabledTime: room.Status.CloudRecordingEnabledTime,
			LastStartTime: ptrNow(), LastStopTime: rec.LastStopTime}
		if err := r.applyRecording(ctx, room, rec, ownedConditions(room.Status.Conditions, recordingConditionTypes)); err != nil {
			return requeueOnConflict(err)
		}
		if err := r.startJob(ctx, room, app, &rec); err != nil {
			return ctrl.Result{}, err
		}
	case plan.createJob:
		if err := r.startJob(ctx, room, app, &rec); err != nil {
			return ctrl.Result{}, err
		}
	case plan.stopSession:
		rec.Active, rec.LastStopTime = false, ptrNow()
		r.Recorder.Eventf(room, nil, corev1.EventTypeNormal, chatv1alpha1.RecordingStoppedReason, "StopRecording",
			"Recording session %d stopped", rec.Sessions)
		if wanted {
			result.RequeueAfter = time.Second // recording was enabled again: the next session follows
		}
	case plan.waitForStop:
		result.RequeueAfter = 2 * time.Second
	}

	current := findJob(jobs.Items, recordingJobName(room, rec.Sessions))
	if rec.Active && rec.JobName == "" && current != nil {
		rec.JobName = current.Name // created by an earlier reconcile that did not get to record it
	}
	cond := recordingCondition(rec, current, room.Generation)
	old := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.RecordingCondition)
	jobFailed := cond.Reason == chatv1alpha1.RecordingFailedReason && (old == nil || old.Reason != chatv1alpha1.RecordingFailedReason)
	if jobFailed {
		r.Recorder.Eventf(room, current, corev1.EventTypeWarning, chatv1alpha1.RecordingFailedReason, "Record", "%s", cond.Message)
	}
	conds, condChanged := mergeConditions(room.Status.Conditions, recordingConditionTypes, []metav1.Condition{cond})
	if condChanged || room.Status.Recording == nil || !equality.Semantic.DeepEqual(*room.Status.Recording, rec) {
		if err := r.applyRecording(ctx, room, rec, conds); err != nil {
			return requeueOnConflict(err)
		}
		if jobFailed {
			jobsFailed.Inc() // once written, so a retried reconcile does not count it again
		}
	}

	for _, name := range plan.prune {
		if err := r.deleteJob(ctx, room.Namespace, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	return result, nil
}

// startJob creates the Job of the open session and records its name. The
// Job's name is the session's, so a Job that exists already is that Job.
func (r *RecordingReconciler) startJob(ctx context.Context, room *chatv1alpha1.Room, app *chatv1alpha1.ChatApp, rec *chatv1alpha1.RoomRecording) error {
	job, err := r.recordingJob(room, app, rec.Sessions)
	if err != nil {
		return err
	}
	switch err := r.Create(ctx, job); {
	case err == nil:
		created, _ := recordingCounters(room.Namespace, app)
		created.Inc()
	case !apierrors.IsAlreadyExists(err):
		return fmt.Errorf("creating recording Job %s/%s: %w", job.Namespace, job.Name, err)
	}
	rec.JobName = job.Name
	r.Recorder.Eventf(room, job, corev1.EventTypeNormal, chatv1alpha1.RecordingStartedReason, "StartRecording",
		"Recording session %d started: Job %s", rec.Sessions, job.Name)
	return nil
}

// recordingJob builds the Job of session n of room from app's template.
func (r *RecordingReconciler) recordingJob(room *chatv1alpha1.Room, app *chatv1alpha1.ChatApp, n int64) (*batchv1.Job, error) {
	tmpl := app.Spec.Recording.JobTemplate.DeepCopy()
	session := fmt.Sprint(n)
	own := labels.Set{
		chatv1alpha1.ManagedByLabel:        chatv1alpha1.ManagedByValue,
		chatv1alpha1.RoomLabel:             roomLabelValue(room),
		chatv1alpha1.RecordingSessionLabel: session,
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        recordingJobName(room, n),
			Namespace:   room.Namespace,
			Labels:      labels.Merge(tmpl.Labels, own),
			Annotations: tmpl.Annotations,
		},
		Spec: tmpl.Spec,
	}
	pod := &job.Spec.Template
	pod.Labels = labels.Merge(pod.Labels, labels.Set{chatv1alpha1.RoomLabel: own[chatv1alpha1.RoomLabel], chatv1alpha1.RecordingSessionLabel: session})
	env := []corev1.EnvVar{
		{Name: "ROOMSYNC_SDK_APP_ID", Value: fmt.Sprint(room.Spec.SDKAppID)},
		{Name: "ROOMSYNC_ROOM_ID", Value: room.Spec.RoomID},
		{Name: "ROOMSYNC_ROOM_NAME", Value: room.Status.RoomName},
		{Name: "ROOMSYNC_ROOM_RESOURCE", Value: types.NamespacedName{Namespace: room.Namespace, Name: room.Name}.String()},
		{Name: "ROOMSYNC_OWNER", Value: room.Status.OwnerAccount},
		{Name: "ROOMSYNC_RECORDING_SESSION", Value: session},
	}
	for _, containers := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range containers {
			containers[i].Env = setEnv(containers[i].Env, env)
		}
	}
	if err := controllerutil.SetControllerReference(room, job, r.Scheme); err != nil {
		return nil, err
	}
	return job, nil
}

// applyRecording writes status.recording and conds, the conditions this
// controller owns, on top of room's resourceVersion: what was decided
// from a stale view of the Room is refused (a conflict), never written over
// newer state; of two reconciles that would open a session, one does. On
// success room's resourceVersion is the new one.
func (r *RecordingReconciler) applyRecording(ctx context.Context, room *chatv1alpha1.Room, rec chatv1alpha1.RoomRecording, conds []metav1.Condition) error {
	recAC := chatac.RoomRecording().WithActive(rec.Active).WithSessions(rec.Sessions)
	if rec.EnabledTime != 0 {
		recAC.WithEnabledTime(rec.EnabledTime)
	}
	if rec.JobName != "" {
		recAC.WithJobName(rec.JobName)
	}
	if rec.LastStartTime != nil {
		recAC.WithLastStartTime(*rec.LastStartTime)
	}
	if rec.LastStopTime != nil {
		recAC.WithLastStopTime(*rec.LastStopTime)
	}
	status := chatac.RoomStatus().WithRecording(recAC).WithConditions(conditionApplyConfigurations(conds)...)
	apply := chatac.Room(room.Name, room.Namespace).WithResourceVersion(room.ResourceVersion).WithStatus(status)
	if err := r.Status().Apply(ctx, apply, client.FieldOwner(RecordingFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing the recording status of Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	if apply.ResourceVersion != nil {
		room.ResourceVersion = *apply.ResourceVersion
	}
	return nil
}

// requeueOnConflict looks again, once the cache has caught up, at a Room
// whose status changed since it was read; other errors back off.
func requeueOnConflict(err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
	}
	return ctrl.Result{}, err
}

func (r *RecordingReconciler) deleteJob(ctx context.Context, namespace, name string) error {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting recording Job %s/%s: %w", namespace, name, err)
	}
	return nil
}

// recordingCondition describes the open or last session.
func recordingCondition(rec chatv1alpha1.RoomRecording, job *batchv1.Job, gen int64) metav1.Condition {
	session := fmt.Sprintf("session %d", rec.Sessions)
	switch {
	case !rec.Active:
		return condition(chatv1alpha1.RecordingCondition, metav1.ConditionFalse, chatv1alpha1.RecordingStoppedReason, "Recording "+session+" stopped", gen)
	case job != nil && jobHasCondition(job, batchv1.JobFailed):
		msg := fmt.Sprintf("Recording Job %s (%s) failed", job.Name, session)
		for _, c := range job.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Message != "" {
				msg += ": " + c.Message
			}
		}
		return condition(chatv1alpha1.RecordingCondition, metav1.ConditionFalse, chatv1alpha1.RecordingFailedReason, msg+"; it is not restarted", gen)
	case job != nil && jobHasCondition(job, batchv1.JobComplete):
		return condition(chatv1alpha1.RecordingCondition, metav1.ConditionFalse, chatv1alpha1.RecordingCompletedReason, "Recording Job "+job.Name+" ("+session+") completed", gen)
	case job == nil && rec.JobName != "":
		return condition(chatv1alpha1.RecordingCondition, metav1.ConditionFalse, chatv1alpha1.RecordingJobGoneReason, "Recording Job "+rec.JobName+" ("+session+") is gone; it is not recreated", gen)
	default:
		return condition(chatv1alpha1.RecordingCondition, metav1.ConditionTrue, chatv1alpha1.RecordingStartedReason, "Recording Job "+rec.JobName+" ("+session+") runs", gen)
	}
}

func historyLimits(app *chatv1alpha1.ChatApp) (succeeded, failed int32) {
	succeeded, failed = defaultSuccessfulJobsHistoryLimit, defaultFailedJobsHistoryLimit
	if app == nil || app.Spec.Recording == nil {
		return succeeded, failed
	}
	if l := app.Spec.Recording.SuccessfulJobsHistoryLimit; l != nil {
		succeeded = *l
	}
	if l := app.Spec.Recording.FailedJobsHistoryLimit; l != nil {
		failed = *l
	}
	return succeeded, failed
}

func findJob(jobs []batchv1.Job, name string) *batchv1.Job {
	for i := range jobs {
		if jobs[i].Name == name {
			return &jobs[i]
		}
	}
	return nil
}

// setEnv returns env with each of set replacing a variable of its name.
func setEnv(env, set []corev1.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range env {
		if !containsEnv(set, e.Name) {
			out = append(out, e)
		}
	}
	return append(out, set...)
}

func containsEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func ptrNow() *metav1.Time {
	now := metav1.Now()
	return &now
}

// SetupWithManager registers the controller: it acts on a Room's changes,
// on its Jobs', and on its ChatApp's (recording configured or removed).
func (r *RecordingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Secrets == nil {
		return errors.New("the recording controller needs Secrets")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&chatv1alpha1.Room{}, builder.WithPredicates(recordingInputsChanged)).
		Owns(&batchv1.Job{}).
		Watches(&chatv1alpha1.ChatApp{}, handler.EnqueueRequestsFromMapFunc(r.roomsOfChatApp), builder.WithPredicates(chatAppSpecChanged)).
		Named("recording").
		Complete(r)
}

func (r *RecordingReconciler) roomsOfChatApp(ctx context.Context, obj client.Object) []reconcile.Request {
	app := obj.(*chatv1alpha1.ChatApp)
	rooms, err := lookup.RoomsOfApp(ctx, r.Client, app.Namespace, app.Spec.SDKAppID, client.UnsafeDisableDeepCopy)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the Rooms of a ChatApp")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(rooms))
	for i := range rooms {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rooms[i])})
	}
	return reqs
}
