package controllers

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// The labels that name a ChatApp. Not "namespace": Prometheus gives that
// label the scraped pod's namespace, and would rename ours.
const (
	chatAppNamespaceLabel = "chatapp_namespace"
	chatAppLabel          = "chatapp"
)

// Recording Jobs, counted by the recording controller (on the leader).
var (
	recordingJobsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_recording_jobs_created_total",
		Help: "Recording Jobs created, by the ChatApp of their Room.",
	}, []string{chatAppNamespaceLabel, chatAppLabel})
	recordingJobsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_recording_jobs_failed_total",
		Help: "Recording sessions whose Job failed (the Room's Recording condition turned RecordingFailed), by the ChatApp of their Room.",
	}, []string{chatAppNamespaceLabel, chatAppLabel})
)

func init() {
	metrics.Registry.MustRegister(recordingJobsCreated, recordingJobsFailed)
	// Every result has a series from the start, so that the first of each
	// shows in rate() and increase().
	for _, result := range []string{"in_sync", "drift", "stale", "error"} {
		resyncsTotal.WithLabelValues(result)
	}
}

// recordingCounters returns the recording counters of the ChatApp app (nil:
// none) in namespace. Both series exist, at 0, from the first call, before
// a Job of the ChatApp is created or fails.
func recordingCounters(namespace string, app *chatv1alpha1.ChatApp) (created, failed prometheus.Counter) {
	name := ""
	if app != nil {
		name = app.Name
	}
	return recordingJobsCreated.WithLabelValues(namespace, name), recordingJobsFailed.WithLabelValues(namespace, name)
}

// The state metrics, read from the cache at each scrape.
var (
	chatAppConditionDesc = prometheus.NewDesc("roomsync_chatapp_condition",
		"1 when the ChatApp's condition has this status, else 0 (0 for every status while it has no such condition).",
		[]string{chatAppNamespaceLabel, chatAppLabel, "sdk_app_id", "condition", "status"}, nil)
	roomsDesc = prometheus.NewDesc("roomsync_rooms",
		"Rooms whose condition has this status, by ChatApp (chatapp is empty for Rooms that no ChatApp of their namespace governs).",
		[]string{chatAppNamespaceLabel, chatAppLabel, "condition", "status"}, nil)
	resyncRoomsDesc = prometheus.NewDesc("roomsync_chatapp_resync_rooms",
		"Rooms the current or last resync pass of the ChatApp reads (status.resync.rooms).",
		[]string{chatAppNamespaceLabel, chatAppLabel}, nil)
	resyncCheckedDesc = prometheus.NewDesc("roomsync_chatapp_resync_checked_rooms",
		"Rooms the current or last resync pass of the ChatApp has read so far (status.resync.checked).",
		[]string{chatAppNamespaceLabel, chatAppLabel}, nil)
	resyncDriftedDesc = prometheus.NewDesc("roomsync_chatapp_resync_drifted_rooms",
		"Rooms the current or last resync pass of the ChatApp found out of date (status.resync.drifted).",
		[]string{chatAppNamespaceLabel, chatAppLabel}, nil)
	resyncCompletionDesc = prometheus.NewDesc("roomsync_chatapp_resync_last_completion_timestamp_seconds",
		"When the ChatApp's last resync pass finished (status.resync.completionTime), in Unix seconds; 0 if none has.",
		[]string{chatAppNamespaceLabel, chatAppLabel}, nil)
	resyncPeriodDesc = prometheus.NewDesc("roomsync_chatapp_resync_period_seconds",
		"The longest any live Room of the ChatApp had gone without confirmation by a callback or a read when the last resync pass started (status.resync.period): every live Room is confirmed at least this often.",
		[]string{chatAppNamespaceLabel, chatAppLabel}, nil)
	resyncFailedDesc = prometheus.NewDesc("roomsync_chatapp_resync_failed",
		"1 while the ChatApp's resync is stopped by a failure (status.resync.failure), with its reason; 0, with reason \"\", otherwise.",
		[]string{chatAppNamespaceLabel, chatAppLabel, "reason"}, nil)
)

// conditionStatuses are the statuses every condition series is reported for.
var conditionStatuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

// roomMetricConditionTypes are the Room conditions roomsync_rooms counts.
var roomMetricConditionTypes = append(append([]string{}, roomConditionTypes...), recordingConditionTypes...)

// StateMetrics reports, at each scrape, the ChatApps and Rooms by condition
// and each ChatApp's resync progress, listed from the manager's cache: what
// kube-state-metrics does, for roomsync's own kinds. Rooms are counted per
// ChatApp, never labelled by name, so the series stay few however many
// Rooms there are. Only the leader reports them (its caches are the ones
// the controllers act on), so that a sum over pods counts every object once.
type StateMetrics struct {
	// Reader lists ChatApps and Rooms: the manager's cache.
	Reader client.Reader
	// Elected is closed once this replica leads (the manager's Elected).
	Elected <-chan struct{}
	// RoomsSynced, when set, tells whether the cache has every Room yet
	// (RoomsSynced of the manager's cache): until then a scrape has no
	// state metrics.
	RoomsSynced func() bool
}

