package file

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// memState is one subtask's operator state at one checkpoint.
type memState struct {
	t       *testing.T
	entries map[string][][]byte
}

func newMemState(t *testing.T) *memState {
	return &memState{t: t, entries: map[string][][]byte{}}
}

func (m *memState) Keyed(int, []byte, []byte) { m.t.Error("file sink wrote keyed state") }

func (m *memState) Operator(name string, mode snapshot.RedistributionMode, entry []byte) {
	if mode != snapshot.Union {
		m.t.Errorf("state %s in mode %v, want union", name, mode)
	}
	m.entries[name] = append(m.entries[name], bytes.Clone(entry))
}

// unionReader hands every subtask the entries of all, as snapshot.Union
// does at the same parallelism.
type unionReader struct {
	entries map[string][][]byte
	err     error
}

func (r unionReader) Keyed(func(int, []byte, []byte) error) error { return nil }

func (r unionReader) Operator(name string) ([][]byte, error) {
	return r.entries[name], r.err
}

func unionOf(states ...*memState) unionReader {
	r := unionReader{entries: map[string][][]byte{}}
	for _, s := range states {
		for name, es := range s.entries {
			r.entries[name] = append(r.entries[name], es...)
		}
	}
	return r
}

func readerOf(entries ...[]byte) unionReader {
	return unionReader{entries: map[string][][]byte{SinkStateName: entries}}
}

// crash drops a sink the way a dying process does: its descriptor closes,
// nothing else happens.
func crash[T any](s *Sink[T]) {
	if s.f != nil {
		s.f.Close()
	}
}

// record is the i-th record of subtask sub; some are long enough to push
// the sink's buffer to disk between checkpoints.
func record(sub, i int) string {
	s := fmt.Sprintf("s%d-r%04d", sub, i)
	if i%37 == 5 {
		s += strings.Repeat("~", 40_000)
	}
	return s
}

func records(sub, from, to int) *operators.Batch[string] {
	b := operators.NewBatch[string](to - from)
	for i := from; i < to; i++ {
		b.Append(record(sub, i), operators.NoTimestamp)
	}
	return b
}

