// Package spool is a durable on-disk queue of opaque callback payloads, kept in
// one bbolt file, for the times the API server cannot take a write in time.
//
// Durability: Put returns only once its transaction is committed and fsync'd, so
// a caller may acknowledge a callback as soon as Put returns nil; a crash, even
// SIGKILL, loses nothing acknowledged. Concurrent Puts are group-committed with
// bbolt's DB.Batch and share their fsyncs.
//
// Ordering: each entry gets a Seq from the queue bucket's sequence, increasing in
// commit order. Oldest returns entries in Seq order, and Pending tells whether a
// key (a room) still has entries waiting, so that its newer events can be
// spooled behind them rather than overtake them.
//
// Bounds: the encoded entries in the queue add up to at most Options.MaxBytes;
// beyond that Put returns ErrFull. Entries that can never be written, and
// records that do not decode, go to a dead-letter bucket rather than block the
// queue; dead letters are kept for an operator and do not count against MaxBytes.
//
// Compaction: a bbolt file never shrinks. Compact, once the queue is empty and
// the file has grown past a threshold, copies what is left (the dead letters)
// into a fresh file and fsyncs it while operations go on; then, if nothing was
// written meanwhile, it renames the copy over the old file and reopens it, and
// operations wait for that rather than fail.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrFull is returned by Put when the entry would take the queue over Options.MaxBytes.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errors.New("spool: closed")

	errNotQueued = errors.New("not in the queue")
)

const (
	fileName        = "spool.db"
	defaultMaxBytes = 256 << 20
	// lockTimeout bounds the wait for a file another process holds open.
	lockTimeout = time.Second
)

var (
	queueBucket = []byte("queue")
	deadBucket  = []byte("dead")
)

// Options configure Open.
type Options struct {
	// Dir is the directory of the spool, created (0700) if missing; the file is Dir/spool.db.
	Dir string
	// MaxBytes bounds the sum of the encoded sizes of the queue's entries; <= 0 means 256 MiB.
	MaxBytes int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnCorrupt, when set, is called (outside any lock) for each queue record
	// that Oldest found undecodable and moved to the dead letters.
	OnCorrupt func(seq uint64, err error)
}

// Entry is one spooled payload.
type Entry struct {
	// Seq is the entry's place in the queue, assigned by Put: lower is older.
	Seq uint64
	// Key is what the caller said the entry belongs to (a room).
	Key string
	// Spooled is when Put stored the entry.
	Spooled time.Time
	// Data is the caller's payload.
	Data []byte
}

// DeadLetter is an entry taken out of the queue for good.
type DeadLetter struct {
	Entry
	// Reason says why the entry can never be written.
	Reason string
	// Time is when the entry was dead-lettered.
	Time time.Time
}

// Stats describe the spool; they come from memory and are cheap.
type Stats struct {
	// Entries is the number of entries in the queue.
	Entries int
	// Bytes is the sum of the encoded sizes of the queue's entries.
	Bytes int64
	// Oldest is when the oldest entry of the queue was spooled; zero when the queue is empty.
	Oldest time.Time
	// DeadLetters is the number of dead letters.
	DeadLetters int
}

// Recovery reports what Open found.
type Recovery struct {
	// Entries and DeadLetters are the numbers of each in the file.
	Entries, DeadLetters int
	// MovedAside is where a file that could not be read as a spool was moved
	// (Dir/spool.db.corrupt-<unix time>) before a fresh spool was started; empty if none was.
	MovedAside string
	// Cause is why the file moved aside could not be read.
	Cause error
}

// Spool is a durable queue of entries. It is safe for use by many goroutines.
type Spool struct {
	opts Options
	path string
	// compactAt is the file size above which an emptied queue triggers compaction.
	compactAt int64
	// compactHook, if set by a test, runs between compaction's copy and its
	// swap, while other operations go on.
	compactHook func()
	// compacting is held by the one compaction under way; it guards compacted.
	compacting sync.Mutex
	compacted  int64 // file size after the last compaction

	// swap guards db: operations hold it for reading, and the swap of a
	// compaction's copy and Close for writing.
	swap  sync.RWMutex
	db    *bolt.DB
	dbErr error // why db is nil: ErrClosed, or a failed reopen

	mu       sync.Mutex // guards the in-memory view of the committed queue below
	index    map[uint64]meta
	gone     map[uint64]struct{} // removed before the commit handler of their Put ran
	byKey    map[string]int
	bytes    int64
	reserved int64 // bytes of Puts under way, so that concurrent Puts cannot overrun MaxBytes
	dead     int
	oldest   time.Time
	oldestTx int // the transaction that oldest was read in
	lastTx   int
	commits  int // write transactions seen, for tests
}

