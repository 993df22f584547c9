// Command bench measures roomsync's callback receiver against the API
// server's own write speed, on a local control plane (kube-apiserver and
// etcd from bin/k8s) with the built operator running, and prints a table
// (and JSON, for tracking). `make bench` runs it. The operator runs with a
// spool (--spool-dir in a temporary directory); -spool=false runs it
// without, to compare.
//
//   - Distinct rooms: callbacks per second stored, and p50/p99 latency, at
//     concurrency 1, 8 and 64, against the raw ceiling: client-go JSON merge
//     patches of the same Rooms' status, in alternating rounds on the same
//     API server. The ratio is the median of the rounds' ratios. Events the
//     operator spooled are counted: with a healthy API server there should
//     be none, and a round with some is not comparable to raw.
//   - One hot room: updates whose EventTimes rise in the order they are sent,
//     as Tencent sends them, from 64 senders: time to all answered, writes
//     sent to the API server, and the final state. The same with shuffled
//     EventTimes, as a correctness check.
//   - Outage (with a spool; -outage sets its length, 0 skips it): 8 senders
//     send updates over 100 Rooms, each every 20 ms; 3 s in, the control
//     plane is stopped for the outage, then started again, and the senders
//     go on 5 s more. Every callback must be answered 200; the latency of
//     those sent while the control plane was down, the spool's counts, and
//     the time from the API server's return until every Room holds its
//     newest event answered OK (at most 60 s).
//   - Memory: the operator's RSS and Go heap with 10,000 Rooms (and 10,000
//     unrelated ConfigMaps and Jobs), and the time to reconcile all the Rooms
//     after it starts; then 10,000 unrelated Secrets of 1 KiB (not labelled
//     for roomsync, in another namespace) are added, and the growth of its
//     RSS once steady. Each RSS is the median of 3 readings a second apart.
//     The Go heap in use is shown beside it: the runtime first reuses memory
//     it freed but still holds, so the RSS can hide part of a growth.
//
// Absolute figures vary between machines and runs; compare the ratios taken
// in one run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	// settle is the pause before each distinct-room round.
	settle          = time.Second
	namespace       = "bench"
	memoryNamespace = "bench-memory"
	outageNamespace = "bench-outage"
	sdkAppID        = 1400000001
	memorySDKAppID  = 1400000002
	outageSDKAppID  = 1400000003
	token           = "bench-token"
)

type options struct {
	operator    string
	out         string
	rooms       int
	round       time.Duration
	rounds      int
	hotEvents   int
	memoryRooms int
	outage      time.Duration
	spool       bool
	cpuProfile  string
	scale       int
	catchUpOnly bool
	memoryLimit string
}

