package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/testenv"
)

// The scale run (-scale N, `make bench-scale`): roomsync with many Rooms,
// run as the default install runs it (-gomemlimit as its 1Gi limit sets).
//
//   - Receiver: callbacks per second and p50/p99 at concurrency 8 over 500
//     Rooms, first with only those 500, then again with N Rooms in all;
//     each time beside raw rounds of the same status writes made straight
//     to the API server, and the CPU each process spent per write, to tell
//     the API server's share of a slowdown from roomsync's.
//   - At 1,000, 10,000 and N Rooms (seeded with the status callbacks give,
//     and reconciled by the leader): both replicas are restarted, the
//     leader (--leader-elect) and a receiver-only one; for each, the time
//     from start until it serves callbacks (ready), its peak RSS while
//     starting, and its RSS and Go heap once steady; for the leader, the
//     time until it has reconciled every Room again, and the Room writes
//     the API server took meanwhile (nothing changed, so none is due).
//     The API server's and etcd's RSS are shown beside them.
//   - Clients at N Rooms: the time and peak RSS of `kubectl get rooms -A`,
//     with kubectl's pages of 500 and in one request (--chunk-size=0), and
//     of `kubectl roomsync status -A`; the mean size of a Room and of its
//     managedFields.
//   - Catch-up (unless -outage=0): scale_catchup.go.
const (
	scaleNamespace = "bench-scale"
	scaleSDKAppID  = 1400000004
	scaleHotRooms  = 500
)

type scaleResults struct {
	Machine     machine        `json:"machine"`
	Date        string         `json:"date"`
	Rooms       int            `json:"rooms"`
	Receiver    []receiverLoad `json:"receiver"`
	Steps       []scaleStep    `json:"steps"`
	GetRooms    time.Duration  `json:"getRoomsNanos"`
	GetRoomsRSS float64        `json:"getRoomsPeakRSSBytes"`
	// GetRoomsOnePage is `kubectl get rooms -A --chunk-size=0`: one request,
	// where the default pages of 500 make kubectl wait on its own client
	// rate limit (5 requests a second after a burst of 10).
	GetRoomsOnePage    time.Duration `json:"getRoomsOnePageNanos"`
	GetRoomsOnePageRSS float64       `json:"getRoomsOnePagePeakRSSBytes"`
	// RoomBytes is the mean size of a Room as the API server serves it
	// (JSON), and ManagedFieldsBytes the part of it metadata.managedFields
	// takes.
	RoomBytes          float64        `json:"roomBytes"`
	ManagedFieldsBytes float64        `json:"managedFieldsBytes"`
	Status             time.Duration  `json:"statusNanos"`
	StatusRSS          float64        `json:"statusPeakRSSBytes"`
	SeedSeconds        float64        `json:"seedSeconds"`
	CatchUp            *catchUpResult `json:"catchUp,omitempty"`
}

// receiverLoad is one receiver measurement: the receiver's rounds and, in
// alternation with them, raw rounds that make the same status writes
// straight to the API server (rawPatch). The raw rate at each size is the
// API server's own: the share of a slowdown roomsync cannot remove.
type receiverLoad struct {
	Rooms        int     `json:"rooms"`
	PerSecond    float64 `json:"perSecond"`
	P50          float64 `json:"p50Millis"`
	P99          float64 `json:"p99Millis"`
	RawPerSecond float64 `json:"rawPerSecond"`
	RawP99       float64 `json:"rawP99Millis"`
	// CPU and RawCPU are CPU milliseconds per stored write, by process;
	// Operator is the receiver-only replica.
	CPU    cpuShare `json:"cpu"`
	RawCPU cpuShare `json:"rawCPU"`
}

type replicaStart struct {
	Ready   time.Duration `json:"readyNanos"`
	PeakRSS float64       `json:"peakRSSBytes"`
	RSS     float64       `json:"rssBytes"`
	Heap    float64       `json:"heapInuseBytes"`
}