var _ prometheus.Collector = &StateMetrics{}

// Describe implements prometheus.Collector.
func (m *StateMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{chatAppConditionDesc, roomsDesc, resyncRoomsDesc, resyncCheckedDesc, resyncDriftedDesc,
		resyncCompletionDesc, resyncPeriodDesc, resyncFailedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. When the cache cannot be listed
// it reports nothing (and logs why) rather than fail the whole scrape.
func (m *StateMetrics) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-m.Elected:
	default:
		return
	}
	if m.RoomsSynced != nil && !m.RoomsSynced() {
		// Just after a start: no state yet, rather than a scrape that
		// waits for 100,000 Rooms to be cached.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := ctrl.Log.WithName("state-metrics")
	// Read only: no copy of every Room at every scrape.
	var apps chatv1alpha1.ChatAppList
	if err := m.Reader.List(ctx, &apps, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "Listing ChatApps for the metrics")
		return
	}
	var rooms chatv1alpha1.RoomList
	if err := m.Reader.List(ctx, &rooms, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "Listing Rooms for the metrics")
		return
	}
	for _, metric := range stateMetrics(apps.Items, rooms.Items) {
		ch <- metric
	}
}

// stateMetrics are the state metrics of apps and rooms.
func stateMetrics(apps []chatv1alpha1.ChatApp, rooms []chatv1alpha1.Room) []prometheus.Metric {
	var out []prometheus.Metric
	gauge := func(desc *prometheus.Desc, value float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value, labels...))
	}

	// Per ChatApp: its conditions and its resync.
	type appKey struct {
		namespace string
		sdkAppID  int64
	}
	ptrs := make([]*chatv1alpha1.ChatApp, len(apps))
	for i := range apps {
		ptrs[i] = &apps[i]
	}
	lookup.SortByAge(ptrs) // the oldest of a namespace and sdkAppID owns its Rooms
	appOf := map[appKey]string{}
	for _, app := range ptrs {
		if _, ok := appOf[appKey{app.Namespace, app.Spec.SDKAppID}]; !ok {
			appOf[appKey{app.Namespace, app.Spec.SDKAppID}] = app.Name
		}
		id := strconv.FormatInt(app.Spec.SDKAppID, 10)
		for _, t := range chatAppConditionTypes {
			for _, s := range conditionStatuses {
				gauge(chatAppConditionDesc, conditionIs(app.Status.Conditions, t, s), app.Namespace, app.Name, id, t, string(s))
			}
		}
		if app.Spec.RestAPI == nil {
			continue
		}
		st := app.Status.Resync
		if st == nil {
			st = &chatv1alpha1.ChatAppResync{}
		}
		gauge(resyncRoomsDesc, float64(st.Rooms), app.Namespace, app.Name)
		gauge(resyncCheckedDesc, float64(st.Checked), app.Namespace, app.Name)
		gauge(resyncDriftedDesc, float64(st.Drifted), app.Namespace, app.Name)
		completed := 0.0
		if st.CompletionTime != nil {
			completed = float64(st.CompletionTime.Unix())
		}
		gauge(resyncCompletionDesc, completed, app.Namespace, app.Name)
		if st.Period != nil {
			gauge(resyncPeriodDesc, st.Period.Seconds(), app.Namespace, app.Name)
		}
		if f := st.Failure; f != nil {
			gauge(resyncFailedDesc, 1, app.Namespace, app.Name, f.Reason)
		} else {
			gauge(resyncFailedDesc, 0, app.Namespace, app.Name, "")
		}
	}

	// Rooms counted per ChatApp; every ChatApp has its series, at 0 when
	// it has no Rooms yet.
	type group struct{ namespace, chatApp string }
	type count struct {
		group
		condition string
		status    metav1.ConditionStatus
	}
	var groups []group
	seen := map[group]bool{}
	addGroup := func(g group) {
		if !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	for _, app := range ptrs {
		addGroup(group{app.Namespace, appOf[appKey{app.Namespace, app.Spec.SDKAppID}]})
	}
	counts := map[count]int{}
	for i := range rooms {
		room := &rooms[i]
		g := group{room.Namespace, appOf[appKey{room.Namespace, room.Spec.SDKAppID}]}
		addGroup(g)
		for _, c := range room.Status.Conditions {
			counts[count{g, c.Type, c.Status}]++
		}
	}
	for _, g := range groups {
		for _, t := range roomMetricConditionTypes {
			for _, s := range conditionStatuses {
				gauge(roomsDesc, float64(counts[count{g, t, s}]), g.namespace, g.chatApp, t, string(s))
			}
		}
	}
	return out
}

// conditionIs is 1 when conds has condType with status, else 0.
func conditionIs(conds []metav1.Condition, condType string, status metav1.ConditionStatus) float64 {
	for _, c := range conds {
		if c.Type == condType && c.Status == status {
			return 1
		}
	}
	return 0
}
