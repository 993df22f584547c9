package controllers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/testenv"
)

// series gathers g and returns each series as name{label="value",…}
// (labels sorted) with its value.
func series(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(labels)
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = value(f.GetType(), m)
		}
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	return m.GetUntyped().GetValue()
}

func cond(condType string, status metav1.ConditionStatus) metav1.Condition {
	return metav1.Condition{Type: condType, Status: status, Reason: "Test", LastTransitionTime: metav1.Now()}
}

func TestStateMetrics(t *testing.T) {
	old, young := metav1.NewTime(time.Unix(1700000000, 0)), metav1.NewTime(time.Unix(1700000100, 0))
	completed := metav1.NewTime(time.Unix(1700001234, 0))
	objs := []client.Object{
		&chatv1alpha1.ChatApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "conference", CreationTimestamp: old},
			Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: 1400000002, RestAPI: &chatv1alpha1.RestAPISpec{Administrator: "admin"}},
			Status: chatv1alpha1.ChatAppStatus{
				Conditions: []metav1.Condition{cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse), cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue)},
				Resync: &chatv1alpha1.ChatAppResync{Rooms: 10, Checked: 4, Drifted: 1, CompletionTime: &completed,
					Failure: &chatv1alpha1.ResyncFailure{Reason: chatv1alpha1.RESTAPICredentialsRejectedReason, Time: completed}},
			},
		},
		// A younger claimant of the same sdkAppID: the Rooms are not its.
		&chatv1alpha1.ChatApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "copy", CreationTimestamp: young},
			Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: 1400000002},
			Status:     chatv1alpha1.ChatAppStatus{Conditions: []metav1.Condition{cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse)}},
		},
		// Not looked at yet, with a REST API and no resync yet.
		&chatv1alpha1.ChatApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: "quiet", Name: "new", CreationTimestamp: young},
			Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: 1400000003, RestAPI: &chatv1alpha1.RestAPISpec{Administrator: "admin"}},
		},
		room("chat", "a", 1400000002, cond(chatv1alpha1.ReadyCondition, metav1.ConditionTrue), cond(chatv1alpha1.SyncedCondition, metav1.ConditionFalse),
			cond(chatv1alpha1.RecordingCondition, metav1.ConditionTrue)),
		room("chat", "b", 1400000002, cond(chatv1alpha1.ReadyCondition, metav1.ConditionTrue), cond(chatv1alpha1.SyncedCondition, metav1.ConditionTrue)),
		room("chat", "c", 1400000002, cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse), cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue)),
		room("elsewhere", "orphan", 1400000009, cond(chatv1alpha1.ReadyCondition, metav1.ConditionTrue)),
		room("chat", "unseen", 1400000002),
	}
	reader := fake.NewClientBuilder().WithScheme(testenv.Scheme).WithObjects(objs...).Build()

	notLeader := prometheus.NewPedanticRegistry()
	notLeader.MustRegister(&controllers.StateMetrics{Reader: reader, Elected: make(chan struct{})})
	if got := series(t, notLeader); len(got) != 0 {
		t.Errorf("a replica that does not lead reports %v", got)
	}

	elected := make(chan struct{})
	close(elected)
	reg := prometheus.NewPedanticRegistry() // checks the series against Describe
	reg.MustRegister(&controllers.StateMetrics{Reader: reader, Elected: elected})
	got := series(t, reg)

	app := `chatapp="conference",chatapp_namespace="chat"`
	for s, want := range map[string]float64{
		`roomsync_chatapp_condition{` + app + `,condition="Ready",sdk_app_id="1400000002",status="False"}`:                            1,
		`roomsync_chatapp_condition{` + app + `,condition="Ready",sdk_app_id="1400000002",status="True"}`:                             0,
		`roomsync_chatapp_condition{` + app + `,condition="Stalled",sdk_app_id="1400000002",status="True"}`:                           1,
		`roomsync_chatapp_condition{` + app + `,condition="CallbackRegistered",sdk_app_id="1400000002",status="Unknown"}`:             0,
		`roomsync_chatapp_condition{chatapp="new",chatapp_namespace="quiet",condition="Ready",sdk_app_id="1400000003",status="True"}`: 0,
		`roomsync_chatapp_resync_rooms{` + app + `}`:                                                                                  10,
		`roomsync_chatapp_resync_checked_rooms{` + app + `}`:                                                                          4,
		`roomsync_chatapp_resync_drifted_rooms{` + app + `}`:                                                                          1,
		`roomsync_chatapp_resync_last_completion_timestamp_seconds{` + app + `}`:                                                      1700001234,
		`roomsync_chatapp_resync_failed{` + app + `,reason="RESTAPICredentialsRejected"}`:                                             1,
		`roomsync_chatapp_resync_failed{chatapp="new",chatapp_namespace="quiet",reason=""}`:                                           0,
		`roomsync_chatapp_resync_rooms{chatapp="new",chatapp_namespace="quiet"}`:                                                      0,
		`roomsync_rooms{` + app + `,condition="Ready",status="True"}`:                                                                 2,
		`roomsync_rooms{` + app + `,condition="Ready",status="False"}`:                                                                1,
		`roomsync_rooms{` + app + `,condition="Synced",status="False"}`:                                                               1,
		`roomsync_rooms{` + app + `,condition="Stalled",status="True"}`:                                                               1,
		`roomsync_rooms{` + app + `,condition="Recording",status="True"}`:                                                             1,
		`roomsync_rooms{` + app + `,condition="Reconciling",status="True"}`:                                                           0,
		`roomsync_rooms{chatapp="",chatapp_namespace="elsewhere",condition="Ready",status="True"}`:                                    1,
		`roomsync_rooms{chatapp="new",chatapp_namespace="quiet",condition="Ready",status="True"}`:                                     0,
	} {
		if v, ok := got[s]; !ok || v != want {
			t.Errorf("%s = %v (reported: %v), want %v", s, v, ok, want)
		}
	}
	count := map[string]int{}
	for s := range got {
		count[s[:strings.Index(s, "{")]]++
	}
	// Every status of every condition, of each ChatApp and of the Rooms of
	// each: 3 ChatApps × 4 types × 3; (chat/conference, quiet/new, elsewhere/"")
	// × 5 types × 3 (elsewhere/"": a Room whose namespace has no ChatApp);
	// the resync of the two with a REST API.
	for name, want := range map[string]int{
		"roomsync_chatapp_condition": 36, "roomsync_rooms": 45,
		"roomsync_chatapp_resync_rooms": 2, "roomsync_chatapp_resync_failed": 2,
	} {
		if count[name] != want {
			t.Errorf("%d series of %s, want %d", count[name], name, want)
		}
	}
	if _, ok := got[`roomsync_chatapp_resync_rooms{chatapp="copy",chatapp_namespace="chat"}`]; ok {
		t.Error("a ChatApp without spec.restAPI reports a resync")
	}
}