type scaleStep struct {
	Rooms         int           `json:"rooms"`
	Leader        replicaStart  `json:"leader"`
	Receiver      replicaStart  `json:"receiver"`
	Reconciled    time.Duration `json:"reconciledNanos"`
	RestartWrites float64       `json:"restartRoomWrites"`
	APIServerRSS  float64       `json:"apiserverRSSBytes"`
	EtcdRSS       float64       `json:"etcdRSSBytes"`
}

// scaleBench is the state of a scale run.
type scaleBench struct {
	*bench
	leader, receiver *testenv.Operator
	spools           string
	memoryLimit      string // GOMEMLIMIT of the operators ("": none)
	// cpuProfile, when set, is where the leader's CPU profile of the
	// catch-up's first minute goes; the leader serves pprof on pprofAddr.
	cpuProfile string
	rooms      int // seeded so far
}

func runScale(ctx context.Context, o options) (*scaleResults, error) {
	b, dir, stop, err := startBench(o, "roomsync-bench-scale")
	if err != nil {
		return nil, err
	}
	defer stop()
	env := b.env
	s := &scaleBench{bench: b, spools: dir, memoryLimit: o.memoryLimit, cpuProfile: o.cpuProfile}
	if o.cpuProfile != "" {
		if b.pprofAddr, err = testenv.FreeAddr(); err != nil {
			return nil, err
		}
	}
	if b.dynamic, err = dynamic.NewForConfig(restConfigForRaw(env.Config)); err != nil {
		return nil, err
	}
	if err := createApp(ctx, env.Client, scaleNamespace, scaleSDKAppID); err != nil {
		return nil, err
	}
	if _, _, err := s.start(ctx); err != nil {
		return nil, err
	}
	defer func() { s.leader.Stop(); s.receiver.Stop() }()

	res := &scaleResults{Machine: describeMachine(), Date: time.Now().UTC().Format(time.RFC3339), Rooms: o.scale}
	hot := make([]string, scaleHotRooms)
	for i := range hot {
		hot[i] = fmt.Sprintf("hot-room-%03d", i)
	}
	if err := parallel(len(hot), 16, func(i int) error { return s.sender.storedUpdate(hot[i], s.clock.Add(1)) }); err != nil {
		return nil, fmt.Errorf("creating the Rooms: %w", err)
	}
	s.rooms = len(hot)
	sizes := []int{1000, 10000, o.scale}
	if o.catchUpOnly {
		sizes = []int{o.scale}
	} else {
		fmt.Printf("Receiver: %d Rooms, concurrency 8...\n", len(hot))
		load, err := s.receiverLoad(ctx, hot, o.round, o.rounds)
		if err != nil {
			return res, err
		}
		res.Receiver = append(res.Receiver, load)
	}

	seeding := time.Duration(0)
	for _, n := range sizes {
		if n > o.scale || n <= s.rooms {
			continue
		}
		fmt.Printf("Seeding %d Rooms...\n", n)
		t0 := time.Now()
		if err := seedScaleRooms(ctx, env.Client, s.rooms, n, s.clock.Load()); err != nil {
			return res, err
		}
		seeding += time.Since(t0)
		s.rooms = n
		if err := s.waitReconciled(ctx, s.leader); err != nil {
			return res, err
		}
		if o.catchUpOnly {
			continue
		}
		fmt.Printf("Restarting both replicas with %d Rooms...\n", n)
		step, err := s.restart(ctx)
		if err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, step)
	}
	res.SeedSeconds = seeding.Seconds()
	if !o.catchUpOnly {
		if err := s.measureAtScale(ctx, o, hot, res); err != nil {
			return res, err
		}
	}
	if o.outage > 0 {
		fmt.Printf("Catch-up: %d active rooms changed while both replicas are down %s...\n", catchUpRooms, outageDown)
		cu, err := s.catchUp(ctx, hot)
		res.CatchUp = &cu
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// measureAtScale measures the receiver and the clients with every Room
// seeded.
func (s *scaleBench) measureAtScale(ctx context.Context, o options, hot []string, res *scaleResults) error {
	fmt.Printf("Receiver: %d Rooms of %d, concurrency 8...\n", len(hot), s.rooms)
	load, err := s.receiverLoad(ctx, hot, o.round, o.rounds)
	if err != nil {
		return err
	}
	res.Receiver = append(res.Receiver, load)

	fmt.Println("Clients: kubectl get rooms -A, kubectl roomsync status -A...")
	kubectl := filepath.Join(testenv.AssetsDir(), "kubectl")
	if res.GetRooms, res.GetRoomsRSS, err = s.timeCommand(ctx, kubectl, "get", "rooms", "-A"); err != nil {
		return err
	}
	if res.GetRoomsOnePage, res.GetRoomsOnePageRSS, err = s.timeCommand(ctx, kubectl, "get", "rooms", "-A", "--chunk-size=0"); err != nil {
		return err
	}
	if res.RoomBytes, res.ManagedFieldsBytes, err = roomSize(ctx, s.dynamic); err != nil {
		return err
	}
	plugin, err := filepath.Abs(filepath.Join(filepath.Dir(o.operator), "kubectl-roomsync"))
	if err != nil {
		return err
	}
	if res.Status, res.StatusRSS, err = s.timeCommand(ctx, plugin, "status", "-A"); err != nil {
		return err
	}
	return nil
}

// start starts the leader, waits until it leads, and then starts the
// receiver-only replica. It returns how long each took to serve callbacks
// from its own start.
func (s *scaleBench) start(ctx context.Context) (leader, receiver time.Duration, err error) {
	t0 := time.Now()
	if s.leader, err = s.launch(ctx, "leader"); err != nil {
		return 0, 0, err
	}
	if err := s.leader.WaitReady(5 * time.Minute); err != nil {
		return 0, 0, err
	}
	leader = time.Since(t0)
	if err := waitElected(s.leader); err != nil {
		return 0, 0, err
	}
	t1 := time.Now()
	if s.receiver, err = s.launch(ctx, "receiver"); err != nil {
		return 0, 0, err
	}
	if err := s.receiver.WaitReady(5 * time.Minute); err != nil {
		return 0, 0, err
	}
	receiver = time.Since(t1)
	s.operator = s.receiver // the replica the load hits, for cpuTimes
	s.sender = newSender(s.receiver.CallbackURL, scaleSDKAppID)
	return leader, receiver, nil
}

func (s *scaleBench) launch(ctx context.Context, name string) (*testenv.Operator, error) {
	if s.memoryLimit != "" {
		// For the operator only: not for the control plane, nor kubectl.
		_ = os.Setenv("GOMEMLIMIT", s.memoryLimit)
		defer os.Unsetenv("GOMEMLIMIT")
	}
	args := []string{"--metrics-secure=false", "--leader-elect",
		"--leader-election-namespace", "default", "--spool-dir", filepath.Join(s.spools, name)}
	if name == "leader" && s.pprofAddr != "" {
		args = append(args, "--pprof-bind-address", s.pprofAddr)
	}
	return testenv.LaunchOperator(ctx, s.binary, s.kubeconfig, args...)
}

// waitElected waits until op leads.
func waitElected(op *testenv.Operator) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if m, err := scrape(op.MetricsURL); err == nil && metricSum(m, "leader_election_master_status") == 1 {
			return nil
		}
	}
	return fmt.Errorf("the operator was not elected within a minute; its log:\n%s", op.Log)
}

