package webhookserver

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/roomsync/roomsync/internal/tencent"
)

var (
	callbacksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomsync_callbacks_total",
		Help: "Callbacks answered, by CallbackCommand (\"unknown\" for commands roomsync does not handle) and result.",
	}, []string{"command", "result"})

	callbackDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "roomsync_callback_duration_seconds",
		Help:    "Time from receiving a callback to answering it, by CallbackCommand.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 5},
	}, []string{"command"})
)

func init() {
	metrics.Registry.MustRegister(callbacksTotal, callbackDuration)
	// Every command and result has its series from the start, so that the
	// first callback of each shows in rate() and increase() (the alerts).
	for command := range knownCommands {
		initCommand(command)
	}
	initCommand("unknown")
}

func initCommand(command string) {
	callbackDuration.WithLabelValues(command)
	for _, result := range []string{resultApplied, resultSpooled, resultStale, resultUnknownCommand, resultUnknownRoom,
		resultRejected, resultUnauthorized, resultUnknownApp, resultUnavailable, resultError} {
		callbacksTotal.WithLabelValues(command, result)
	}
}

// knownCommands are the commands that may appear as a metrics label; any
// other value a client sends is counted as "unknown", so that the label's
// cardinality stays bounded whatever arrives.
var knownCommands = map[string]bool{
	tencent.CommandAfterCreateRoom:      true,
	tencent.CommandAfterUpdateRoomInfo:  true,
	tencent.CommandUpdateRoomInfo:       true,
	tencent.CommandAfterDestroyRoom:     true,
	tencent.CommandAfterMemberEnter:     true,
	tencent.CommandAfterMemberLeave:     true,
	tencent.CommandAfterSeatInfoChanged: true,
}

func commandLabel(command string) string {
	if knownCommands[command] {
		return command
	}
	return "unknown"
}
