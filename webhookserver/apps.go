package webhookserver

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/roomsync/roomsync/internal/lookup"
)

// KubeApps resolves SdkAppids to ChatApps through the manager's cache.
type KubeApps struct {
	Client client.Reader
}

// Resolve implements AppResolver. The holder of an sdkAppID is the oldest
// ChatApp that claims it, as the ChatApp controller reports.
func (k KubeApps) Resolve(ctx context.Context, sdkAppID int64) (*ResolvedApp, error) {
	apps, err := lookup.ChatApps(ctx, k.Client, sdkAppID)
	if err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return nil, ErrUnknownApp
	}
	resolved := &ResolvedApp{App: apps[0]}
	resolved.Tokens, resolved.TokenErr = lookup.CallbackTokens(ctx, k.Client, apps[0])
	return resolved, nil
}