// restart stops both replicas and starts them again, as a rolling update
// does, and measures their start.
func (s *scaleBench) restart(ctx context.Context) (scaleStep, error) {
	step := scaleStep{Rooms: s.rooms}
	s.receiver.Stop()
	s.leader.Stop()
	writesBefore, err := apiRoomWrites(ctx, s.env.Config, roomWrites)
	if err != nil {
		return step, err
	}
	t0 := time.Now()
	if step.Leader.Ready, step.Receiver.Ready, err = s.start(ctx); err != nil {
		return step, err
	}
	if err := s.waitReconciled(ctx, s.leader); err != nil {
		return step, err
	}
	step.Reconciled = time.Since(t0)
	writesAfter, err := apiRoomWrites(ctx, s.env.Config, roomWrites)
	if err != nil {
		return step, err
	}
	step.RestartWrites = writesAfter - writesBefore
	for _, r := range []struct {
		op  *testenv.Operator
		out *replicaStart
	}{{s.leader, &step.Leader}, {s.receiver, &step.Receiver}} {
		m, err := steadyMemory(ctx, r.op.Cmd.Process.Pid, r.op.MetricsURL, 5*time.Second)
		if err != nil {
			return step, err
		}
		r.out.RSS, r.out.Heap = m.rss, m.heapInuse
		st, err := procStatus(r.op.Cmd.Process.Pid, "VmHWM")
		if err != nil {
			return step, err
		}
		r.out.PeakRSS = float64(st["VmHWM"])
	}
	apiserver, etcd, err := s.env.PIDs()
	if err != nil {
		return step, err
	}
	for _, p := range []struct {
		pid int
		out *float64
	}{{apiserver, &step.APIServerRSS}, {etcd, &step.EtcdRSS}} {
		st, err := procStatus(p.pid, "VmRSS")
		if err != nil {
			return step, err
		}
		*p.out = float64(st["VmRSS"])
	}
	return step, nil
}

