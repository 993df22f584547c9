package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
)

// parallel calls fn(i) for i in [0, n) from workers goroutines and returns
// the first error.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// seedUnrelated creates n ConfigMaps and n Jobs that roomsync has nothing
// to do with, as any real cluster has; the operator must not cache them.
func seedUnrelated(ctx context.Context, c client.Client, namespace string, n int) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	payload := string(make([]byte, 512))
	return parallel(n, 32, func(i int) error {
		name := "unrelated-" + strconv.Itoa(i)
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Data:       map[string]string{"payload": payload},
		}
		if err := c.Create(ctx, cm); err != nil {
			return fmt.Errorf("creating ConfigMap %s: %w", name, err)
		}
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"app": "unrelated"}},
			Spec: batchv1.JobSpec{
				Suspend: ptr.To(true),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "work", Image: "registry.example/work:1", Args: []string{"--item", strconv.Itoa(i)}}},
				}},
			},
		}
		if err := c.Create(ctx, job); err != nil {
			return fmt.Errorf("creating Job %s: %w", name, err)
		}
		return nil
	})
}

// seedSecrets creates n Secrets of 1 KiB of random data in namespace,
// without labels, as a cluster holds for its other workloads: the operator
// caches only the Secrets labelled for it, so they must cost it (almost)
// no memory.
func seedSecrets(ctx context.Context, c client.Client, namespace string, n int) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	return parallel(n, 32, func(i int) error {
		data := make([]byte, 1024)
		_, _ = rand.Read(data)
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "unrelated-" + strconv.Itoa(i)},
			Data:       map[string][]byte{"key": data},
		}
		if err := c.Create(ctx, secret); err != nil {
			return fmt.Errorf("creating Secret %s: %w", secret.Name, err)
		}
		return nil
	})
}

// memorySample is the operator's memory, in bytes.
type memorySample struct {
	rss, heapInuse float64
}

// sampleMemory reads the operator's RSS (/proc/<pid>/status) and Go heap in
// use (its /metrics) 3 times, a second apart, and returns the medians: one
// reading is noisy.
func sampleMemory(ctx context.Context, pid int, metricsURL string) (memorySample, error) {
	var rss, heap []float64
	for i := range 3 {
		if i > 0 {
			if err := pause(ctx, time.Second); err != nil {
				return memorySample{}, err
			}
		}
		st, err := procStatus(pid, "VmRSS")
		if err != nil {
			return memorySample{}, err
		}
		m, err := scrape(metricsURL)
		if err != nil {
			return memorySample{}, fmt.Errorf("reading the operator's metrics: %w", err)
		}
		if !containsMetric(m, "go_memstats_heap_inuse_bytes") {
			return memorySample{}, errors.New("the operator's /metrics has no go_memstats_heap_inuse_bytes")
		}
		rss, heap = append(rss, float64(st["VmRSS"])), append(heap, metricSum(m, "go_memstats_heap_inuse_bytes"))
	}
	slices.Sort(rss)
	slices.Sort(heap)
	return memorySample{rss: rss[1], heapInuse: heap[1]}, nil
}

// steadyMemory waits wait, then samples the operator's memory until its RSS
// moves by less than half a MiB from one sample to the next (for at most a
// minute more), and returns the last sample.
func steadyMemory(ctx context.Context, pid int, metricsURL string, wait time.Duration) (memorySample, error) {
	if err := pause(ctx, wait); err != nil {
		return memorySample{}, err
	}
	last, err := sampleMemory(ctx, pid, metricsURL)
	if err != nil {
		return memorySample{}, err
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		next, err := sampleMemory(ctx, pid, metricsURL)
		if err != nil {
			return memorySample{}, err
		}
		steady := math.Abs(next.rss-last.rss) < 1<<19
		last = next
		if steady {
			break
		}
	}
	return last, nil
}

// seedRooms creates n Rooms of sdkAppID in namespace with the status a
// room-info callback gives, while the operator is down: on its start, each
// needs reconciling.
func seedRooms(ctx context.Context, c client.Client, namespace string, sdkAppID int64, n int) error {
	now := time.Now().UnixMilli()
	return parallel(n, 32, func(i int) error {
		roomID := fmt.Sprintf("memory-room-%05d", i)
		room := &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: namespace,
				Name:      roomstore.NameFor(roomID),
				Labels: map[string]string{
					chatv1alpha1.SDKAppIDLabel:  strconv.FormatInt(sdkAppID, 10),
					chatv1alpha1.CreatedByLabel: chatv1alpha1.CreatedByCallback,
				},
			},
			Spec: chatv1alpha1.RoomSpec{SDKAppID: sdkAppID, RoomID: roomID},
		}
		if err := c.Create(ctx, room); err != nil {
			return fmt.Errorf("creating Room %s: %w", room.Name, err)
		}
		patch := client.MergeFrom(room.DeepCopy())
		room.Status.RoomName = "Room " + strconv.Itoa(i)
		room.Status.OwnerAccount = "owner-" + strconv.Itoa(i%100)
		room.Status.MaxMemberCount = 300
		room.Status.LastEventTime = now
		room.Status.CloudRecordingDisabled = ptr.To(true)
		if err := c.Status().Patch(ctx, room, patch); err != nil {
			return fmt.Errorf("writing the status of Room %s: %w", room.Name, err)
		}
		return nil
	})
}

// waitReconciled waits until every Room in namespace has been reconciled
// (status.observedGeneration is its generation), and returns how many are.
func waitReconciled(ctx context.Context, c client.Client, namespace string, want int, metricsURL string) error {
	for {
		// The operator's own count first: listing 10,000 Rooms costs CPU
		// that the operator under measurement would miss.
		if m, err := scrape(metricsURL); err == nil &&
			metricSum(m, "controller_runtime_reconcile_total", `controller="room"`, `result="success"`) >= float64(want) &&
			metricSum(m, "workqueue_depth", `name="room"`) == 0 {
			var list chatv1alpha1.RoomList
			if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
				return err
			}
			done := 0
			for _, r := range list.Items {
				if r.Status.ObservedGeneration == r.Generation {
					done++
				}
			}
			if done == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d Rooms to be reconciled: %w", want, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
