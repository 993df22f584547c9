package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

// TestResyncFromTheRESTAPI gives the app a REST API (a fake Tencent that
// checks the UserSig) and asks, with kubectl annotate, for a resync of a
// Room whose last callback was lost: the leader, with only the shipped
// permissions, reads it and heals the Room.
func TestResyncFromTheRESTAPI(t *testing.T) {
	ctx := context.Background()
	const secretKey = "e2e-secret-key"
	tencent := tencenttest.NewServer(t, sdkAppID, "administrator", secretKey)

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "tencent-rest"}, StringData: map[string]string{"secretKey": secretKey}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "demo"}}
	patch := fmt.Sprintf(`{"spec":{"restAPI":{"endpoint":%q,"administrator":"administrator","secretKeyRef":{"name":"tencent-rest"},"resyncInterval":"1h"}}}`, tencent.URL)
	given := time.Now().Truncate(time.Second) // as status times are
	if err := env.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"restAPI":null}}`)))
		_ = env.Client.Delete(ctx, secret)
	})
	// A new REST API gets a full pass: let it end first, so that the only
	// read of the Room is the one requested (a pass reading it at the same
	// time could heal it first, and the request would rightly find no
	// drift).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			t.Fatal(err)
		}
		if r := app.Status.Resync; r != nil && r.StartTime != nil && !r.StartTime.Time.Before(given) &&
			r.CompletionTime != nil && !r.CompletionTime.Before(r.StartTime) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the full pass of the new REST API did not end within 30 s: %+v", app.Status.Resync)
		}
	}

	body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":"resync-e2e","RoomName":"before"}}`, time.Now().UnixMilli()-60_000)
	if status, answer := post(t, body, ""); status != http.StatusOK {
		t.Fatalf("answer %d %v", status, answer)
	}
	tencent.SetRoom("resync-e2e", "after a lost callback")

	name := roomstore.NameFor("resync-e2e")
	kubectl(t, "annotate", "room", name, "-n", namespace, "--overwrite", chatv1alpha1.ResyncRequestedAtAnnotation+"=2026-11-25T12:00:00Z")
	room := waitForRoom(t, name, "the requested resync heals the Room", func(r *chatv1alpha1.Room) bool {
		return r.Status.Resync != nil && r.Status.Resync.HandledRequest == "2026-11-25T12:00:00Z" && r.Status.RoomName == "after a lost callback"
	})
	if !room.Status.Resync.DriftFound {
		t.Error("the healed Room does not say drift was found")
	}
	if len(tencent.Requests("resync-e2e")) == 0 {
		t.Error("the fake REST API was never asked")
	}
	if out := kubectl(t, "get", "room", name, "-n", namespace, "-o", "wide"); !strings.Contains(out, "LAST RESYNC") {
		t.Errorf("kubectl get room -o wide has no Last Resync column:\n%s", out)
	}
	if out := kubectl(t, "get", "chatapp", "demo", "-n", namespace, "-o", "wide"); !strings.Contains(out, "LAST RESYNC") {
		t.Errorf("kubectl get chatapp -o wide has no Last Resync column:\n%s", out)
	}
}

// TestActiveRoomsAreRecorded: the elected replica records an app's most
// recently active Rooms in its own namespace, with the permissions it
// ships with (config/rbac), for a catch-up to start from after an outage.
func TestActiveRoomsAreRecorded(t *testing.T) {
	ctx := context.Background()
	tencent := tencenttest.NewServer(t, sdkAppID, "administrator", "e2e-secret-key")
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "demo"}}
	patch := fmt.Sprintf(`{"spec":{"restAPI":{"endpoint":%q,"administrator":"administrator","secretKeyRef":{"name":"absent"},"resyncInterval":"1h"}}}`, tencent.URL)
	if err := env.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"restAPI":null}}`)))
	})
	body := fmt.Sprintf(`{"CallbackCommand":"Room.CallbackAfterUpdateRoomInfo","EventTime":%d,"RoomInfo":{"RoomId":"active-e2e","RoomName":"busy"}}`, time.Now().UnixMilli())
	if status, answer := post(t, body, ""); status != http.StatusOK {
		t.Fatalf("answer %d %v", status, answer)
	}
	key := fmt.Sprintf("%s.%d", namespace, sdkAppID)
	deadline := time.Now().Add(30 * time.Second)
	for {
		cm := &corev1.ConfigMap{}
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: "roomsync-system", Name: controllers.ActiveRoomsName}, cm)
		first, _, _ := strings.Cut(cm.Data[key], "\n")
		if _, name, _ := strings.Cut(first, " "); err == nil && name == roomstore.NameFor("active-e2e") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record of the active Room in roomsync-system within 30 s: %v, %v", cm.Data, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
