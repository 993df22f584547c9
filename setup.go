package main

// Start-up steps that main.go wires in: waiting for the API server,
// opening the spool, and what the callback receiver waits for.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/spool"
)

// newManager creates the manager, waiting while the API server cannot be
// reached: a process restarted during an API-server outage (a leader that
// lost its lease) must come up as soon as the API server is back, to replay
// its spool, not sit in the kubelet's CrashLoopBackOff. Other errors are
// returned at once.
func newManager(ctx context.Context, cfg *rest.Config, opts ctrl.Options) (ctrl.Manager, error) {
	log := ctrl.Log.WithName("setup")
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: 5 * time.Second}
	for {
		mgr, err := ctrl.NewManager(cfg, opts)
		if err == nil || !unreachable(err) {
			return mgr, err
		}
		pause := backoff.Step()
		log.Info("Waiting for the API server", "error", err.Error(), "retryIn", pause)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped while waiting for the API server: %w", err)
		case <-time.After(pause):
		}
	}
}

// unreachable reports whether err says the API server could not be reached
// or could not answer, rather than that something is misconfigured. At
// start a slow answer counts too (roomstore.Unreachable, which decides
// whether to spool at once, leaves slowness out): either way, wait.
func unreachable(err error) bool {
	var netErr net.Error
	return roomstore.Unreachable(err) || (errors.As(err, &netErr) && netErr.Timeout()) ||
		utilnet.IsProbableEOF(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		strings.Contains(err.Error(), "connection refused") // the REST mapper does not wrap it
}

// parseNamespaces parses --watch-namespaces: nil for every namespace.
func parseNamespaces(flag string) (map[string]cache.Config, error) {
	if strings.TrimSpace(flag) == "" {
		return nil, nil
	}
	namespaces := map[string]cache.Config{}
	for _, ns := range strings.Split(flag, ",") {
		ns = strings.TrimSpace(ns)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		namespaces[ns] = cache.Config{}
	}
	return namespaces, nil
}

// openSpool opens the spool in dir and returns the Spooler that writes
// callbacks through store, or spools them when the API server does not take
// them within most of callbackTimeout.
func openSpool(dir string, maxBytes int64, callbackTimeout time.Duration, store *roomstore.Store, mgr ctrl.Manager, receiverStopped <-chan struct{}) (*roomstore.Spooler, error) {
	log := ctrl.Log.WithName("spool")
	s, recovery, err := spool.Open(spool.Options{
		Dir:      dir,
		MaxBytes: maxBytes,
		OnCorrupt: func(seq uint64, err error) {
			log.Error(err, "A spooled record is unreadable; it was moved to the dead letters", "seq", seq)
		},
	})
	if err != nil {
		return nil, err
	}
	if recovery.MovedAside != "" {
		log.Error(recovery.Cause, "The spool file was unreadable; it was moved aside and a new spool started", "movedTo", recovery.MovedAside)
	}
	log.Info("Spool open", "dir", dir, "maxBytes", maxBytes, "events", recovery.Entries, "deadLetters", recovery.DeadLetters)
	// The Spooler's own Events name their writer as the Recorder's do.
	host, _ := os.Hostname()
	return &roomstore.Spooler{
		Store: store,
		Spool: s,
		// The rest of the callback's time is for the fsync of the spool.
		WriteTimeout:    callbackTimeout * 2 / 3,
		Apps:            mgr.GetClient(),
		Recorder:        mgr.GetEventRecorder(spoolRecorder),
		Events:          mgr.GetClient(),
		Reporter:        roomstore.EventReporter{Controller: spoolRecorder, Instance: spoolRecorder + "-" + host},
		ReceiverStopped: receiverStopped,
		DrainTimeout:    15 * time.Second,
		Log:             log,
	}, nil
}

// spoolRecorder is the reportingController of the spool's Events.
const spoolRecorder = "roomsync-spool"

// instanceName identifies this roomsync among others in the cluster, on the
// Rooms it puts its destroy-room finalizer on: the namespace it runs in (its
// leader election namespace, or its ServiceAccount's), or "local" outside a
// cluster.
func instanceName(leaderElectionNamespace string) string {
	if leaderElectionNamespace != "" {
		return leaderElectionNamespace
	}
	if ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(strings.TrimSpace(string(ns))) > 0 {
		return strings.TrimSpace(string(ns))
	}
	return "local"
}

// servingNamespace holds the ServingRecord's Lease: the operator's own
// namespace (instanceName), or "default" outside a cluster.
func servingNamespace(instance string) string {
	if instance == "local" {
		return metav1.NamespaceDefault
	}
	return instance
}

// replicaIdentity names this process in the ServingRecord's Lease: its host
// (the pod's name) and a random suffix, as leader election does.
func replicaIdentity() string {
	host, _ := os.Hostname()
	return host + "_" + string(uuid.NewUUID())
}

// watched is the set of namespaces of --watch-namespaces; nil for all.
func watched(namespaces map[string]cache.Config) map[string]bool {
	if namespaces == nil {
		return nil
	}
	out := make(map[string]bool, len(namespaces))
	for ns := range namespaces {
		out[ns] = true
	}
	return out
}

// receiverSynced returns what the callback receiver waits for before it
// listens: the ChatApps and Secrets in the cache. Not the Rooms: until the
// Room index has synced (with 100,000 Rooms, tens of seconds on a busy API
// server), it finds them by asking the API server.
func receiverSynced(c cache.Cache) func(context.Context) bool {
	return func(ctx context.Context) bool {
		for _, obj := range []client.Object{&chatv1alpha1.ChatApp{}, &corev1.Secret{}} {
			inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
			if err != nil || !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				return false
			}
		}
		return true
	}
}

// memoryLimitShare is the share of the container's memory limit that Go's
// garbage collector is told to keep the heap under.
const memoryLimitShare = 0.9

// setMemoryLimit gives Go's garbage collector a memory limit of 90% of the
// container's (its cgroup v2 memory.max), unless GOMEMLIMIT is set: without
// one, the heap may grow to twice what is live before a collection, and a
// replica whose live heap fits its limit is still OOM-killed while it starts
// (when the informers' lists leave the most garbage). It returns the limit
// set, or 0.
func setMemoryLimit() int64 {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return 0
	}
	data, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || limit <= 0 { // "max": no limit
		return 0
	}
	share := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(share)
	return share
}
