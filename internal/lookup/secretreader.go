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
// without SecretLabel, so not in the cache) is used before it is renewed.
const UnlabelledSecretTTL = 30 * time.Second

// SecretReader reads the Secrets roomsync uses. The manager's cache holds
// only Secrets labelled SecretLabel=true, so that roomsync does not keep
// every Secret of the cluster in memory; a Secret the cache does not have
// is read from the API server and kept: for TTL it is used as read; after
// that it is still used, at once, while one read in the background renews
// it. So a callback costs no API call, a change to such a Secret is seen
// within about TTL, and an API server that cannot be reached (an outage)
// leaves roomsync with the Secret it read last rather than with none. Its
// other reads go to the cache.
type SecretReader struct {
	// Cache is the manager's client (reads from the cache).
	Cache client.Reader
	// API reads from the API server.
	API client.Reader
	Now func() time.Time
	// TTL is how long a Secret read from the API server is used before it
	// is renewed; UnlabelledSecretTTL when zero.
	TTL time.Duration

	mu   sync.Mutex
	read map[client.ObjectKey]*apiRead
}

// apiRead is what was last read of one Secret from the API server.
type apiRead struct {
	secret   *corev1.Secret // nil: not found
	at       time.Time
	renewing bool
}

// renewTimeout bounds a background read of a Secret.
const renewTimeout = 10 * time.Second

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
	notInCache := err

	r.mu.Lock()
	last, known := r.read[key]
	if known && !last.renewing && r.Now().Sub(last.at) >= r.ttl() {
		last.renewing = true
		go r.renew(key)
	}
	var found *corev1.Secret
	if known {
		found = last.secret
	}
	r.mu.Unlock()

	if !known {
		if found, err = r.readFromAPI(ctx, key); err != nil {
			return err
		}
	}
	if found == nil {
		return notInCache
	}
	found.DeepCopyInto(secret)
	return nil
}

func (r *SecretReader) ttl() time.Duration {
	if r.TTL == 0 {
		return UnlabelledSecretTTL
	}
	return r.TTL
}

// readFromAPI reads key from the API server and keeps what it read (nil:
// not found).
func (r *SecretReader) readFromAPI(ctx context.Context, key client.ObjectKey) (*corev1.Secret, error) {
	fresh := &corev1.Secret{}
	switch err := r.API.Get(ctx, key, fresh); {
	case apierrors.IsNotFound(err):
		fresh = nil
	case err != nil:
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.read == nil {
		r.read = map[client.ObjectKey]*apiRead{}
	}
	r.read[key] = &apiRead{secret: fresh, at: r.Now()}
	return fresh, nil
}

// renew reads key again in the background. When the API server cannot
// answer, what was read before stays in use, and is renewed again after TTL.
func (r *SecretReader) renew(key client.ObjectKey) {
	ctx, cancel := context.WithTimeout(context.Background(), renewTimeout)
	defer cancel()
	if _, err := r.readFromAPI(ctx, key); err != nil {
		r.mu.Lock()
		if last, ok := r.read[key]; ok {
			last.at, last.renewing = r.Now(), false
		}
		r.mu.Unlock()
	}
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
