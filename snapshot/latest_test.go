package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLatestFallsBackLoudly damages the newest checkpoint in the ways a
// crash or a disk can, and expects Latest to return the previous one and
// to say why it skipped the newest.
func TestLatestFallsBackLoudly(t *testing.T) {
	flip := func(path string, off int64) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, path)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if off < 0 {
				off += int64(len(b))
			}
			b[off] ^= 0x40
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name       string
		damage     func(t *testing.T, dir string)
		want       error
		onlyVerify bool // only LatestVerified notices
	}{
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "chk-2/_manifest")) }, ErrIncomplete, false},
		{"manifest tmp only", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "chk-2/_manifest"), filepath.Join(dir, "chk-2/_manifest.tmp"))
		}, ErrIncomplete, false},
		{"manifest flipped", flip("chk-2/_manifest", 40), ErrCorrupt, false},
		{"manifest truncated", func(t *testing.T, dir string) { os.Truncate(filepath.Join(dir, "chk-2/_manifest"), 30) }, ErrCorrupt, false},
		{"manifest empty", func(t *testing.T, dir string) { os.Truncate(filepath.Join(dir, "chk-2/_manifest"), 0) }, ErrCorrupt, false},
		{"state file missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "chk-2/op-counts-1.state")) }, ErrCorrupt, false},
		{"state file truncated", func(t *testing.T, dir string) { os.Truncate(filepath.Join(dir, "chk-2/op-counts-1.state"), 100) }, ErrCorrupt, false},
		{"state file trailer flipped", flip("chk-2/op-counts-1.state", -10), ErrCorrupt, false},
		{"state file from another checkpoint", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "chk-1/op-counts-1.state"))
			os.WriteFile(filepath.Join(dir, "chk-2/op-counts-1.state"), b, 0o644)
		}, ErrCorrupt, false},
		{"manifest of another checkpoint", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "chk-1/_manifest"))
			os.WriteFile(filepath.Join(dir, "chk-2/_manifest"), b, 0o644)
		}, ErrCorrupt, false},
		{"state data flipped", flip("chk-2/op-counts-1.state", 40), ErrCorrupt, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, nil)
			e := mustEpoch(t, s)
			for id := int64(1); id <= 2; id++ {
				if err := testJob.checkpoint(t, s, id, e); err != nil {
					t.Fatal(err)
				}
			}
			tc.damage(t, dir)
			s = mustOpen(t, dir, nil)
			latest := s.LatestVerified
			if !tc.onlyVerify {
				latest = s.Latest
			}
			m, skipped, err := latest()
			if err != nil {
				t.Fatal(err)
			}
			if m.CheckpointID != 1 {
				t.Fatalf("latest is checkpoint %d, want the fallback to 1", m.CheckpointID)
			}
			testJob.checkJob(t, OSFS(), m, 1)
			if len(skipped) != 1 || skipped[0].ID != 2 || !errors.Is(skipped[0].Err, tc.want) {
				t.Fatalf("skipped %+v, want checkpoint 2 with %v", skipped, tc.want)
			}
			t.Logf("skipped checkpoint 2: %v", skipped[0].Err)
			if tc.onlyVerify {
				// Latest does not read the data, but reading it fails
				// rather than returning wrong state.
				m, _, err := s.Latest()
				if err != nil || m.CheckpointID != 2 {
					t.Fatalf("latest: %v %v", m, err)
				}
				if err := Verify(OSFS(), m); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("verify: %v", err)
				}
			}
		})
	}
}

func TestLatestStopsAtIOErrors(t *testing.T) {
	mfs := newMemFS()
	s := mustOpen(t, "/job", mfs)
	e := mustEpoch(t, s)
	for id := int64(1); id <= 2; id++ {
		if err := testJob.checkpoint(t, s, id, e); err != nil {
			t.Fatal(err)
		}
	}
	efs := NewErrorFS(mfs, func(op Op, path string) error {
		if op == OpOpen && strings.HasSuffix(path, "chk-2/_manifest") {
			return ErrInjected
		}
		return nil
	})
	m, _, err := mustOpen(t, "/job", efs).Latest()
	if !errors.Is(err, ErrInjected) || m != nil {
		t.Fatalf("latest on a read fault: %v, %v; want the fault, not a fallback", m, err)
	}
}

