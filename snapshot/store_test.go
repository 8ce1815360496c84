package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckpointRoundTripOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	if _, _, err := s.Latest(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty store: %v", err)
	}
	epoch := mustEpoch(t, s)
	if epoch != 1 {
		t.Fatalf("first epoch %d", epoch)
	}
	for id := int64(1); id <= 2; id++ {
		if err := testJob.checkpoint(t, s, id, epoch); err != nil {
			t.Fatal(err)
		}
	}
	// A new process: a fresh Store on the same directory.
	s2 := mustOpen(t, dir, nil)
	m, skipped, err := s2.LatestVerified()
	if err != nil || len(skipped) != 0 {
		t.Fatalf("latest: %v, skipped %v", err, skipped)
	}
	testJob.checkJob(t, OSFS(), m, 2)
	if m.Epoch != epoch || !m.Timestamp.Equal(time.UnixMilli(1_700_000_000_002)) {
		t.Fatalf("epoch %d timestamp %v", m.Epoch, m.Timestamp)
	}
	if next, _ := s2.NextCheckpointID(); next != 3 {
		t.Fatalf("next checkpoint id %d", next)
	}
	// The layout is the documented one.
	names, _ := OSFS().ReadDir(filepath.Join(dir, "chk-2"))
	want := []string{"_manifest", "op-counts-0.state", "op-counts-1.state", "op-counts-2.state", "op-source-0.state", "op-source-1.state"}
	if !slices.Equal(names, want) {
		t.Fatalf("chk-2 holds %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "_epoch")); err != nil {
		t.Fatal(err)
	}
}

func TestPendingCheckpointLifecycle(t *testing.T) {
	mfs := newMemFS()
	s := mustOpen(t, "/job", mfs)
	e := mustEpoch(t, s)
	if _, err := s.NewCheckpoint(0, e); err == nil {
		t.Fatal("checkpoint id 0 accepted")
	}
	if _, err := mustOpen(t, "/other", mfs).NewCheckpoint(1, 0); err == nil {
		t.Fatal("epoch 0 accepted")
	}
	p, err := s.NewCheckpoint(1, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewCheckpoint(1, e); !errors.Is(err, ErrCheckpointExists) {
		t.Fatalf("same id twice: %v", err)
	}
	kgs := RangeFor(0, 128, 1)
	w, err := p.Create("op", 0, kgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create("op", 0, kgs); !errors.Is(err, ErrDuplicateFile) {
		t.Fatalf("duplicate file: %v", err)
	}
	// The in-progress checkpoint is invisible to Latest and Retain here.
	if _, skipped, err := s.Latest(); !errors.Is(err, ErrNoCheckpoint) || len(skipped) != 0 {
		t.Fatalf("latest during checkpoint: %v %v", err, skipped)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := p.Abort(); err != nil {
		t.Fatalf("second abort: %v", err)
	}
	if _, err := mfs.Stat("/job/chk-1"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("aborted checkpoint left: %v", err)
	}
	if err := w.Put(nil, nil); err == nil {
		t.Log("put after abort accepted (the file is gone)")
	}
	if _, err := genContent(1, kgs, 2).writeErr(w); err == nil {
		t.Fatal("writer closed into an aborted checkpoint")
	}
	if err := p.Commit(NewManifest("j", 128, time.Time{})); !errors.Is(err, ErrFinished) {
		t.Fatalf("commit after abort: %v", err)
	}
	if _, err := p.Create("op", 1, kgs); !errors.Is(err, ErrFinished) {
		t.Fatalf("create after abort: %v", err)
	}

	// Commit checks the files against the handles.
	p, err = s.NewCheckpoint(2, e)
	if err != nil {
		t.Fatal(err)
	}
	w, _ = p.Create("op", 0, kgs)
	h := genContent(2, kgs, 2).write(t, w)
	m := NewManifest("j", 128, time.Time{})
	lie := h
	lie.Checksum++
	m.AddSubtask("op", 1, 0, lie, nil)
	if err := p.Commit(m); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("commit with a wrong handle: %v", err)
	}
	m = NewManifest("j", 128, time.Time{})
	m.AddSubtask("op", 1, 0, h, nil)
	m.CheckpointID = 3
	if err := p.Commit(m); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("commit with another checkpoint's id: %v", err)
	}
	m.CheckpointID = 0
	if err := p.Commit(m); err != nil {
		t.Fatal(err)
	}
	if m.CheckpointID != 2 || m.Epoch != e || m.Dir != "/job/chk-2" {
		t.Fatalf("commit did not fill in the manifest: %+v", m)
	}
	if err := p.Commit(m); !errors.Is(err, ErrFinished) {
		t.Fatalf("second commit: %v", err)
	}
	if err := p.Abort(); !errors.Is(err, ErrFinished) {
		t.Fatalf("abort after commit: %v", err)
	}
	got, _, err := s.Latest()
	if err != nil || got.CheckpointID != 2 {
		t.Fatalf("latest: %v %v", got, err)
	}
}

func TestStaleEpochCannotCommit(t *testing.T) {
	dir := t.TempDir()
	old := mustOpen(t, dir, nil)
	e1 := mustEpoch(t, old)
	if err := testJob.checkpoint(t, old, 1, e1); err != nil {
		t.Fatal(err)
	}
	p, err := old.NewCheckpoint(2, e1)
	if err != nil {
		t.Fatal(err)
	}
	m := NewManifest("j", 128, time.Time{})
	w, _ := p.Create("op", 0, RangeFor(0, 128, 1))
	m.AddSubtask("op", 1, 0, genContent(1, RangeFor(0, 128, 1), 2).write(t, w), nil)

	// A new coordinator starts (another process).
	fresh := mustOpen(t, dir, nil)
	e2 := mustEpoch(t, fresh)
	if e2 != e1+1 {
		t.Fatalf("epoch %d after %d", e2, e1)
	}
	if err := p.Commit(m); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("stale commit: %v", err)
	}
	if _, err := old.NewCheckpoint(3, e1); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("stale begin: %v", err)
	}
	if _, err := fresh.NewCheckpoint(4, e2+1); err == nil || errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("future epoch: %v", err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	m1, _, err := fresh.Latest()
	if err != nil || m1.CheckpointID != 1 {
		t.Fatalf("latest after the stale commit: %v %v", m1, err)
	}
	if err := testJob.checkpoint(t, fresh, 2, e2); err != nil {
		t.Fatal(err)
	}
	if e, _ := fresh.Epoch(); e != e2 {
		t.Fatalf("epoch %d", e)
	}

	// A damaged epoch file is an error, never a reset to 0.
	if err := os.WriteFile(filepath.Join(dir, "_epoch"), []byte("STRMEPOC\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.BeginEpoch(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged epoch file: %v", err)
	}
	if _, err := fresh.NewCheckpoint(5, e2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("begin with a damaged epoch file: %v", err)
	}
}

