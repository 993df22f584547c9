package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// claim creates, in a new namespace, a ChatApp of sdkAppID signed with
// token ("" for none).
func claim(t *testing.T, sdkAppID int64, token string) *chatv1alpha1.ChatApp {
	t.Helper()
	ns := newNamespace(t)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID}}
	var objs []client.Object
	if token != "" {
		objs = append(objs, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat-callback", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
			StringData: map[string]string{"token": token},
		})
		app.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "chat-callback"}}
	}
	for _, obj := range append(objs, app) {
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// TestSquattersDoNotStallTheOwner: tenants claim the owner's sdkAppID
// before the owner does, without callbackAuth and with a token of their
// own. The owner is Ready however many squatters there are; the squatter
// without auth is the one in conflict; and no status names another
// tenant's namespace. A ChatApp with the owner's very token (the same app
// moved to another namespace, say) does conflict.
func TestSquattersDoNotStallTheOwner(t *testing.T) {
	id := newSDKAppID()
	unsigned := claim(t, id, "")
	guessed := claim(t, id, "a guess")
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	owner := claim(t, id, "the owner's token")

	eventually(t, owner, "the owner accepts callbacks", func() bool {
		return readyReason(owner.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})
	if res := health(t, owner); res.Status != kstatus.CurrentStatus {
		t.Errorf("the owner is %s (%s), want Current", res.Status, res.Message)
	}
	eventually(t, unsigned, "the squatter without auth is in conflict", func() bool {
		return readyReason(unsigned.Status.Conditions) == "False/"+chatv1alpha1.SDKAppIDConflictReason
	})
	eventually(t, guessed, "the squatter with its own token accepts what is signed with it", func() bool {
		return readyReason(guessed.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})

	time.Sleep(1100 * time.Millisecond)
	copied := claim(t, id, "the owner's token")
	eventually(t, copied, "a ChatApp with the owner's token is in conflict", func() bool {
		return readyReason(copied.Status.Conditions) == "False/"+chatv1alpha1.SDKAppIDConflictReason
	})
	// Still Ready, and still the one that governs its Rooms.
	eventually(t, owner, "the owner stays Ready", func() bool {
		return readyReason(owner.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})

	for _, app := range []*chatv1alpha1.ChatApp{unsigned, guessed, owner, copied} {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), app); err != nil {
			t.Fatal(err)
		}
		for _, c := range app.Status.Conditions {
			for _, other := range []*chatv1alpha1.ChatApp{unsigned, guessed, owner, copied} {
				if other.Namespace != app.Namespace && strings.Contains(c.Message, other.Namespace) {
					t.Errorf("ChatApp %s/%s's %s condition names namespace %s: %q", app.Namespace, app.Name, c.Type, other.Namespace, c.Message)
				}
			}
		}
	}
	if msg := meta.FindStatusCondition(copied.Status.Conditions, chatv1alpha1.ReadyCondition).Message; !strings.Contains(msg, "same callback token") {
		t.Errorf("the copy's message %q does not say why", msg)
	}
}

// TestAnUnsignedChatAppIsWarnedAbout: where unsigned callbacks are allowed
// (this suite's --allow-unsigned-callbacks), a ChatApp without
// callbackAuth is Ready, and its Ready message and a Warning Event say that
// its callbacks are unauthenticated.
func TestAnUnsignedChatAppIsWarnedAbout(t *testing.T) {
	app := claim(t, newSDKAppID(), "")
	eventually(t, app, "the ChatApp is Ready", func() bool {
		return readyReason(app.Status.Conditions) == "True/"+chatv1alpha1.AcceptingCallbacksReason
	})
	if msg := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.ReadyCondition).Message; !strings.Contains(msg, "WITHOUT authentication") {
		t.Errorf("Ready message %q does not warn", msg)
	}
	e := waitForEventAbout(t, app.Namespace, "ChatApp", app.Name, chatv1alpha1.CallbacksUnauthenticatedEvent)
	if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, "spec.callbackAuth") {
		t.Errorf("Event %s %q, want a Warning that says how to authenticate", e.Type, e.Note)
	}
}
