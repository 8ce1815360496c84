package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Retain deletes every complete checkpoint but the newest k (k >= 1) and
// every incomplete or corrupt checkpoint older than the newest complete
// one; it returns the ids it deleted. Checkpoints this Store has in
// progress, and checkpoints being copied into a savepoint, are left alone.
// Savepoints never depend on a checkpoint (their files are hard links or
// copies), so deleting one never breaks a savepoint. A checkpoint is
// deleted by removing its manifest first, so a deletion cut short leaves an
// incomplete checkpoint, never one that looks complete and is not.
func (s *Store) Retain(k int) (deleted []int64, err error) {
	if k < 1 {
		return nil, fmt.Errorf("snapshot: retain %d checkpoints, want at least 1", k)
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("retain checkpoints: %w", err)
	}
	defer unlock()
	ids, err := s.CheckpointIDs()
	if err != nil {
		return nil, err
	}
	kept, sawComplete := 0, false
	for _, id := range ids {
		if s.isPending(id) || s.isPinned(id) {
			continue
		}
		_, err := s.loadCheckpoint(id, false)
		switch {
		case err == nil:
			sawComplete = true
			if kept < k {
				kept++
				continue
			}
		case errors.Is(err, ErrCorrupt) || errors.Is(err, ErrIncomplete):
			if !sawComplete {
				continue // may be in progress elsewhere, or the evidence of a fault
			}
		default:
			return deleted, fmt.Errorf("retain checkpoints: check checkpoint %d: %w", id, err)
		}
		if err := s.removeCheckpointDir(s.CheckpointDir(id)); err != nil {
			return deleted, fmt.Errorf("retain checkpoints: delete checkpoint %d: %w", id, err)
		}
		deleted = append(deleted, id)
	}
	return deleted, nil
}

// removeCheckpointDir deletes a checkpoint or savepoint directory, manifest
// first.
func (s *Store) removeCheckpointDir(dir string) error {
	if err := removeIfExists(s.fs, filepath.Join(dir, manifestFileName)); err != nil {
		return err
	}
	if err := s.fs.SyncDir(dir); err != nil && !isNotExist(err) {
		return err
	}
	if err := s.fs.RemoveAll(dir); err != nil {
		return err
	}
	return s.fs.SyncDir(filepath.Dir(dir))
}