func recordText(sub, from, to int) string {
	var sb strings.Builder
	for i := from; i < to; i++ {
		sb.WriteString(record(sub, i))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func openSink(t *testing.T, path string, sub, p int) *Sink[string] {
	t.Helper()
	s := NewLineSink(path)
	if err := s.Open(&operators.TaskContext{Subtask: sub, Parallelism: p}); err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func snap(t *testing.T, s *Sink[string], id int64) *memState {
	t.Helper()
	st := newMemState(t)
	must(t, s.SnapshotState(id, st))
	if n := len(st.entries[SinkStateName]); n != 1 {
		t.Fatalf("%d state entries, want 1", n)
	}
	return st
}

// wantNames checks the directory listing.
func wantNames(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("directory holds %q, want %q", got, want)
	}
}

func TestSinkCheckpointSingleFile(t *testing.T) {
	for _, restoreFrom := range []int{1, 2} {
		t.Run(fmt.Sprintf("restore from %d", restoreFrom), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.txt")
			tmp := path + inProgress

			a := openSink(t, path, 0, 1)
			must(t, a.Write(records(0, 0, 10)))
			cp1 := snap(t, a, 1)
			// The checkpoint made the first records durable in the
			// in-progress file; the output is not visible.
			if got := readString(t, tmp); got != recordText(0, 0, 10) {
				t.Fatalf("in-progress after checkpoint 1: %d bytes", len(got))
			}
			must(t, a.NotifyCheckpointComplete(1))
			wantNames(t, dir, "out.txt.inprogress")
			must(t, a.Write(records(0, 10, 20)))
			cp2 := snap(t, a, 2)
			if restoreFrom == 2 {
				must(t, a.NotifyCheckpointComplete(2))
			}
			must(t, a.Write(records(0, 20, 100))) // flushes past the buffer
			crash(a)
			if size := len(readString(t, tmp)); size <= len(recordText(0, 0, 20)) {
				t.Fatalf("in-progress holds %d bytes; the test wants output after the checkpoint on disk", size)
			}

			b := openSink(t, path, 0, 1)
			// Open keeps the in-progress file for the restore.
			if size := len(readString(t, tmp)); size <= len(recordText(0, 0, 20)) {
				t.Fatalf("Open truncated the in-progress file to %d bytes", size)
			}
			emitted := 10
			state := cp1
			if restoreFrom == 2 {
				emitted, state = 20, cp2
			}
			must(t, b.RestoreState(unionOf(state)))
			if got := readString(t, tmp); got != recordText(0, 0, emitted) {
				t.Fatalf("in-progress after restore: %d bytes, want %d", len(got), len(recordText(0, 0, emitted)))
			}
			wantNames(t, dir, "out.txt.inprogress")
			// The job re-emits what followed the checkpoint.
			must(t, b.Write(records(0, emitted, 45)))
			snap(t, b, 3)
			must(t, b.NotifyCheckpointComplete(3))
			must(t, b.Write(records(0, 45, 120)))
			wantNames(t, dir, "out.txt.inprogress")
			must(t, b.Finish())
			must(t, b.Close())
			wantNames(t, dir, "out.txt")
			if got := readString(t, path); got != recordText(0, 0, 120) {
				t.Fatalf("output differs from an uninterrupted run: %d bytes, want %d", len(got), len(recordText(0, 0, 120)))
			}
		})
	}
}

// partText concatenates the committed parts of subtask sub in part order
// and checks that they are numbered 0..n-1.
func partText(t *testing.T, dir string, sub int) (string, int) {
	t.Helper()
	prefix := "part-" + strconv.Itoa(sub) + "-"
	var nums []int
	for _, name := range dirNames(t, dir) {
		if rest, ok := strings.CutPrefix(name, prefix); ok && !strings.Contains(rest, ".") {
			n, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("part %s", name)
			}
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	var sb strings.Builder
	for i, n := range nums {
		if n != i {
			t.Fatalf("subtask %d has parts %v", sub, nums)
		}
		sb.WriteString(readString(t, filepath.Join(dir, prefix+strconv.Itoa(n))))
	}
	return sb.String(), len(nums)
}

func TestSinkCheckpointPartFiles(t *testing.T) {
	const p = 3
	for _, restoreFrom := range []int{1, 2} {
		t.Run(fmt.Sprintf("restore from %d", restoreFrom), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			sinks := make([]*Sink[string], p)
			for i := range sinks {
				sinks[i] = openSink(t, dir, i, p)
				must(t, sinks[i].Write(records(i, 0, 10)))
			}
			cp1 := make([]*memState, p)
			for i, s := range sinks {
				cp1[i] = snap(t, s, 1)
			}
			// Rolled, not yet visible.
			wantNames(t, dir,
				"part-0-0.pending", "part-1-0.pending", "part-2-0.pending",
				"part-0.inprogress", "part-1.inprogress", "part-2.inprogress")
			for _, s := range sinks {
				must(t, s.NotifyCheckpointComplete(1))
			}
			wantNames(t, dir, "part-0-0", "part-1-0", "part-2-0",
				"part-0.inprogress", "part-1.inprogress", "part-2.inprogress")
			for i := range p {
				if got, _ := partText(t, dir, i); got != recordText(i, 0, 10) {
					t.Fatalf("subtask %d committed %d bytes after checkpoint 1", i, len(got))
				}
			}
			// Checkpoint 2 with nothing new from subtask 2: no empty part.
			for i, s := range sinks[:2] {
				must(t, s.Write(records(i, 10, 20)))
			}
			cp2 := make([]*memState, p)
			for i, s := range sinks {
				cp2[i] = snap(t, s, 2)
			}
			wantNames(t, dir, "part-0-0", "part-1-0", "part-2-0",
				"part-0-1.pending", "part-1-1.pending",
				"part-0.inprogress", "part-1.inprogress", "part-2.inprogress")
			// Checkpoint 2 completes, but the notification reaches only
			// subtask 0 before the crash.
			if restoreFrom == 2 {
				must(t, sinks[0].NotifyCheckpointComplete(2))
			}
			for i, s := range sinks {
				must(t, s.Write(records(i, 20, 60)))
			}
			// A checkpoint that never completes.
			for i, s := range sinks {
				snap(t, s, 3)
				must(t, s.Write(records(i, 60, 70)))
			}
			for i, s := range sinks {
				if i == 1 {
					must(t, s.Close()) // the runtime closes a failed task
				} else {
					crash(s)
				}
			}
			if !exists(filepath.Join(dir, "part-1.inprogress")) || !exists(filepath.Join(dir, "part-1-2.pending")) {
				t.Fatal("Close after a checkpoint removed uncommitted output")
			}

			emitted := []int{10, 10, 10}
			state := cp1
			if restoreFrom == 2 {
				emitted, state = []int{20, 20, 10}, cp2
			}
			for i := range sinks {
				sinks[i] = openSink(t, dir, i, p)
				must(t, sinks[i].RestoreState(unionOf(state...)))
			}
			// Parts of the restored checkpoint are committed, later ones
			// are gone.
			if restoreFrom == 1 {
				wantNames(t, dir, "part-0-0", "part-1-0", "part-2-0",
					"part-0.inprogress", "part-1.inprogress", "part-2.inprogress")
			} else {
				wantNames(t, dir, "part-0-0", "part-1-0", "part-2-0", "part-0-1", "part-1-1",
					"part-0.inprogress", "part-1.inprogress", "part-2.inprogress")
			}
			for i := range p {
				if got, _ := partText(t, dir, i); got != recordText(i, 0, emitted[i]) {
					t.Fatalf("subtask %d committed %d bytes after the restore, want %d", i, len(got), len(recordText(i, 0, emitted[i])))
				}
				if size := len(readString(t, filepath.Join(dir, "part-"+strconv.Itoa(i)+inProgress))); size != 0 {
					t.Fatalf("subtask %d in-progress holds %d bytes after the restore", i, size)
				}
			}
			// Re-emit, checkpoint, finish.
			for i, s := range sinks {
				must(t, s.Write(records(i, emitted[i], 50)))
				snap(t, s, 4)
				must(t, s.NotifyCheckpointComplete(4))
				must(t, s.Write(records(i, 50, 80+i)))
			}
			for _, s := range sinks {
				must(t, s.Finish())
				must(t, s.Close())
			}
			for _, name := range dirNames(t, dir) {
				if strings.Contains(name, ".") {
					t.Fatalf("%s left after Finish", name)
				}
			}
			for i := range p {
				if got, _ := partText(t, dir, i); got != recordText(i, 0, 80+i) {
					t.Fatalf("subtask %d: output differs from an uninterrupted run: %d bytes, want %d", i, len(got), len(recordText(i, 0, 80+i)))
				}
			}
		})
	}
}

func TestSinkCheckpointFinishParts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	must(t, os.MkdirAll(dir, 0o755))
	// Output of an earlier run of subtask 1: without checkpoints, with
	// more parts, and a pending part.
	for _, name := range []string{"part-1", "part-1-0", "part-1-1", "part-1-7", "part-1-8.pending", "part-0-5", "part-11-3"} {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte("old\n"), 0o644))
	}
	s := openSink(t, dir, 1, 2)
	must(t, s.Write(records(1, 0, 3)))
	snap(t, s, 1)
	must(t, s.Write(records(1, 3, 5)))
	// Finish commits the pending part and the rest, and removes the
	// earlier run's parts of this subtask only.
	must(t, s.Finish())
	must(t, s.Close())
	wantNames(t, dir, "part-0-5", "part-11-3", "part-1-0", "part-1-1")
	if got, n := partText(t, dir, 1); got != recordText(1, 0, 5) || n != 2 {
		t.Fatalf("committed %q in %d parts", got, n)
	}
	if s.PartName(1) != filepath.Join(dir, "part-1-1") {
		t.Fatalf("PartName %s", s.PartName(1))
	}

	// A subtask that wrote nothing commits one empty part; a checkpoint
	// with nothing written rolls no part.
	e := openSink(t, dir, 0, 2)
	snap(t, e, 1)
	must(t, e.NotifyCheckpointComplete(1))
	must(t, e.Finish())
	wantNames(t, dir, "part-0-0", "part-11-3", "part-1-0", "part-1-1")
	if got := readString(t, filepath.Join(dir, "part-0-0")); got != "" {
		t.Fatalf("empty subtask committed %q", got)
	}

	// After a part was committed, an empty tail is not committed.
	d2 := filepath.Join(t.TempDir(), "out")
	s2 := openSink(t, d2, 0, 2)
	must(t, s2.Write(records(0, 0, 2)))
	snap(t, s2, 1)
	must(t, s2.Finish())
	wantNames(t, d2, "part-0-0")
}

