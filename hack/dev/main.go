// Command dev runs roomsync on a developer's machine with nothing installed:
// it starts a local cluster (kube-apiserver and etcd, as envtest does, plus
// kube-controller-manager, kube-scheduler and kwok's fake nodes, so that
// recording Jobs really run), installs the CRDs, creates a sample
// namespace, token Secret and ChatApp (which records), runs the operator in
// the foreground and prints how to send it a callback. Ctrl-C stops
// everything. `make dev` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/testenv"
)

// The sample application, as config/samples declares it.
const (
	namespace = "demo"
	appName   = "demo"
	sdkAppID  = 1400000001
	token     = "dev-token"
)

func main() {
	var (
		operator     = flag.String("operator", "bin/roomsync", "The operator binary to run.")
		assets       = flag.String("assets", "bin/k8s", "Directory with kube-apiserver, etcd and kubectl.")
		stateDir     = flag.String("dir", "bin/dev", "Directory for the kubeconfig.")
		callbackAddr = flag.String("callback-bind-address", "127.0.0.1:8082", "Where the operator receives callbacks.")
		metricsAddr  = flag.String("metrics-bind-address", "127.0.0.1:8080", "Where the operator serves /metrics.")
		probeAddr    = flag.String("health-probe-bind-address", "127.0.0.1:8081", "Where the operator serves /healthz and /readyz.")
	)
	flag.Parse()
	if err := run(*operator, *assets, *stateDir, *callbackAddr, *metricsAddr, *probeAddr); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(operator, assets, stateDir, callbackAddr, metricsAddr, probeAddr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = chatv1alpha1.AddToScheme(scheme)

	fmt.Println("Starting a local cluster (kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok)...")
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		fmt.Println("Stopping the control plane...")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dev: stopping the control plane:", err)
		}
	}()

	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	kubeconfig, err := filepath.Abs(filepath.Join(stateDir, "kubeconfig"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	// Where recording Jobs run: two fake nodes.
	cluster, err := testenv.StartCluster(ctx, assets, filepath.Join(stateDir, "cluster"), env.KubeConfig, c, 2)
	if err != nil {
		return fmt.Errorf("starting the cluster: %w", err)
	}
	defer func() {
		fmt.Println("Stopping the cluster...")
		cluster.Stop()
	}()
	if err := createSample(ctx, c); err != nil {
		return err
	}

	// The control plane is new each time; so is the spool.
	spoolDir := filepath.Join(stateDir, "spool")
	if err := os.RemoveAll(spoolDir); err != nil {
		return err
	}
	cmd := exec.Command(operator,
		"--kubeconfig", kubeconfig,
		"--callback-bind-address", callbackAddr,
		"--metrics-bind-address", metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address", probeAddr,
		"--spool-dir", spoolDir,
		"--zap-devel",
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// The operator dies with this process, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the operator %s: %w", operator, err)
	}
	// exited is closed when the operator has exited, with waitErr set.
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()

	if err := waitReady(ctx, "http://"+probeAddr+"/readyz", exited); err != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		return err
	}
	printHowTo(kubeconfig, assets, filepath.Dir(operator), callbackAddr)

	select {
	case <-exited:
		return fmt.Errorf("the operator exited: %w", waitErr)
	case <-ctx.Done():
	}
	fmt.Println("\nStopping the operator...")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second): // it may be draining its spool
		_ = cmd.Process.Kill()
		<-exited
	}
	return nil
}

func createSample(ctx context.Context, c client.Client) error {
	// It records: a room with cloud recording enabled gets a Job, whose Pod
	// runs on a fake node until recording is disabled.
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: appName},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID, Recording: testenv.Recording()}}
	if err := testenv.CreateSignedApp(ctx, c, app, token); err != nil {
		return fmt.Errorf("creating the sample: %w", err)
	}
	return nil
}

func waitReady(ctx context.Context, url string, exited <-chan struct{}) error {
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("the operator exited before it was ready")
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printHowTo(kubeconfig, assets, bin, callbackAddr string) {
	absAssets, _ := filepath.Abs(assets)
	absBin, _ := filepath.Abs(bin) // the operator's, and the kubectl plugin's
	fmt.Printf(`
================================================================================
roomsync is running against a local control plane.

In another terminal:

  export KUBECONFIG=%[1]s PATH=%[7]s:%[2]s:$PATH

Send Tencent's sample callback, signed with the sample ChatApp's token:

  go run ./hack/send-callback -url http://%[3]s/callback -sdkappid %[4]d -token %[5]s -now config/samples/callback-update-room-info.json

See the Room it mirrors. The sample enables cloud recording, so the Room's
recording Job runs too, its Pod on a fake node:

  kubectl get rooms,jobs,pods -n %[6]s

Disable recording, and the Job and its Pod go:

  go run ./hack/send-callback -url http://%[3]s/callback -sdkappid %[4]d -token %[5]s -now config/samples/callback-recording-disabled.json
  kubectl get rooms,jobs,pods -n %[6]s

What needs a human, if anything (the kubectl plugin, bin/kubectl-roomsync):

  kubectl roomsync status -n %[6]s

Ctrl-C here stops the operator and the cluster.
================================================================================

`, kubeconfig, absAssets, callbackAddr, sdkAppID, token, namespace, absBin)
}
