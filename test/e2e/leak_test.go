package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
	"github.com/roomsync/roomsync/internal/testenv"
)

// TestLeakNoCredentialWhenTheRESTAPIFails runs an app that works (a fake
// Tencent that checks the UserSig, a registered callback URL, a declared
// Room created and Ready) until its REST API endpoint stops answering:
// nothing listens there, or every connection is reset. The failure must
// show where a user looks (the Room's status.management.failure and Ready,
// the ChatApp's CallbackRegistered, a Warning Event when the Room's room
// cannot be destroyed), and no credential may show anywhere: not in an
// object a viewer can read, not in an Event, not in the operators' logs.
func TestLeakNoCredentialWhenTheRESTAPIFails(t *testing.T) {
	for i, tc := range []struct {
		name string
		// endpoint starts the failing endpoint; sent returns the UserSigs
		// that reached it.
		endpoint func(t *testing.T) (endpoint string, sent func() []string)
		// cause is what the failure's message says, in one of its forms.
		cause []string
	}{
		{name: "refused", endpoint: closedPort, cause: []string{"connection refused"}},
		{name: "reset", endpoint: resettingEndpoint, cause: []string{"connection reset", "broken pipe", "EOF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns, appID := "e2e-leak-"+tc.name, int64(1400000041+i)
			key, token := "leak-secret-key-"+tc.name, "leak-token-"+tc.name
			fake := tencenttest.NewServer(t, appID, "administrator", key)
			fake.SetCallbackToken(token)
			app := &chatv1alpha1.ChatApp{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
				Spec: chatv1alpha1.ChatAppSpec{
					SDKAppID: appID,
					RestAPI: &chatv1alpha1.RestAPISpec{
						Endpoint: fake.URL, Administrator: "administrator",
						SecretKeyRef:   chatv1alpha1.SecretKeyReference{Name: "tencent-rest"},
						ResyncInterval: &metav1.Duration{Duration: 2 * time.Second},
					},
					CallbackRegistration: &chatv1alpha1.CallbackRegistration{URL: callbackURL},
				},
			}
			if err := testenv.CreateSignedApp(ctx, env.Client, app, token); err != nil {
				t.Fatal(err)
			}
			room := &chatv1alpha1.Room{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "board"},
				Spec: chatv1alpha1.RoomSpec{
					SDKAppID: appID, RoomID: "leak-" + tc.name,
					ManagementPolicies: []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementAll},
					Settings:           &chatv1alpha1.RoomSettings{RoomName: ptr.To("Board")},
				},
			}
			for _, obj := range []client.Object{
				&corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tencent-rest", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
					StringData: map[string]string{"secretKey": key},
				},
				room,
			} {
				if err := env.Client.Create(ctx, obj); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				// Without Delete, the Room goes without asking Tencent.
				_ = env.Client.Patch(ctx, room, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"managementPolicies":["Observe","Create","Update"]}}`)))
				_ = env.Client.Delete(ctx, room)
				waitUntil(t, "the Room is gone", func() bool {
					return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(room), &chatv1alpha1.Room{}))
				})
				_ = env.Client.Delete(ctx, app)
			})

			waitFor(t, app, "the callback URL is registered", func() bool {
				return isTrue(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition)
			})
			waitFor(t, room, "the declared room is created, Ready and Synced", func() bool {
				return isTrue(room.Status.Conditions, chatv1alpha1.ReadyCondition) && isTrue(room.Status.Conditions, chatv1alpha1.SyncedCondition)
			})

			// The endpoint fails; the Room wants a change.
			endpoint, sent := tc.endpoint(t)
			for _, p := range []struct {
				obj   client.Object
				patch string
			}{
				{app, fmt.Sprintf(`{"spec":{"restAPI":{"endpoint":%q}}}`, endpoint)},
				{room, `{"spec":{"settings":{"roomName":"Board, renamed"}}}`},
			} {
				if err := env.Client.Patch(ctx, p.obj, client.RawPatch("application/merge-patch+json", []byte(p.patch))); err != nil {
					t.Fatal(err)
				}
			}
			mentionsCause := func(msg string) bool {
				for _, c := range tc.cause {
					if strings.Contains(msg, c) {
						return true
					}
				}
				return false
			}
			waitFor(t, app, "the ChatApp says the callback registration cannot be checked", func() bool {
				c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition)
				st := app.Status.CallbackRegistration
				return c != nil && c.Status == metav1.ConditionFalse && c.Reason == chatv1alpha1.TencentUnavailableReason &&
					st != nil && st.Reason == chatv1alpha1.TencentUnavailableReason && mentionsCause(st.Message)
			})
			waitFor(t, room, "the Room says the update failed, and why", func() bool {
				m := room.Status.Management
				ready := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.ReadyCondition)
				return m != nil && m.Failure != nil && m.Failure.Reason == chatv1alpha1.TencentUnavailableReason &&
					m.Failure.Command == tencent.CommandUpdateRoom && mentionsCause(m.Failure.Message) &&
					ready != nil && ready.Status == metav1.ConditionFalse && mentionsCause(ready.Message)
			})

			// Deleting the Room cannot destroy its room: a Warning Event.
			if err := env.Client.Delete(ctx, room); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "a Warning Event says the room could not be destroyed", func() bool {
				var events corev1.EventList
				if err := env.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
					return false
				}
				for _, e := range events.Items {
					if e.Type == corev1.EventTypeWarning && e.InvolvedObject.Kind == "Room" && e.InvolvedObject.Name == room.Name &&
						e.Reason == chatv1alpha1.TencentUnavailableReason && mentionsCause(e.Message) {
						return true
					}
				}
				return false
			})

			var extra []testenv.Secret
			for _, sig := range sent() {
				extra = append(extra, testenv.Secret{Kind: "UserSig sent to the failing endpoint", Value: sig})
			}
			if err := env.CheckNoLeaks(ctx, extra...); err != nil {
				t.Error(err)
			}
		})
	}
}

// closedPort returns the URL of a local port where nothing listens: every
// connection is refused.
func closedPort(t *testing.T) (string, func() []string) {
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr, func() []string { return nil }
}

// resettingEndpoint starts a local listener that reads each request's first
// line and then resets the connection (TCP RST). It returns its URL and the
// UserSigs the requests carried.
func resettingEndpoint(t *testing.T) (string, func() []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var (
		mu   sync.Mutex
		sigs []string
	)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(conn).ReadString('\n')
				if f := strings.Fields(line); len(f) == 3 {
					if u, err := url.ParseRequestURI(f[1]); err == nil && u.Query().Get("usersig") != "" {
						mu.Lock()
						sigs = append(sigs, u.Query().Get("usersig"))
						mu.Unlock()
					}
				}
				_ = conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}()
		}
	}()
	return "http://" + ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sigs...)
	}
}