func TestSinkRestoreAfterFinishParts(t *testing.T) {
	// At P > 1 a restore after Finish removes the parts Finish committed
	// after the checkpoint; the job writes them again.
	dir := filepath.Join(t.TempDir(), "out")
	s := openSink(t, dir, 0, 2)
	must(t, s.Write(records(0, 0, 5)))
	cp := snap(t, s, 1)
	must(t, s.NotifyCheckpointComplete(1))
	must(t, s.Write(records(0, 5, 9)))
	must(t, s.Finish())
	must(t, s.Close())
	wantNames(t, dir, "part-0-0", "part-0-1")

	s = openSink(t, dir, 0, 2)
	must(t, s.RestoreState(unionOf(cp)))
	wantNames(t, dir, "part-0-0", "part-0.inprogress")
	must(t, s.Write(records(0, 5, 9)))
	must(t, s.Finish())
	if got, _ := partText(t, dir, 0); got != recordText(0, 0, 9) {
		t.Fatalf("output %d bytes", len(got))
	}
}

func TestSinkRestoreRefused(t *testing.T) {
	entry := func(sub, par, part, length int64) []byte {
		return sinkEntry{sub: sub, par: par, part: part, length: length}.append(nil)
	}
	good := entry(1, 3, 2, 0)
	tests := []struct {
		name   string
		p      int
		reader unionReader
		want   string
	}{
		{"garbage", 3, readerOf([]byte("garbage")), "not a file sink state entry"},
		{"empty entry", 3, readerOf(entry(0, 3, 0, 0), nil), "entry 1: not a file sink"},
		{"future version", 3, readerOf(append([]byte{sinkStateKind, 2}, good[2:]...)), "version 2"},
		{"truncated", 3, readerOf(good[:len(good)-1]), "corrupt"},
		{"trailing bytes", 3, readerOf(append(slices.Clone(good), 0)), "trailing"},
		{"huge varint", 3, readerOf([]byte{sinkStateKind, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), "corrupt"},
		{"subtask beyond parallelism", 3, readerOf(entry(3, 3, 0, 0)), "subtask 3 of 3"},
		{"part at parallelism 1", 1, readerOf(entry(0, 1, 4, 0)), "part 4 at parallelism 1"},
		{"other parallelism", 3, readerOf(entry(0, 2, 0, 0), entry(1, 2, 0, 0)), "same parallelism"},
		{"no entry for subtask", 3, readerOf(entry(0, 3, 0, 0), entry(2, 3, 0, 0)), "no state entry for subtask 1"},
		{"two entries for subtask", 3, readerOf(entry(1, 3, 0, 0), entry(1, 3, 1, 0)), "two state entries"},
		{"reader error", 3, unionReader{err: errors.New("disk on fire")}, "disk on fire"},
		{"in-progress missing", 1, readerOf(entry(0, 1, 0, 10)), "is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			s := openSink(t, path, min(1, tt.p-1), tt.p)
			err := s.RestoreState(tt.reader)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("RestoreState: %v, want an error containing %q", err, tt.want)
			}
			must(t, s.Close())
		})
	}

	t.Run("in-progress shorter than recorded", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out")
		must(t, os.WriteFile(path+inProgress, []byte("abc\n"), 0o644))
		s := openSink(t, path, 0, 1)
		err := s.RestoreState(readerOf(entry(0, 1, 0, 10)))
		if err == nil || !strings.Contains(err.Error(), "is 4 bytes, the checkpoint recorded 10") {
			t.Fatalf("RestoreState: %v", err)
		}
		// A failed restore leaves the file it did not understand alone.
		must(t, s.Close())
		if got := readString(t, path+inProgress); got != "abc\n" {
			t.Fatalf("in-progress became %q", got)
		}
	})
	t.Run("after a record", func(t *testing.T) {
		s := openSink(t, filepath.Join(t.TempDir(), "out"), 0, 1)
		must(t, s.Write(records(0, 0, 1)))
		if err := s.RestoreState(readerOf(entry(0, 1, 0, 0))); err == nil || !strings.Contains(err.Error(), "already started") {
			t.Fatalf("RestoreState after Write: %v", err)
		}
		s.Close()
	})
	t.Run("not open", func(t *testing.T) {
		s := NewLineSink(filepath.Join(t.TempDir(), "out"))
		if err := s.RestoreState(readerOf(entry(0, 1, 0, 0))); err == nil {
			t.Fatal("RestoreState before Open succeeded")
		}
		if err := s.SnapshotState(1, newMemState(t)); err == nil {
			t.Fatal("SnapshotState before Open succeeded")
		}
	})
}

