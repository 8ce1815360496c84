package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRetain(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	e := mustEpoch(t, s)
	for id := int64(1); id <= 6; id++ {
		if err := testJob.checkpoint(t, s, id, e); err != nil {
			t.Fatal(err)
		}
	}
	// 3 incomplete, 5 corrupt, 7 incomplete and newer than everything.
	os.Remove(filepath.Join(dir, "chk-3/_manifest"))
	os.Truncate(filepath.Join(dir, "chk-5/op-source-0.state"), 10)
	if err := os.Mkdir(filepath.Join(dir, "chk-7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retain(0); err == nil {
		t.Fatal("retain 0 accepted")
	}
	deleted, err := s.Retain(2)
	if err != nil {
		t.Fatal(err)
	}
	// Complete: 6, 4, 2, 1. Keep 6 and 4; delete 2, 1 and the broken 5
	// and 3 (older than 6); keep 7 (newer than any complete one).
	if want := []int64{5, 3, 2, 1}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
	ids, _ := s.CheckpointIDs()
	if want := []int64{7, 6, 4}; !slices.Equal(ids, want) {
		t.Fatalf("left %v, want %v", ids, want)
	}
	m, skipped, err := s.Latest()
	if err != nil || m.CheckpointID != 6 || len(skipped) != 1 || skipped[0].ID != 7 {
		t.Fatalf("latest %v %v %v", m, skipped, err)
	}

	// Retain never leaves fewer restorable checkpoints than asked for: a
	// newest checkpoint that looks complete but is damaged does not count.
	os.Remove(filepath.Join(dir, "chk-6/op-counts-0.state"))
	if deleted, err := s.Retain(1); err != nil || len(deleted) != 0 {
		t.Fatalf("retain with a damaged newest checkpoint deleted %v (%v)", deleted, err)
	}
	m, _, _ = s.Latest()
	testJob.checkJob(t, OSFS(), m, 4)

	// Checkpoints in progress here are not touched, even when older than
	// the newest complete one.
	p, err := s.NewCheckpoint(5, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := testJob.checkpoint(t, s, 8, e); err != nil {
		t.Fatal(err)
	}
	deleted, err = s.Retain(1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{7, 6, 4}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	ids, _ = s.CheckpointIDs()
	if want := []int64{8}; !slices.Equal(ids, want) {
		t.Fatalf("left %v, want %v", ids, want)
	}
}

// TestRetainCutShort: a deletion that fails midway leaves an incomplete
// checkpoint, never one that looks complete.
func TestRetainCutShort(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	e := mustEpoch(t, s)
	for id := int64(1); id <= 2; id++ {
		if err := testJob.checkpoint(t, s, id, e); err != nil {
			t.Fatal(err)
		}
	}
	efs := NewErrorFS(OSFS(), func(op Op, path string) error {
		if op == OpRemove && strings.HasSuffix(path, "chk-1") {
			return ErrInjected // RemoveAll of the directory
		}
		return nil
	})
	if _, err := mustOpen(t, dir, efs).Retain(1); !errors.Is(err, ErrInjected) {
		t.Fatalf("retain: %v", err)
	}
	_, err := mustOpen(t, dir, nil).Checkpoint(1)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("half-deleted checkpoint: %v", err)
	}
	if deleted, err := s.Retain(1); err != nil || !slices.Equal(deleted, []int64{1}) {
		t.Fatalf("retain again: %v %v", deleted, err)
	}
}
