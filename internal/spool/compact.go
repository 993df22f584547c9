package spool

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// The suffixes of the compaction's files beside spool.db: the copy, while
// it is made; the file it replaced, until that is deleted.
const (
	compactSuffix  = ".compact"
	replacedSuffix = ".replaced"
)

// Compact shrinks the file when the queue is empty and the file has grown
// past compactAt and past twice its size after the last compaction (so that
// a large set of dead letters does not make every call copy it again); else
// it does nothing. Call it once the queue has emptied and Puts are rare.
//
// The copy is made while Puts go on: an outage's backlog can leave a file
// of many megabytes, and the copy's fsyncs, on a disk busy with the API
// server's own recovery, may last seconds, longer than a callback may wait.
// Only the swap of the files holds the spool exclusively, and it is given
// up, to be tried at the next call, when anything was written since the
// copy began.
func (s *Spool) Compact() error {
	if !s.compacting.TryLock() {
		return nil // another compaction is under way
	}
	defer s.compacting.Unlock()
	s.mu.Lock()
	empty := len(s.index) == 0
	s.mu.Unlock()
	if !empty {
		return nil
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("compacting spool: %w", err)
	}
	if fi.Size() <= max(s.compactAt, 2*s.compacted) {
		return nil
	}
	tmp := s.path + compactSuffix
	var copied int
	err = s.use(func(db *bolt.DB) error {
		var err error
		copied, err = copyTo(tmp, db)
		return err
	})
	if err != nil {
		_ = os.Remove(tmp)
		s.compacted = fi.Size() // do not copy again on every drain while, say, the disk is full
		return fmt.Errorf("compacting spool %s: %w", s.path, err)
	}
	if s.compactHook != nil {
		s.compactHook()
	}
	err = s.swapIn(tmp, copied)
	// The replaced file's blocks are freed only now, with Puts free to go
	// on: freeing megabytes can make the filesystem's next commit, and so
	// a swap's fsync, slow (online discard, network volumes).
	if rmErr := os.Remove(s.path + replacedSuffix); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// copyTo copies db into a fresh file at path, committed and fsync'd, and
// returns the id of the last transaction of db before the copy began.
func copyTo(path string, db *bolt.DB) (int, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	before, err := lastTx(db)
	if err != nil {
		return 0, err
	}
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return 0, err
	}
	// Compact commits, and so fsyncs, what it copies, bucket sequences included.
	err = bolt.Compact(dst, db, 0)
	if closeErr := dst.Close(); err == nil {
		err = closeErr
	}
	return before, err
}

// lastTx returns the id of the last transaction committed to db.
func lastTx(db *bolt.DB) (id int, err error) {
	err = db.View(func(tx *bolt.Tx) error {
		id = tx.ID()
		return nil
	})
	return id, err
}

// swapIn puts the copy at tmp in the place of the file, unless a
// transaction after copied was committed to the file since: then the copy
// lacks it, and is dropped. It holds the spool exclusively. If the file
// cannot be reopened, the spool returns that error from then on.
func (s *Spool) swapIn(tmp string, copied int) error {
	s.swap.Lock()
	defer s.swap.Unlock()
	defer os.Remove(tmp) // gone after a rename; a leftover otherwise
	if s.db == nil {
		return nil
	}
	if now, err := lastTx(s.db); err != nil || now != copied {
		return err // written to since: the next emptying tries again
	}
	// A second name keeps the old file's blocks until Compact deletes it.
	_ = os.Remove(s.path + replacedSuffix)
	_ = os.Link(s.path, s.path+replacedSuffix)
	err := s.db.Close()
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(s.opts.Dir)
	}
	// Reopen whichever file spool.db now is: the copy, or the original if the rename failed.
	s.db = nil
	db, openErr := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if openErr != nil {
		s.dbErr = fmt.Errorf("reopening spool after compaction: %w", openErr)
		return errors.Join(err, s.dbErr)
	}
	s.db = db
	if fi, statErr := os.Stat(s.path); statErr == nil {
		s.compacted = fi.Size()
	}
	// The new file numbers its transactions afresh.
	return errors.Join(err, db.View(func(tx *bolt.Tx) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.oldestTx, s.lastTx = tx.ID(), tx.ID()
		return nil
	}))
}

// syncDir fsyncs dir, making a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
