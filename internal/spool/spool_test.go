package spool

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// clock is a fake Options.Now that moves one second a call.
type clock struct {
	mu sync.Mutex
	n  int64
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return time.Unix(1_700_000_000+c.n, 0)
}

func openSpool(t *testing.T, opts Options) (*Spool, Recovery) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Now == nil {
		opts.Now = new(clock).now
	}
	s, rec, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, rec
}

func mustPut(t *testing.T, s *Spool, key, data string) Entry {
	t.Helper()
	e, err := s.Put(key, []byte(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return e
}

func mustOldest(t *testing.T, s *Spool, n int) []Entry {
	t.Helper()
	es, err := s.Oldest(n)
	if err != nil {
		t.Fatalf("Oldest(%d): %v", n, err)
	}
	return es
}

// fill puts n entries from 32 goroutines at a time, as a burst of callbacks
// would (one at a time, each Put would wait out bbolt's batch delay), and
// returns the highest seq.
func fill(t *testing.T, s *Spool, n int, data string) uint64 {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last uint64
	var firstErr error
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < n; i += 32 {
				e, err := s.Put(fmt.Sprint("room-", i%10), []byte(data))
				mu.Lock()
				last = max(last, e.Seq)
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Errorf("Put: %v", firstErr) // not Fatal: fill may run in a goroutine of the test's
	}
	return last
}

func seqs(es []Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func size(e Entry) int64 { return int64(len(encodeEntry(e))) }

// poke stores v under seq in the queue bucket behind the spool's back, as disk corruption would.
func poke(t *testing.T, s *Spool, seq uint64, v []byte) {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(queueBucket).Put(seqKey(seq), v) }); err != nil {
		t.Fatal(err)
	}
}

func checkStats(t *testing.T, s *Spool, want Stats) {
	t.Helper()
	if got := s.Stats(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func checkPending(t *testing.T, s *Spool, want map[string]int) {
	t.Helper()
	for key, n := range want {
		if got := s.Pending(key); got != n {
			t.Errorf("Pending(%q) = %d, want %d", key, got, n)
		}
	}
}

func TestPutOldestRemove(t *testing.T) {
	s, _ := openSpool(t, Options{})
	checkStats(t, s, Stats{})
	a1 := mustPut(t, s, "a", "one")
	b1 := mustPut(t, s, "b", "two")
	a2 := mustPut(t, s, "a", "three")
	if a1.Seq >= b1.Seq || b1.Seq >= a2.Seq {
		t.Fatalf("seqs %d, %d, %d do not increase", a1.Seq, b1.Seq, a2.Seq)
	}
	checkPending(t, s, map[string]int{"a": 2, "b": 1, "c": 0})
	checkStats(t, s, Stats{Entries: 3, Bytes: size(a1) + size(b1) + size(a2), Oldest: a1.Spooled})

	for _, tc := range []struct {
		n    int
		want []Entry
	}{
		{0, nil},
		{1, []Entry{a1}},
		{2, []Entry{a1, b1}},
		{10, []Entry{a1, b1, a2}},
	} {
		if got := mustOldest(t, s, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Oldest(%d) = %+v, want %+v", tc.n, got, tc.want)
		}
	}

	if err := s.Remove(a1.Seq, 999); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	checkPending(t, s, map[string]int{"a": 1, "b": 1})
	checkStats(t, s, Stats{Entries: 2, Bytes: size(b1) + size(a2), Oldest: b1.Spooled})
	if got := seqs(mustOldest(t, s, 10)); !reflect.DeepEqual(got, []uint64{b1.Seq, a2.Seq}) {
		t.Errorf("after Remove, Oldest = %v", got)
	}

	if err := s.Remove(b1.Seq, a2.Seq, a1.Seq); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	checkPending(t, s, map[string]int{"a": 0, "b": 0})
	checkStats(t, s, Stats{})
	if got := mustOldest(t, s, 10); len(got) != 0 {
		t.Errorf("Oldest of an empty queue = %+v", got)
	}
	if next := mustPut(t, s, "a", "four"); next.Seq <= a2.Seq {
		t.Errorf("a seq was reused: %d after %d", next.Seq, a2.Seq)
	}
}

func TestPutIsBoundedByMaxBytes(t *testing.T) {
	entry := Entry{Key: "room", Spooled: time.Unix(0, 0), Data: []byte("payload")}
	one := size(entry)
	for _, tc := range []struct {
		name     string
		maxBytes int64
		fits     int
	}{
		{"exactly three", 3 * one, 3},
		{"a byte short of three", 3*one - 1, 2},
		{"less than one", one - 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openSpool(t, Options{MaxBytes: tc.maxBytes})
			var stored []Entry
			for range tc.fits {
				stored = append(stored, mustPut(t, s, "room", "payload"))
			}
			before := s.Stats()
			if _, err := s.Put("room", []byte("payload")); !errors.Is(err, ErrFull) {
				t.Fatalf("Put over the bound: err = %v, want ErrFull", err)
			}
			checkStats(t, s, before)
			if got := len(mustOldest(t, s, 10)); got != tc.fits {
				t.Fatalf("%d entries stored, want %d", got, tc.fits)
			}
			if tc.fits == 0 {
				return
			}
			if err := s.Remove(stored[0].Seq); err != nil {
				t.Fatal(err)
			}
			mustPut(t, s, "room", "payload") // room again
		})
	}
}

func TestDefaultMaxBytes(t *testing.T) {
	s, _ := openSpool(t, Options{})
	if s.opts.MaxBytes != 256<<20 {
		t.Fatalf("MaxBytes = %d, want 256 MiB", s.opts.MaxBytes)
	}
}

func TestDeadLetter(t *testing.T) {
	c := new(clock)
	s, _ := openSpool(t, Options{Now: c.now})
	e1 := mustPut(t, s, "a", "one")
	e2 := mustPut(t, s, "a", "two")
	if err := s.DeadLetter(e1, "room is gone"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	died := time.Unix(1_700_000_000+c.n, 0)
	checkPending(t, s, map[string]int{"a": 1})
	checkStats(t, s, Stats{Entries: 1, Bytes: size(e2), Oldest: e2.Spooled, DeadLetters: 1})
	if got := seqs(mustOldest(t, s, 10)); !reflect.DeepEqual(got, []uint64{e2.Seq}) {
		t.Errorf("Oldest = %v, want only %d", got, e2.Seq)
	}
	want := []DeadLetter{{Entry: e1, Reason: "room is gone", Time: died}}
	if got, err := s.DeadLetters(); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DeadLetters = %+v, %v; want %+v", got, err, want)
	}

	if err := s.DeadLetter(e1, "again"); err != nil {
		t.Errorf("dead-lettering a dead letter again: %v", err)
	}
	if err := s.DeadLetter(Entry{Seq: 999}, "never was"); !errors.Is(err, errNotQueued) {
		t.Errorf("dead-lettering an unknown seq: err = %v, want errNotQueued", err)
	}
	if got, _ := s.DeadLetters(); !reflect.DeepEqual(got, want) {
		t.Errorf("DeadLetters changed to %+v", got)
	}

	// A dead-letter record that is itself corrupt is still listed, as raw bytes.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(deadBucket).Put(seqKey(e2.Seq+1), []byte("junk")) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeadLetters()
	if err != nil || len(got) != 2 || got[1].Seq != e2.Seq+1 || string(got[1].Data) != "junk" ||
		!strings.HasPrefix(got[1].Reason, "corrupt dead letter: ") {
		t.Errorf("DeadLetters with a corrupt record = %+v, %v", got, err)
	}
}

// Close and Open stand in for a SIGKILL: every commit is on disk when Put, Remove
// or DeadLetter returns, and Open rebuilds the in-memory view from the file.
func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	c := new(clock)
	s, _ := openSpool(t, Options{Dir: dir, Now: c.now})
	a1 := mustPut(t, s, "a", "one")
	b1 := mustPut(t, s, "b", "two")
	a2 := mustPut(t, s, "a", "three")
	b2 := mustPut(t, s, "b", "four")
	if err := s.Remove(a1.Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(b2, "bad"); err != nil {
		t.Fatal(err)
	}
	deadBefore, _ := s.DeadLetters()
	statsBefore := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("a", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: err = %v, want ErrClosed", err)
	}
	// What a compaction that a crash cut short leaves beside the file.
	for _, left := range []string{compactSuffix, replacedSuffix} {
		if err := os.WriteFile(s.path+left, []byte("not the spool"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s, rec := openSpool(t, Options{Dir: dir, Now: c.now})
	if left, _ := filepath.Glob(s.path + ".*"); len(left) > 0 {
		t.Errorf("Open left %v", left)
	}
	if want := (Recovery{Entries: 2, DeadLetters: 1}); !reflect.DeepEqual(rec, want) {
		t.Errorf("Recovery = %+v, want %+v", rec, want)
	}
	checkStats(t, s, statsBefore)
	checkPending(t, s, map[string]int{"a": 1, "b": 1})
	if got := mustOldest(t, s, 10); !reflect.DeepEqual(got, []Entry{b1, a2}) {
		t.Errorf("Oldest = %+v, want %+v", got, []Entry{b1, a2})
	}
	if got, err := s.DeadLetters(); err != nil || !reflect.DeepEqual(got, deadBefore) {
		t.Errorf("DeadLetters = %+v, %v; want %+v", got, err, deadBefore)
	}
	if next := mustPut(t, s, "a", "five"); next.Seq <= b2.Seq {
		t.Errorf("seq %d after reopening does not follow %d", next.Seq, b2.Seq)
	}
}

func TestConcurrentPutsShareCommits(t *testing.T) {
	s, _ := openSpool(t, Options{})
	s.mu.Lock()
	commitsBefore := s.commits
	s.mu.Unlock()

	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]Entry, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.Put(fmt.Sprintf("room-%d", i%4), []byte(fmt.Sprint(i)))
		})
	}
	close(start)
	wg.Wait()

	seen := map[uint64]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if seen[got[i].Seq] {
			t.Fatalf("seq %d given twice", got[i].Seq)
		}
		seen[got[i].Seq] = true
	}
	if st := s.Stats(); st.Entries != n {
		t.Fatalf("Stats.Entries = %d, want %d", st.Entries, n)
	}
	checkPending(t, s, map[string]int{"room-0": n / 4, "room-1": n / 4, "room-2": n / 4, "room-3": n / 4})
	if es := mustOldest(t, s, n+1); len(es) != n {
		t.Fatalf("Oldest returned %d entries, want %d", len(es), n)
	}
	s.mu.Lock()
	commits := s.commits - commitsBefore
	s.mu.Unlock()
	t.Logf("%d Puts took %d commits", n, commits)
	if commits >= n/2 {
		t.Errorf("%d concurrent Puts took %d commits; want them batched", n, commits)
	}
}