// TestCrashBeforeManifest fails the steps of writing the manifest and
// expects the previous checkpoint to be restored.
func TestCrashBeforeManifest(t *testing.T) {
	for _, tc := range []struct {
		op       Op
		suffix   string
		nth      int  // fail the nth matching operation
		allowNew bool // the manifest may be in place: Latest may return 2
	}{
		{OpCreate, "_manifest.tmp", 1, false},
		{OpWrite, "_manifest.tmp", 1, false},
		{OpSync, "_manifest.tmp", 1, false},
		{OpRename, "_manifest", 1, false},
		{OpSyncDir, "chk-2", 1, false},
		{OpSyncDir, "chk-2", 2, true},
		{OpLock, "_lock", 2, false},
	} {
		t.Run(fmt.Sprintf("%s#%d", tc.op, tc.nth), func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, nil)
			e := mustEpoch(t, s)
			if err := testJob.checkpoint(t, s, 1, e); err != nil {
				t.Fatal(err)
			}
			var (
				mu   sync.Mutex
				seen int
			)
			efs := NewErrorFS(OSFS(), func(op Op, path string) error {
				mu.Lock()
				defer mu.Unlock()
				if op == tc.op && strings.HasSuffix(path, tc.suffix) {
					if seen++; seen == tc.nth {
						return ErrInjected
					}
				}
				return nil
			})
			s = mustOpen(t, dir, efs)
			if err := testJob.checkpoint(t, s, 2, e); !errors.Is(err, ErrInjected) {
				t.Fatalf("commit: %v", err)
			}
			// The process dies here: no Abort. A new one restores.
			m, skipped, err := mustOpen(t, dir, nil).Latest()
			if err != nil {
				t.Fatal(err)
			}
			if tc.allowNew && m.CheckpointID == 2 {
				testJob.checkJob(t, OSFS(), m, 2)
				return
			}
			if m.CheckpointID != 1 || len(skipped) != 1 || !errors.Is(skipped[0].Err, ErrIncomplete) {
				t.Fatalf("latest %d, skipped %+v", m.CheckpointID, skipped)
			}
			testJob.checkJob(t, OSFS(), m, 1)
		})
	}
}

// TestCrashAtEveryStep runs a checkpoint on the strict in-memory FS and cuts
// it short after each mutating file system operation, then loses everything
// not synced. The restore must find checkpoint 2 if Commit returned before
// the crash, and checkpoint 1 or 2 otherwise — always with exactly the data
// written.
func TestCrashAtEveryStep(t *testing.T) {
	small := job{name: "j", maxP: 16, perKG: 2, ops: []jobOp{{"a", 2}, {"b", 1}}}
	total := -1
	for step := 0; total < 0 || step <= total; step++ {
		mfs := newMemFS()
		s := mustOpen(t, "/job", mfs)
		e := mustEpoch(t, s)
		if err := small.checkpoint(t, s, 1, e); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		ops, limit := 0, -1
		efs := NewErrorFS(mfs, func(op Op, path string) error {
			mu.Lock()
			defer mu.Unlock()
			if limit >= 0 && ops >= limit {
				return ErrInjected // the process is dead
			}
			if op.Mutating() {
				ops++
			}
			return nil
		})
		crashing := mustOpen(t, "/job", efs)
		mu.Lock()
		ops, limit = 0, step
		mu.Unlock()
		// One subtask at a time, so that step numbers mean the same in
		// every run.
		err := serialCheckpoint(t, small, crashing, 2, e)
		mu.Lock()
		done := ops
		mu.Unlock()
		if err == nil && total < 0 {
			total = done
			t.Logf("a checkpoint takes %d mutating operations", total)
		}
		mfs.crash()
		m, skipped, err2 := mustOpen(t, "/job", mfs).LatestVerified()
		if err2 != nil {
			t.Fatalf("step %d: latest: %v", step, err2)
		}
		switch {
		case err == nil && m.CheckpointID != 2:
			t.Fatalf("step %d: commit succeeded but latest is %d (skipped %v)", step, m.CheckpointID, skipped)
		case m.CheckpointID != 1 && m.CheckpointID != 2:
			t.Fatalf("step %d: latest is %d", step, m.CheckpointID)
		}
		small.checkJob(t, mfs, m, m.CheckpointID)
	}
}

// serialCheckpoint is job.checkpoint with the subtasks one after another.
func serialCheckpoint(t *testing.T, j job, s *Store, id int64, epoch uint64) error {
	p, err := s.NewCheckpoint(id, epoch)
	if err != nil {
		return err
	}
	m := NewManifest(j.name, j.maxP, time.UnixMilli(id))
	for oi, o := range j.ops {
		for st := range o.parallelism {
			w, err := p.Create(o.uid, st, RangeFor(st, j.maxP, o.parallelism))
			if err != nil {
				return err
			}
			h, err := j.content(id, oi, st).writeErr(w)
			if err != nil {
				return err
			}
			if err := m.AddSubtask(o.uid, o.parallelism, st, h, fmt.Appendf(nil, "pos-%d-%d", id, st)); err != nil {
				return err
			}
		}
	}
	return p.Commit(m)
}
