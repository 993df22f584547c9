package testenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// TestScanForLeaks puts one credential in one place a viewer can read and
// expects the scan to name that place and what it found there, without
// giving the credential away.
func TestScanForLeaks(t *testing.T) {
	const (
		token   = "the-callback-token"
		key     = "the-secret-key"
		userSig = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwsZQkVQwUCwsBZV*AlY_"
	)
	secrets := []Secret{{"callback token", token}, {"secret key", key}, {"UserSig the fake Tencent accepted", userSig}}
	leakyURL := "Post \"http://127.0.0.1:1/v4/room_engine_http_srv/get_room_info?identifier=administrator&usersig=" +
		url.QueryEscape(userSig) + "\": dial tcp 127.0.0.1:1: connect: connection refused"
	room := func(msg string) client.Object {
		return &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "board"},
			Status: chatv1alpha1.RoomStatus{Conditions: []metav1.Condition{
				{Type: "Synced", Status: metav1.ConditionTrue, Reason: "Synced", Message: "fine"},
				{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Reconciling", Message: msg},
			}},
		}
	}
	for _, tc := range []struct {
		name    string
		objects []client.Object
		log     string
		metrics string
		// want are the parts of the report, "" for none.
		want []string
	}{
		{
			name:    "nothing leaked",
			objects: []client.Object{room("Creating room board in Tencent; the last attempt failed and is tried again: connection refused")},
			log:     "INFO\tManaging the room failed\t{\"message\": \"connection refused\"}\n",
		},
		{
			name:    "a REST URL in a Room's condition",
			objects: []client.Object{room("the last attempt failed: " + leakyURL)},
			want:    []string{"Room chat/board status.conditions[1].message holds", `"usersig="`, `UserSig the fake Tencent accepted ("eJyr"…)`, "usersig=<masked>"},
		},
		{
			name: "a token in a core/v1 Event",
			objects: []client.Object{&corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Namespace: "chat", Name: "board.1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Room", Namespace: "chat", Name: "board"},
				Type:           corev1.EventTypeWarning, Reason: "Oops", Message: "signed with " + token,
			}},
			want: []string{"Event chat/board.1 message holds", `callback token ("the-"…)`, "signed with <masked callback token>"},
		},
		{
			name: "a key in an events.k8s.io Event",
			objects: []client.Object{&eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "app.2"},
				Regarding:  corev1.ObjectReference{Kind: "ChatApp", Namespace: "chat", Name: "app"},
				Type:       corev1.EventTypeWarning, Reason: "Oops", Action: "Resync", Note: "key=" + key,
				EventTime: metav1.NowMicro(), ReportingController: "roomsync", ReportingInstance: "roomsync-1",
			}},
			want: []string{"events.k8s.io Event chat/app.2 note holds", `secret key ("the-"…)`},
		},
		{
			name: "a UserSig in a ChatApp's status",
			objects: []client.Object{&chatv1alpha1.ChatApp{
				ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "app"},
				Status: chatv1alpha1.ChatAppStatus{CallbackRegistration: &chatv1alpha1.CallbackRegistrationStatus{
					Reason: "TencentUnavailable", Message: "get_callback: UserSig " + userSig + " refused",
				}},
			}},
			want: []string{"ChatApp chat/app status.callbackRegistration.message holds", `UserSig the fake Tencent accepted`},
		},
		{
			name: "a REST URL in an operator's log, on many lines",
			log: "INFO\tstarting\n" +
				strings.Repeat("ERROR\tReconciler error\t{\"error\": \"get_room_info: "+strings.ReplaceAll(leakyURL, `"`, `\"`)+"\"}\n", 3),
			want: []string{"the log of operator 1 (pid 0) holds", `"usersig=" (3 times): line 2: ERROR`},
		},
		{
			name: "a token in a metric's label",
			metrics: "# TYPE roomsync_callbacks_total counter\n" +
				`roomsync_callbacks_total{result="applied"} 3` + "\n" +
				`roomsync_callbacks_total{result="` + token + `"} 1` + "\n",
			want: []string{"the metrics of operator 1 (pid 0) holds", `callback token ("the-"…)`, "line 3: roomsync_callbacks_total"},
		},
		{
			name:    "clean metrics",
			metrics: "# TYPE roomsync_callbacks_total counter\n" + `roomsync_callbacks_total{result="applied"} 3` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(Scheme).WithObjects(tc.objects...).WithStatusSubresource(tc.objects...).Build()
			o := &Operator{Cmd: &exec.Cmd{}, Log: &LogBuffer{}}
			_, _ = o.Log.Write([]byte(tc.log))
			if tc.metrics != "" {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, tc.metrics)
				}))
				defer srv.Close()
				o.MetricsURL = srv.URL + "/metrics"
			}
			err := ScanForLeaks(context.Background(), c, []*Operator{o}, secrets)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("found a leak where there is none: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no leak found")
			}
			report := err.Error()
			for _, want := range tc.want {
				if !strings.Contains(report, want) {
					t.Errorf("the report lacks %q:\n%s", want, report)
				}
			}
			for _, s := range secrets {
				if strings.Contains(report, s.Value) || strings.Contains(report, url.QueryEscape(s.Value)) {
					t.Errorf("the report gives away the %s:\n%s", s.Kind, report)
				}
			}
		})
	}
}
