package main

import (
	"bytes"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

func recordingJob(roomName string, session string, created time.Duration, mutate func(*batchv1.Job)) batchv1.Job {
	j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Namespace: "chat", Name: roomName + "-rec-" + session, UID: types.UID("uid-job-" + session), CreationTimestamp: at(created),
		Labels: map[string]string{chatv1alpha1.RoomLabel: roomName, chatv1alpha1.RecordingSessionLabel: session},
	}}
	if mutate != nil {
		mutate(&j)
	}
	return j
}

func TestDescribeGolden(t *testing.T) {
	app := chatApp("chat", "demo", 1400000001, nil)
	standup := room("chat", "standup", 1400000001, func(r *chatv1alpha1.Room) {
		st := &r.Status
		st.RoomName, st.OwnerAccount, st.RoomType, st.MaxMemberCount = "Daily standup", "alice", "Conference", 20
		st.MemberCount = ptr.To[int64](2)
		st.Members = &chatv1alpha1.RoomMembers{LastChangeTime: at(4 * time.Minute), Left: 1, Kicked: 1}
		st.Seats = &chatv1alpha1.RoomSeats{Total: 6, Taken: 2}
		st.CloudRecording = chatv1alpha1.CloudRecordingEnabled
		st.Recording = &chatv1alpha1.RoomRecording{Active: true, Sessions: 2, JobName: "standup-rec-2", LastStartTime: ptr.To(at(3 * time.Minute)), LastStopTime: ptr.To(at(20 * time.Minute))}
		st.Resync = &chatv1alpha1.RoomResync{Time: ptr.To(at(5 * time.Minute)), DriftFound: true, HandledRequest: "2026-11-27T09:55:00Z"}
		st.LastCallbackCommand, st.LastOperator, st.LastClientIP, st.LastOptPlatform = "Room.CallbackAfterMemberLeave", "alice", "198.51.100.4", "Web"
		st.LastEventTime = now.Add(-6 * time.Minute).UnixMilli()
		st.Conditions = append(st.Conditions, cond(chatv1alpha1.RecordingCondition, metav1.ConditionTrue, chatv1alpha1.RecordingStartedReason,
			"Recording session 2 runs in Job standup-rec-2"))
	})
	jobs := []batchv1.Job{
		recordingJob("standup", "2", 3*time.Minute, nil),
		recordingJob("standup", "1", 30*time.Minute, func(j *batchv1.Job) {
			j.Status.CompletionTime = ptr.To(at(20 * time.Minute))
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		}),
	}
	recorded := func(kind, name, typ, reason, msg string, ago time.Duration, from string) corev1.Event {
		e := event(kind, "chat", name, typ, reason, msg, ago)
		e.ReportingController = from
		return e
	}
	events := []corev1.Event{
		recorded("Room", "standup", corev1.EventTypeNormal, chatv1alpha1.RecordingStartedReason, "Recording session 2 started: Job standup-rec-2", 3*time.Minute, "roomsync-recording"),
		recorded("Room", "standup", corev1.EventTypeNormal, chatv1alpha1.RecordingStartedReason, "Recording session 1 started: Job standup-rec-1", 30*time.Minute, "roomsync-recording"),
		recorded("Room", "standup", corev1.EventTypeNormal, "DriftCorrected", "The REST API's view of room \"standup\" differed from this Room; the Room was updated", 5*time.Minute, "roomsync-resync"),
		recorded("Room", "standup", corev1.EventTypeNormal, chatv1alpha1.RecordingStoppedReason, "Recording session 1 stopped", 20*time.Minute, "roomsync-recording"),
		// A core/v1 Event, as the Job controller writes them, seen 3 times.
		{
			ObjectMeta:     metav1.ObjectMeta{Namespace: "chat", Name: "standup-rec-2.x", CreationTimestamp: at(3 * time.Minute)},
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Namespace: "chat", Name: "standup-rec-2"},
			Type:           corev1.EventTypeNormal, Reason: "SuccessfulCreate", Message: "Created pod: standup-rec-2-x7k2p",
			Source: corev1.EventSource{Component: "job-controller"}, Count: 3,
			FirstTimestamp: at(3 * time.Minute), LastTimestamp: at(2 * time.Minute),
		},
	}

	declared := room("chat", "board-meeting", 1400000001, func(r *chatv1alpha1.Room) {
		r.Labels = nil
		r.Spec.RoomID = "board-meeting-2026"
		r.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementAll}
		r.Spec.Settings = &chatv1alpha1.RoomSettings{RoomName: ptr.To("Board meeting"), MaxMemberCount: ptr.To[int64](50)}
		r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
		r.Status.Destroyed = &chatv1alpha1.RoomDestroy{Time: at(time.Hour), Operator: "administrator", ReceivedTime: at(59 * time.Minute)}
		r.Status.Management = &chatv1alpha1.RoomManagement{CreatedTime: ptr.To(at(2 * time.Hour)),
			Failure: &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.TencentRejectedReason, Command: "update_room_info", ErrorCode: 100002,
				Message: "ErrorCode 100002: invalid parameter", Time: at(40 * time.Minute)}}
		msg := "the room this Room created was destroyed in the app; delete the Room and apply it again to create it again"
		r.Status.Conditions = []metav1.Condition{
			cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.RoomDestroyedInAppReason, msg),
			cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.RoomDestroyedInAppReason, msg),
		}
	})

	for name, d := range map[string]roomDetails{
		"describe-recording.golden": {room: &standup, app: &app, jobs: jobs, events: events},
		"describe-declared.golden":  {room: &declared},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			describeRoom(&out, d, now)
			golden(t, name, out.Bytes())
		})
	}
}