func TestSinkRestoreWithoutState(t *testing.T) {
	// A checkpoint without entries of this sink starts afresh: whatever
	// an earlier attempt left in progress is overwritten.
	path := filepath.Join(t.TempDir(), "out")
	must(t, os.WriteFile(path+inProgress, []byte("stale\n"), 0o644))
	s := openSink(t, path, 0, 1)
	must(t, s.RestoreState(readerOf()))
	must(t, s.Write(records(0, 0, 3)))
	must(t, s.Finish())
	if got := readString(t, path); got != recordText(0, 0, 3) {
		t.Fatalf("output %q", got)
	}
}

func TestSinkOpenKeepsUntouchedInProgress(t *testing.T) {
	// Open, then Close without a record: an in-progress file that was
	// there before (maybe a checkpoint's output) stays.
	path := filepath.Join(t.TempDir(), "out")
	must(t, os.WriteFile(path+inProgress, []byte("kept\n"), 0o644))
	s := openSink(t, path, 0, 1)
	must(t, s.Close())
	if got := readString(t, path+inProgress); got != "kept\n" {
		t.Fatalf("in-progress became %q", got)
	}
	// A run that writes without restoring replaces it, and removes it on
	// Close without checkpoints, as before.
	s = openSink(t, path, 0, 1)
	must(t, s.Write(records(0, 0, 1)))
	if got := readString(t, path+inProgress); got != "" {
		t.Fatalf("in-progress not truncated at the first record: %q", got)
	}
	must(t, s.Close())
	if exists(path + inProgress) {
		t.Fatal("in-progress left after Close without checkpoints")
	}
}

