// Command roomsync is the roomsync operator: it receives Tencent Cloud Chat
// room callbacks (webhookserver), mirrors each room into a Room (roomstore),
// keeping on local disk what the API server cannot take in time (the
// spool, replayed when it can), and runs the controllers that act on Rooms
// and ChatApps (controllers, set up by controllers.SetupWithManager). This
// file only wires them together; setup.go has the start-up steps.
package main

import (
	"flag"
	"maps"
	"os"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/controllers"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/webhookserver"
)

// Secure metrics ask the API server who a scraper is and whether it may
// GET /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chatv1alpha1.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr, probeAddr  string
		pprofAddr               string
		callbackAddr, certDir   string
		callbackTimeout         time.Duration
		leaderElect             bool
		secureMetrics           bool
		leaderElectionNamespace string
		spoolDir                string
		spoolMaxBytes           int64
		watchNamespaces         string
		allowUnsigned           bool
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS, only to clients whose token the API server "+
		"authenticates and allows to GET /metrics (bind the metrics-reader ClusterRole); false serves plain HTTP to anyone.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address to serve Go's pprof profiles on (for example 127.0.0.1:6060); empty disables it.")
	flag.StringVar(&callbackAddr, "callback-bind-address", ":8082", "Address the callback receiver binds to.")
	flag.StringVar(&certDir, "callback-cert-dir", "", "Directory with tls.crt and tls.key for the callback receiver; "+
		"when they are there it serves HTTPS and reloads them when they change, otherwise plain HTTP.")
	flag.DurationVar(&callbackTimeout, "callback-timeout", 1500*time.Millisecond, "How long a callback may take, "+
		"API writes included. With a spool, an event whose write is not taken within 2/3 of it is spooled; without, "+
		"the callback is answered 503 after it. Keep it under Tencent's 2s.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader among replicas for the controllers; "+
		"the callback receiver runs on every replica either way.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; "+
		"defaults to the namespace the operator runs in.")
	flag.StringVar(&spoolDir, "spool-dir", "", "Directory of the spool: callbacks whose write the API server does not take in time "+
		"are kept there, answered OK, and written into their Rooms when it does. Empty: no spool, such callbacks are answered 503.")
	flag.Int64Var(&spoolMaxBytes, "spool-max-bytes", 256<<20, "Most bytes of events the spool holds; when it is full, "+
		"callbacks the API server does not take are answered 503.")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "", "Comma-separated namespaces to watch and act in (ChatApps, "+
		"Rooms, their Secrets and Jobs); empty: every namespace. With it, roomsync needs permissions in those namespaces only.")
	flag.BoolVar(&allowUnsigned, "allow-unsigned-callbacks", false, "Accept callbacks for ChatApps without spec.callbackAuth. "+
		"Anyone who can reach the callback endpoint and knows an sdkAppID (it ships inside client apps) can then create and change "+
		"Rooms and start recordings. Off: such ChatApps are Stalled CallbackAuthRequired and their callbacks are answered 401.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	if limit := setMemoryLimit(); limit > 0 {
		log.Info("Keeping the Go heap under 90% of the container's memory limit", "GOMEMLIMIT", limit)
	}
	if callbackTimeout <= 0 {
		log.Error(nil, "--callback-timeout must be positive", "callbackTimeout", callbackTimeout)
		os.Exit(2)
	}
	if callbackTimeout >= 2*time.Second {
		log.Info("WARNING: --callback-timeout is not under Tencent's 2s: the sender may give up before roomsync answers, "+
			"and an event stored after that is reported to nobody", "callbackTimeout", callbackTimeout)
	}

	if allowUnsigned {
		log.Info("WARNING: --allow-unsigned-callbacks: ChatApps without spec.callbackAuth accept callbacks from anyone who can reach the callback endpoint")
	}

	namespaces, err := parseNamespaces(watchNamespaces)
	if err != nil {
		log.Error(err, "--watch-namespaces")
		os.Exit(2)
	}
	if spoolDir != "" && spoolMaxBytes <= 0 {
		log.Error(nil, "--spool-max-bytes must be positive", "spoolMaxBytes", spoolMaxBytes)
		os.Exit(2)
	}

	metrics := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics}
	if secureMetrics {
		metrics.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	ctx := ctrl.SetupSignalHandler()
	mgr, err := newManager(ctx, ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metrics,
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "roomsync.chat.roomsync.io",
		LeaderElectionNamespace: leaderElectionNamespace,
		// On a graceful stop (a rolling update) hand the lease over at once
		// instead of letting it expire; the process exits right after.
		LeaderElectionReleaseOnCancel: true,
		// Whole Rooms are cached only once something reads them: the
		// controllers, on the elected replica.
		NewCache: controllers.NewCache,
		// Streaming 100,000 Rooms into the elected replica's cache can take
		// over a minute on a busy API server; controller-runtime's default
		// of 2 minutes would end the process and start the stream anew.
		Controller: config.Controller{CacheSyncTimeout: 10 * time.Minute},
		Cache: cache.Options{
			// Nothing reads managedFields from the cache; not keeping them
			// roughly halves the memory a cached Room takes.
			DefaultTransform: cache.TransformStripManagedFields(),
			// Only roomsync's Jobs and Secrets, not all of the cluster's.
			ByObject: controllers.CacheByObject(),
			// nil: every namespace.
			DefaultNamespaces: namespaces,
		},
	})
	if err != nil {
		log.Error(err, "Creating the manager")
		os.Exit(1)
	}

	if err := lookup.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		log.Error(err, "Setting up field indexes")
		os.Exit(1)
	}
	// Callbacks read token Secrets: start their informer with the others,
	// so the first callback does not wait for it.
	if _, err := mgr.GetCache().GetInformer(ctx, &corev1.Secret{}); err != nil {
		log.Error(err, "Setting up the Secret informer")
		os.Exit(1)
	}

	// Every replica finds Rooms for callbacks in an index of their
	// identities; only the elected one caches whole Rooms, after the index.
	rooms, err := controllers.AddRoomIndex(mgr, slices.Sorted(maps.Keys(namespaces)))
	if err != nil {
		log.Error(err, "Setting up the Room index")
		os.Exit(1)
	}

	// One Store for callbacks and resyncs: events for a room take turns in
	// it, whichever way they came.
	store := roomstore.New(mgr.GetClient(), rooms, mgr.GetAPIReader())
	secrets := lookup.NewSecretReader(mgr)
	instance := instanceName(leaderElectionNamespace)
	lost, err := controllers.SetupWithManager(ctx, mgr, controllers.Config{
		Rooms:                  rooms,
		Store:                  store,
		Secrets:                secrets,
		AllowUnsignedCallbacks: allowUnsigned,
		Instance:               instance,
		Watched:                watched(namespaces),
		ServingNamespace:       servingNamespace(instance),
		Identity:               replicaIdentity(),
	})
	if err != nil {
		log.Error(err, "Setting up the controllers")
		os.Exit(1)
	}

	// ChatApps and Rooms by condition, and each ChatApp's resync, read from
	// the cache at each scrape (by the leader, once it has every Room).
	ctrlmetrics.Registry.MustRegister(&controllers.StateMetrics{Reader: mgr.GetClient(), Elected: mgr.Elected(),
		RoomsSynced: controllers.RoomsSynced(mgr.GetCache())})

	receiver := &webhookserver.Server{
		Addr:             callbackAddr,
		CertDir:          certDir,
		WaitForCacheSync: receiverSynced(mgr.GetCache()),
		Log:              ctrl.Log.WithName("callback-server"),
	}
	var writer webhookserver.RoomWriter = store
	if spoolDir != "" {
		spooler, err := openSpool(spoolDir, spoolMaxBytes, callbackTimeout, store, mgr, receiver.Stopped())
		if err != nil {
			log.Error(err, "Opening the spool", "spoolDir", spoolDir)
			os.Exit(1)
		}
		spooler.Lost = lost.Lost
		if err := mgr.Add(spooler); err != nil {
			log.Error(err, "Adding the spool's replayer")
			os.Exit(1)
		}
		writer = spooler
	}
	receiver.Handler = &webhookserver.Handler{
		Apps:          &webhookserver.KubeApps{Client: mgr.GetClient(), Secrets: secrets, Log: ctrl.Log.WithName("callback")},
		Rooms:         writer,
		AllowUnsigned: allowUnsigned,
		Timeout:       callbackTimeout,
		Now:           time.Now,
		Lost:          lost.Lost,
		Log:           ctrl.Log.WithName("callback"),
	}
	if err := mgr.Add(receiver); err != nil {
		log.Error(err, "Adding the callback receiver")
		os.Exit(1)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Adding the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("callback-receiver", receiver.ReadyCheck); err != nil {
		log.Error(err, "Adding the readiness check")
		os.Exit(1)
	}

	log.Info("Starting roomsync")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "Running the manager")
		os.Exit(1)
	}
}