// waitReconciled waits until op has reconciled every Room (its Room
// controller's queue is empty after at least s.rooms reconciles).
func (s *scaleBench) waitReconciled(ctx context.Context, op *testenv.Operator) error {
	for {
		if m, err := scrape(op.MetricsURL); err == nil &&
			metricSum(m, "controller_runtime_reconcile_total", `controller="room"`, `result="success"`) >= float64(s.rooms) &&
			metricSum(m, "workqueue_depth", `name="room"`) == 0 &&
			metricSum(m, "workqueue_depth", `name="recording"`) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d Rooms to be reconciled: %w", s.rooms, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// receiverLoad sends updates of rooms at concurrency 8 to the receiver-only
// replica for rounds rounds of d, alternating with raw rounds of the same
// writes, and returns the mean rates, the latency percentiles of all rounds
// and the CPU each process spent per write.
func (s *scaleBench) receiverLoad(ctx context.Context, rooms []string, d time.Duration, rounds int) (receiverLoad, error) {
	receiver := func(i int64) error { return s.sender.storedUpdate(rooms[i%int64(len(rooms))], s.clock.Add(1)) }
	raw := func(i int64) error {
		return rawPatch(ctx, s.dynamic, scaleNamespace, roomstore.NameFor(rooms[i%int64(len(rooms))]), s.clock.Add(1))
	}
	drive(8, time.Second, receiver) // warm up
	drive(8, time.Second, raw)
	res := receiverLoad{Rooms: s.rooms}
	var (
		lat, rawLat       []time.Duration
		stored, rawStored int
		spent, rawSpent   time.Duration
	)
	for round := range rounds {
		r, w, err := s.alternate(round, 8, d, receiver, raw, &res.CPU, &res.RawCPU)
		if err != nil {
			return res, err
		}
		if r.Failed > 0 || w.Failed > 0 {
			return res, fmt.Errorf("%d receiver and %d raw writes failed: %w", r.Failed, w.Failed, errors.Join(r.firstErr, w.firstErr))
		}
		lat, stored, spent = append(lat, r.latencies...), stored+r.Stored, spent+r.Elapsed
		rawLat, rawStored, rawSpent = append(rawLat, w.latencies...), rawStored+w.Stored, rawSpent+w.Elapsed
	}
	res.CPU.finish()
	res.RawCPU.finish()
	res.PerSecond, res.P50, res.P99 = float64(stored)/spent.Seconds(), ms(percentile(lat, 50)), ms(percentile(lat, 99))
	res.RawPerSecond, res.RawP99 = float64(rawStored)/rawSpent.Seconds(), ms(percentile(rawLat, 99))
	return res, nil
}

// timeCommand runs a kubectl-like command against the local control plane
// and returns how long it took and its peak RSS.
func (s *scaleBench) timeCommand(ctx context.Context, name string, args ...string) (time.Duration, float64, error) {
	cmd := exec.CommandContext(ctx, name, append(args, "--kubeconfig", s.kubeconfig)...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %v: %w: %s", name, args, err, stderr.String())
	}
	rss := float64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) * 1024
	}
	return took, rss, nil
}

