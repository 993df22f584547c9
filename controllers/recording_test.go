package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

// recordingRoom creates a ChatApp that records, and returns a function that
// sends it room-info events for one room (as the receiver would).
func recordingRoom(t *testing.T) (app *chatv1alpha1.ChatApp, setRecording func(at int64, disabled bool), destroy func(at int64)) {
	t.Helper()
	ns := newNamespace(t)
	app = &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: newSDKAppID(), Recording: &chatv1alpha1.RecordingSpec{
			SuccessfulJobsHistoryLimit: ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "media"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "recorder", Image: "recorder:1", Env: []corev1.EnvVar{
						{Name: "OUTPUT", Value: "s3://bucket"}, {Name: "ROOMSYNC_ROOM_ID", Value: "overridden"},
					}}},
				}}},
			},
		}},
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	store := roomstore.New(env.Client, lookup.ListFinder{Reader: env.Client}, env.Client)
	apply := func(ev roomstore.Event) {
		t.Helper()
		if _, err := store.Apply(context.Background(), app, ev); err != nil {
			t.Fatal(err)
		}
	}
	setRecording = func(at int64, disabled bool) {
		flag, name, owner := tencent.Bool(disabled), tencent.String("Weekly sync"), tencent.String("alice")
		apply(roomstore.Event{RoomID: "Weekly Sync", EventTime: at, Command: tencent.CommandAfterUpdateRoomInfo,
			RoomInfo: &roomstore.RoomInfoChange{Info: tencent.RoomInfo{IsCloudRecordingDisabled: &flag, RoomName: &name, OwnerAccount: &owner}}})
	}
	destroy = func(at int64) {
		apply(roomstore.Event{RoomID: "Weekly Sync", EventTime: at, Command: tencent.CommandAfterDestroyRoom, Destroy: &roomstore.DestroyChange{Received: time.Now()}})
	}
	return app, setRecording, destroy
}

func roomJobs(t *testing.T, ns string) []batchv1.Job {
	t.Helper()
	var jobs batchv1.JobList
	if err := env.Client.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return jobs.Items
}