func TestSinkSnapshotAfterFinish(t *testing.T) {
	s := openSink(t, filepath.Join(t.TempDir(), "out"), 0, 1)
	must(t, s.Finish())
	if err := s.SnapshotState(1, newMemState(t)); err == nil {
		t.Fatal("SnapshotState after Finish succeeded")
	}
	must(t, s.NotifyCheckpointComplete(1))
}

// TestSinkExactlyOnceModel runs random sequences of writes, checkpoints,
// completions, crashes and restores against a model of what must be
// visible, and checks the final output against an uninterrupted run.
func TestSinkExactlyOnceModel(t *testing.T) {
	const total = 120 // records per subtask
	seeds := uint64(15)
	if testing.Short() {
		seeds = 5
	}
	for _, p := range []int{1, 3} {
		for seed := range seeds {
			t.Run(fmt.Sprintf("P=%d/seed=%d", p, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(p)))
				path := filepath.Join(t.TempDir(), "out")
				type checkpoint struct {
					id      int64
					emitted []int
					states  []*memState
				}
				var completed *checkpoint     // the latest completed
				var outstanding []*checkpoint // taken, not completed, in order
				emitted := make([]int, p)
				sinks := make([]*Sink[string], p)
				for i := range sinks {
					sinks[i] = openSink(t, path, i, p)
				}
				nextID := int64(1)
				finished := false
				check := func(when string) {
					t.Helper()
					for i := range p {
						want := 0
						if completed != nil && p > 1 {
							want = completed.emitted[i] // parts of completed checkpoints
						}
						if finished {
							want = total
						}
						var got string
						if p == 1 {
							if exists(path) != finished {
								t.Fatalf("%s: output visible: %v", when, exists(path))
							}
							if finished {
								got = readString(t, path)
							}
						} else {
							got, _ = partText(t, path, i)
						}
						if got != recordText(i, 0, want) {
							t.Fatalf("%s: subtask %d shows %d bytes, want the first %d records (%d bytes)",
								when, i, len(got), want, len(recordText(i, 0, want)))
						}
					}
				}
				for step := 0; step < 10_000 && !(finished && rng.IntN(3) == 0); step++ {
					switch r := rng.IntN(20); {
					case finished:
						// Only P > 1 may restore after Finish.
						if p == 1 || completed == nil {
							step = 10_000
							continue
						}
						fallthrough
					case r == 0: // crash and restore
						for _, s := range sinks {
							if rng.IntN(2) == 0 {
								crash(s)
							} else {
								must(t, s.Close())
							}
						}
						outstanding, finished = nil, false
						for i := range sinks {
							sinks[i] = openSink(t, path, i, p)
							if completed != nil {
								must(t, sinks[i].RestoreState(unionOf(completed.states...)))
								emitted[i] = completed.emitted[i]
							} else {
								emitted[i] = 0 // a fresh start: no restore
							}
						}
						check("after restore")
					case r < 4: // checkpoint
						cp := &checkpoint{id: nextID, emitted: slices.Clone(emitted)}
						nextID++
						for _, s := range sinks {
							cp.states = append(cp.states, snap(t, s, cp.id))
						}
						outstanding = append(outstanding, cp)
						check("after checkpoint")
					case r < 6: // complete one checkpoint, subsuming older ones
						if len(outstanding) == 0 {
							continue
						}
						k := rng.IntN(len(outstanding))
						completed, outstanding = outstanding[k], outstanding[k+1:]
						for _, s := range sinks {
							must(t, s.NotifyCheckpointComplete(completed.id))
						}
						check("after completion")
					default: // write
						i := rng.IntN(p)
						if emitted[i] == total {
							done := true
							for _, e := range emitted {
								done = done && e == total
							}
							if done {
								for _, s := range sinks {
									must(t, s.Finish())
								}
								finished = true
								check("after finish")
							}
							continue
						}
						n := min(total-emitted[i], 1+rng.IntN(15))
						must(t, sinks[i].Write(records(i, emitted[i], emitted[i]+n)))
						emitted[i] += n
					}
				}
				if !finished {
					for i, s := range sinks {
						must(t, s.Write(records(i, emitted[i], total)))
						must(t, s.Finish())
					}
					finished = true
				}
				for _, s := range sinks {
					must(t, s.Close())
				}
				check("at the end")
				for _, name := range dirNames(t, filepath.Dir(path)) {
					if strings.HasSuffix(name, inProgress) || strings.HasSuffix(name, pendingExt) {
						t.Fatalf("%s left behind", name)
					}
				}
			})
		}
	}
}

