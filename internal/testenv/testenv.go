// Package testenv starts the local control plane that roomsync's tests run
// against: a real kube-apiserver and etcd (envtest) with roomsync's CRDs
// installed. Start it once per test package, from TestMain.
package testenv

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// Scheme knows the built-in kinds and roomsync's.
var Scheme = k8sruntime.NewScheme()

func init() {
	if err := clientgoscheme.AddToScheme(Scheme); err != nil {
		panic(err)
	}
	if err := chatv1alpha1.AddToScheme(Scheme); err != nil {
		panic(err)
	}
}

// RoomGVK is the Room kind, for tools that take a GroupVersionKind.
var RoomGVK = schema.GroupVersionKind{Group: chatv1alpha1.GroupVersion.Group, Version: chatv1alpha1.GroupVersion.Version, Kind: "Room"}

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// AssetsDir returns the directory holding kube-apiserver, etcd and kubectl:
// $KUBEBUILDER_ASSETS, or bin/k8s where `make envtest` builds them.
func AssetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), "bin", "k8s")
}

// Env is a running control plane.
type Env struct {
	*envtest.Environment
	// Config talks to the API server as an administrator.
	Config *rest.Config
	// Client is a direct (uncached) client with Scheme.
	Client client.Client
	// dir holds etcd's data and the API server's certificates.
	dir string
	// cluster, when started, stops before the control plane.
	cluster *Cluster
	// AfterTests, when set (by Run's setup, say), runs once the package's
	// tests have ended and every operator they started has stopped, before
	// the control plane stops: a check of what the tests left behind, such
	// as CheckNoLeaks. An error fails the package.
	AfterTests func(context.Context) error
}

// Start starts a control plane with the CRDs from config/crd/bases.
func Start() (*Env, error) {
	// Controllers and receivers under test log their errors, not the rest.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	assets := AssetsDir()
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("no kube-apiserver in %s: run `make envtest`, or set KUBEBUILDER_ASSETS: %w", assets, err)
	}
	// Directories of our own, rather than envtest's, so that they outlive a
	// stop of the control plane (see StopControlPlane).
	dir, err := os.MkdirTemp("", "roomsync-envtest-")
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"etcd", "apiserver"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	// Ports of FreeAddr's, rather than envtest's from the ephemeral range:
	// StartControlPlane binds them again after an outage, during which any
	// outgoing connection could have taken a port of that range.
	etcdAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	apiServer := &envtest.APIServer{CertDir: filepath.Join(dir, "apiserver")}
	apiServer.Address, apiServer.Port, _ = net.SplitHostPort(apiAddr) // its SecureServing
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{DataDir: filepath.Join(dir, "etcd"), URL: &url.URL{Scheme: "http", Host: etcdAddr}},
			APIServer: apiServer,
		},
	}
	cfg, err := env.Start()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	e := &Env{Environment: env, Config: cfg, dir: dir}
	if e.Client, err = client.New(cfg, client.Options{Scheme: Scheme}); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("creating a client: %w", err)
	}
	return e, nil
}

// Stop stops the control plane and removes its data.
func (e *Env) Stop() error {
	if e.cluster != nil {
		e.cluster.Stop()
	}
	err := e.Environment.Stop()
	if rmErr := os.RemoveAll(e.dir); err == nil {
		err = rmErr
	}
	return err
}

// StopControlPlane kills kube-apiserver and etcd (SIGKILL), as a crash or a
// lost node would. Their data, ports and certificates stay: StartControlPlane
// brings the same cluster back, and clients made before go on working.
func (e *Env) StopControlPlane() error {
	for _, p := range []struct {
		name, dir string
		stop      func() error
	}{
		{"kube-apiserver", e.ControlPlane.APIServer.CertDir, e.ControlPlane.APIServer.Stop},
		{"etcd", e.ControlPlane.Etcd.DataDir, e.ControlPlane.Etcd.Stop},
	} {
		pid, err := findProcess(p.name, p.dir)
		if err != nil {
			return err
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("killing %s: %w", p.name, err)
		}
		// envtest reaps the process; its Stop then only records that. It may
		// race with the reaping once, so try twice.
		if err := p.stop(); err != nil {
			time.Sleep(100 * time.Millisecond)
			if err := p.stop(); err != nil {
				return fmt.Errorf("stopping %s: %w", p.name, err)
			}
		}
	}
	return nil
}

// PIDs returns the process ids of kube-apiserver and etcd.
func (e *Env) PIDs() (apiserver, etcd int, err error) {
	if apiserver, err = findProcess("kube-apiserver", e.ControlPlane.APIServer.CertDir); err != nil {
		return 0, 0, err
	}
	etcd, err = findProcess("etcd", e.ControlPlane.Etcd.DataDir)
	return apiserver, etcd, err
}

// findProcess returns the pid of the process named name whose command line
// mentions dir.
func findProcess(name, dir string) (int, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return 0, err
	}
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		args := strings.Split(string(data), "\x00")
		if filepath.Base(args[0]) == name && strings.Contains(string(data), dir) {
			return strconv.Atoi(filepath.Base(filepath.Dir(f)))
		}
	}
	return 0, fmt.Errorf("no %s process for %s", name, dir)
}

// StartControlPlane starts etcd and kube-apiserver again after
// StopControlPlane, and returns once the API server is healthy. With a
// Cluster, it fails if one of its programs did not outlive the outage.
func (e *Env) StartControlPlane() error {
	if err := e.ControlPlane.Etcd.Start(); err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	if err := e.ControlPlane.APIServer.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	if e.cluster != nil {
		// The controller manager, the scheduler and kwok must outlive the
		// outage, as they would in a real cluster.
		if err := e.cluster.Running(); err != nil {
			return fmt.Errorf("the cluster did not outlive the outage: %w", err)
		}
	}
	return nil
}

// Run starts a control plane, stores it in *env, calls setup (if not nil)
// with a context that ends after the tests, runs the package's tests, runs
// (*env).AfterTests if set, stops the control plane and returns the exit
// code for os.Exit.
func Run(m interface{ Run() int }, env **Env, setup func(context.Context) error) int {
	// A `go test -fuzz` worker process runs only the fuzz target: it must
	// not start a control plane of its own for every worker.
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*env = e
	ctx, cancel := context.WithCancel(context.Background())
	code := 1
	if setup == nil {
		code = m.Run()
	} else if err := setup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "setting up the tests:", err)
	} else {
		code = m.Run()
	}
	cancel()
	if e.AfterTests != nil {
		// What the operators print as they stop is checked too.
		for _, o := range Operators() {
			o.Stop()
		}
		if err := e.AfterTests(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "after the tests:", err)
			code = 1
		}
	}
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	return code
}

// WriteKubeconfigAs writes e's kubeconfig, acting as the ServiceAccount
// namespace/name (impersonated, with the groups a ServiceAccount has), to
// path: a process run with it has exactly that ServiceAccount's permissions.
func (e *Env) WriteKubeconfigAs(namespace, name, path string) error {
	cfg, err := clientcmd.Load(e.KubeConfig)
	if err != nil {
		return err
	}
	for _, user := range cfg.AuthInfos {
		user.Impersonate = "system:serviceaccount:" + namespace + ":" + name
		user.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	}
	return clientcmd.WriteToFile(*cfg, path)
}