// meta is what memory keeps of an entry in the queue.
type meta struct {
	key  string
	size int64
}

// Open opens the spool in opts.Dir, creating it if need be. A file that bbolt
// cannot read (torn, truncated, not a bbolt file) is moved aside and a fresh
// spool started, as Recovery reports, so that a bad file never stops the
// operator; a file locked by another process is an error.
func Open(opts Options) (*Spool, Recovery, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Spool{opts: opts, path: filepath.Join(opts.Dir, fileName), compactAt: 1 << 20}
	var rec Recovery
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, rec, fmt.Errorf("creating spool directory: %w", err)
	}
	// A compaction that a crash interrupted leaves its copy, or the file it
	// replaced, behind; spool.db is whole.
	for _, left := range []string{s.path + compactSuffix, s.path + replacedSuffix} {
		if err := os.Remove(left); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, rec, fmt.Errorf("removing what a compaction left: %w", err)
		}
	}
	err := s.load()
	var corrupt corruptError
	if errors.As(err, &corrupt) {
		rec.MovedAside, rec.Cause = fmt.Sprintf("%s.corrupt-%d", s.path, opts.Now().Unix()), corrupt.err
		if err := os.Rename(s.path, rec.MovedAside); err != nil {
			return nil, rec, fmt.Errorf("moving aside unreadable spool %s (%w): %w", s.path, corrupt.err, err)
		}
		err = s.load()
	}
	if err != nil {
		return nil, rec, fmt.Errorf("opening spool %s: %w", s.path, err)
	}
	// Make a new file's name, or a rename, as durable as the first Put will be.
	if err := syncDir(opts.Dir); err != nil {
		_ = s.db.Close()
		return nil, rec, err
	}
	rec.Entries, rec.DeadLetters = len(s.index), s.dead
	return s, rec, nil
}

// corruptError marks a file that is not a readable spool.
type corruptError struct{ err error }

func (e corruptError) Error() string { return "unreadable spool file: " + e.err.Error() }
func (e corruptError) Unwrap() error { return e.err }

// load opens s.path and rebuilds the in-memory view of the queue from it.
func (s *Spool) load() error {
	if fi, err := os.Stat(s.path); err == nil && fi.Size() > 0 && fi.Size() < 2*int64(os.Getpagesize()) {
		return corruptError{fmt.Errorf("%d bytes is too short for a bbolt file", fi.Size())}
	}
	var db *bolt.DB
	err := guard(func() (err error) {
		db, err = bolt.Open(s.path, 0o600, &bolt.Options{Timeout: lockTimeout})
		for _, e := range []error{bolterrors.ErrInvalid, bolterrors.ErrVersionMismatch, bolterrors.ErrChecksum} {
			if errors.Is(err, e) {
				return corruptError{err}
			}
		}
		if err != nil {
			return err
		}
		return s.rebuild(db)
	})
	if err != nil {
		if db != nil {
			_ = db.Close()
		}
		return err
	}
	s.db = db
	return nil
}

// guard runs fn, turning a panic or a memory fault (as bbolt gives on a torn,
// memory-mapped file) into a corruptError.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = corruptError{fmt.Errorf("reading it panicked: %v", p)}
		}
	}()
	return fn()
}

// rebuild makes sure db has both buckets and loads the in-memory view from it.
func (s *Spool) rebuild(db *bolt.DB) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return corruptError{fmt.Errorf("file has %d bytes but its metadata needs %d", fi.Size(), tx.Size())}
		}
		for _, name := range [][]byte{queueBucket, deadBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); errors.Is(err, bolterrors.ErrIncompatibleValue) {
				return corruptError{err}
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		s.index, s.gone, s.byKey, s.bytes = map[uint64]meta{}, map[uint64]struct{}{}, map[string]int{}, 0
		c := tx.Bucket(queueBucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			var m meta
			if _, key, _, err := parseRecord(v); err == nil {
				m.key = string(key) // an undecodable record counts under "" until Oldest buries it
			}
			m.size = int64(len(v))
			s.index[binary.BigEndian.Uint64(k)] = m
			s.byKey[m.key]++
			s.bytes += m.size
		}
		s.dead = tx.Bucket(deadBucket).Stats().KeyN
		s.oldest = firstSpooled(tx)
		s.oldestTx, s.lastTx = tx.ID(), tx.ID()
		return nil
	})
}

