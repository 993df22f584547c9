package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildOperator builds roomsync's binary into dir and returns its path.
func BuildOperator(dir string) (string, error) { return build(dir, "roomsync", ".") }

// BuildPlugin builds the kubectl plugin, kubectl-roomsync, into dir and
// returns its path.
func BuildPlugin(dir string) (string, error) {
	return build(dir, "kubectl-roomsync", "./cmd/kubectl-roomsync")
}

// build builds package pkg of roomsync into dir/name, static as the image
// has it. `make test` runs every build with CGO_ENABLED=0, so this one
// reuses the packages the tests compiled.
func build(dir, name, pkg string) (string, error) {
	binary := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", binary, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", name, err, out)
	}
	return binary, nil
}

// Operator is a running roomsync process.
type Operator struct {
	Cmd *exec.Cmd
	// Log is what the process printed.
	Log *LogBuffer
	// CallbackURL is where it receives callbacks; MetricsURL serves /metrics
	// (https unless --metrics-secure=false is among the extra arguments).
	CallbackURL, MetricsURL string
	// MetricsToken, when set, is the bearer token Metrics sends (the https
	// endpoint asks who is scraping).
	MetricsToken string
	readyURL     string
	// lastMetrics is the last page Metrics read, kept for a process that
	// has ended: it is read once more just before SIGTERM.
	metricsMu   sync.Mutex
	lastMetrics string
	exited      chan struct{}
	// term sends SIGTERM once: a second one would make the process exit
	// before its graceful shutdown is done.
	term sync.Once
}

// StartOperator runs binary with kubeconfig on free local ports, plus args,
// and waits until it is ready. The process is sent SIGTERM when ctx ends, and
// SIGKILL if the calling process dies.
func StartOperator(ctx context.Context, binary, kubeconfig string, args ...string) (*Operator, error) {
	o, err := LaunchOperator(ctx, binary, kubeconfig, args...)
	if err != nil {
		return nil, err
	}
	if err := o.WaitReady(60 * time.Second); err != nil {
		return nil, err
	}
	return o, nil
}

// LaunchOperator is StartOperator without the wait: for a process that
// cannot become ready yet (its API server is down).
func LaunchOperator(ctx context.Context, binary, kubeconfig string, args ...string) (*Operator, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	scheme := "https"
	if strings.Contains(strings.Join(args, " "), "--metrics-secure=false") {
		scheme = "http"
	}
	o := &Operator{
		Log:         &LogBuffer{},
		CallbackURL: "http://" + addrs[0] + "/callback",
		MetricsURL:  scheme + "://" + addrs[1] + "/metrics",
		readyURL:    "http://" + addrs[2] + "/readyz",
		exited:      make(chan struct{}),
	}
	o.Cmd = exec.Command(binary, append([]string{
		"--kubeconfig", kubeconfig,
		"--callback-bind-address", addrs[0],
		"--metrics-bind-address", addrs[1],
		"--health-probe-bind-address", addrs[2],
	}, args...)...)
	o.Cmd.Stdout, o.Cmd.Stderr = o.Log, o.Log
	o.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := o.Cmd.Start(); err != nil {
		return nil, err
	}
	registerOperator(o)
	go func() { _ = o.Cmd.Wait(); close(o.exited) }()
	go func() {
		select {
		case <-ctx.Done():
			o.terminate()
		case <-o.exited:
		}
	}()

	return o, nil
}

// WaitReady waits until the process is ready, at most timeout; after that
// it kills it.
func (o *Operator) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(o.readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if o.Exited() {
			return fmt.Errorf("the operator exited before it was ready; its log:\n%s", o.Log)
		}
		if time.Now().After(deadline) {
			_ = o.Cmd.Process.Kill()
			return fmt.Errorf("the operator did not become ready; its log:\n%s", o.Log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Exited reports whether the process has ended.
func (o *Operator) Exited() bool {
	select {
	case <-o.exited:
		return true
	default:
		return false
	}
}

// Kill ends the process with SIGKILL, as the kernel's OOM killer or a lost
// node would, and waits until it is gone.
func (o *Operator) Kill() {
	_ = o.Cmd.Process.Signal(syscall.SIGKILL)
	<-o.exited
}

// Stop asks the process to end with SIGTERM (unless it was asked already),
// as the kubelet does, and waits until it is gone (killing it after 30 s).
func (o *Operator) Stop() {
	o.terminate()
	select {
	case <-o.exited:
	case <-time.After(30 * time.Second):
		o.Kill()
	}
}

// terminate sends the process SIGTERM, unless it was sent before, after
// reading its metrics a last time (for ScanForLeaks).
func (o *Operator) terminate() {
	o.term.Do(func() {
		_, _ = o.Metrics()
		_ = o.Cmd.Process.Signal(syscall.SIGTERM)
	})
}

// Metrics reads the process's /metrics page (with MetricsToken); once the
// process has ended, it returns the last page read.
func (o *Operator) Metrics() (string, error) {
	o.metricsMu.Lock()
	defer o.metricsMu.Unlock()
	if o.Exited() {
		return o.lastMetrics, nil
	}
	status, data, err := ScrapeMetrics(o.MetricsURL, o.MetricsToken)
	if err != nil {
		return o.lastMetrics, err
	}
	if status != http.StatusOK {
		return o.lastMetrics, fmt.Errorf("GET %s: HTTP %d", o.MetricsURL, status)
	}
	o.lastMetrics = data
	return data, nil
}

// ScrapeMetrics GETs a /metrics page as token (a bearer token; none when
// ""), and returns the status and the page. The operator serves it with a
// self-signed certificate, which is not verified.
func ScrapeMetrics(url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // a local test process's self-signed certificate
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

// FreeAddr returns a local address that was free a moment ago, and that
// this process has not handed out before. Its port is below the kernel's
// range of ephemeral ports where that range leaves room: a process may bind
// it long after (one restarted during an API server outage binds once the
// server is back), and meanwhile any outgoing connection, thousands of
// callbacks' included, could take a port of that range.
func FreeAddr() (string, error) {
	low := ephemeralLow()
	for range 100 {
		port := 0
		if low > freeBelow+1000 {
			port = freeBelow + rand.IntN(low-freeBelow)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		handedOutMu.Lock()
		seen := handedOut[addr]
		handedOut[addr] = true
		handedOutMu.Unlock()
		if !seen {
			return addr, nil
		}
	}
	return "", errors.New("no free local port found in 100 tries")
}

// freeBelow is the lowest port FreeAddr hands out: well above the ports
// that services listen on.
const freeBelow = 20000

var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

// ephemeralLow returns the lowest port the kernel picks for outgoing
// connections (and for a listen on port 0), or 0 when it cannot be read.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return 0
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0
	}
	return low
}

// LogBuffer collects a process's output while others read it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
