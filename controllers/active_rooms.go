package controllers

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// ActiveRoomsName is the ConfigMap, in the operator's namespace, that
// records each ChatApp's most recently active Rooms (ActiveRooms).
const ActiveRoomsName = "roomsync-active-rooms"

const (
	// maxActiveRooms bounds the Rooms recorded for one app.
	maxActiveRooms = 2000
	// maxActiveRoomsBytes bounds the record's data, shared evenly between
	// the apps, well within a ConfigMap's 1 MiB.
	maxActiveRoomsBytes = 512 << 10
)

// ActiveRooms keeps a record of the Rooms most recently active, so that a
// catch-up just after a start reads them at once: it plans from the Room
// index otherwise, and with 100,000 Rooms the index takes half a minute
// and more to stream, while the rooms that changed as no replica was
// serving are most likely the ones active just before.
//
// The record is a ConfigMap (ActiveRoomsName) in the operator's namespace
// with a key per ChatApp with a REST API, "<namespace>.<sdkAppID>". Its
// value has a line per Room, "<last active, Unix ms> <name>", the most
// recently active first: as many as two minutes of the app's budget read
// (a Room takes two requests, so 60 × requestsPerSecond; at most
// maxActiveRooms). The elected replica writes it once its Room index has
// synced, every Every when it changed, and once more when it stops. After
// a crash it lacks the Rooms active in the last Every: a catch-up reads
// those once the index has synced, as it does the Rooms beyond the record.
type ActiveRooms struct {
	// Client writes the record and lists the ChatApps (from the cache).
	Client client.Client
	// APIReader reads the record: ConfigMaps are not cached.
	APIReader client.Reader
	// Index gives each app's most recently active Rooms.
	Index ActiveRoomLister
	// Namespace holds the record: the operator's own.
	Namespace string
	// Every is how often the record is brought up to date (10 s when zero).
	Every time.Duration
	Log   logr.Logger

	// written is the data last written, or read back.
	written map[string]string
}

// ActiveRoomLister gives an app's most recently active Rooms:
// lookup.RoomIndex.
type ActiveRoomLister interface {
	// MostActive returns the n Rooms of sdkAppID in namespace most
	// recently active, the most recent first, and whether it could tell.
	MostActive(namespace string, sdkAppID int64, n int) ([]*lookup.RoomRef, bool)
}

// NeedLeaderElection is true: the elected replica writes the record.
func (a *ActiveRooms) NeedLeaderElection() bool { return true }

// Start keeps the record up to date until ctx ends, and writes it once
// more then.
func (a *ActiveRooms) Start(ctx context.Context) error {
	if a.Every <= 0 {
		a.Every = 10 * time.Second
	}
	everyUntilDone(ctx, a.Every, func(ctx context.Context) {
		if err := a.update(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error(err, "Recording the most recently active Rooms", "configMap", ActiveRoomsName, "namespace", a.Namespace)
		}
	})
	return nil
}

// update writes the record when it changed.
func (a *ActiveRooms) update(ctx context.Context) error {
	apps := &chatv1alpha1.ChatAppList{}
	if err := a.Client.List(ctx, apps); err != nil {
		return fmt.Errorf("listing the ChatApps: %w", err)
	}
	data, synced := a.record(apps.Items)
	if !synced {
		return nil // the index cannot tell yet: the record stays as it was
	}
	if a.written != nil && maps.Equal(a.written, data) {
		return nil
	}
	cm := &corev1.ConfigMap{}
	err := a.APIReader.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: ActiveRoomsName}, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, Name: ActiveRoomsName,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "roomsync"}},
			Data: data,
		}
		err = a.Client.Create(ctx, cm)
	case err != nil:
	case maps.Equal(cm.Data, data):
	default:
		// Only the elected replica writes it: the resourceVersion just
		// read guards against an old one still stopping.
		cm.Data = data
		err = a.Client.Update(ctx, cm)
	}
	if err != nil {
		return err
	}
	a.written = data
	return nil
}

// record returns the record's data for apps, and whether the index could
// tell every app's most active Rooms.
func (a *ActiveRooms) record(apps []chatv1alpha1.ChatApp) (map[string]string, bool) {
	var withAPI []*chatv1alpha1.ChatApp
	for i := range apps {
		if apps[i].Spec.RestAPI != nil {
			withAPI = append(withAPI, &apps[i])
		}
	}
	data := map[string]string{}
	if len(withAPI) == 0 {
		return data, true
	}
	share := maxActiveRoomsBytes / len(withAPI)
	for _, app := range withAPI {
		n := min(int(60*requestsPerSecond(app.Spec.RestAPI)), maxActiveRooms)
		refs, synced := a.Index.MostActive(app.Namespace, app.Spec.SDKAppID, n)
		if !synced {
			return nil, false
		}
		var b strings.Builder
		for _, ref := range refs {
			line := strconv.FormatInt(ref.LastActive, 10) + " " + ref.Name + "\n"
			if b.Len()+len(line) > share {
				break
			}
			b.WriteString(line)
		}
		if b.Len() > 0 {
			data[activeRoomsKey(app.Namespace, app.Spec.SDKAppID)] = b.String()
		}
	}
	return data, true
}

// activeRoomsKey is an app's key in the record. Namespaces have no dots.
func activeRoomsKey(namespace string, sdkAppID int64) string {
	return namespace + "." + strconv.FormatInt(sdkAppID, 10)
}

// Read returns the Rooms the record has for sdkAppID in namespace, the most
// recently active first (as far as their Namespace, Name, SDKAppID and
// LastActive), or none when there is no record. A line that is not as
// ActiveRooms writes it is left out: the ConfigMap is not the user's to
// edit, but it can be edited.
func (a *ActiveRooms) Read(ctx context.Context, namespace string, sdkAppID int64) ([]*lookup.RoomRef, error) {
	cm := &corev1.ConfigMap{}
	if err := a.APIReader.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: ActiveRoomsName}, cm); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	var refs []*lookup.RoomRef
	for line := range strings.Lines(cm.Data[activeRoomsKey(namespace, sdkAppID)]) {
		at, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		active, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || len(validation.IsDNS1123Subdomain(name)) > 0 {
			continue
		}
		refs = append(refs, &lookup.RoomRef{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			SDKAppID: sdkAppID, LastActive: active})
		if len(refs) == maxActiveRooms {
			break
		}
	}
	return refs, nil
}
