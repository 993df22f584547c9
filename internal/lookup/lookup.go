// Package lookup finds the ChatApp that receives an sdkAppID's callbacks and
// the Room that mirrors a Tencent RoomId. The callback receiver and the
// controllers share it so that they always agree on who wins when several
// objects claim the same identity: for Rooms, the oldest (by
// creationTimestamp, then namespace/name); for ChatApps, the oldest whose
// callback token verifies the callback (see Claim).
package lookup

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// Field index names. They match the CRDs' selectableFields, so the same
// MatchingFields option works against the informer cache (through these
// indexes) and against the API server (as a field selector).
const (
	// RoomIDField indexes Rooms by spec.roomID.
	RoomIDField = "spec.roomID"
	// SDKAppIDField indexes ChatApps and Rooms by spec.sdkAppID.
	SDKAppIDField = "spec.sdkAppID"
	// SecretsField indexes ChatApps by the names of the Secrets they read:
	// the callback token's and the REST API secret key's.
	SecretsField = ".spec.secretNames"
)

// SetupIndexes registers the field indexes the lookups need.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &chatv1alpha1.Room{}, RoomIDField, func(o client.Object) []string {
		return []string{o.(*chatv1alpha1.Room).Spec.RoomID}
	}); err != nil {
		return fmt.Errorf("indexing Rooms by %s: %w", RoomIDField, err)
	}
	if err := indexer.IndexField(ctx, &chatv1alpha1.Room{}, SDKAppIDField, func(o client.Object) []string {
		return []string{strconv.FormatInt(o.(*chatv1alpha1.Room).Spec.SDKAppID, 10)}
	}); err != nil {
		return fmt.Errorf("indexing Rooms by %s: %w", SDKAppIDField, err)
	}
	if err := indexer.IndexField(ctx, &chatv1alpha1.ChatApp{}, SDKAppIDField, func(o client.Object) []string {
		return []string{strconv.FormatInt(o.(*chatv1alpha1.ChatApp).Spec.SDKAppID, 10)}
	}); err != nil {
		return fmt.Errorf("indexing ChatApps by %s: %w", SDKAppIDField, err)
	}
	if err := indexer.IndexField(ctx, &chatv1alpha1.ChatApp{}, SecretsField, func(o client.Object) []string {
		return SecretNames(o.(*chatv1alpha1.ChatApp))
	}); err != nil {
		return fmt.Errorf("indexing ChatApps by %s: %w", SecretsField, err)
	}
	return nil
}

// SecretNames returns the names of the Secrets app reads: its callback
// token's and its REST API secret key's.
func SecretNames(app *chatv1alpha1.ChatApp) []string {
	var names []string
	if auth := app.Spec.CallbackAuth; auth != nil {
		names = append(names, auth.TokenSecretRef.Name)
	}
	if api := app.Spec.RestAPI; api != nil && !slices.Contains(names, api.SecretKeyRef.Name) {
		names = append(names, api.SecretKeyRef.Name)
	}
	return names
}

// ChatApps returns every ChatApp, in any namespace, that claims sdkAppID,
// oldest first. Which of them gets a callback is for [Claims] to say.
func ChatApps(ctx context.Context, r client.Reader, sdkAppID int64) ([]*chatv1alpha1.ChatApp, error) {
	var list chatv1alpha1.ChatAppList
	if err := r.List(ctx, &list, client.MatchingFields{SDKAppIDField: strconv.FormatInt(sdkAppID, 10)}); err != nil {
		return nil, fmt.Errorf("listing ChatApps for sdkAppID %d: %w", sdkAppID, err)
	}
	apps := make([]*chatv1alpha1.ChatApp, 0, len(list.Items))
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp.IsZero() {
			apps = append(apps, &list.Items[i])
		}
	}
	SortByAge(apps)
	return apps, nil
}

// RoomsOfApp returns the Rooms in namespace that mirror rooms of sdkAppID.
// opts are added to the list's (client.UnsafeDisableDeepCopy, for a caller
// that only reads them).
func RoomsOfApp(ctx context.Context, r client.Reader, namespace string, sdkAppID int64, opts ...client.ListOption) ([]chatv1alpha1.Room, error) {
	var list chatv1alpha1.RoomList
	opts = append([]client.ListOption{client.InNamespace(namespace), client.MatchingFields{SDKAppIDField: strconv.FormatInt(sdkAppID, 10)}}, opts...)
	if err := r.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing Rooms of sdkAppID %d in %s: %w", sdkAppID, namespace, err)
	}
	return list.Items, nil
}

// Rooms returns the Rooms in namespace that mirror roomID of sdkAppID, the
// holder (the one callbacks update) first. opts are added to the list's.
func Rooms(ctx context.Context, r client.Reader, namespace string, sdkAppID int64, roomID string, opts ...client.ListOption) ([]*chatv1alpha1.Room, error) {
	var list chatv1alpha1.RoomList
	opts = append([]client.ListOption{client.InNamespace(namespace), client.MatchingFields{RoomIDField: roomID}}, opts...)
	if err := r.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing Rooms for roomID %q in %s: %w", roomID, namespace, err)
	}
	rooms := make([]*chatv1alpha1.Room, 0, len(list.Items))
	for i := range list.Items {
		room := &list.Items[i]
		if room.Spec.SDKAppID == sdkAppID && room.Spec.RoomID == roomID && room.DeletionTimestamp.IsZero() {
			rooms = append(rooms, room)
		}
	}
	SortByAge(rooms)
	return rooms, nil
}

// SortByAge sorts objects oldest first; equally old ones by namespace and
// name, so that every replica picks the same holder.
func SortByAge[T metav1.Object](objs []T) {
	slices.SortFunc(objs, func(a, b T) int {
		ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
		if !ta.Equal(&tb) {
			if ta.Before(&tb) {
				return -1
			}
			return 1
		}
		if a.GetNamespace() != b.GetNamespace() {
			if a.GetNamespace() < b.GetNamespace() {
				return -1
			}
			return 1
		}
		switch {
		case a.GetName() < b.GetName():
			return -1
		case a.GetName() > b.GetName():
			return 1
		}
		return 0
	})
}