// The counters are updated from commit handlers that can run in either order
// when transactions commit back to back; a drain racing the Puts must still
// leave them exact.
func TestCountsStayExactWhileDrainingConcurrently(t *testing.T) {
	s, _ := openSpool(t, Options{})
	const n = 400
	done := make(chan struct{})
	go func() {
		defer close(done)
		fill(t, s, n, "payload")
	}()
	removed := 0
	for removed < n {
		es := mustOldest(t, s, 16)
		if len(es) == 0 {
			select {
			case <-done:
				t.Fatalf("the Puts are over but only %d of %d entries were drained", removed, n)
			default:
				continue
			}
		}
		if err := s.Remove(seqs(es)...); err != nil {
			t.Error(err)
			break
		}
		removed += len(es)
		for key, c := range s.byKeySnapshot() {
			if c < 0 {
				t.Fatalf("Pending(%q) = %d", key, c)
			}
		}
	}
	<-done
	checkStats(t, s, Stats{})
	if got := s.byKeySnapshot(); len(got) != 0 {
		t.Errorf("Pending is not zero for every key: %v", got)
	}
}

func (s *Spool) byKeySnapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.byKey)
}

func TestOldestDeadLettersCorruptRecords(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(v []byte) []byte
		why     string
	}{
		{"flipped bit", func(v []byte) []byte { v = clone(v); v[len(v)-1] ^= 1; return v }, "checksum"},
		{"torn", func(v []byte) []byte { return v[:len(v)-3] }, "checksum"},
		{"torn header", func(v []byte) []byte { return v[:7] }, "shorter than"},
		{"empty", func([]byte) []byte { return []byte{} }, "shorter than"},
		{"unknown version", func(v []byte) []byte { v = clone(v); v[0] = 9; return v }, "version 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type report struct {
				seq uint64
				err error
			}
			var reports []report
			s, _ := openSpool(t, Options{OnCorrupt: func(seq uint64, err error) { reports = append(reports, report{seq, err}) }})
			e1 := mustPut(t, s, "a", "one")
			e2 := mustPut(t, s, "b", "two")
			e3 := mustPut(t, s, "a", "three")
			e4 := mustPut(t, s, "b", "four")
			bad1, bad3 := tc.corrupt(encodeEntry(e1)), tc.corrupt(encodeEntry(e3))
			poke(t, s, e1.Seq, bad1)
			poke(t, s, e3.Seq, bad3)

			// The corrupt first entry must not hold up the queue.
			if got := mustOldest(t, s, 1); !reflect.DeepEqual(got, []Entry{e2}) {
				t.Fatalf("Oldest(1) = %+v, want %+v", got, []Entry{e2})
			}
			if got := mustOldest(t, s, 2); !reflect.DeepEqual(got, []Entry{e2, e4}) {
				t.Fatalf("Oldest(2) = %+v, want %+v", got, []Entry{e2, e4})
			}
			if len(reports) != 2 || reports[0].seq != e1.Seq || reports[1].seq != e3.Seq {
				t.Fatalf("OnCorrupt got %+v, want seqs %d and %d once each", reports, e1.Seq, e3.Seq)
			}
			dead, err := s.DeadLetters()
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != 2 {
				t.Fatalf("%d dead letters, want 2", len(dead))
			}
			for i, raw := range [][]byte{bad1, bad3} {
				d := dead[i]
				if d.Seq != reports[i].seq || !bytes.Equal(d.Data, raw) {
					t.Errorf("dead letter %d = seq %d data %q, want seq %d with the raw bytes %q", i, d.Seq, d.Data, reports[i].seq, raw)
				}
				if !strings.HasPrefix(d.Reason, "corrupt record: ") || !strings.Contains(d.Reason, tc.why) {
					t.Errorf("dead letter %d reason %q, want corrupt record: ...%s...", i, d.Reason, tc.why)
				}
			}
			// The counters follow the entries as Put stored them, not the corrupt bytes.
			checkStats(t, s, Stats{Entries: 2, Bytes: size(e2) + size(e4), Oldest: e2.Spooled, DeadLetters: 2})
			checkPending(t, s, map[string]int{"a": 0, "b": 2})
		})
	}
}

