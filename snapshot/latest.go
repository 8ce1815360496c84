package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
)

// SkippedCheckpoint is a checkpoint Latest passed over, and why.
type SkippedCheckpoint struct {
	ID  int64
	Dir string
	// Err matches ErrIncomplete (no manifest) or ErrCorrupt.
	Err error
}

// Checkpoint loads the manifest of checkpoint id and checks that every state
// file it names is present and matches (size, checksum, index).
func (s *Store) Checkpoint(id int64) (*Manifest, error) {
	m, err := s.loadCheckpoint(id, false)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %d: %w", id, err)
	}
	return m, nil
}

// Latest returns the newest complete checkpoint whose manifest and state
// files check out (see Checkpoint). Newer checkpoints that are incomplete
// or corrupt are passed over and returned in skipped, newest first, for the
// caller to log: restoring from an older checkpoint than the newest one
// must never be silent. Checkpoints this Store has begun and not finished
// are ignored. It returns ErrNoCheckpoint if no checkpoint qualifies, and
// stops at an I/O error that is not corruption (falling back on a transient
// error would throw progress away).
func (s *Store) Latest() (m *Manifest, skipped []SkippedCheckpoint, err error) {
	return s.latest(false)
}

// LatestVerified is Latest with every state file read in full and checked
// (Verify) before a checkpoint qualifies.
func (s *Store) LatestVerified() (m *Manifest, skipped []SkippedCheckpoint, err error) {
	return s.latest(true)
}

func (s *Store) latest(verify bool) (*Manifest, []SkippedCheckpoint, error) {
	ids, err := s.CheckpointIDs()
	if err != nil {
		return nil, nil, err
	}
	var skipped []SkippedCheckpoint
	for _, id := range ids {
		if s.isPending(id) {
			continue
		}
		m, err := s.loadCheckpoint(id, verify)
		if err == nil {
			return m, skipped, nil
		}
		if errors.Is(err, ErrCheckpointNotFound) {
			continue // deleted since it was listed
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrIncomplete) {
			return nil, skipped, fmt.Errorf("load checkpoint %d: %w", id, err)
		}
		skipped = append(skipped, SkippedCheckpoint{ID: id, Dir: s.CheckpointDir(id), Err: err})
	}
	return nil, skipped, ErrNoCheckpoint
}

// loadCheckpoint loads and checks checkpoint id.
func (s *Store) loadCheckpoint(id int64, verify bool) (*Manifest, error) {
	dir := s.CheckpointDir(id)
	if _, err := s.fs.Stat(dir); err != nil {
		if isNotExist(err) {
			return nil, ErrCheckpointNotFound
		}
		return nil, err
	}
	m, err := loadManifestDir(s.fs, dir, verify)
	if err != nil {
		return nil, err
	}
	if m.CheckpointID != id {
		return nil, corruptf(filepath.Join(dir, manifestFileName), -1, "manifest of checkpoint %d in the directory of %d", m.CheckpointID, id)
	}
	return m, nil
}
