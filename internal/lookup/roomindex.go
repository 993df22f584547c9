package lookup

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// RoomRef is what identifies a Room: enough to find the Room that holds a
// room (the oldest live one, see Rooms), to read it, and to tell whether a
// copy of it is current (by its resourceVersion). Its ObjectMeta holds only
// the namespace, name, UID, resourceVersion, creationTimestamp and
// deletionTimestamp.
type RoomRef struct {
	metav1.ObjectMeta
	SDKAppID int64
	RoomID   string
	// LastActive is when the room last changed as far as its Room says
	// (RoomStatus.LastActiveTime), in Unix milliseconds: what a catch-up
	// orders the Rooms by.
	LastActive int64
}

// RefOf returns room's RoomRef.
func RefOf(room *chatv1alpha1.Room) *RoomRef {
	return &RoomRef{
		ObjectMeta: metav1.ObjectMeta{
			// Namespaces repeat across Rooms: keep one copy of each.
			Namespace:         unique.Make(room.Namespace).Value(),
			Name:              room.Name,
			UID:               room.UID,
			ResourceVersion:   room.ResourceVersion,
			CreationTimestamp: room.CreationTimestamp,
			DeletionTimestamp: room.DeletionTimestamp,
		},
		SDKAppID:   room.Spec.SDKAppID,
		RoomID:     room.Spec.RoomID,
		LastActive: room.Status.LastActiveTime().UnixMilli(),
	}
}

// RoomFinder finds the Rooms that mirror a room.
type RoomFinder interface {
	// Rooms returns the live Rooms in namespace that mirror roomID of
	// sdkAppID, the holder first (as Rooms does).
	Rooms(ctx context.Context, namespace string, sdkAppID int64, roomID string) ([]*RoomRef, error)
}

// ListFinder is a RoomFinder that lists Rooms from Reader, with the
// RoomIDField selector: from the API server, a list that costs it a pass
// over every Room of the namespace, so only for tests and for the moments
// before a RoomIndex has synced.
type ListFinder struct {
	Reader client.Reader
	// Opts are added to each list's options.
	Opts []client.ListOption
}

// Rooms implements RoomFinder.
func (f ListFinder) Rooms(ctx context.Context, namespace string, sdkAppID int64, roomID string) ([]*RoomRef, error) {
	rooms, err := Rooms(ctx, f.Reader, namespace, sdkAppID, roomID, f.Opts...)
	if err != nil {
		return nil, err
	}
	refs := make([]*RoomRef, len(rooms))
	for i, room := range rooms {
		refs[i] = RefOf(room)
	}
	return refs, nil
}

// roomIndexName is the RoomIndex's one index: namespace/roomID.
const roomIndexName = "room"

// RoomIndex is the index of Rooms the callback receiver finds Rooms in, and
// a catch-up plans from (AppRooms): an informer that keeps, of each Room,
// only its RoomRef (a few hundred bytes, where the whole Room takes
// kilobytes). Every replica keeps one, so that any of them can receive
// callbacks; only the elected replica's controllers hold whole
// Rooms. Until it has synced, Rooms are found by listing them from the API
// server's watch cache (ListFinder, at resourceVersion 0: the Store reads
// the Room itself and handles one created or deleted meanwhile), so a
// replica serves callbacks without waiting for 100,000 Rooms to be
// streamed to it.
//
// It is a manager.Runnable that runs on every replica.
type RoomIndex struct {
	informers map[string]toolscache.SharedIndexInformer // by namespace; "" is every namespace
	fallback  ListFinder
}

// NewRoomIndex returns a RoomIndex of the Rooms in namespaces (nil: every
// namespace), read with cfg, falling back to apiReader until it has synced.
func NewRoomIndex(cfg *rest.Config, httpClient *http.Client, scheme *runtime.Scheme, namespaces []string, apiReader client.Reader) (*RoomIndex, error) {
	gvk := chatv1alpha1.GroupVersion.WithKind("Room")
	codecs := serializer.NewCodecFactory(scheme)
	rc, err := apiutil.RESTClientForGVK(gvk, false, false, cfg, codecs, httpClient)
	if err != nil {
		return nil, fmt.Errorf("making the REST client of Rooms: %w", err)
	}
	params := runtime.NewParameterCodec(scheme)
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	lws := map[string]toolscache.ListerWatcher{}
	for _, ns := range namespaces {
		lws[ns] = &toolscache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
				list := &chatv1alpha1.RoomList{}
				err := rc.Get().Namespace(ns).Resource("rooms").VersionedParams(&opts, params).Do(ctx).Into(list)
				return list, err
			},
			WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
				opts.Watch = true
				opts.AllowWatchBookmarks = true
				return rc.Get().Namespace(ns).Resource("rooms").VersionedParams(&opts, params).Watch(ctx)
			},
		}
	}
	return newRoomIndex(lws, ListFinder{
		Reader: apiReader,
		Opts:   []client.ListOption{&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}}},
	})
}

// newRoomIndex returns the RoomIndex of an informer per namespace, each
// listing and watching with its ListerWatcher.
func newRoomIndex(lws map[string]toolscache.ListerWatcher, fallback ListFinder) (*RoomIndex, error) {
	x := &RoomIndex{informers: map[string]toolscache.SharedIndexInformer{}, fallback: fallback}
	for ns, lw := range lws {
		inf := toolscache.NewSharedIndexInformerWithOptions(lw, &chatv1alpha1.Room{}, toolscache.SharedIndexInformerOptions{
			Indexers: toolscache.Indexers{roomIndexName: indexRoom},
		})
		if err := inf.SetTransform(toRef); err != nil {
			return nil, err
		}
		x.informers[ns] = inf
	}
	return x, nil
}