func main() {
	var o options
	flag.StringVar(&o.operator, "operator", "bin/roomsync", "The operator binary to measure (`make build` builds it).")
	flag.StringVar(&o.out, "json", "bin/bench.json", "Where to write the results as JSON.")
	flag.IntVar(&o.rooms, "rooms", 500, "Distinct Rooms the distinct-room rounds write to.")
	flag.DurationVar(&o.round, "round", 4*time.Second, "Length of one distinct-room round.")
	flag.IntVar(&o.rounds, "rounds", 3, "Alternating receiver/raw rounds per concurrency.")
	flag.IntVar(&o.hotEvents, "hot-events", 1000, "Updates sent to the hot room.")
	flag.IntVar(&o.memoryRooms, "memory-rooms", 10000, "Rooms (and unrelated ConfigMaps, Jobs and Secrets) for the memory run; 0 skips it.")
	flag.DurationVar(&o.outage, "outage", 20*time.Second, "How long the outage round keeps the control plane down; 0 skips the round, as -spool=false does.")
	flag.BoolVar(&o.spool, "spool", true, "Run the operator with a spool (--spool-dir in a temporary directory); false runs it without.")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "Write the operator's CPU profile to this `file`: taken during the first receiver round at concurrency 8, or with -scale, the leader's during the catch-up's first minute.")
	flag.IntVar(&o.scale, "scale", 0, "Instead of the rounds above, the scale run: this many Rooms (see scale.go; `make bench-scale` runs it with 100000). Its JSON goes to bin/bench-scale.json unless -json is given.")
	flag.BoolVar(&o.catchUpOnly, "catchup-only", false, "In the scale run, seed every Room at once and measure only the catch-up: no restarts at 1,000 and 10,000 Rooms, no receiver rounds, no clients (for work on the catch-up; about 40 minutes with 100,000 Rooms on 2 cores, most of it seeding).")
	flag.StringVar(&o.memoryLimit, "gomemlimit", "", "GOMEMLIMIT for the operator processes of the scale run, as a container limit sets it: roomsync sets 90% of its cgroup's memory.max (920MiB for the default 1Gi; make bench-scale passes that).")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.scale > 0 {
		if o.out == "bin/bench.json" {
			o.out = "bin/bench-scale.json"
		}
		res, err := runScale(ctx, o)
		if res != nil {
			res.print(os.Stdout)
			if data, jerr := json.MarshalIndent(res, "", "  "); jerr == nil {
				_ = os.WriteFile(o.out, append(data, '\n'), 0o644)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	res, err := run(ctx, o)
	if res != nil {
		res.print(os.Stdout)
		if data, jerr := json.MarshalIndent(res, "", "  "); jerr == nil {
			if werr := os.WriteFile(o.out, append(data, '\n'), 0o644); werr != nil {
				fmt.Fprintln(os.Stderr, "bench:", werr)
			} else {
				fmt.Println("JSON:", o.out)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if res.failed() {
		fmt.Fprintln(os.Stderr, "bench: a correctness check failed (see above)")
		os.Exit(1)
	}
}

// bench holds what a run needs.
type bench struct {
	env        *testenv.Env
	kubeconfig string
	binary     string
	spoolDir   string // empty: the operator runs without a spool
	operator   *testenv.Operator
	sender     *sender
	pprofAddr  string
	dynamic    dynamic.Interface
	clock      atomic.Int64 // EventTimes: unique and rising across the run
}

// startBench starts a local control plane and returns the bench of the
// operator binary o names, with a kubeconfig in dir, a temporary directory
// named after name; stop stops the control plane and removes dir.
func startBench(o options, name string) (b *bench, dir string, stop func(), err error) {
	binary, err := filepath.Abs(o.operator)
	if err != nil {
		return nil, "", nil, err
	}
	fmt.Println("Starting a local control plane...")
	env, err := testenv.Start()
	if err != nil {
		return nil, "", nil, err
	}
	if dir, err = os.MkdirTemp("", name+"-"); err != nil {
		_ = env.Stop()
		return nil, "", nil, err
	}
	stop = func() { _ = env.Stop(); _ = os.RemoveAll(dir) }
	b = &bench{env: env, binary: binary, kubeconfig: filepath.Join(dir, "kubeconfig")}
	b.clock.Store(time.Now().UnixMilli())
	if err := os.WriteFile(b.kubeconfig, env.KubeConfig, 0o600); err != nil {
		stop()
		return nil, "", nil, err
	}
	return b, dir, stop, nil
}

func run(ctx context.Context, o options) (*results, error) {
	b, dir, stop, err := startBench(o, "roomsync-bench")
	if err != nil {
		return nil, err
	}
	defer stop()
	env := b.env
	if b.dynamic, err = dynamic.NewForConfig(restConfigForRaw(env.Config)); err != nil {
		return nil, err
	}
	if o.spool {
		b.spoolDir = filepath.Join(dir, "spool")
	}
	if err := createApp(ctx, env.Client, namespace, sdkAppID); err != nil {
		return nil, err
	}
	// The outage round's ChatApp is made now, so that the operator knows
	// it from the start.
	outage := o.outage > 0 && o.spool
	if outage {
		if err := createApp(ctx, env.Client, outageNamespace, outageSDKAppID); err != nil {
			return nil, err
		}
	}
	if o.cpuProfile != "" {
		if b.pprofAddr, err = testenv.FreeAddr(); err != nil {
			return nil, err
		}
	}
	if err := b.startOperator(ctx); err != nil {
		return nil, err
	}
	defer func() { b.operator.Stop() }()

	res := &results{Machine: describeMachine(), Date: time.Now().UTC().Format(time.RFC3339), Spool: o.spool}
	fmt.Printf("Distinct rooms: %d Rooms, %d rounds of %s per side and concurrency...\n", o.rooms, o.rounds, o.round)
	if res.Distinct, err = b.distinctRooms(ctx, o); err != nil {
		return res, err
	}
	fmt.Printf("Hot room: %d updates from 64 senders...\n", o.hotEvents)
	if res.HotRoom, err = b.hotRoom(ctx, "hot-rising", o.hotEvents, false); err != nil {
		return res, err
	}
	if res.HotRoomShuffled, err = b.hotRoom(ctx, "hot-shuffled", o.hotEvents, true); err != nil {
		return res, err
	}
	if outage {
		fmt.Printf("Outage: the control plane down for %s under %d senders over %d Rooms...\n", o.outage, outageSenders, outageRooms)
		if res.Outage, err = b.outage(ctx, o.outage); err != nil {
			return res, err
		}
	} else if o.outage > 0 {
		fmt.Println("Outage: skipped, the operator runs without a spool (-spool=false)")
	}
	if o.memoryRooms > 0 {
		fmt.Printf("Memory: %d Rooms, %d ConfigMaps and %d Jobs, then %d Secrets...\n", o.memoryRooms, o.memoryRooms, o.memoryRooms, o.memoryRooms)
		if res.Memory, err = b.memory(ctx, o.memoryRooms); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (b *bench) startOperator(ctx context.Context) error {
	args := []string{"--metrics-secure=false"}
	if b.pprofAddr != "" {
		args = append(args, "--pprof-bind-address", b.pprofAddr)
	}
	if b.spoolDir != "" {
		args = append(args, "--spool-dir", b.spoolDir)
	}
	op, err := testenv.StartOperator(ctx, b.binary, b.kubeconfig, args...)
	if err != nil {
		return err
	}
	b.operator = op
	b.sender = newSender(op.CallbackURL, sdkAppID)
	return nil
}

// distinctRooms creates the Rooms, then runs receiver and raw rounds in
// alternating order at each concurrency.
func (b *bench) distinctRooms(ctx context.Context, o options) ([]distinctResult, error) {
	ids := make([]string, o.rooms)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-room-%04d", i)
	}
	if err := parallel(len(ids), 16, func(i int) error {
		return b.sender.storedUpdate(ids[i], b.clock.Add(1))
	}); err != nil {
		return nil, fmt.Errorf("creating the Rooms: %w", err)
	}
	receiver := func(i int64) error { return b.sender.storedUpdate(ids[i%int64(len(ids))], b.clock.Add(1)) }
	raw := func(i int64) error {
		id := ids[i%int64(len(ids))]
		return rawPatch(ctx, b.dynamic, namespace, roomstore.NameFor(id), b.clock.Add(1))
	}
	// Warm both paths up: connections, caches, the API server's.
	drive(8, time.Second, receiver)
	drive(8, time.Second, raw)

	var out []distinctResult
	for _, c := range []int{1, 8, 64} {
		d := distinctResult{Concurrency: c}
		var recvLat, rawLat []time.Duration
		for round := range o.rounds {
			if c == 8 && round == 0 && o.cpuProfile != "" {
				go b.profile(o.cpuProfile, o.round)
			}
			conflictsBefore := b.receiverConflicts()
			spoolBefore, err := b.spoolCounts()
			if err != nil {
				return nil, err
			}
			r, w, err := b.alternate(round, c, o.round, receiver, raw, &d.ReceiverCPU, &d.RawCPU)
			if err != nil {
				return nil, err
			}
			d.ReceiverConflicts += int(b.receiverConflicts() - conflictsBefore)
			spoolAfter, err := b.spoolCounts()
			if err != nil {
				return nil, err
			}
			if r.Failed > 0 || w.Failed > 0 {
				return nil, fmt.Errorf("concurrency %d: %d receiver and %d raw writes failed: %w", c, r.Failed, w.Failed, errors.Join(r.firstErr, w.firstErr))
			}
			spooledNow := spoolAfter.Spooled - spoolBefore.Spooled
			d.ReceiverSpooled += spooledNow
			d.Rounds = append(d.Rounds, roundResult{Receiver: r.PerSecond(), Raw: w.PerSecond(), Ratio: r.PerSecond() / w.PerSecond(), Spooled: spooledNow})
			recvLat, rawLat = append(recvLat, r.latencies...), append(rawLat, w.latencies...)
		}
		ratios := make([]float64, len(d.Rounds))
		for i, r := range d.Rounds {
			ratios[i] = r.Ratio
			d.Receiver += r.Receiver / float64(len(d.Rounds))
			d.Raw += r.Raw / float64(len(d.Rounds))
		}
		d.ReceiverCPU.finish()
		d.RawCPU.finish()
		slices.Sort(ratios)
		d.Ratio = ratios[len(ratios)/2]
		d.ReceiverP50, d.ReceiverP99 = ms(percentile(recvLat, 50)), ms(percentile(recvLat, 99))
		d.RawP50, d.RawP99 = ms(percentile(rawLat, 50)), ms(percentile(rawLat, 99))
		fmt.Printf("  concurrency %2d: receiver %.0f/s, raw %.0f/s, ratio %.2f, %d spooled\n", c, d.Receiver, d.Raw, d.Ratio, d.ReceiverSpooled)
		out = append(out, d)
	}
	return out, nil
}

// measure drives op at concurrency c for d, once the controllers have
// caught up with the last round (so that neither side pays for the other's
// writes), and adds the CPU each process spent to cpu.
func (b *bench) measure(c int, d time.Duration, op func(int64) error, cpu *cpuShare) (load, error) {
	time.Sleep(settle)
	before, err := b.cpuTimes()
	if err != nil {
		return load{}, err
	}
	l := drive(c, d, op)
	after, err := b.cpuTimes()
	if err != nil {
		return load{}, err
	}
	cpu.add(before, after, l.Stored)
	return l, nil
}

// alternate measures a receiver round and a raw round, the receiver first
// in even rounds, so that neither side always runs on a fresher API server.
func (b *bench) alternate(round, c int, d time.Duration, receiver, raw func(int64) error, receiverCPU, rawCPU *cpuShare) (r, w load, err error) {
	if round%2 == 0 {
		if r, err = b.measure(c, d, receiver, receiverCPU); err == nil {
			w, err = b.measure(c, d, raw, rawCPU)
		}
		return r, w, err
	}
	if w, err = b.measure(c, d, raw, rawCPU); err == nil {
		r, err = b.measure(c, d, receiver, receiverCPU)
	}
	return r, w, err
}

// cpuTimes reads the CPU time each process has used so far.
func (b *bench) cpuTimes() (cpuTimes, error) {
	apiserver, etcd, err := b.env.PIDs()
	if err != nil {
		return cpuTimes{}, err
	}
	var t cpuTimes
	for _, p := range []struct {
		pid int
		to  *time.Duration
	}{{b.operator.Cmd.Process.Pid, &t.operator}, {os.Getpid(), &t.load}, {apiserver, &t.apiserver}, {etcd, &t.etcd}} {
		if *p.to, err = processCPU(p.pid); err != nil {
			return cpuTimes{}, err
		}
	}
	return t, nil
}

// profile saves the operator's CPU profile over the next d.
func (b *bench) profile(file string, d time.Duration) {
	data, err := scrape(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", b.pprofAddr, max(1, int(d.Seconds()))))
	if err == nil {
		err = os.WriteFile(file, []byte(data), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: profiling the operator:", err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// hotRoom sends n updates of one room from 64 senders, in the order of their
// EventTimes, or shuffled, and checks that the Room ends at the newest.
func (b *bench) hotRoom(ctx context.Context, roomID string, n int, shuffled bool) (hotResult, error) {
	if err := b.sender.storedUpdate(roomID, b.clock.Add(1)); err != nil {
		return hotResult{}, fmt.Errorf("creating the hot Room: %w", err)
	}
	times := make([]int64, n)
	for i := range times {
		times[i] = b.clock.Add(1)
	}
	if shuffled {
		rand.Shuffle(n, func(i, j int) { times[i], times[j] = times[j], times[i] })
	}
	writesBefore, err := b.receiverWrites()
	if err != nil {
		return hotResult{}, err
	}
	apiBefore, err := apiRoomWrites(ctx, b.env.Config, statusWrites)
	if err != nil {
		return hotResult{}, err
	}

	h := hotResult{Events: n, Concurrency: 64, Shuffled: shuffled}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		queue     = make(chan int64)
		wg        sync.WaitGroup
	)
	started := time.Now()
	for range 64 {
		wg.Go(func() {
			for et := range queue {
				t0 := time.Now()
				o, err := b.sender.update(roomID, et)
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					h.Failed++
					if firstErr == nil {
						firstErr = err
					}
				case o == applied:
					h.Applied++
				case o == spooled:
					h.Spooled++
				default:
					h.Stale++
				}
				latencies = append(latencies, d)
				mu.Unlock()
			}
		})
	}
	for _, et := range times {
		queue <- et
	}
	close(queue)
	wg.Wait()
	h.AllAnswered = ms(time.Since(started))
	h.P50, h.P99 = ms(percentile(latencies, 50)), ms(percentile(latencies, 99))

	// The API server counts a write when it answers it; the operator's
	// controllers may write the Room once more in reaction, which counts too.
	time.Sleep(time.Second)
	writesAfter, err := b.receiverWrites()
	if err != nil {
		return h, err
	}
	apiAfter, err := apiRoomWrites(ctx, b.env.Config, statusWrites)
	if err != nil {
		return h, err
	}
	h.ReceiverWrites, h.APIWrites = int(writesAfter-writesBefore), int(apiAfter-apiBefore)

	room := &chatv1alpha1.Room{}
	if err := b.env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: roomstore.NameFor(roomID)}, room); err != nil {
		return h, err
	}
	newest := slices.Max(times)
	h.FinalIsNewest = room.Status.LastEventTime == newest && room.Status.RoomName == roomName(newest)
	if firstErr != nil {
		fmt.Println("  first failure:", firstErr)
	}
	fmt.Printf("  %s: %d answered in %.0f ms, %d writes\n", roomID, n, h.AllAnswered, h.APIWrites)
	return h, nil
}

// receiverWrites is the operator's count of status writes it sent.
func (b *bench) receiverWrites() (float64, error) {
	m, err := scrape(b.operator.MetricsURL)
	if err != nil {
		return 0, err
	}
	if !containsMetric(m, "roomsync_room_status_writes_total") {
		return 0, errors.New("the operator's /metrics has no roomsync_room_status_writes_total")
	}
	return metricSum(m, "roomsync_room_status_writes_total"), nil
}

// receiverConflicts is how many of the receiver's writes the API server
// refused because the Room had changed since it was read.
func (b *bench) receiverConflicts() float64 {
	m, err := scrape(b.operator.MetricsURL)
	if err != nil {
		return 0
	}
	return metricSum(m, "roomsync_room_status_writes_total", `result="conflict"`)
}

// spoolCounts is the operator's count of events through its spool, by what
// happened to them (all 0 without a spool).
func (b *bench) spoolCounts() (spoolCounts, error) {
	m, err := scrape(b.operator.MetricsURL)
	if err != nil {
		return spoolCounts{}, fmt.Errorf("reading the operator's metrics: %w", err)
	}
	count := func(result string) int {
		return int(metricSum(m, "roomsync_spool_events_total", `result="`+result+`"`))
	}
	return spoolCounts{Spooled: count("spooled"), Replayed: count("replayed"), Stale: count("stale"), DeadLettered: count("dead_lettered")}, nil
}

// memory stops the operator, seeds the cluster, starts the operator again
// and measures the time to reconcile every Room and the memory it then uses;
// then adds n unrelated Secrets and measures the memory again.
func (b *bench) memory(ctx context.Context, n int) (*memoryResult, error) {
	b.operator.Stop()
	fmt.Println("  seeding (the operator is stopped)...")
	if err := seedUnrelated(ctx, b.env.Client, "bench-unrelated", n); err != nil {
		return nil, err
	}
	if err := createApp(ctx, b.env.Client, memoryNamespace, memorySDKAppID); err != nil {
		return nil, err
	}
	if err := seedRooms(ctx, b.env.Client, memoryNamespace, memorySDKAppID, n); err != nil {
		return nil, err
	}

	fmt.Println("  starting the operator...")
	started := time.Now()
	if err := b.startOperator(ctx); err != nil {
		return nil, err
	}
	ready := time.Since(started)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if err := waitReconciled(wctx, b.env.Client, memoryNamespace, n, b.operator.MetricsURL); err != nil {
		return nil, err
	}
	m := &memoryResult{Rooms: n, Unrelated: n, Ready: ms(ready), AllReconciled: ms(time.Since(started))}

	// Let the start's garbage be collected before reading the memory.
	pid := b.operator.Cmd.Process.Pid
	before, err := steadyMemory(ctx, pid, b.operator.MetricsURL, 5*time.Second)
	if err != nil {
		return nil, err
	}
	st, err := procStatus(pid, "VmHWM")
	if err != nil {
		return nil, err
	}
	m.RSSMiB, m.PeakRSSMiB, m.HeapInuseMiB = mib(before.rss), mib(float64(st["VmHWM"])), mib(before.heapInuse)
	fmt.Printf("  all %d reconciled %.1f s after start; RSS %.1f MiB\n", n, m.AllReconciled/1000, m.RSSMiB)

	// The same again with unrelated Secrets, which the operator's cache
	// held all of before it held only the labelled ones.
	fmt.Printf("  adding %d unrelated Secrets...\n", n)
	seeded := time.Now()
	if err := seedSecrets(ctx, b.env.Client, "bench-secrets", n); err != nil {
		return nil, err
	}
	fmt.Printf("  created in %.1f s\n", time.Since(seeded).Seconds())
	after, err := steadyMemory(ctx, pid, b.operator.MetricsURL, 15*time.Second)
	if err != nil {
		return nil, err
	}
	m.Secrets = n
	m.RSSWithSecretsMiB, m.HeapInuseWithSecretsMiB = mib(after.rss), mib(after.heapInuse)
	m.SecretsRSSGrowthMiB = m.RSSWithSecretsMiB - m.RSSMiB
	fmt.Printf("  RSS %.1f MiB with the Secrets, %+.1f MiB\n", m.RSSWithSecretsMiB, m.SecretsRSSGrowthMiB)
	return m, nil
}

func mib(bytes float64) float64 { return bytes / (1 << 20) }