// writeSpool leaves a closed spool with n entries in dir and returns the path of its file.
func writeSpool(t *testing.T, dir string, n int) string {
	t.Helper()
	s, _ := openSpool(t, Options{Dir: dir})
	fill(t, s, n, strings.Repeat("x", 700))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "spool.db")
}

func TestOpenMovesUnreadableFileAside(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, dir string) []byte // returns the unreadable file's content
	}{
		{"random bytes", func(t *testing.T, dir string) []byte {
			b := make([]byte, 64<<10)
			_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
			return b
		}},
		{"short garbage", func(t *testing.T, dir string) []byte { return []byte("not a bbolt file") }},
		{"bbolt file torn to its first pages", func(t *testing.T, dir string) []byte {
			b, err := os.ReadFile(writeSpool(t, dir, 300))
			if err != nil {
				t.Fatal(err)
			}
			return b[:4*os.Getpagesize()]
		}},
		{"bbolt file torn in half", func(t *testing.T, dir string) []byte {
			b, err := os.ReadFile(writeSpool(t, dir, 300))
			if err != nil {
				t.Fatal(err)
			}
			return b[:len(b)/2]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bad := tc.write(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "spool.db"), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			c := new(clock)
			s, rec := openSpool(t, Options{Dir: dir, Now: c.now})
			want := filepath.Join(dir, "spool.db.corrupt-1700000001")
			if rec.MovedAside != want || rec.Cause == nil || rec.Entries != 0 {
				t.Fatalf("Recovery = %+v, want the file moved to %s with a cause, and no entries", rec, want)
			}
			t.Logf("cause: %v", rec.Cause)
			if got, err := os.ReadFile(want); err != nil || !bytes.Equal(got, bad) {
				t.Fatalf("the file moved aside does not hold the original bytes (err %v)", err)
			}
			checkStats(t, s, Stats{})
			e := mustPut(t, s, "room", "after")
			if got := mustOldest(t, s, 10); !reflect.DeepEqual(got, []Entry{e}) {
				t.Fatalf("fresh spool: Oldest = %+v", got)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, rec := openSpool(t, Options{Dir: dir}); rec.MovedAside != "" || rec.Entries != 1 {
				t.Fatalf("reopening the fresh spool: Recovery = %+v", rec)
			}
		})
	}
}

func TestOpenLockedFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSpool(t, Options{Dir: dir})
	e := mustPut(t, s, "room", "kept")
	if _, rec, err := Open(Options{Dir: dir}); err == nil || rec.MovedAside != "" {
		t.Fatalf("Open of a locked spool = %+v, %v; want an error and nothing moved", rec, err)
	}
	if got := mustOldest(t, s, 10); !reflect.DeepEqual(got, []Entry{e}) {
		t.Fatalf("the first spool lost its entry: %+v", got)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*")); len(matches) > 0 {
		t.Fatalf("a locked file was moved aside: %v", matches)
	}
}

func fileSize(t *testing.T, s *Spool) int64 {
	t.Helper()
	fi, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestCompactionShrinksTheFile(t *testing.T) {
	s, _ := openSpool(t, Options{})
	s.compactAt = 256 << 10
	dead := mustPut(t, s, "gone", "dead letter")
	if err := s.DeadLetter(dead, "room is gone"); err != nil {
		t.Fatal(err)
	}
	last := fill(t, s, 600, strings.Repeat("x", 4000))
	full := fileSize(t, s)

	// Puts that come while the compaction copies the file do not wait for
	// it (a copy's fsyncs can take seconds on a busy disk, longer than a
	// callback may wait), and the copy, which lacks them, is given up.
	const racers = 16
	errs := make([]error, racers)
	hooked := 0
	s.compactHook = func() {
		hooked++
		if hooked > 1 {
			return
		}
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { _, errs[i] = s.Put("racer", []byte("during compaction")) })
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Puts waited for the compaction's copy")
		}
	}
	// Compact does nothing while the queue holds entries.
	if err := s.Compact(); err != nil || hooked != 0 {
		t.Fatalf("Compact with %d entries queued: copied %d times, %v", last, hooked, err)
	}
	for {
		es := mustOldest(t, s, 64)
		if len(es) == 0 {
			break
		}
		if err := s.Remove(seqs(es)...); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if hooked != 1 {
		t.Fatalf("copied %d times, want once", hooked)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d during compaction: %v", i, err)
		}
	}
	if size := fileSize(t, s); size < full {
		t.Errorf("file is %d bytes after a compaction written to during its copy, was %d: the copy lacks those writes", size, full)
	}
	es := mustOldest(t, s, 100)
	if len(es) != racers {
		t.Fatalf("%d entries after the compaction was given up, want the %d racers", len(es), racers)
	}
	checkStats(t, s, Stats{Entries: racers, Bytes: racers * size(es[0]), Oldest: es[0].Spooled, DeadLetters: 1})
	checkPending(t, s, map[string]int{"racer": racers, "room-0": 0})
	for _, e := range es {
		if e.Seq <= last {
			t.Errorf("seq %d does not follow %d", e.Seq, last)
		}
	}

	// Once they are gone, the next Compact shrinks the file.
	if err := s.Remove(seqs(es)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if hooked != 2 {
		t.Fatalf("compacted %d times, want twice", hooked)
	}
	compacted := fileSize(t, s)
	t.Logf("file: %d bytes full, %d after compaction", full, compacted)
	if compacted > full/10 {
		t.Errorf("file is %d bytes after compaction, was %d", compacted, full)
	}
	if left, _ := filepath.Glob(s.path + ".*"); len(left) > 0 {
		t.Errorf("compaction left %v", left)
	}
	after := mustPut(t, s, "room-0", "after compaction")
	if after.Seq <= es[len(es)-1].Seq {
		t.Errorf("seq %d after compaction does not follow %d", after.Seq, es[len(es)-1].Seq)
	}
	checkStats(t, s, Stats{Entries: 1, Bytes: size(after), Oldest: after.Spooled, DeadLetters: 1})
	if got, err := s.DeadLetters(); err != nil || len(got) != 1 || got[0].Seq != dead.Seq || got[0].Reason != "room is gone" {
		t.Errorf("dead letters after compaction = %+v, %v", got, err)
	}

	// Once it is gone too, the now small file is not copied again.
	if err := s.Remove(after.Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if hooked != 2 {
		t.Errorf("a small file was compacted again")
	}
}
