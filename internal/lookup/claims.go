package lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

// A Claim is a ChatApp that claims an sdkAppID, with the callback tokens it
// checks a callback's Sign against.
//
// Several ChatApps, in any namespaces, may claim one sdkAppID: a namespace
// editor can create a ChatApp with any sdkAppID, and sdkAppIDs are no secret
// (they ship inside client apps). Who gets a callback is therefore decided
// by what the callback proves, not by who claimed first:
//
//   - A signed callback goes to the oldest claim whose token verifies its
//     Sign ([SignedBy]). A claim whose token does not verify gets nothing,
//     and is no conflict for the claim whose token does.
//   - Claims without callbackAuth (possible only where the operator allows
//     unsigned callbacks) get nothing while any claim has callbackAuth;
//     otherwise the oldest of them gets every callback.
//
// [ShadowedBy] says which older claim takes a claim's callbacks: the same
// rule, seen from a ChatApp's status rather than from one callback.
type Claim struct {
	App *chatv1alpha1.ChatApp
	// Tokens are the callback tokens a Sign for App may be made with
	// ([CallbackTokens]); nil without callbackAuth, or when TokenErr is set.
	Tokens []string
	// TokenErr says why the tokens could not be read. Such a claim verifies
	// no Sign.
	TokenErr error
}

// Signed reports whether the claim's ChatApp authenticates its callbacks
// (spec.callbackAuth is set).
func (c *Claim) Signed() bool { return c.App.Spec.CallbackAuth != nil }

// shares reports whether c and other have a callback token in common.
func (c *Claim) shares(other *Claim) bool {
	return slices.ContainsFunc(c.Tokens, func(t string) bool { return t != "" && slices.Contains(other.Tokens, t) })
}

// Claims returns every ChatApp, in any namespace, that claims sdkAppID,
// oldest first, each with its callback tokens. r must be able to read the
// token Secrets ([SecretReader] reads the rest from the cache). An error
// reading one Secret is kept in that claim's TokenErr, not returned.
func Claims(ctx context.Context, r client.Reader, sdkAppID int64) ([]*Claim, error) {
	apps, err := ChatApps(ctx, r, sdkAppID)
	if err != nil {
		return nil, err
	}
	return withTokens(ctx, r, apps), nil
}

func withTokens(ctx context.Context, r client.Reader, apps []*chatv1alpha1.ChatApp) []*Claim {
	claims := make([]*Claim, len(apps))
	for i, app := range apps {
		c := &Claim{App: app}
		c.Tokens, c.TokenErr = CallbackTokens(ctx, r, app)
		claims[i] = c
	}
	return claims
}

// SignedBy returns the claim a callback signed with sign at requestTime goes
// to: the oldest claim with callbackAuth whose tokens verify sign, or nil.
// It does not check that requestTime is recent: that is the chosen claim's
// maxClockSkew.
func SignedBy(claims []*Claim, sign, requestTime string) *Claim {
	for _, c := range claims {
		if c.Signed() && c.TokenErr == nil && tencent.VerifySign(sign, requestTime, c.Tokens...) {
			return c
		}
	}
	return nil
}

// AnySigned reports whether any claim has callbackAuth: then every callback
// of the sdkAppID must be signed.
func AnySigned(claims []*Claim) bool {
	return slices.ContainsFunc(claims, (*Claim).Signed)
}

// ShadowedBy returns the claim that takes the callbacks claims[i] would
// otherwise get, or nil when none does (claims oldest first, as [Claims]
// returns them):
//   - a claim with callbackAuth is shadowed by the oldest older claim with
//     callbackAuth that has one of its tokens (a claim whose tokens cannot
//     be read shadows none, and is shadowed by none);
//   - a claim without callbackAuth is shadowed by the oldest claim with
//     callbackAuth, or else by the oldest claim older than itself.
func ShadowedBy(claims []*Claim, i int) *Claim {
	c := claims[i]
	if !c.Signed() {
		if first := slices.IndexFunc(claims, (*Claim).Signed); first >= 0 {
			return claims[first]
		}
		if i > 0 {
			return claims[0]
		}
		return nil
	}
	if c.TokenErr != nil {
		return nil
	}
	for _, older := range claims[:i] {
		if older.Signed() && older.TokenErr == nil && older.shares(c) {
			return older
		}
	}
	return nil
}

// ClaimOf returns the claim of app among claims and its index, or nil and
// -1 when app is not among them (it is being deleted, or the cache has not
// seen it yet).
func ClaimOf(claims []*Claim, app *chatv1alpha1.ChatApp) (*Claim, int) {
	i := slices.IndexFunc(claims, func(c *Claim) bool { return c.App.UID == app.UID })
	if i < 0 {
		return nil, -1
	}
	return claims[i], i
}

// ChatAppFor returns the ChatApp that governs the Rooms of sdkAppID in
// namespace: the oldest ChatApp in namespace that claims sdkAppID and is
// not shadowed (see [ShadowedBy]), or nil. r must be able to read token
// Secrets when ChatApps in several namespaces claim sdkAppID.
func ChatAppFor(ctx context.Context, r client.Reader, namespace string, sdkAppID int64) (*chatv1alpha1.ChatApp, error) {
	apps, err := ChatApps(ctx, r, sdkAppID)
	if err != nil {
		return nil, err
	}
	local := slices.IndexFunc(apps, func(a *chatv1alpha1.ChatApp) bool { return a.Namespace == namespace })
	switch {
	case local < 0:
		return nil, nil
	case len(apps) == 1:
		return apps[0], nil // the common case: no Secret to read
	}
	claims := withTokens(ctx, r, apps)
	for i, c := range claims {
		if c.App.Namespace != namespace {
			continue
		}
		if err := transientTokenErr(c.TokenErr); err != nil {
			return nil, err
		}
		if ShadowedBy(claims, i) == nil {
			return c.App, nil
		}
	}
	return nil, nil
}

// transientTokenErr returns err unless it says the token Secret or its key
// is missing: a claim's Secret that could not be read now may be read on a
// retry, and until then who governs is not known.
func transientTokenErr(err error) error {
	if err == nil || errors.Is(err, ErrTokenSecretNotFound) || errors.Is(err, ErrTokenKeyNotFound) {
		return nil
	}
	return fmt.Errorf("reading a callback token: %w", err)
}

// Describe names claim's ChatApp as a status of a ChatApp in namespace may:
// by name when it is in namespace too, otherwise only as "a ChatApp in
// another namespace". A tenant's status must not tell of objects in other
// tenants' namespaces; the operator's log may.
func Describe(claim *Claim, namespace string) string {
	if claim.App.Namespace == namespace {
		return "ChatApp " + claim.App.Name
	}
	return "a ChatApp in another namespace"
}
