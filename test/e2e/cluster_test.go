package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

// These tests run recording Jobs in a real cluster's machinery: the Job
// controller makes their Pods, the scheduler places them on kwok's fake
// nodes, kwok runs them (hack/kwok/stages.yaml), and the garbage collector
// deletes what a Room owned.

// recordingPods returns the Pods of the Room's recording Jobs, by phase.
func recordingPods(t *testing.T, ns, room string) map[corev1.PodPhase][]string {
	t.Helper()
	var jobs batchv1.JobList
	if err := env.Client.List(context.Background(), &jobs, client.InNamespace(ns), client.MatchingLabels{chatv1alpha1.RoomLabel: room}); err != nil {
		t.Fatal(err)
	}
	out := map[corev1.PodPhase][]string{}
	for _, j := range jobs.Items {
		var pods corev1.PodList
		if err := env.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": j.Name}); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == "" {
				out["Unscheduled"] = append(out["Unscheduled"], p.Name)
				continue
			}
			out[p.Status.Phase] = append(out[p.Status.Phase], p.Name)
		}
	}
	return out
}

// podsOf returns the names of every Pod in ns whose Job belongs to room.
func podsOf(t *testing.T, ns, room string) []string {
	var all []string
	for _, names := range recordingPods(t, ns, room) {
		all = append(all, names...)
	}
	return all
}

func recording(roomID string, eventTime int64, on bool) string {
	return fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":%q,"RoomName":"rec","IsCloudRecordingDisabled":%v}}`,
		eventTime, roomID, !on)
}

func TestRecordingPodRunsAndStops(t *testing.T) {
	roomID := fmt.Sprintf("rec-runs-%d", time.Now().UnixNano())
	if status, answer := post(t, recording(roomID, 1000, true), ""); status != http.StatusOK {
		t.Fatalf("answer %d %v", status, answer)
	}
	waitUntil(t, "the recording Pod runs on a fake node", func() bool {
		return len(recordingPods(t, namespace, roomID)[corev1.PodRunning]) == 1
	})
	room := waitForRoom(t, roomID, "the Room says it records", func(r *chatv1alpha1.Room) bool {
		return r.Status.Recording != nil && r.Status.Recording.Active && meta.IsStatusConditionTrue(r.Status.Conditions, chatv1alpha1.RecordingCondition)
	})
	out := kubectl(t, "get", "rooms,jobs,pods", "-n", namespace, "-l", chatv1alpha1.RoomLabel+"="+room.Name)
	if !strings.Contains(out, "Running") || !strings.Contains(out, room.Status.Recording.JobName) {
		t.Errorf("kubectl get rooms,jobs,pods does not show the recording Pod running:\n%s", out)
	}

	if status, answer := post(t, recording(roomID, 2000, false), ""); status != http.StatusOK {
		t.Fatalf("answer %d %v", status, answer)
	}
	waitUntil(t, "disabling recording deletes the Job and its Pod", func() bool {
		return len(podsOf(t, namespace, roomID)) == 0 && len(jobsOf(t, namespace, roomID)) == 0
	})
	waitForRoom(t, roomID, "the Room says it stopped", func(r *chatv1alpha1.Room) bool {
		c := meta.FindStatusCondition(r.Status.Conditions, chatv1alpha1.RecordingCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == chatv1alpha1.RecordingStoppedReason
	})
}

func jobsOf(t *testing.T, ns, room string) []batchv1.Job {
	t.Helper()
	var jobs batchv1.JobList
	if err := env.Client.List(context.Background(), &jobs, client.InNamespace(ns), client.MatchingLabels{chatv1alpha1.RoomLabel: room}); err != nil {
		t.Fatal(err)
	}
	return jobs.Items
}

// TestRecordingFollowsTheRealJob: the real Job controller fails a Job whose
// Pods fail, after backoffLimit, and completes one whose Pod exits 0; the
// Room reports either (Argo CD: Degraded for the failure) and roomsync does
// not start it again.
func TestRecordingFollowsTheRealJob(t *testing.T) {
	ctx := context.Background()
	for i, tc := range []struct {
		outcome      string
		reason       string
		health       string
		failed, done int32
	}{
		{outcome: "Failed", reason: chatv1alpha1.RecordingFailedReason, health: "Degraded", failed: 2}, // backoffLimit 1: two tries
		{outcome: "Succeeded", reason: chatv1alpha1.RecordingCompletedReason, health: "Healthy", done: 1},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			ns, appID, appToken := "e2e-recording-"+strings.ToLower(tc.outcome), int64(1400000021+i), "token-"+tc.outcome
			rec := testenv.Recording()
			rec.JobTemplate.Spec.BackoffLimit = ptr.To[int32](1)
			rec.JobTemplate.Spec.Template.Labels = map[string]string{testenv.OutcomeLabel: tc.outcome}
			app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
				Spec: chatv1alpha1.ChatAppSpec{SDKAppID: appID, Recording: rec}}
			if err := testenv.CreateSignedApp(ctx, env.Client, app, appToken); err != nil {
				t.Fatal(err)
			}
			waitFor(t, app, "the ChatApp is Ready", func() bool { return isTrue(app.Status.Conditions, chatv1alpha1.ReadyCondition) })

			const roomID = "rec"
			sendSigned(t, appID, appToken, recording(roomID, 1000, true))
			room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: roomID}}
			waitFor(t, room, "the Room reports how its recording Job ended", func() bool {
				c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.RecordingCondition)
				return c != nil && c.Reason == tc.reason
			})
			jobs := jobsOf(t, ns, roomID)
			if len(jobs) != 1 || jobs[0].Status.Failed != tc.failed || jobs[0].Status.Succeeded != tc.done {
				t.Errorf("jobs %+v, want one with %d failed and %d succeeded Pods", jobs, tc.failed, tc.done)
			}
			if status, msg, err := testenv.ArgoCDHealth("Room", room); err != nil || status != tc.health {
				t.Errorf("Argo CD health %s (%q), %v; want %s", status, msg, err, tc.health)
			}
			time.Sleep(3 * time.Second)
			if again := jobsOf(t, ns, roomID); len(again) != 1 {
				t.Errorf("%d Jobs afterwards, want the one only: not restarted", len(again))
			}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(room), room); err != nil || room.Status.Recording.Sessions != 1 {
				t.Errorf("recording %+v (%v), want one session", room.Status.Recording, err)
			}
		})
	}
}

