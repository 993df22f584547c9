package controllers

import (
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

func recJob(room *chatv1alpha1.Room, session int64, state batchv1.JobConditionType) batchv1.Job {
	job := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: recordingJobName(room, session),
		Labels: map[string]string{chatv1alpha1.RecordingSessionLabel: strings.TrimPrefix(recordingJobName(room, session), room.Name+"-rec-")}}}
	if state != "" {
		job.Status.Conditions = []batchv1.JobCondition{{Type: state, Status: corev1.ConditionTrue}}
	}
	return job
}

func TestPlanRecording(t *testing.T) {
	room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	room.Status.CloudRecordingEnabledTime = 100 // the newest enable
	deleting := recJob(room, 2, "")
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	for _, tc := range []struct {
		name   string
		wanted bool
		rec    chatv1alpha1.RoomRecording
		jobs   []batchv1.Job
		want   recordingPlan
	}{
		{name: "enabled, never recorded: open session 1", wanted: true, want: recordingPlan{startSession: true}},
		{name: "open session, Job not created yet (a crash in between)", wanted: true, rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 100},
			want: recordingPlan{createJob: true}},
		{name: "open session, Job not in a stale cache but recorded as created", wanted: true, rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 100, JobName: "r-rec-1"},
			want: recordingPlan{}},
		{name: "open session, Job runs", wanted: true, rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 100, JobName: "r-rec-1"},
			jobs: []batchv1.Job{recJob(room, 1, "")}, want: recordingPlan{}},
		{name: "open session, Job failed: not restarted", wanted: true, rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 100, JobName: "r-rec-1"},
			jobs: []batchv1.Job{recJob(room, 1, batchv1.JobFailed)}, want: recordingPlan{}},
		{name: "disabled: stop and delete the running Job", rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 100, JobName: "r-rec-1"},
			jobs: []batchv1.Job{recJob(room, 1, "")}, want: recordingPlan{stopSession: true, deleteJob: "r-rec-1"}},
		{name: "disabled after the Job finished: stop, keep it", rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 100, JobName: "r-rec-1"},
			jobs: []batchv1.Job{recJob(room, 1, batchv1.JobComplete)}, want: recordingPlan{stopSession: true}},
		{name: "enabled again while the last Job is going away: wait", wanted: true, rec: chatv1alpha1.RoomRecording{Sessions: 2, EnabledTime: 50, JobName: "r-rec-2"},
			jobs: []batchv1.Job{deleting}, want: recordingPlan{waitForStop: true}},
		{name: "enabled again, a stray Job of the closed session runs: delete it and wait", wanted: true, rec: chatv1alpha1.RoomRecording{Sessions: 2, EnabledTime: 50, JobName: "r-rec-2"},
			jobs: []batchv1.Job{recJob(room, 2, "")}, want: recordingPlan{waitForStop: true, deleteJob: "r-rec-2"}},
		{name: "enabled again after the last Job stopped: open the next session", wanted: true, rec: chatv1alpha1.RoomRecording{Sessions: 2, EnabledTime: 50, JobName: "r-rec-2"},
			jobs: []batchv1.Job{recJob(room, 2, batchv1.JobFailed)}, want: recordingPlan{startSession: true}},
		{name: "enabled again before the disable was seen: close the open session", wanted: true,
			rec:  chatv1alpha1.RoomRecording{Active: true, Sessions: 1, EnabledTime: 50, JobName: "r-rec-1"},
			jobs: []batchv1.Job{recJob(room, 1, "")}, want: recordingPlan{stopSession: true, deleteJob: "r-rec-1"}},
		{name: "this enable's session was closed (the room was destroyed): no new one", wanted: true,
			rec: chatv1alpha1.RoomRecording{Sessions: 1, EnabledTime: 100, JobName: "r-rec-1"}, want: recordingPlan{}},
		{name: "history: keep 3 succeeded and 1 failed, newest first", rec: chatv1alpha1.RoomRecording{Active: true, Sessions: 7, EnabledTime: 100, JobName: "r-rec-7"},
			wanted: true,
			jobs: []batchv1.Job{recJob(room, 1, batchv1.JobComplete), recJob(room, 2, batchv1.JobFailed), recJob(room, 3, batchv1.JobComplete),
				recJob(room, 4, batchv1.JobComplete), recJob(room, 5, batchv1.JobFailed), recJob(room, 6, batchv1.JobComplete), recJob(room, 7, batchv1.JobComplete)},
			want: recordingPlan{prune: []string{"r-rec-1", "r-rec-2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planRecording(tc.wanted, tc.rec, room, tc.jobs, 3, 1)
			if got.startSession != tc.want.startSession || got.createJob != tc.want.createJob || got.stopSession != tc.want.stopSession ||
				got.deleteJob != tc.want.deleteJob || got.waitForStop != tc.want.waitForStop || strings.Join(got.prune, ",") != strings.Join(tc.want.prune, ",") {
				t.Fatalf("plan %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWantsRecording(t *testing.T) {
	app := &chatv1alpha1.ChatApp{Spec: chatv1alpha1.ChatAppSpec{Recording: &chatv1alpha1.RecordingSpec{}}}
	enabled, disabled := false, true
	room := func(flag *bool, phase chatv1alpha1.RoomPhase) *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{}
		r.Status.CloudRecordingDisabled, r.Status.Phase = flag, phase
		return r
	}
	for name, tc := range map[string]struct {
		room *chatv1alpha1.Room
		app  *chatv1alpha1.ChatApp
		want bool
	}{
		"enabled":                 {room(&enabled, chatv1alpha1.RoomPhaseActive), app, true},
		"disabled":                {room(&disabled, chatv1alpha1.RoomPhaseActive), app, false},
		"unknown":                 {room(nil, chatv1alpha1.RoomPhaseActive), app, false},
		"destroyed":               {room(&enabled, chatv1alpha1.RoomPhaseDestroyed), app, false},
		"ChatApp does not record": {room(&enabled, chatv1alpha1.RoomPhaseActive), &chatv1alpha1.ChatApp{}, false},
		"no ChatApp":              {room(&enabled, chatv1alpha1.RoomPhaseActive), nil, false},
	} {
		if got := wantsRecording(tc.room, tc.app); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestRecordingNamesFitLabels(t *testing.T) {
	long := strings.Repeat("a", 200) + "." + strings.Repeat("b", 52)
	for _, name := range []string{"r", strings.Repeat("x", 55), strings.Repeat("x", 63), strings.Repeat("x", 64), long} {
		room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, n := range []int64{1, 12345678} {
			job := recordingJobName(room, n)
			if errs := validation.IsDNS1123Label(job); len(errs) > 0 {
				t.Errorf("Job name %q for Room %q: %v", job, name, errs)
			}
			if !strings.HasSuffix(job, "-rec-"+strconv.FormatInt(n, 10)) {
				t.Errorf("Job name %q does not end with the session", job)
			}
		}
		if errs := validation.IsValidLabelValue(roomLabelValue(room)); len(errs) > 0 {
			t.Errorf("room label %q: %v", roomLabelValue(room), errs)
		}
	}
	a := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 70) + "1"}}
	b := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 70) + "2"}}
	if roomLabelValue(a) == roomLabelValue(b) || recordingJobName(a, 1) == recordingJobName(b, 1) {
		t.Error("long Room names that differ only at the end share a label or Job name")
	}
}
