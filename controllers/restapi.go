package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/tencent"
)

// ErrNoRESTAPI is returned for a ChatApp without spec.restAPI.
var ErrNoRESTAPI = errors.New("the ChatApp has no spec.restAPI")

// RESTAPIs hands out the REST API client of each ChatApp. Every controller
// that calls Tencent for an app (resync, room management, the callback
// registration) gets the same client, and so draws from the same request
// budget: spec.restAPI.requestsPerSecond, waited on before every attempt.
type RESTAPIs struct {
	// Secrets reads the secret key Secrets (lookup.SecretReader).
	Secrets client.Reader
	// HTTP sends the requests; its Timeout bounds each attempt.
	HTTP *http.Client

	mu   sync.Mutex
	apps map[types.NamespacedName]*appREST
}

// appREST is one app's client and the configuration it was made with.
type appREST struct {
	cfg     restConfig
	client  *tencent.RESTClient
	limiter *rate.Limiter
}

// restConfig is what an app's client is made from; a change makes a new
// client (the limiter is kept, so a change does not reset the budget).
type restConfig struct {
	sdkAppID        int64
	endpoint, admin string
	secretKey       string
}

// For returns app's REST API client. The error wraps ErrNoRESTAPI without
// spec.restAPI, and lookup.ErrSecretKeyNotFound when its Secret or key is
// missing.
func (r *RESTAPIs) For(ctx context.Context, app *chatv1alpha1.ChatApp) (*tencent.RESTClient, error) {
	spec := app.Spec.RestAPI
	if spec == nil {
		return nil, fmt.Errorf("ChatApp %s/%s: %w", app.Namespace, app.Name, ErrNoRESTAPI)
	}
	secretKey, err := lookup.RESTSecretKey(ctx, r.Secrets, app)
	if err != nil {
		return nil, err
	}
	cfg := restConfig{sdkAppID: app.Spec.SDKAppID, endpoint: spec.Endpoint, admin: spec.Administrator, secretKey: secretKey}
	perSecond := rate.Limit(requestsPerSecond(spec))

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.apps == nil {
		r.apps = map[types.NamespacedName]*appREST{}
	}
	key := client.ObjectKeyFromObject(app)
	a, ok := r.apps[key]
	if !ok {
		a = &appREST{limiter: rate.NewLimiter(perSecond, 1)}
		r.apps[key] = a
	}
	if a.limiter.Limit() != perSecond {
		a.limiter.SetLimit(perSecond)
	}
	if a.client == nil || a.cfg != cfg {
		a.cfg = cfg
		a.client = r.newClient(cfg, a.limiter)
	}
	return a.client, nil
}

// Forget drops the client of a ChatApp that is gone or has no restAPI.
func (r *RESTAPIs) Forget(app types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.apps, app)
}

// userSigLifetime is how long each administrator UserSig is valid. Making
// one costs an HMAC, and a short life bounds what a leaked one gives away.
// The cache renews it when a tenth is left, 6 minutes: ample for a call's
// attempts and for the clocks of roomsync and Tencent to differ.
const userSigLifetime = time.Hour

func (r *RESTAPIs) newClient(cfg restConfig, limiter *rate.Limiter) *tencent.RESTClient {
	sigs := &tencent.UserSigCache{SDKAppID: cfg.sdkAppID, Key: cfg.secretKey, Identifier: cfg.admin, Lifetime: userSigLifetime, Now: time.Now}
	return &tencent.RESTClient{
		Endpoint: cfg.endpoint, SDKAppID: cfg.sdkAppID, Identifier: cfg.admin,
		UserSig: sigs.Get, HTTP: r.HTTP, Attempts: 3, Backoff: 500 * time.Millisecond,
		Wait:    limiter.Wait,
		Observe: func(command, code string) { restRequestsTotal.WithLabelValues(command, code).Inc() },
	}
}

// requestsPerSecond is spec's request budget (the CRD's default when unset).
func requestsPerSecond(spec *chatv1alpha1.RestAPISpec) int32 {
	if spec.RequestsPerSecond != nil {
		return *spec.RequestsPerSecond
	}
	return 20
}

// sweepRequestsPerSecond is the sweep's share of spec's request budget (the
// CRD's default when unset), never more than the budget itself.
func sweepRequestsPerSecond(spec *chatv1alpha1.RestAPISpec) int32 {
	share := int32(10)
	if spec.ResyncRequestsPerSecond != nil {
		share = *spec.ResyncRequestsPerSecond
	}
	return min(share, requestsPerSecond(spec))
}

// resyncInterval is spec's resync interval (the CRD's default when unset).
func resyncInterval(spec *chatv1alpha1.RestAPISpec) time.Duration {
	if spec != nil && spec.ResyncInterval != nil {
		return spec.ResyncInterval.Duration
	}
	return 10 * time.Minute
}
