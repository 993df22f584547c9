package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KwokNodeAnnotation marks the Nodes kwok manages: Nodes that exist only as
// API objects, whose Pods kwok "runs" as hack/kwok/stages.yaml says.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// OutcomeLabel on a Pod (set it in a Job's template) makes kwok end it a
// second after it started: "Succeeded" exits 0, "Failed" exits 1. Without
// it a Pod runs until it is deleted. See hack/kwok/stages.yaml.
const OutcomeLabel = "kwok.roomsync.io/outcome"

// Cluster is what turns the control plane into a cluster where workloads
// run: kube-controller-manager (the Job, ReplicaSet, Deployment, disruption
// and garbage collector controllers, among others), kube-scheduler, and
// kwok with fake Nodes. Each runs with --leader-elect=false, so that it
// outlives an API server outage (the fault tests make some).
type Cluster struct {
	procs []*clusterProc
	dir   string
}

// clusterProc is one of a Cluster's programs; exited is closed when it has.
type clusterProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// clusterBinaries are the programs a Cluster runs.
var clusterBinaries = []string{"kube-controller-manager", "kube-scheduler", "kwok"}

// StartCluster starts a Cluster on e's control plane with nodes fake Nodes
// (kwok-node-0, ...), and returns once they are Ready. e.Stop stops it.
func (e *Env) StartCluster(ctx context.Context, nodes int) (*Cluster, error) {
	c, err := StartCluster(ctx, AssetsDir(), filepath.Join(e.dir, "cluster"), e.KubeConfig, e.Client, nodes)
	if err != nil {
		return nil, err
	}
	e.cluster = c
	return c, nil
}

// StartCluster starts a Cluster with the programs in assets, on the control
// plane that kubeconfig (an administrator's) and cl reach, keeping its
// files in dir. Stop it before the control plane.
func StartCluster(ctx context.Context, assets, dir string, kubeconfig []byte, cl client.Client, nodes int) (*Cluster, error) {
	binaries := map[string]string{}
	for _, b := range clusterBinaries {
		// Beside kube-apiserver, or where `make cluster-tools` builds them
		// (when KUBEBUILDER_ASSETS points at a setup-envtest download).
		for _, dir := range []string{assets, filepath.Join(RepoRoot(), "bin", "k8s")} {
			if _, err := os.Stat(filepath.Join(dir, b)); err == nil {
				binaries[b] = filepath.Join(dir, b)
				break
			}
		}
		if binaries[b] == "" {
			return nil, fmt.Errorf("no %s in %s or bin/k8s: run `make cluster-tools`", b, assets)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	kubeconfigFile := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigFile, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	for _, p := range []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", []string{
			"--kubeconfig=" + kubeconfigFile, "--leader-elect=false", "--secure-port=0",
			// Only what roomsync's workloads meet: Jobs and their Pods,
			// Deployments, PodDisruptionBudgets, owner references, namespace
			// deletion. Not the node lifecycle controller: no kubelet sends
			// heartbeats (kwok's Nodes are Ready because it says so), and
			// nothing must taint or evict them. Fewer controllers, less load on
			// a 2-core machine.
			"--controllers=job-controller,garbage-collector-controller,replicaset-controller,deployment-controller," +
				"disruption-controller,pod-garbage-collector-controller,ttl-after-finished-controller,namespace-controller",
			"--concurrent-gc-syncs=5",
		}},
		{"kube-scheduler", []string{"--kubeconfig=" + kubeconfigFile, "--leader-elect=false", "--secure-port=0"}},
		{"kwok", []string{
			"--kubeconfig=" + kubeconfigFile, "--config=" + filepath.Join(RepoRoot(), "hack", "kwok", "stages.yaml"),
			"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
			"--cidr=10.244.0.0/16", "--node-ip=10.0.0.1", "--node-lease-duration-seconds=0",
		}},
	} {
		if err := c.start(binaries[p.name], p.args); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.addNodes(ctx, cl, nodes); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// start runs binary with args, its output in a log file of its own.
func (c *Cluster) start(binary string, args []string) error {
	log, err := os.Create(filepath.Join(c.dir, filepath.Base(binary)+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Not in the tests' process group: a Ctrl-C reaches the tests, which
	// stop the cluster themselves.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("starting %s: %w", filepath.Base(binary), err)
	}
	p := &clusterProc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(p.exited)
	}()
	c.procs = append(c.procs, p)
	return nil
}

// addNodes creates n fake Nodes and waits until kwok has made them Ready.
func (c *Cluster) addNodes(ctx context.Context, cl client.Client, n int) error {
	for i := range n {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{KwokNodeAnnotation: "fake"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
		}}
		if err := cl.Create(ctx, node); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("creating Node %s: %w", name, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var nodes corev1.NodeList
		if err := cl.List(ctx, &nodes); err != nil {
			return err
		}
		ready := 0
		for _, node := range nodes.Items {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready >= n {
			return c.untaint(ctx, cl, nodes.Items)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d fake Nodes Ready after 60s; kwok's log:\n%s", ready, n, c.Log("kwok"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// untaint removes the taints the API server gives a new Node (not-ready,
// until a node lifecycle controller sees it Ready): that controller does not
// run here, as no kubelet sends it heartbeats.
func (c *Cluster) untaint(ctx context.Context, cl client.Client, nodes []corev1.Node) error {
	for i := range nodes {
		node := &nodes[i]
		if len(node.Spec.Taints) == 0 {
			continue
		}
		patch := client.MergeFrom(node.DeepCopy())
		node.Spec.Taints = nil
		if err := cl.Patch(ctx, node, patch); err != nil {
			return fmt.Errorf("untainting Node %s: %w", node.Name, err)
		}
	}
	return nil
}

// Log returns the end of the log of one of the Cluster's programs
// ("kube-controller-manager", "kube-scheduler" or "kwok").
func (c *Cluster) Log(name string) string {
	data, err := os.ReadFile(filepath.Join(c.dir, name+".log"))
	if err != nil {
		return err.Error()
	}
	if len(data) > 8<<10 {
		data = data[len(data)-8<<10:]
	}
	return string(data)
}

// Stop stops the Cluster's programs (SIGTERM, then SIGKILL after 5 s) and
// waits for them.
func (c *Cluster) Stop() {
	for _, p := range c.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	c.procs = nil
}

// Running returns an error naming the Cluster's programs that have exited.
func (c *Cluster) Running() error {
	var gone []string
	for _, p := range c.procs {
		select {
		case <-p.exited:
			gone = append(gone, filepath.Base(p.cmd.Path))
		default:
		}
	}
	if len(gone) > 0 {
		return errors.New("exited: " + strings.Join(gone, ", "))
	}
	return nil
}