func room(ns, name string, sdkAppID int64, conds ...metav1.Condition) *chatv1alpha1.Room {
	return &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       chatv1alpha1.RoomSpec{SDKAppID: sdkAppID, RoomID: name},
		Status:     chatv1alpha1.RoomStatus{Conditions: conds},
	}
}

// recordingJobs returns the recording counters of a ChatApp, as /metrics
// shows them.
func recordingJobs(t *testing.T, app *chatv1alpha1.ChatApp) (created, failed float64) {
	t.Helper()
	got := series(t, metrics.Registry)
	labels := fmt.Sprintf(`{chatapp=%q,chatapp_namespace=%q}`, app.Name, app.Namespace)
	return got["roomsync_recording_jobs_created_total"+labels], got["roomsync_recording_jobs_failed_total"+labels]
}

// A newly elected leader whose cache does not hold every Room yet reports no
// state metrics, without reading the cache (which would wait for the Rooms).
func TestStateMetricsWaitForTheRooms(t *testing.T) {
	elected := make(chan struct{})
	close(elected)
	synced := false
	m := &controllers.StateMetrics{Reader: nil, Elected: elected, RoomsSynced: func() bool { return synced }}
	ch := make(chan prometheus.Metric, 100)
	m.Collect(ch)
	if n := len(ch); n != 0 {
		t.Errorf("%d state metrics before the Rooms are cached, want none", n)
	}
	synced = true
	m.Reader = fake.NewClientBuilder().WithScheme(testenv.Scheme).Build()
	m.Collect(ch)
	close(ch)
	for metric := range ch {
		if !strings.Contains(metric.Desc().String(), "roomsync_") {
			t.Errorf("unexpected metric %s", metric.Desc())
		}
	}
}
