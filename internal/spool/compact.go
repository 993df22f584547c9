package spool

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

const compactSuffix = ".compact"

// maybeCompact compacts the file if the queue is empty and the file has grown
// past compactAt and past twice its size after the last compaction (so that a
// large set of dead letters does not make every drain copy it again).
func (s *Spool) maybeCompact() error {
	s.mu.Lock()
	empty := len(s.index) == 0
	s.mu.Unlock()
	if !empty {
		return nil
	}
	s.swap.Lock()
	defer s.swap.Unlock()
	if s.db == nil {
		return nil
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("compacting spool: %w", err)
	}
	if fi.Size() <= max(s.compactAt, 2*s.compacted) {
		return nil
	}
	if err := s.compact(); err != nil {
		s.compacted = fi.Size() // do not copy again on every drain while, say, the disk is full
		return fmt.Errorf("compacting spool %s: %w", s.path, err)
	}
	return nil
}

// compact copies the database into a fresh file and swaps it in. The caller
// holds s.swap for writing. If the copy fails the old file stays in use; if the
// file cannot be reopened, the spool returns that error from then on.
func (s *Spool) compact() error {
	tmp := s.path + compactSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return err
	}
	// Compact commits, and so fsyncs, what it copies, bucket sequences included.
	err = bolt.Compact(dst, s.db, 0)
	if closeErr := dst.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if s.compactHook != nil {
		s.compactHook()
	}
	err = s.db.Close()
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(s.opts.Dir)
	}
	_ = os.Remove(tmp) // gone after a rename; a leftover otherwise
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
