package tencent

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// seriesOf counts the series vec has, as a scrape would show them.
func seriesOf(t *testing.T, vec *prometheus.CounterVec) int {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(vec)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		n += len(f.GetMetric())
	}
	return n
}

// valueOf is the value of vec's series with labels.
func valueOf(t *testing.T, vec *prometheus.CounterVec, labels ...string) float64 {
	t.Helper()
	m := &dto.Metric{}
	if err := vec.WithLabelValues(labels...).Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestObservedCodesAreBounded: an endpoint that answers a new ErrorCode (or
// HTTP status) at every call adds one series to a counter labelled with
// what Observe is told, not one per code, as roomsync_rest_requests_total
// is.
func TestObservedCodesAreBounded(t *testing.T) {
	var next atomic.Int64
	var httpStatus atomic.Bool
	c, _ := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		n := next.Add(1)
		if httpStatus.Load() {
			w.WriteHeader(400 + int(n%100)) // 400–499, most of them unknown
			return
		}
		_, _ = fmt.Fprintf(w, `{"ActionStatus":"FAIL","ErrorCode":%d,"ErrorInfo":"made up"}`, 200000+n)
	})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"command", "code"})
	c.Observe = func(command, code string) { requests.WithLabelValues(command, code).Inc() }
	ctx := context.Background()

	if err := c.DestroyRoom(ctx, "r"); err == nil {
		t.Fatal("no error")
	}
	first := seriesOf(t, requests)
	for range 999 {
		_ = c.DestroyRoom(ctx, "r")
	}
	if n := seriesOf(t, requests); n != first || first != 1 {
		t.Errorf("%d series after 1,000 unknown ErrorCodes (%d after the first), want 1", n, first)
	}
	if v := valueOf(t, requests, CommandDestroyRoom, "other"); v != 1000 {
		t.Errorf("destroy_room{code=other} is %v, want 1000", v)
	}

	httpStatus.Store(true)
	for range 1000 {
		_ = c.DestroyRoom(ctx, "r")
	}
	// other, and the 4xx statuses: 8 known ones and the class.
	if n := seriesOf(t, requests); n != 1+len([]int{400, 401, 403, 404, 405, 408, 413, 429})+1 {
		t.Errorf("%d series after 1,000 HTTP statuses, want 10", n)
	}
}

func TestObservedCodes(t *testing.T) {
	for code, want := range map[int64]string{
		0: "0", CodeInternalError: "100001", CodeRoomNotFound: "100004", CodeCallbackNotFound: "100301",
		70001: "70001", 70009: "70009", 90001: "90001",
		1: "other", -1: "other", 100003: "other", 99999999999: "other",
	} {
		if got := ObservedCode(code); got != want {
			t.Errorf("ObservedCode(%d) = %q, want %q", code, got, want)
		}
	}
	for code := range credentialCodes {
		if got := ObservedCode(int64(code)); got != strconv.Itoa(code) {
			t.Errorf("ObservedCode(%d) = %q: a credential code keeps its value", code, got)
		}
	}
	for status, want := range map[int]string{
		307: "http_307", 429: "http_429", 502: "http_502", 418: "http_4xx", 599: "http_5xx", 206: "http_2xx",
		100: "http_1xx", 99: "http_other", 600: "http_other", 999: "http_other",
	} {
		if got := ObservedHTTPStatus(status); got != want {
			t.Errorf("ObservedHTTPStatus(%d) = %q, want %q", status, got, want)
		}
	}
}
