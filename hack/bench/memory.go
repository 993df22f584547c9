package main

import (
	"context"
	"fmt"
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