// seedScaleRooms creates Rooms from, to, with the status a room's callbacks
// give it: room info, members and seats. Their last events are spread over
// the past day, the newest eventTime at newest.
func seedScaleRooms(ctx context.Context, c client.Client, from, to int, newest int64) error {
	return parallel(to-from, 32, func(i int) error {
		i += from
		roomID := scaleRoomID(i)
		room := &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: scaleNamespace,
				Name:      roomstore.NameFor(roomID),
				Labels: map[string]string{
					chatv1alpha1.SDKAppIDLabel:  strconv.Itoa(scaleSDKAppID),
					chatv1alpha1.CreatedByLabel: chatv1alpha1.CreatedByCallback,
				},
			},
			Spec: chatv1alpha1.RoomSpec{SDKAppID: scaleSDKAppID, RoomID: roomID},
		}
		if err := c.Create(ctx, room); err != nil {
			return fmt.Errorf("creating Room %s: %w", room.Name, err)
		}
		at := newest - int64(i)*1000 // a second apart: the first seeded is the most active
		patch := client.MergeFrom(room.DeepCopy())
		room.Status = chatv1alpha1.RoomStatus{
			RoomName:               "Lesson " + strconv.Itoa(i),
			OwnerAccount:           "teacher-" + strconv.Itoa(i%5000),
			RoomType:               "Conference",
			TakeSeatMode:           "ApplyToTake",
			MaxMemberCount:         300,
			MaxSeatCount:           16,
			SeatEnabled:            ptr.To(true),
			CloudRecordingDisabled: ptr.To(true),
			CreateTime:             at/1000 - 3600,
			Phase:                  chatv1alpha1.RoomPhaseActive,
			MemberCount:            ptr.To(int64(i % 300)),
			Members:                &chatv1alpha1.RoomMembers{EventTime: at, Left: int64(i % 7)},
			Seats:                  &chatv1alpha1.RoomSeats{Total: 16, Taken: int64(i % 16), EventTime: at},
			LastEventTime:          at,
			LastOperator:           "student-" + strconv.Itoa(i%100000),
			LastCallbackCommand:    "Room.CallbackAfterMemberEnter",
			LastClientIP:           fmt.Sprintf("198.51.100.%d", i%256),
			LastOptPlatform:        "Web",
		}
		if err := c.Status().Patch(ctx, room, patch); err != nil {
			return fmt.Errorf("writing the status of Room %s: %w", room.Name, err)
		}
		return nil
	})
}

// roomSize returns the mean size in JSON of the first 500 Rooms of the
// scale namespace, and of their managedFields.
func roomSize(ctx context.Context, c dynamic.Interface) (room, managedFields float64, err error) {
	list, err := c.Resource(roomsGVR).Namespace(scaleNamespace).List(ctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return 0, 0, err
	}
	for _, item := range list.Items {
		whole, err := json.Marshal(item.Object)
		if err != nil {
			return 0, 0, err
		}
		mf, err := json.Marshal(item.GetManagedFields())
		if err != nil {
			return 0, 0, err
		}
		room, managedFields = room+float64(len(whole)), managedFields+float64(len(mf))
	}
	n := float64(max(1, len(list.Items)))
	return room / n, managedFields / n, nil
}

