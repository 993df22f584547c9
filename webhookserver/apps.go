package webhookserver

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	chatac "github.com/roomsync/roomsync/api/v1alpha1/applyconfiguration/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
)

// lastCallbackPeriod is how often, at most, a ChatApp's
// status.lastCallbackTime is written: once per callback would double the
// API writes of the receiver.
const lastCallbackPeriod = 30 * time.Second

// KubeApps finds the ChatApps that claim an SdkAppid through the manager's
// cache, and records on them when their callbacks were last accepted.
type KubeApps struct {
	Client client.Client
	// Secrets reads the token Secrets (lookup.SecretReader: the cache holds
	// only labelled ones).
	Secrets client.Reader
	Log     logr.Logger

	written sync.Map // ChatApp UID -> time.Time of the last lastCallbackTime write
}

// Claims implements AppResolver, with lookup.Claims: the ChatApp
// controller reports the same claims in each ChatApp's status.
func (k *KubeApps) Claims(ctx context.Context, sdkAppID int64) ([]*lookup.Claim, error) {
	return lookup.Claims(ctx, k.Secrets, sdkAppID)
}

// Accepted implements AppResolver: it sets app's status.lastCallbackTime to
// now, unless that was done less than lastCallbackPeriod ago. The write
// happens in the background: the callback's answer does not wait for it.
func (k *KubeApps) Accepted(app *chatv1alpha1.ChatApp, now time.Time) {
	if t := app.Status.LastCallbackTime; t != nil && now.Sub(t.Time) < lastCallbackPeriod {
		return
	}
	if last, ok := k.written.Load(app.UID); ok && now.Sub(last.(time.Time)) < lastCallbackPeriod {
		return
	}
	k.written.Store(app.UID, now)
	name, namespace := app.Name, app.Namespace
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		apply := chatac.ChatApp(name, namespace).WithStatus(chatac.ChatAppStatus().WithLastCallbackTime(metav1.NewTime(now)))
		if err := k.Client.Status().Apply(ctx, apply, client.FieldOwner(roomstore.FieldManager), client.ForceOwnership); err != nil {
			k.Log.Error(err, "Recording the last callback time", "chatApp", types.NamespacedName{Namespace: namespace, Name: name})
		}
	}()
}
