package roomstore

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/roomsync/roomsync/internal/spool"
)

var (
	statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_room_status_writes_total",
		Help: "Writes of Room status sent to the API server by the callback receiver, by result (ok, conflict, error).",
	}, []string{"result"})

	batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "roomsync_room_write_batch_size",
		Help:    "Callbacks for one room taken together into one write (group commit).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
)

func init() {
	metrics.Registry.MustRegister(statusWrites, batchSize)
	for _, result := range []string{"ok", "conflict", "error"} {
		statusWrites.WithLabelValues(result)
	}
}

func writeResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case apierrors.IsConflict(err):
		return "conflict"
	default:
		return "error"
	}
}

// The spool's metrics. The gauges read the spool in use (none: 0).
var (
	spoolInUse atomic.Pointer[spool.Spool]

	spoolEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_spool_events_total",
		Help: "Callback events through the spool, by what happened: spooled (the API server did not take the write in time), " +
			"replayed (written into the Room, or needing no write), stale (the Room held a newer event by replay time), " +
			"dead_lettered (can never be written).",
	}, []string{"result"})
)

func spoolGauge(name, help string, value func(spool.Stats) float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		s := spoolInUse.Load()
		if s == nil {
			return 0
		}
		return value(s.Stats())
	})
}

func init() {
	for _, result := range []string{"spooled", "replayed", "stale", "dead_lettered"} {
		spoolEvents.WithLabelValues(result)
	}
	metrics.Registry.MustRegister(spoolEvents,
		spoolGauge("roomsync_spool_events", "Events waiting in the spool.", func(s spool.Stats) float64 { return float64(s.Entries) }),
		spoolGauge("roomsync_spool_bytes", "Bytes of the events waiting in the spool (bounded by --spool-max-bytes).",
			func(s spool.Stats) float64 { return float64(s.Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roomsync_spool_max_bytes",
			Help: "Most bytes of events the spool holds (--spool-max-bytes); 0 without a spool.",
		}, func() float64 {
			if s := spoolInUse.Load(); s != nil {
				return float64(s.MaxBytes())
			}
			return 0
		}),
		spoolGauge("roomsync_spool_oldest_event_age_seconds", "How long the oldest event in the spool has waited; 0 when it is empty.",
			func(s spool.Stats) float64 {
				if s.Oldest.IsZero() {
					return 0
				}
				return time.Since(s.Oldest).Seconds()
			}),
		spoolGauge("roomsync_spool_dead_letters", "Events in the spool's dead letters: they can never be written (see the log).",
			func(s spool.Stats) float64 { return float64(s.DeadLetters) }),
	)
}