// TestDeletingARoomCollectsItsJobs: a Room owns its recording Jobs, so the
// garbage collector deletes them, and their Pods, with it.
func TestDeletingARoomCollectsItsJobs(t *testing.T) {
	roomID := fmt.Sprintf("rec-collected-%d", time.Now().UnixNano())
	if status, answer := post(t, recording(roomID, 1000, true), ""); status != http.StatusOK {
		t.Fatalf("answer %d %v", status, answer)
	}
	waitUntil(t, "the recording Pod runs", func() bool {
		return len(recordingPods(t, namespace, roomID)[corev1.PodRunning]) == 1
	})
	kubectl(t, "delete", "room", roomID, "-n", namespace, "--wait", "--timeout=30s")
	waitUntil(t, "the garbage collector deletes the Job and its Pod", func() bool {
		return len(jobsOf(t, namespace, roomID)) == 0 && len(podsOf(t, namespace, roomID)) == 0
	})
}

// sendSigned posts body as Tencent would for the app sdkAppID, signed with
// token, and fails unless it is answered OK.
func sendSigned(t *testing.T, appID int64, appToken, body string) {
	t.Helper()
	q := tencent.CallbackQuery{SDKAppID: appID, Command: tencent.CommandAfterUpdateRoomInfo, ClientIP: "198.51.100.4", OptPlatform: "Web", Token: appToken}
	resp, err := http.Post(callbackURL+"?"+q.Encode(time.Now()), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if data, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("answer %d %s", resp.StatusCode, data)
	}
}

// waitDeploymentAvailable waits until the Deployment's Pods are scheduled on
// the fake nodes and Ready (kwok runs no image and no probe), and its
// PodDisruptionBudget, when it has one, sees them healthy.
func waitDeploymentAvailable(t *testing.T, ns, name, pdb string) {
	t.Helper()
	kubectl(t, "wait", "-n", ns, "--for=condition=Available", "--timeout=60s", "deployment/"+name)
	if pdb == "" {
		return
	}
	waitUntil(t, "PodDisruptionBudget "+ns+"/"+pdb+" sees the Pods healthy", func() bool {
		out := kubectl(t, "get", "pdb", "-n", ns, pdb, "-o", "jsonpath={.status.currentHealthy}/{.status.expectedPods}")
		var healthy, expected int
		_, err := fmt.Sscanf(out, "%d/%d", &healthy, &expected)
		return err == nil && expected > 0 && healthy == expected
	})
}