// toRef reduces a Room to its RoomRef as it enters the informer. It is
// idempotent, as informers require: a RoomRef (or a tombstone) passes as
// it is.
func toRef(obj any) (any, error) {
	if room, ok := obj.(*chatv1alpha1.Room); ok {
		return RefOf(room), nil
	}
	return obj, nil
}

func indexRoom(obj any) ([]string, error) {
	ref, ok := obj.(*RoomRef)
	if !ok {
		return nil, fmt.Errorf("room index: unexpected %T", obj)
	}
	return []string{ref.Namespace + "/" + ref.RoomID}, nil
}

// informerFor returns the informer that holds namespace's Rooms, if any
// does: the namespace is watched.
func (x *RoomIndex) informerFor(namespace string) (toolscache.SharedIndexInformer, bool) {
	if inf, ok := x.informers[namespace]; ok {
		return inf, true
	}
	inf, ok := x.informers[metav1.NamespaceAll]
	return inf, ok
}

// Start runs the informers until ctx is done.
func (x *RoomIndex) Start(ctx context.Context) error {
	start := time.Now()
	for _, inf := range x.informers {
		go inf.RunWithContext(ctx)
	}
	if x.WaitForSync(ctx) {
		n := 0
		for _, inf := range x.informers {
			n += len(inf.GetIndexer().ListKeys())
		}
		logf.Log.WithName("room-index").Info("Room index synced", "rooms", n, "took", time.Since(start).Round(time.Millisecond))
	}
	<-ctx.Done()
	return nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica receives callbacks, so every replica keeps the index.
func (x *RoomIndex) NeedLeaderElection() bool { return false }

// HasSynced reports whether every informer has streamed its Rooms.
func (x *RoomIndex) HasSynced() bool {
	for _, inf := range x.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// WaitForSync waits until HasSynced, or ctx is done; it reports HasSynced.
func (x *RoomIndex) WaitForSync(ctx context.Context) bool {
	return toolscache.WaitForCacheSync(ctx.Done(), x.HasSynced)
}

// Rooms implements RoomFinder: from the index once it has synced, from the
// API server before.
func (x *RoomIndex) Rooms(ctx context.Context, namespace string, sdkAppID int64, roomID string) ([]*RoomRef, error) {
	inf, ok := x.informerFor(namespace)
	if !ok {
		return nil, nil // not a watched namespace: no Room of it is roomsync's
	}
	if !inf.HasSynced() {
		return x.fallback.Rooms(ctx, namespace, sdkAppID, roomID)
	}
	objs, err := inf.GetIndexer().ByIndex(roomIndexName, namespace+"/"+roomID)
	if err != nil {
		return nil, err
	}
	refs := make([]*RoomRef, 0, len(objs))
	for _, obj := range objs {
		ref := obj.(*RoomRef)
		if ref.SDKAppID == sdkAppID && ref.DeletionTimestamp.IsZero() {
			// A copy: the informer's stays as it is.
			c := *ref
			refs = append(refs, &c)
		}
	}
	SortByAge(refs)
	return slices.Clip(refs), nil
}

// AppRooms returns the Rooms in namespace that mirror rooms of sdkAppID and
// are not being deleted, in no order, once the index has synced: it waits
// for that (until ctx is done). It is for a pass over an app's Rooms that
// should not wait for a cache of whole Rooms: a catch-up plans from it.
func (x *RoomIndex) AppRooms(ctx context.Context, namespace string, sdkAppID int64) ([]*RoomRef, error) {
	inf, ok := x.informerFor(namespace)
	if !ok {
		return nil, nil // not a watched namespace
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("waiting for the Room index to sync: %w", context.Cause(ctx))
	}
	return copies(appRooms(inf, namespace, sdkAppID)), nil
}

// appRooms returns inf's own RoomRefs in namespace that mirror rooms of
// sdkAppID and are not being deleted.
func appRooms(inf toolscache.SharedIndexInformer, namespace string, sdkAppID int64) []*RoomRef {
	var refs []*RoomRef
	for _, obj := range inf.GetStore().List() {
		ref := obj.(*RoomRef)
		if ref.Namespace == namespace && ref.SDKAppID == sdkAppID && ref.DeletionTimestamp.IsZero() {
			refs = append(refs, ref)
		}
	}
	return refs
}

// copies returns copies of refs, so that the informer's stay as they are.
func copies(refs []*RoomRef) []*RoomRef {
	out := make([]*RoomRef, len(refs))
	for i, ref := range refs {
		c := *ref
		out[i] = &c
	}
	return out
}

// MostActive returns the n Rooms in namespace that mirror rooms of
// sdkAppID, are not being deleted and have been active (a LastActive), the
// most recently active first, and whether the index has synced: before
// that it returns none, as it cannot tell.
func (x *RoomIndex) MostActive(namespace string, sdkAppID int64, n int) ([]*RoomRef, bool) {
	inf, ok := x.informerFor(namespace)
	if !ok {
		return nil, true // not a watched namespace: no Room of it is roomsync's
	}
	if !inf.HasSynced() {
		return nil, false
	}
	refs := slices.DeleteFunc(appRooms(inf, namespace, sdkAppID), func(ref *RoomRef) bool { return ref.LastActive == 0 })
	sortByActivity(refs)
	return copies(refs[:min(n, len(refs))]), true
}

// sortByActivity sorts refs the most recently active first, then by name.
func sortByActivity(refs []*RoomRef) {
	slices.SortFunc(refs, func(a, b *RoomRef) int {
		if c := cmp.Compare(b.LastActive, a.LastActive); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
