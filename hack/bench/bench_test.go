package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%v = %s, want %s", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 99) != 0 {
		t.Error("the percentile of nothing is 0")
	}
}

func TestMetricSum(t *testing.T) {
	const exposition = `# HELP apiserver_request_total Counter
apiserver_request_total{code="200",resource="rooms",subresource="status",verb="APPLY"} 7
apiserver_request_total{code="409",resource="rooms",subresource="status",verb="PATCH"} 2
apiserver_request_total{code="200",resource="rooms",subresource="",verb="PATCH"} 100
apiserver_request_total_other{resource="rooms",subresource="status",verb="PATCH"} 1000
go_memstats_heap_inuse_bytes 1.048576e+06
`
	if got := metricSum(exposition, "apiserver_request_total", `resource="rooms"`, `subresource="status"`); got != 9 {
		t.Errorf("status writes = %v, want 9", got)
	}
	if got := metricSum(exposition, "go_memstats_heap_inuse_bytes"); got != 1<<20 {
		t.Errorf("heap = %v, want %v", got, 1<<20)
	}
	if !containsMetric(exposition, "go_memstats_heap_inuse_bytes") || containsMetric(exposition, "apiserver_request") {
		t.Error("containsMetric matches prefixes or misses names")
	}
}

func TestIndexSyncTime(t *testing.T) {
	log := `{"level":"info","ts":"2026-12-03T08:09:39Z","msg":"Starting EventSource"}
{"level":"info","ts":"2026-12-03T08:09:51Z","logger":"room-index","msg":"Room index synced","rooms":100000,"took":12.345}
`
	if got, want := indexSyncTime(log), 12345*time.Millisecond; got != want {
		t.Errorf("indexSyncTime = %s, want %s", got, want)
	}
	if got := indexSyncTime(`{"msg":"Room index synced","took":"1.5s"}`); got != 1500*time.Millisecond {
		t.Errorf("indexSyncTime of a duration string = %s, want 1.5s", got)
	}
	if got := indexSyncTime(`{"msg":"Starting"}`); got != 0 {
		t.Errorf("indexSyncTime of a log without the line = %s, want 0", got)
	}
}
