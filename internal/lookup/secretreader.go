package lookup

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// CachedSecrets selects the Secrets the manager's cache holds: those
// labelled SecretLabel=true.
func CachedSecrets() labels.Selector {
	return labels.SelectorFromSet(labels.Set{chatv1alpha1.SecretLabel: "true"})
}

// NewSecretReader returns the SecretReader of mgr's cache and API server.
func NewSecretReader(mgr manager.Manager) *SecretReader {
	return &SecretReader{Cache: mgr.GetClient(), API: mgr.GetAPIReader(), Now: time.Now}
}

// UnlabelledSecretTTL is how long a Secret read from the API server (one
// without SecretLabel, so not in the cache) is used before it is read again.
const UnlabelledSecretTTL = 30 * time.Second

// SecretReader reads the Secrets roomsync uses. The manager's cache holds
// only Secrets labelled SecretLabel=true, so that roomsync does not keep
// every Secret of the cluster in memory; a Secret the cache does not have
// is read from the API server and kept for UnlabelledSecretTTL, so that a
// callback does not cost an API call. Its other reads go to the cache.
type SecretReader struct {
	// Cache is the manager's client (reads from the cache).
	Cache client.Reader
	// API reads from the API server.
	API client.Reader
	Now func() time.Time
	// TTL is how long a Secret read from the API server is used;
	// UnlabelledSecretTTL when zero.
	TTL time.Duration

	mu   sync.Mutex
	read map[client.ObjectKey]readSecretResult
}

type readSecretResult struct {
	secret *corev1.Secret // nil: not found
	at     time.Time
}

// Get implements client.Reader.
func (r *SecretReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return r.Cache.Get(ctx, key, obj, opts...)
	}
	err := r.Cache.Get(ctx, key, secret, opts...)
	if !apierrors.IsNotFound(err) {
		return err
	}
	now := r.Now()
	r.mu.Lock()
	last, ok := r.read[key]
	r.mu.Unlock()
	ttl := r.TTL
	if ttl == 0 {
		ttl = UnlabelledSecretTTL
	}
	if !ok || now.Sub(last.at) >= ttl {
		fresh := &corev1.Secret{}
		switch err := r.API.Get(ctx, key, fresh); {
		case apierrors.IsNotFound(err):
			fresh = nil
		case err != nil:
			return err
		}
		last = readSecretResult{secret: fresh, at: now}
		r.mu.Lock()
		if r.read == nil {
			r.read = map[client.ObjectKey]readSecretResult{}
		}
		r.read[key] = last
		r.mu.Unlock()
	}
	if last.secret == nil {
		return err // the cache's NotFound
	}
	last.secret.DeepCopyInto(secret)
	return nil
}

// List implements client.Reader: lists come from the cache.
func (r *SecretReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return r.Cache.List(ctx, list, opts...)
}

// UnlabelledSecrets returns the names of the Secrets app reads that exist
// but lack SecretLabel=true.
func UnlabelledSecrets(ctx context.Context, r client.Reader, app *chatv1alpha1.ChatApp) ([]string, error) {
	var names []string
	for _, name := range SecretNames(app) {
		secret := &corev1.Secret{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		if secret.Labels[chatv1alpha1.SecretLabel] != "true" {
			names = append(names, name)
		}
	}
	return names, nil
}
