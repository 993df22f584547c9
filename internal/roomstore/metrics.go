package roomstore

import (
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
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