// waitForJobs waits until the namespace holds exactly the named Jobs.
func waitForJobs(t *testing.T, ns string, names ...string) []batchv1.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		jobs := roomJobs(t, ns)
		var got []string
		for _, j := range jobs {
			if j.DeletionTimestamp.IsZero() {
				got = append(got, j.Name)
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(names) {
			return jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jobs %v, want %v", got, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func finishJob(t *testing.T, job *batchv1.Job) {
	t.Helper()
	now := metav1.Now()
	job.Status.StartTime = &now
	job.Status.CompletionTime = &now
	job.Status.Succeeded = 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	if err := env.Client.Status().Update(context.Background(), job); err != nil {
		t.Fatalf("marking Job %s complete: %v", job.Name, err)
	}
}

func TestRecordingSessions(t *testing.T) {
	app, setRecording, destroy := recordingRoom(t)
	ns := app.Namespace
	room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: roomstore.NameFor("Weekly Sync")}}

	// Enabled: session 1 and its Job.
	setRecording(1000, false)
	job := waitForJobs(t, ns, room.Name+"-rec-1")[0]
	env := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{
		"OUTPUT": "s3://bucket", "ROOMSYNC_SDK_APP_ID": fmt.Sprint(app.Spec.SDKAppID), "ROOMSYNC_ROOM_ID": "Weekly Sync",
		"ROOMSYNC_ROOM_NAME": "Weekly sync", "ROOMSYNC_ROOM_RESOURCE": ns + "/" + room.Name, "ROOMSYNC_OWNER": "alice", "ROOMSYNC_RECORDING_SESSION": "1",
	}
	if fmt.Sprint(env) != fmt.Sprint(want) {
		t.Errorf("Job env %v, want %v", env, want)
	}
	if ref := metav1.GetControllerOf(&job); ref == nil || ref.Kind != "Room" || ref.Name != room.Name {
		t.Errorf("Job controller reference %+v, want the Room", ref)
	}
	if job.Labels[chatv1alpha1.RoomLabel] != room.Name || job.Labels[chatv1alpha1.RecordingSessionLabel] != "1" || job.Labels["team"] != "media" {
		t.Errorf("Job labels %v", job.Labels)
	}
	eventually(t, room, "the Room reports the recording", func() bool {
		rec := room.Status.Recording
		return rec != nil && rec.Active && rec.Sessions == 1 && rec.JobName == job.Name &&
			meta.IsStatusConditionTrue(room.Status.Conditions, chatv1alpha1.RecordingCondition)
	})

	// Restarting the manager mid-session creates no second Job.
	stopManager()
	if err := startManager(suiteCtx); err != nil {
		t.Fatal(err)
	}
	setRecording(1100, false) // something to reconcile
	time.Sleep(time.Second)
	waitForJobs(t, ns, room.Name+"-rec-1")

	// Disabled: the running Job is stopped.
	setRecording(2000, true)
	waitForJobs(t, ns)
	eventually(t, room, "the session is closed", func() bool {
		rec := room.Status.Recording
		return rec != nil && !rec.Active && rec.Sessions == 1 && rec.LastStopTime != nil
	})

	// Enabled again: session 2; it finishes, and session 3 follows a flip.
	setRecording(3000, false)
	job2 := waitForJobs(t, ns, room.Name+"-rec-2")[0]
	finishJob(t, &job2)
	setRecording(4000, true)
	setRecording(5000, false)
	jobs := waitForJobs(t, ns, room.Name+"-rec-2", room.Name+"-rec-3")
	finishJob(t, &jobs[1])
	setRecording(6000, true)
	setRecording(7000, false)
	// History: one successful Job kept (session 3), session 2 pruned.
	waitForJobs(t, ns, room.Name+"-rec-3", room.Name+"-rec-4")

	// A Job that fails is reported, and not restarted.
	jobs = waitForJobs(t, ns, room.Name+"-rec-3", room.Name+"-rec-4")
	failJob(t, &jobs[1])
	eventually(t, room, "the failure is reported", func() bool {
		c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.RecordingCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == chatv1alpha1.RecordingFailedReason
	})
	setRecording(7500, false) // more room info: still no new Job
	time.Sleep(500 * time.Millisecond)
	waitForJobs(t, ns, room.Name+"-rec-3", room.Name+"-rec-4")

	// Destroyed while recording: the session closes.
	destroy(8000)
	eventually(t, room, "the session is closed", func() bool {
		return room.Status.Recording != nil && !room.Status.Recording.Active && room.Status.Recording.Sessions == 4
	})

	for _, reason := range []string{chatv1alpha1.RecordingStartedReason, chatv1alpha1.RecordingStoppedReason, chatv1alpha1.RecordingFailedReason} {
		waitForEvent(t, ns, room.Name, reason)
	}
	// Four Jobs created (none twice across the restart), one failed.
	if created, failed := recordingJobs(t, app); created != 4 || failed != 1 {
		t.Errorf("roomsync_recording_jobs_created_total %v, roomsync_recording_jobs_failed_total %v; want 4 and 1", created, failed)
	}
}

func TestRecordingStopsRunningJobOnDestroy(t *testing.T) {
	app, setRecording, destroy := recordingRoom(t)
	name := roomstore.NameFor("Weekly Sync")
	setRecording(1000, false)
	waitForJobs(t, app.Namespace, name+"-rec-1")
	destroy(2000)
	waitForJobs(t, app.Namespace)
}

func failJob(t *testing.T, job *batchv1.Job) {
	t.Helper()
	now := metav1.Now()
	job.Status.StartTime = &now
	job.Status.Failed = 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
	}
	if err := env.Client.Status().Update(context.Background(), job); err != nil {
		t.Fatalf("marking Job %s failed: %v", job.Name, err)
	}
}

// waitForEvent waits for an Event with reason about the Room.
func waitForEvent(t *testing.T, ns, room, reason string) {
	t.Helper()
	waitForEventAbout(t, ns, "Room", room, reason)
}

// waitForEventAbout waits for an Event with reason about the object of kind
// and name in ns, and returns it.
func waitForEventAbout(t *testing.T, ns, kind, name, reason string) eventsv1.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var events eventsv1.EventList
		if err := env.Client.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, e := range events.Items {
			if e.Reason == reason && e.Regarding.Kind == kind && e.Regarding.Name == name {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s Event for %s %s", reason, kind, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