func TestSinkRestoreAfterFinishSingleFile(t *testing.T) {
	// The process stopped after this sink committed its file at the end of
	// input and before the job finished: the restore takes the checkpoint's
	// bytes back from the committed file, and the re-run writes the same.
	path := filepath.Join(t.TempDir(), "out.txt")
	s := openSink(t, path, 0, 1)
	must(t, s.Write(records(0, 0, 5)))
	cp := snap(t, s, 1)
	must(t, s.Write(records(0, 5, 9)))
	must(t, s.Finish())
	must(t, s.Close())

	s = openSink(t, path, 0, 1)
	must(t, s.RestoreState(unionOf(cp)))
	must(t, s.Write(records(0, 5, 9)))
	must(t, s.Finish())
	must(t, s.Close())
	got, err := os.ReadFile(path)
	must(t, err)
	if string(got) != recordText(0, 0, 9) {
		t.Fatalf("output %q, want %q", got, recordText(0, 0, 9))
	}

	// A committed file shorter than the checkpoint's bytes is not ours.
	must(t, os.WriteFile(path, []byte("x\n"), 0o644))
	s = openSink(t, path, 0, 1)
	if err := s.RestoreState(unionOf(cp)); err == nil {
		t.Fatal("restored from a committed file shorter than the checkpoint")
	}
}