// scaleRoomID is the RoomId of the i-th seeded room.
func scaleRoomID(i int) string { return fmt.Sprintf("scale-room-%06d", i) }

func (r *scaleResults) print(out io.Writer) {
	mib := func(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }
	sec := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
	fmt.Fprintf(out, "\nMachine: %s, %d CPUs, %s; %s\n", r.Machine.CPU, r.Machine.CPUs, r.Machine.Kernel, r.Date)
	fmt.Fprintf(out, "\n| Rooms | replica | ready after | peak RSS while starting | RSS steady | Go heap | all reconciled after | Room writes on restart | kube-apiserver / etcd RSS |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, st := range r.Steps {
		fmt.Fprintf(out, "| %d | leader | %s | %s | %s | %s | %s | %.0f | %s / %s |\n", st.Rooms, sec(st.Leader.Ready), mib(st.Leader.PeakRSS),
			mib(st.Leader.RSS), mib(st.Leader.Heap), sec(st.Reconciled), st.RestartWrites, mib(st.APIServerRSS), mib(st.EtcdRSS))
		fmt.Fprintf(out, "| %d | receiver | %s | %s | %s | %s | | | |\n", st.Rooms, sec(st.Receiver.Ready), mib(st.Receiver.PeakRSS),
			mib(st.Receiver.RSS), mib(st.Receiver.Heap))
	}
	fmt.Fprintf(out, "\n| Concurrency 8, %d Rooms written; Rooms in all | receiver callbacks/s | p50 / p99 | raw writes/s | raw p99 | receiver / raw | CPU ms per callback: receiver, kube-apiserver, etcd | per raw write: kube-apiserver, etcd |\n|---|---|---|---|---|---|---|---|\n", scaleHotRooms)
	for _, l := range r.Receiver {
		fmt.Fprintf(out, "| %d | %.0f | %.1f / %.1f ms | %.0f | %.1f ms | %.2f | %.2f, %.2f, %.2f | %.2f, %.2f |\n", l.Rooms, l.PerSecond, l.P50, l.P99,
			l.RawPerSecond, l.RawP99, l.PerSecond/l.RawPerSecond, l.CPU.Operator, l.CPU.APIServer, l.CPU.Etcd, l.RawCPU.APIServer, l.RawCPU.Etcd)
	}
	fmt.Fprintf(out, "\nClients with %d Rooms: kubectl get rooms -A %s (peak RSS %s); with --chunk-size=0 %s (%s); kubectl roomsync status -A %s, peak RSS %s\n",
		r.Rooms, sec(r.GetRooms), mib(r.GetRoomsRSS), sec(r.GetRoomsOnePage), mib(r.GetRoomsOnePageRSS), sec(r.Status), mib(r.StatusRSS))
	fmt.Fprintf(out, "A Room is %.0f bytes of JSON, %.0f of them managedFields\n", r.RoomBytes, r.ManagedFieldsBytes)
	fmt.Fprintf(out, "Seeding took %.0f s\n", r.SeedSeconds)
	if cu := r.CatchUp; cu != nil {
		healed := "NOT within 5 minutes"
		if cu.Healed > 0 {
			healed = sec(cu.Healed)
		}
		fmt.Fprintf(out, "Catch-up: %d rooms renamed while both replicas were down %s; leader elected and receiver serving %s after the leader's start; all healed %s after that (%d REST requests; the first about a renamed room %s after, the last %s after); the leader's Room index synced %s after its start, by when %d requests had been made\n",
			cu.Rooms, outageDown, sec(cu.Ready), healed, cu.Requests, sec(cu.FirstRead), sec(cu.LastRead), sec(cu.LeaderIndexSynced), cu.RequestsBeforeIndex)
	}
}