// Put stores data under key at the end of the queue and returns the entry once
// it is on disk. It returns ErrFull, storing nothing, when the entry would take
// the queue over MaxBytes.
func (s *Spool) Put(key string, data []byte) (Entry, error) {
	e := Entry{Key: key, Spooled: s.opts.Now(), Data: data}
	v := encodeEntry(e)
	size := int64(len(v))
	s.mu.Lock()
	if s.bytes+s.reserved+size > s.opts.MaxBytes {
		s.mu.Unlock()
		return Entry{}, ErrFull
	}
	s.reserved += size
	s.mu.Unlock()

	err := s.use(func(db *bolt.DB) error {
		// Batch may run this more than once, in different transactions; only the
		// one that commits runs its commit handler.
		return db.Batch(func(tx *bolt.Tx) error {
			q := tx.Bucket(queueBucket)
			seq, err := q.NextSequence()
			if err != nil {
				return err
			}
			if err := q.Put(seqKey(seq), v); err != nil {
				return err
			}
			e.Seq = seq
			s.onCommit(tx, change{added: seq, addedMeta: meta{key, size}, reserved: size})
			return nil
		})
	})
	if err != nil {
		s.mu.Lock()
		s.reserved -= size
		s.mu.Unlock()
		return Entry{}, fmt.Errorf("spooling an entry for %s: %w", key, err)
	}
	return e, nil
}

// Pending returns how many entries of the queue have key.
func (s *Spool) Pending(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byKey[key]
}

// Stats returns the state of the spool from memory.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Entries: len(s.index), Bytes: s.bytes, DeadLetters: s.dead}
	if len(s.index) > 0 {
		st.Oldest = s.oldest
	}
	return st
}

// MaxBytes is the most bytes of entries the queue holds (Options.MaxBytes,
// or its default).
func (s *Spool) MaxBytes() int64 { return s.opts.MaxBytes }

// Oldest returns up to n of the oldest entries of the queue, in Seq order.
// Records that do not decode are not returned: Oldest moves them to the dead
// letters with the reason "corrupt record: <why>", reports them to
// Options.OnCorrupt and returns the entries after them instead.
func (s *Spool) Oldest(n int) ([]Entry, error) {
	type corrupt struct {
		seq uint64
		err error
	}
	var out []Entry
	var bad, buried []corrupt
	err := s.use(func(db *bolt.DB) error {
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(queueBucket).Cursor()
			for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
				if len(k) != 8 {
					continue
				}
				seq := binary.BigEndian.Uint64(k)
				if e, err := decodeEntry(seq, v); err != nil {
					bad = append(bad, corrupt{seq, err})
				} else {
					out = append(out, e)
				}
			}
			return nil
		})
		if err != nil || len(bad) == 0 {
			return err
		}
		return db.Update(func(tx *bolt.Tx) error {
			var c change
			for _, b := range bad {
				err := s.bury(tx, &c, b.seq, "corrupt record: "+b.err.Error())
				if errors.Is(err, errNotQueued) {
					continue // removed, or buried by another Oldest, since the View
				} else if err != nil {
					return err
				}
				buried = append(buried, b)
			}
			s.onCommit(tx, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading the oldest spooled entries: %w", err)
	}
	for _, b := range buried {
		if s.opts.OnCorrupt != nil {
			s.opts.OnCorrupt(b.seq, b.err)
		}
	}
	return out, nil
}

// Remove takes the entries with these seqs out of the queue, in one
// transaction. Seqs that are not in the queue are ignored.
func (s *Spool) Remove(seqs ...uint64) error {
	err := s.use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			q := tx.Bucket(queueBucket)
			var c change
			for _, seq := range seqs {
				if q.Get(seqKey(seq)) == nil {
					continue
				}
				if err := q.Delete(seqKey(seq)); err != nil {
					return err
				}
				c.removed = append(c.removed, seq)
			}
			s.onCommit(tx, c)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("removing %d spooled entries: %w", len(seqs), err)
	}
	return nil
}

