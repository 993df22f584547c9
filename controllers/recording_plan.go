package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// recordingPlan is what the recording controller should do for a room.
type recordingPlan struct {
	// startSession opens session sessions+1 (written to the Room's status
	// before its Job is created).
	startSession bool
	// createJob creates the open session's Job, which does not exist yet.
	createJob bool
	// stopSession closes the open session; deleteJob is its Job to delete
	// first, if it still runs.
	stopSession bool
	deleteJob   string
	// waitForStop: the previous session's Job is still going away; a new
	// session starts once it is gone.
	waitForStop bool
	// prune are finished Jobs beyond the history limits.
	prune []string
}

// wantsRecording reports whether room should be recorded: its ChatApp
// records, its cloud recording is enabled, and it is not destroyed.
func wantsRecording(room *chatv1alpha1.Room, app *chatv1alpha1.ChatApp) bool {
	st := room.Status
	return app != nil && app.Spec.Recording != nil && room.DeletionTimestamp.IsZero() &&
		st.CloudRecordingDisabled != nil && !*st.CloudRecordingDisabled && st.Phase != chatv1alpha1.RoomPhaseDestroyed
}

// planRecording decides, from whether the room wants recording, its
// recording status and its recording Jobs (as observed, possibly stale),
// what to do. A session has exactly one Job, named after the session: a
// stale view at worst tries to create a Job that exists.
//
// Each enable of cloud recording (the Room's cloudRecordingEnabledTime) is
// one session: a newer enable closes the open session and opens the next,
// even when the disable between them was never seen.
func planRecording(wanted bool, rec chatv1alpha1.RoomRecording, room *chatv1alpha1.Room, jobs []batchv1.Job, successfulLimit, failedLimit int32) recordingPlan {
	var plan recordingPlan
	current := recordingJobName(room, rec.Sessions)
	currentJob := findJob(jobs, current)

	running := currentJob != nil && !jobFinished(currentJob)
	sameEnable := rec.Sessions > 0 && rec.EnabledTime == room.Status.CloudRecordingEnabledTime
	switch {
	case wanted && rec.Active && sameEnable:
		// The Job is created once per session: if it went away after that
		// (deleted, or collected after it finished), it is not recreated.
		plan.createJob = currentJob == nil && rec.JobName == ""
	case wanted && !rec.Active && !sameEnable:
		// A new session starts only once the last one's Job has stopped.
		plan.waitForStop = running
		plan.startSession = !running
	case rec.Active && (!wanted || !sameEnable):
		plan.stopSession = true
	}
	// A running Job of a session that is, or is being, closed is deleted.
	if running && (plan.stopSession || !rec.Active) && currentJob.DeletionTimestamp.IsZero() {
		plan.deleteJob = currentJob.Name
	}

	// History: finished Jobs other than the open session's, newest first.
	var succeeded, failed []*batchv1.Job
	for i := range jobs {
		job := &jobs[i]
		if (rec.Active && job.Name == current) || !job.DeletionTimestamp.IsZero() {
			continue
		}
		switch {
		case jobHasCondition(job, batchv1.JobComplete):
			succeeded = append(succeeded, job)
		case jobHasCondition(job, batchv1.JobFailed):
			failed = append(failed, job)
		}
	}
	for _, finished := range []struct {
		jobs  []*batchv1.Job
		limit int32
	}{{succeeded, successfulLimit}, {failed, failedLimit}} {
		slices.SortFunc(finished.jobs, func(a, b *batchv1.Job) int { return jobSession(b) - jobSession(a) })
		for i, job := range finished.jobs {
			if int32(i) >= finished.limit {
				plan.prune = append(plan.prune, job.Name)
			}
		}
	}
	slices.Sort(plan.prune)
	return plan
}

func jobFinished(job *batchv1.Job) bool {
	return jobHasCondition(job, batchv1.JobComplete) || jobHasCondition(job, batchv1.JobFailed)
}

func jobHasCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func jobSession(job *batchv1.Job) int {
	n, _ := strconv.Atoi(job.Labels[chatv1alpha1.RecordingSessionLabel])
	return n
}

// maxLabelLength bounds label values and the names of Jobs (their name is
// copied into a label of their Pods).
const maxLabelLength = 63

// roomLabelValue is the Room's name as a label value: the name itself when
// it fits in 63 characters, otherwise its first characters, '-' and 8 hex
// digits of its SHA-256.
func roomLabelValue(room *chatv1alpha1.Room) string {
	return shorten(room.Name, maxLabelLength)
}

// recordingJobName is the name of the Job of session n of room:
// "<room>-rec-<n>", with the room part shortened as roomLabelValue does when
// the whole would pass 63 characters.
func recordingJobName(room *chatv1alpha1.Room, n int64) string {
	suffix := "-rec-" + strconv.FormatInt(n, 10)
	return shorten(room.Name, maxLabelLength-len(suffix)) + suffix
}

func shorten(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	hash := hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(s[:limit-len(hash)-1], "-.") + "-" + hash
}
