package controllers

import (
	"context"
	"fmt"
	"sync"
	"unique"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// CacheByObject limits what the manager's cache holds of kinds the cluster
// has many of, so that roomsync's memory does not grow with the cluster:
// only the recording Jobs, and only the Secrets labelled for roomsync
// (lookup.SecretReader reads the others from the API server when asked).
// Rooms, of which there may be 100,000, are kept smaller (SlimRoom).
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&batchv1.Job{}:       {Label: RecordingJobSelector()},
		&corev1.Secret{}:     {Label: lookup.CachedSecrets()},
		&chatv1alpha1.Room{}: {Transform: SlimRoom},
	}
}

// SlimRoom is the cache's transform of Rooms: it drops what nothing reads
// from the cache (managedFields, and kubectl's last-applied-configuration,
// which repeats a declared Room's spec), and keeps one copy of the strings
// that many Rooms share (the namespace, labels, condition texts and the
// status fields with a few values) instead of one per Room: about a sixth
// of what a cached Room takes. The controllers patch Rooms, never update
// them whole, so what the cache lacks is never written back.
func SlimRoom(obj any) (any, error) {
	room, ok := obj.(*chatv1alpha1.Room)
	if !ok {
		return obj, nil
	}
	room.ManagedFields = nil
	delete(room.Annotations, corev1.LastAppliedConfigAnnotation)
	if len(room.Annotations) == 0 {
		room.Annotations = nil
	}
	intern(&room.Namespace)
	if len(room.Labels) > 0 {
		labels := make(map[string]string, len(room.Labels))
		for k, v := range room.Labels {
			labels[unique.Make(k).Value()] = unique.Make(v).Value()
		}
		room.Labels = labels
	}
	for i := range room.Status.Conditions {
		c := &room.Status.Conditions[i]
		intern(&c.Type)
		intern((*string)(&c.Status))
		intern(&c.Reason)
		intern(&c.Message)
	}
	st := &room.Status
	for _, s := range []*string{&st.TakeSeatMode, (*string)(&st.CloudRecording), (*string)(&st.Phase), &st.RoomType,
		&st.RoomStatus, &st.LastCallbackCommand, &st.LastOptPlatform} {
		intern(s)
	}
	return room, nil
}

// intern replaces *s with the one copy of its value.
func intern(s *string) {
	if *s != "" {
		*s = unique.Make(*s).Value()
	}
}

// NewCache is the manager's cache (a cache.NewCacheFunc) with whole Rooms
// held only where something reads them: the controllers, which run on the
// elected replica only. The Room informer is made when Rooms are first
// asked for, and the field indexes registered for Rooms are added to it
// then; a replica that only receives callbacks never holds a whole Room
// (it finds them with a lookup.RoomIndex).
func NewCache(config *rest.Config, opts cache.Options) (cache.Cache, error) {
	c, err := cache.New(config, opts)
	if err != nil {
		return nil, err
	}
	return &roomsOnDemand{Cache: c}, nil
}

// roomsOnDemand is a cache.Cache whose Room informer, and its indexes, are
// made on first use.
type roomsOnDemand struct {
	cache.Cache

	mu      sync.Mutex
	made    bool
	indexes []roomIndex
	// before, when set, is waited on before the Room informer is made
	// (RoomsAfter).
	before func(context.Context) bool
}

// RoomsAfter makes the Room informer of c, a cache made by NewCache, wait
// for before (until it returns true) before it starts streaming Rooms. The
// elected replica waits so for its lookup.RoomIndex: just after a start
// with 100,000 Rooms, two streams of every Room at once into one process
// take about as long as the two one after the other, and the index, which
// the receiver and a catch-up need, is then ready in half the time (the
// controllers, which need the cache, have less to do in a hurry). It does
// nothing on another cache.
func RoomsAfter(c cache.Cache, before func(context.Context) bool) {
	if c, ok := c.(*roomsOnDemand); ok {
		c.mu.Lock()
		c.before = before
		c.mu.Unlock()
	}
}

// roomIndex is a field index registered for Rooms before their informer
// was made.
type roomIndex struct {
	field string
	fn    client.IndexerFunc
}

func (c *roomsOnDemand) isRoom(obj runtime.Object) bool {
	switch obj.(type) {
	case *chatv1alpha1.Room, *chatv1alpha1.RoomList:
		return true
	}
	return false
}

// makeRooms makes the Room informer, with the indexes registered so far.
func (c *roomsOnDemand) makeRooms(ctx context.Context) error {
	c.mu.Lock()
	made, before := c.made, c.before
	c.mu.Unlock()
	if made {
		return nil
	}
	// Not holding mu: each caller waits as long as its own context allows.
	if before != nil && !before(ctx) {
		return fmt.Errorf("waiting to stream Rooms into the cache: %w", context.Cause(ctx))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.made {
		return nil
	}
	for _, ix := range c.indexes {
		if err := c.Cache.IndexField(ctx, &chatv1alpha1.Room{}, ix.field, ix.fn); err != nil {
			return err
		}
	}
	c.made, c.indexes = true, nil
	return nil
}

// RoomsSynced returns whether the Room informer of c, a cache made by
// NewCache, has been made and has every Room, without waiting for it (a
// function that always says true for another cache).
func RoomsSynced(c cache.Cache) func() bool {
	rc, ok := c.(*roomsOnDemand)
	if !ok {
		return func() bool { return true }
	}
	return func() bool {
		rc.mu.Lock()
		made := rc.made
		rc.mu.Unlock()
		if !made {
			return false
		}
		inf, err := rc.Cache.GetInformer(context.Background(), &chatv1alpha1.Room{}, cache.BlockUntilSynced(false))
		return err == nil && inf.HasSynced()
	}
}

// IndexField implements client.FieldIndexer; for Rooms, before their
// informer is made, it only registers the index.
func (c *roomsOnDemand) IndexField(ctx context.Context, obj client.Object, field string, fn client.IndexerFunc) error {
	if c.isRoom(obj) {
		c.mu.Lock()
		if !c.made {
			c.indexes = append(c.indexes, roomIndex{field: field, fn: fn})
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
	}
	return c.Cache.IndexField(ctx, obj, field, fn)
}

func (c *roomsOnDemand) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if c.isRoom(obj) {
		if err := c.makeRooms(ctx); err != nil {
			return err
		}
	}
	return c.Cache.Get(ctx, key, obj, opts...)
}

func (c *roomsOnDemand) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if c.isRoom(list) {
		if err := c.makeRooms(ctx); err != nil {
			return err
		}
	}
	return c.Cache.List(ctx, list, opts...)
}

func (c *roomsOnDemand) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if c.isRoom(obj) {
		if err := c.makeRooms(ctx); err != nil {
			return nil, err
		}
	}
	return c.Cache.GetInformer(ctx, obj, opts...)
}

func (c *roomsOnDemand) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if gvk.GroupKind() == chatv1alpha1.GroupVersion.WithKind("Room").GroupKind() {
		if err := c.makeRooms(ctx); err != nil {
			return nil, err
		}
	}
	return c.Cache.GetInformerForKind(ctx, gvk, opts...)
}
