package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var (
	env     *Env
	cluster *Cluster
)

func TestMain(m *testing.M) {
	os.Exit(Run(m, &env, func(ctx context.Context) error {
		var err error
		cluster, err = env.StartCluster(ctx, 2)
		return err
	}))
}

func job(name, outcome string) *batchv1.Job {
	labels := map[string]string{}
	if outcome != "" {
		labels[OutcomeLabel] = outcome
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](1),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/recorder:1"}}},
			},
		},
	}
}

// waitFor polls check for up to 60 s.
func waitFor(t *testing.T, what string, check func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := check()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var ps corev1.PodList
			_ = env.Client.List(context.Background(), &ps)
			t.Fatalf("timed out waiting until %s; Pods: %+v\nkube-scheduler:\n%s\nkwok:\n%s", what, ps.Items, cluster.Log("kube-scheduler"), cluster.Log("kwok"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pods(job string) ([]corev1.Pod, error) {
	var list corev1.PodList
	err := env.Client.List(context.Background(), &list, client.InNamespace("default"), client.MatchingLabels{"job-name": job})
	return list.Items, err
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// The cluster runs Jobs as a real one would: the Job controller makes a
// Pod, the scheduler places it on a fake Node, kwok runs it; a Pod labelled
// to fail fails its Job after backoffLimit, one labelled to succeed
// completes it, and deleting a Job lets the garbage collector delete its
// Pods.
func TestJobsRunOnTheFakeNodes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, outcome string
		want          batchv1.JobConditionType
		pods          int
	}{
		{name: "succeeds", outcome: "Succeeded", want: batchv1.JobComplete, pods: 1},
		{name: "fails", outcome: "Failed", want: batchv1.JobFailed, pods: 2}, // backoffLimit 1: two tries
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := job(tc.name, tc.outcome)
			if err := env.Client.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the Job is "+string(tc.want), func() (bool, error) {
				err := env.Client.Get(ctx, client.ObjectKeyFromObject(j), j)
				return jobCondition(j, tc.want), err
			})
			ps, err := pods(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != tc.pods {
				t.Errorf("%d Pods, want %d", len(ps), tc.pods)
			}
		})
	}

	running := job("runs", "")
	if err := env.Client.Create(ctx, running); err != nil {
		t.Fatal(err)
	}
	var node string
	waitFor(t, "the Pod runs on a fake Node", func() (bool, error) {
		ps, err := pods("runs")
		if err != nil || len(ps) != 1 {
			return false, err
		}
		node = ps[0].Spec.NodeName
		return ps[0].Status.Phase == corev1.PodRunning, nil
	})
	if node == "" {
		t.Error("a running Pod has no node")
	}
	time.Sleep(2 * time.Second)
	if ps, _ := pods("runs"); len(ps) != 1 || ps[0].Status.Phase != corev1.PodRunning {
		t.Fatalf("a Pod without an outcome stopped running: %+v", ps)
	}
	if err := env.Client.Delete(ctx, running, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the garbage collector deletes the Job's Pod", func() (bool, error) {
		ps, err := pods("runs")
		return len(ps) == 0, err
	})
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(running), running); !apierrors.IsNotFound(err) {
		t.Errorf("Job after deletion: %v", err)
	}
	if err := cluster.Running(); err != nil {
		t.Error(fmt.Errorf("cluster: %w", err))
	}
}