// DeadLetter moves e (found by its Seq) from the queue to the dead letters,
// with reason, in one transaction. Moving an entry that already is a dead
// letter does nothing; an entry that is in neither is an error.
func (s *Spool) DeadLetter(e Entry, reason string) error {
	err := s.use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			var c change
			err := s.bury(tx, &c, e.Seq, reason)
			if errors.Is(err, errNotQueued) && tx.Bucket(deadBucket).Get(seqKey(e.Seq)) != nil {
				return nil // dead already
			} else if err != nil {
				return err
			}
			s.onCommit(tx, c)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("dead-lettering spooled entry %d: %w", e.Seq, err)
	}
	return nil
}

// bury moves the queue record seq to the dead letters with reason, in tx, and
// notes it in c. It returns errNotQueued when seq is not in the queue.
func (s *Spool) bury(tx *bolt.Tx, c *change, seq uint64, reason string) error {
	q, k := tx.Bucket(queueBucket), seqKey(seq)
	v := q.Get(k)
	if v == nil {
		return errNotQueued
	}
	// encodeDead copies v, which is only valid until the Delete.
	if err := tx.Bucket(deadBucket).Put(k, encodeDead(s.opts.Now(), reason, v)); err != nil {
		return err
	}
	c.removed = append(c.removed, seq)
	c.dead++
	return q.Delete(k)
}

// DeadLetters returns all the dead letters, oldest Seq first. A dead-letter
// record that does not itself decode is returned with its bytes as Data and a
// Reason that says so.
func (s *Spool) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.use(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(deadBucket).ForEach(func(k, v []byte) error {
				if len(k) != 8 {
					return nil
				}
				seq := binary.BigEndian.Uint64(k)
				d, err := decodeDead(seq, v)
				if err != nil {
					d = DeadLetter{Entry: Entry{Seq: seq, Data: clone(v)}, Reason: "corrupt dead letter: " + err.Error()}
				}
				out = append(out, d)
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	return out, nil
}

// Close closes the spool, waiting for operations under way. Closing twice is harmless.
func (s *Spool) Close() error {
	s.swap.Lock()
	defer s.swap.Unlock()
	db := s.db
	s.db, s.dbErr = nil, ErrClosed
	if db == nil {
		return nil
	}
	return db.Close()
}

// use runs fn with the open database, which compaction cannot swap meanwhile.
func (s *Spool) use(fn func(*bolt.DB) error) error {
	s.swap.RLock()
	defer s.swap.RUnlock()
	if s.db == nil {
		return s.dbErr
	}
	return fn(s.db)
}

// change is what one function in a write transaction did to the queue.
type change struct {
	added     uint64 // seq of a Put, or 0
	addedMeta meta
	removed   []uint64
	reserved  int64 // bytes of Put's reservation to release
	dead      int
}

// onCommit arranges for c to be applied to the in-memory view once tx commits.
// Handlers of different transactions may run in either order, so the view
// adds counts (which commute), skips a Put whose entry was removed first, and
// takes the oldest entry's time from the newest transaction.
func (s *Spool) onCommit(tx *bolt.Tx, c change) {
	txid, oldest := tx.ID(), firstSpooled(tx)
	tx.OnCommit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, gone := s.gone[c.added]; gone {
			delete(s.gone, c.added)
		} else if c.added != 0 { // seqs start at 1
			s.index[c.added] = c.addedMeta
			s.byKey[c.addedMeta.key]++
			s.bytes += c.addedMeta.size
		}
		for _, seq := range c.removed {
			m, ok := s.index[seq]
			if !ok {
				s.gone[seq] = struct{}{}
				continue
			}
			delete(s.index, seq)
			if s.byKey[m.key]--; s.byKey[m.key] == 0 {
				delete(s.byKey, m.key)
			}
			s.bytes -= m.size
		}
		s.reserved -= c.reserved
		s.dead += c.dead
		if txid > s.oldestTx {
			s.oldest, s.oldestTx = oldest, txid
		}
		if txid != s.lastTx {
			s.commits++
			s.lastTx = txid
		}
	})
}

// firstSpooled returns when the first entry of the queue in tx was spooled, or
// the zero time if the queue is empty or that record does not decode.
func firstSpooled(tx *bolt.Tx) time.Time {
	_, v := tx.Bucket(queueBucket).Cursor().First()
	if nanos, _, _, err := parseRecord(v); err == nil {
		return time.Unix(0, nanos)
	}
	return time.Time{}
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
