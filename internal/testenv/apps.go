package testenv

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// TokenSecret is the Secret CreateSignedApp keeps the callback token in.
const TokenSecret = "chat-callback"

// CreateSignedApp creates app's namespace, a Secret holding token, and app,
// its callbacks signed with that token (spec.callbackAuth is set). The token
// is one of the Secrets that CheckNoLeaks looks for.
func CreateSignedApp(ctx context.Context, c client.Client, app *chatv1alpha1.ChatApp, token string) error {
	registerToken(token)
	app.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{
		TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: TokenSecret, Key: "token"},
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: app.Namespace}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: TokenSecret, Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
			StringData: map[string]string{"token": token},
		},
		app,
	} {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s/%s: %w", obj, app.Namespace, obj.GetName(), err)
		}
	}
	return nil
}

// Recording is a spec.recording whose Jobs run a stand-in recorder image
// (without a kubelet, nothing runs it).
func Recording() *chatv1alpha1.RecordingSpec {
	return &chatv1alpha1.RecordingSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "recorder", Image: "registry.example.com/recorder:1"}},
		}},
	}}}
}
