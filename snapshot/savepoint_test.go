package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSavepointLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	e := mustEpoch(t, s)
	for id := int64(1); id <= 3; id++ {
		if err := testJob.checkpoint(t, s, id, e); err != nil {
			t.Fatal(err)
		}
	}
	if infos, err := s.ListSavepoints(); err != nil || len(infos) != 0 {
		t.Fatalf("no savepoints yet: %v %v", infos, err)
	}
	m, err := s.Savepoint("before-upgrade", 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != filepath.Join(dir, "savepoints", "before-upgrade") {
		t.Fatalf("savepoint dir %q", m.Dir)
	}
	testJob.checkJob(t, OSFS(), m, 2)

	for name, err := range map[string]error{
		"exists":          func() error { _, err := s.Savepoint("before-upgrade", 3); return err }(),
		"no such":         func() error { _, err := s.Savepoint("x", 9); return err }(),
		"bad name":        func() error { _, err := s.Savepoint("../x", 3); return err }(),
		"hidden name":     func() error { _, err := s.Savepoint(".x", 3); return err }(),
		"delete unknown":  s.DeleteSavepoint("nope"),
		"delete bad name": s.DeleteSavepoint("a/b"),
		"incomplete source": func() error {
			os.Remove(filepath.Join(dir, "chk-3/_manifest"))
			_, err := s.Savepoint("y", 3)
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := s.Savepoint("before-upgrade", 1); !errors.Is(err, ErrSavepointExists) {
		t.Fatalf("existing name: %v", err)
	}
	if err := s.DeleteSavepoint("nope"); !errors.Is(err, ErrSavepointNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}

	// The savepoint outlives its checkpoint: Retain deletes checkpoint 2
	// (its files are hard links, not references).
	if err := testJob.checkpoint(t, s, 4, e); err != nil {
		t.Fatal(err)
	}
	if deleted, err := s.Retain(1); err != nil || len(deleted) != 3 {
		t.Fatalf("retain: %v %v", deleted, err)
	}
	for _, path := range []string{m.Dir, filepath.Join(m.Dir, "_manifest")} {
		got, err := OpenManifest(nil, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(OSFS(), got); err != nil {
			t.Fatal(err)
		}
		testJob.checkJob(t, OSFS(), got, 2)
	}
	if _, err := OpenManifest(nil, filepath.Join(m.Dir, "op-counts-0.state")); err == nil {
		t.Fatal("a state file opened as a manifest")
	}
	if _, err := OpenManifest(nil, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}

	// Leftovers of a savepoint cut short are not listed.
	if err := os.Mkdir(filepath.Join(dir, "savepoints", ".half.tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	infos, err := s.ListSavepoints()
	if err != nil || len(infos) != 1 || infos[0].Name != "before-upgrade" || infos[0].Err != nil || infos[0].Manifest.CheckpointID != 2 {
		t.Fatalf("list: %+v %v", infos, err)
	}
	// A damaged savepoint is listed with the reason.
	if _, err := s.Savepoint("second", 4); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "savepoints", "second", "op-source-1.state"))
	infos, err = s.ListSavepoints()
	if err != nil || len(infos) != 2 || infos[1].Name != "second" || !errors.Is(infos[1].Err, ErrCorrupt) {
		t.Fatalf("list with a damaged savepoint: %+v %v", infos, err)
	}

	if err := s.DeleteSavepoint("before-upgrade"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted savepoint still there: %v", err)
	}
}

func TestSavepointCopiesWhereLinksFail(t *testing.T) {
	mfs := newMemFS()
	efs := NewErrorFS(mfs, func(op Op, _ string) error {
		if op == OpLink {
			return ErrInjected
		}
		return nil
	})
	s := mustOpen(t, "/job", efs)
	e := mustEpoch(t, s)
	if err := testJob.checkpoint(t, s, 1, e); err != nil {
		t.Fatal(err)
	}
	m, err := s.Savepoint("sp", 1)
	if err != nil {
		t.Fatal(err)
	}
	testJob.checkJob(t, mfs, m, 1)
	// Copies, not links: damaging the checkpoint leaves the savepoint.
	f, _ := mfs.Create("/job/chk-1/op-counts-0.state")
	f.Close()
	got, err := OpenManifest(mfs, "/job/savepoints/sp")
	if err != nil {
		t.Fatal(err)
	}
	testJob.checkJob(t, mfs, got, 1)
}

func TestSavepointFailureLeavesNothing(t *testing.T) {
	mfs := newMemFS()
	fail := false
	efs := NewErrorFS(mfs, func(op Op, path string) error {
		if fail && op == OpSyncDir && strings.HasSuffix(path, ".sp.tmp") {
			return ErrInjected
		}
		return nil
	})
	s := mustOpen(t, "/job", efs)
	e := mustEpoch(t, s)
	if err := testJob.checkpoint(t, s, 1, e); err != nil {
		t.Fatal(err)
	}
	fail = true
	if _, err := s.Savepoint("sp", 1); !errors.Is(err, ErrInjected) {
		t.Fatalf("savepoint: %v", err)
	}
	names, _ := mfs.ReadDir("/job/savepoints")
	if len(names) != 0 {
		t.Fatalf("failed savepoint left %v", names)
	}
	fail = false
	if _, err := s.Savepoint("sp", 1); err != nil {
		t.Fatal(err)
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	e := mustEpoch(t, s)
	if err := testJob.checkpoint(t, s, 1, e); err != nil {
		t.Fatal(err)
	}
	m, err := s.Savepoint("nightly", 1)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(nil, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if in.CheckpointID != 1 || in.JobName != "wordcount" || in.MaxParallelism != 128 || len(in.Operators) != 2 || len(in.Problems) != 0 {
		t.Fatalf("inspection %+v", in)
	}
	counts := in.Operators[0]
	if counts.UID != "counts" || counts.Parallelism != 3 || len(counts.Subtasks) != 3 || counts.Subtasks[1].KeyGroups != RangeFor(1, 128, 3) {
		t.Fatalf("operator %+v", counts)
	}
	if in.TotalSize != m.Size() || counts.Size == 0 || counts.KeyedEntries == 0 {
		t.Fatalf("sizes: total %d, manifest %d, operator %d", in.TotalSize, m.Size(), counts.Size)
	}
	text := in.String()
	for _, want := range []string{"checkpoint:      1 (epoch 1)", `operator "counts": parallelism 3`, "[43, 86)", "op-counts-1.state", "offsets(union, 1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspection text lacks %q:\n%s", want, text)
		}
	}
	t.Logf("\n%s", text)

	os.Remove(filepath.Join(m.Dir, "op-counts-2.state"))
	in, err = Inspect(nil, filepath.Join(m.Dir, "_manifest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "op-counts-2.state") || !strings.Contains(in.String(), "problems:") {
		t.Fatalf("problems %v", in.Problems)
	}
	os.Remove(filepath.Join(m.Dir, "_manifest"))
	if _, err := Inspect(nil, m.Dir); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("inspect without a manifest: %v", err)
	}
}