// TestConcurrentCoordinatorsGetDistinctEpochs: BeginEpoch is a locked
// read-increment-write.
func TestConcurrentCoordinatorsGetDistinctEpochs(t *testing.T) {
	dir := t.TempDir()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		epochs []uint64
	)
	for range 8 {
		wg.Go(func() {
			s, err := Open(dir, nil)
			if err != nil {
				t.Error(err)
				return
			}
			for range 5 {
				e, err := s.BeginEpoch()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				epochs = append(epochs, e)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(epochs)
	for i, e := range epochs {
		if e != uint64(i+1) {
			t.Fatalf("epochs %v are not 1..40", epochs)
		}
	}
}

func TestStoreOnMissingOrBadDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Open(f, nil); err == nil {
		t.Fatal("store in a file opened")
	}
	if _, err := mustOpen(t, t.TempDir(), nil).Checkpoint(3); !errors.Is(err, ErrCheckpointNotFound) {
		t.Fatalf("missing checkpoint: %v", err)
	}
	for _, name := range []string{"chk-0", "chk-01", "chk-x", "chk--1", "chk-", "chk-1.tmp"} {
		if _, ok := parseCheckpointName(name); ok {
			t.Errorf("%q parsed as a checkpoint", name)
		}
	}
}

func TestStateFileName(t *testing.T) {
	for uid, want := range map[string]string{
		"counts":      "op-counts-3.state",
		"a-b_c.d":     "op-a-b_c.d-3.state",
		"../etc":      "op-..%2Fetc-3.state",
		"wörd count":  "op-w%C3%B6rd%20count-3.state",
		"C:\\x":       "op-C%3A%5Cx-3.state",
		"_manifest":   "op-_manifest-3.state",
		"%41":         "op-%2541-3.state",
		"x.state.tmp": "op-x.state.tmp-3.state",
	} {
		if got := StateFileName(uid, 3); got != want || !validFileName(got) {
			t.Errorf("StateFileName(%q) = %q, want %q", uid, got, want)
		}
	}
	long := strings.Repeat("é", 100)
	a, b := StateFileName(long, 0), StateFileName(long+"x", 0)
	if len(a) > 160 || a == b || !validFileName(a) {
		t.Fatalf("long uids: %q, %q", a, b)
	}
}
