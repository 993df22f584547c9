package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/testenv"
)

// appName is the name of the bench's ChatApps.
const appName = "bench"

// createApp creates namespace, its token Secret (token) and a ChatApp for
// sdkAppID.
func createApp(ctx context.Context, c client.Client, namespace string, sdkAppID int64) error {
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: appName}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID}}
	return testenv.CreateSignedApp(ctx, c, app, token)
}

// metricSum adds up the samples of metric in a Prometheus text exposition
// whose labels contain every one of labels (as `name="value"`).
func metricSum(exposition, metric string, labels ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// scrape reads a plain-HTTP /metrics.
func scrape(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}

// scrapeAPIServer reads the API server's /metrics.
func scrapeAPIServer(ctx context.Context, cfg *rest.Config) (string, error) {
	c, err := kubernetes.NewForConfig(restConfigForRaw(cfg))
	if err != nil {
		return "", err
	}
	data, err := c.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	return string(data), err
}

// roomWriteKind is which writes of Rooms apiRoomWrites counts.
type roomWriteKind struct {
	subresource string // "" for any
	verbs       []string
}

var (
	// statusWrites: applies, patches and updates of their status.
	statusWrites = roomWriteKind{subresource: "status", verbs: []string{"APPLY", "PATCH", "PUT"}}
	// roomWrites: every write, of the status or not.
	roomWrites = roomWriteKind{verbs: []string{"APPLY", "PATCH", "PUT", "POST", "DELETE"}}
)

// apiRoomWrites is how many writes of Rooms of kind the API server has
// served, whoever sent them.
func apiRoomWrites(ctx context.Context, cfg *rest.Config, kind roomWriteKind) (float64, error) {
	m, err := scrapeAPIServer(ctx, cfg)
	if err != nil {
		return 0, err
	}
	labels := []string{`resource="rooms"`}
	if kind.subresource != "" {
		labels = append(labels, `subresource="`+kind.subresource+`"`)
	}
	var sum float64
	for _, verb := range kind.verbs {
		sum += metricSum(m, "apiserver_request_total", slices.Concat(labels, []string{`verb="` + verb + `"`})...)
	}
	return sum, nil
}

// restConfigForRaw is cfg without client-side rate limiting, as
// controller-runtime configures the operator's: the API server's priority
// and fairness is the only limit.
func restConfigForRaw(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	return c
}

// procStatus returns fields of /proc/<pid>/status in bytes (VmRSS, VmHWM).
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range fields {
			if name == want {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
				out[name] = kb * 1024
			}
		}
	}
	return out, sc.Err()
}

// processCPU returns the CPU time (user and system) process pid has used.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second on Linux).
	_, rest, ok := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, data)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// machine describes where the figures were taken.
type machine struct {
	CPU     string `json:"cpu"`
	CPUs    int    `json:"cpus"`
	Memory  string `json:"memory"`
	Go      string `json:"go"`
	Kernel  string `json:"kernel"`
	Control string `json:"controlPlane"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Control: "kube-apiserver v1.37.2, etcd v3.7 (bin/k8s)"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPU = strings.TrimSpace(value)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "MemTotal:")), " kB"), 10, 64); err == nil {
			m.Memory = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(data))
	}
	return m
}
