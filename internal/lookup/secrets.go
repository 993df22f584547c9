package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// ErrSecretKeyNotFound: the Secret of the ChatApp's REST API secret key
	// does not exist, or has no such key, or it is blank.
	ErrSecretKeyNotFound = errors.New("secret key not found")
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
	secret, err := readSecret(ctx, r, app.Namespace, ref.Name, ErrTokenSecretNotFound)
	if err != nil {
		return nil, err
	}
	token := string(secret.Data[key])
	if token == "" {
		return nil, keyNotFound(secret, key, ErrTokenKeyNotFound)
	}
	// While a token is rotated, the previous one is accepted too.
	if previous := string(secret.Data[ref.PreviousKey]); ref.PreviousKey != "" && previous != "" {
		return []string{token, previous}, nil
	}
	return []string{token}, nil
}

// RESTSecretKey returns app's secret key for Tencent's REST API (spec.restAPI
// must be set), without surrounding whitespace. The error wraps
// ErrSecretKeyNotFound when the Secret is not usable, with a message that
// names it.
func RESTSecretKey(ctx context.Context, r client.Reader, app *chatv1alpha1.ChatApp) (string, error) {
	ref := app.Spec.RestAPI.SecretKeyRef
	secret, err := readSecret(ctx, r, app.Namespace, ref.Name, ErrSecretKeyNotFound)
	if err != nil {
		return "", err
	}
	key := strings.TrimSpace(string(secret.Data[ref.Key]))
	if key == "" {
		return "", keyNotFound(secret, ref.Key, ErrSecretKeyNotFound)
	}
	return key, nil
}

// readSecret reads a Secret; when it does not exist, the error wraps
// notFound.
func readSecret(ctx context.Context, r client.Reader, namespace, name string, notFound error) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: Secret %s/%s does not exist", notFound, namespace, name)
		}
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	return secret, nil
}

func keyNotFound(secret *corev1.Secret, key string, sentinel error) error {
	return fmt.Errorf("%w: Secret %s/%s has no key %q, or it is empty", sentinel, secret.Namespace, secret.Name, key)
}
