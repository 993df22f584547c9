package webhookserver_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// claimApp creates namespace ns and in it a ChatApp of sdkAppID, signed
// with token when it is not empty.
func claimApp(t *testing.T, ns string, sdkAppID int64, token string) *chatv1alpha1.ChatApp {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID}}
	if token != "" {
		if err := env.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat-callback", Labels: labelled}, Data: map[string][]byte{"token": []byte(token)},
		}); err != nil {
			t.Fatal(err)
		}
		app.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "chat-callback"}}
	}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	waitForReceivers(t, app)
	return app
}

// TestASquatterCannotTakeAnotherTenantsApp: tenants of two namespaces claim
// the owner's sdkAppID before the owner does, one without callbackAuth and
// one with a token of their own. The owner's signed callbacks still reach
// only the owner's namespace, on every receiver, and unsigned ones are
// refused even where unsigned callbacks are allowed.
func TestASquatterCannotTakeAnotherTenantsApp(t *testing.T) {
	id := 1400100000 + nextApp.Add(1)
	suffix := strconv.FormatInt(id, 10)
	unsigned := claimApp(t, "squat-open-"+suffix, id, "")
	guessed := claimApp(t, "squat-guess-"+suffix, id, "a guess")
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	owner := claimApp(t, "owner-"+suffix, id, "the owner's token")

	for i, u := range append([]string{strict}, replicas...) {
		if status, answer := send(t, u, id, "the owner's token", roomInfo("owned-"+strconv.Itoa(i), 1000)); status != http.StatusOK {
			t.Fatalf("receiver %d answered the owner's callback %d %v", i, status, answer)
		}
		if status, _ := send(t, u, id, "", roomInfo("unsigned-"+strconv.Itoa(i), 1000)); status != http.StatusUnauthorized {
			t.Errorf("receiver %d answered an unsigned callback %d, want 401", i, status)
		}
	}
	if n := len(listRooms(t, owner.Namespace)); n != 3 {
		t.Errorf("%d Rooms in the owner's namespace, want 3", n)
	}
	for _, squatter := range []*chatv1alpha1.ChatApp{unsigned, guessed} {
		if rooms := listRooms(t, squatter.Namespace); len(rooms) != 0 {
			t.Errorf("%d Rooms in %s", len(rooms), squatter.Namespace)
		}
	}
	// The squatter with a token of its own gets what is signed with it.
	if status, answer := send(t, strict, id, "a guess", roomInfo("guessed", 1000)); status != http.StatusOK {
		t.Fatalf("the squatter's own signed callback: %d %v", status, answer)
	}
	if n := len(listRooms(t, guessed.Namespace)); n != 1 {
		t.Errorf("%d Rooms in the squatter's namespace, want 1", n)
	}
}

// TestUnsignedCallbacksAreRefusedByDefault: a ChatApp without callbackAuth
// gets no callbacks from a receiver that does not allow unsigned ones, and
// nothing is written.
func TestUnsignedCallbacksAreRefusedByDefault(t *testing.T) {
	app := newApp(t, nil)
	for _, token := range []string{"", "any token"} {
		status, answer := send(t, strict, app.Spec.SDKAppID, token, roomInfo("unsigned", 1000))
		if status != http.StatusUnauthorized {
			t.Fatalf("answered %d %v, want 401", status, answer)
		}
	}
	if rooms := listRooms(t, app.Namespace); len(rooms) != 0 {
		t.Fatalf("%d Rooms written", len(rooms))
	}
	mustSend(t, replicas[0], app, roomInfo("unsigned", 1000)) // allowed there
}
