package lookup

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

var (
	// ErrTokenSecretNotFound: the ChatApp's token Secret does not exist.
	ErrTokenSecretNotFound = errors.New("token Secret not found")
	// ErrTokenKeyNotFound: the token Secret has no such key, or it is empty.
	ErrTokenKeyNotFound = errors.New("token key not found")
)

// CallbackTokens returns the callback tokens a Sign for app may be made with,
// or nil when app does not authenticate callbacks. The error wraps
// ErrTokenSecretNotFound or ErrTokenKeyNotFound when the Secret is not
// usable, with a message that names it.
func CallbackTokens(ctx context.Context, r client.Reader, app *chatv1alpha1.ChatApp) ([]string, error) {
	auth := app.Spec.CallbackAuth
	if auth == nil {
		return nil, nil
	}
	ref := auth.TokenSecretRef
	key := ref.Key
	if key == "" {
		key = "token"
	}
	var secret corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: ref.Name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: Secret %s/%s does not exist", ErrTokenSecretNotFound, app.Namespace, ref.Name)
		}
		return nil, fmt.Errorf("reading token Secret %s/%s: %w", app.Namespace, ref.Name, err)
	}
	token := string(secret.Data[key])
	if token == "" {
		return nil, fmt.Errorf("%w: Secret %s/%s has no key %q, or it is empty", ErrTokenKeyNotFound, app.Namespace, ref.Name, key)
	}
	// While a token is rotated, the previous one is accepted too.
	if previous := string(secret.Data[ref.PreviousKey]); ref.PreviousKey != "" && previous != "" {
		return []string{token, previous}, nil
	}
	return []string{token}, nil
}
