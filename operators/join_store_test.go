package operators

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// joinBackends are the state backends the join tests run on.
var joinBackends = []string{"heap", "pebble"}

// newJoinBackend returns nil for the heap backend, else a Pebble backend
// whose caches hold 2 entries, so that eviction runs all the time.
func newJoinBackend(name string) *testBackend {
	if name == "heap" {
		return nil
	}
	return &testBackend{mode: pebblePortable, cacheEntries: 2}
}

// joinTask returns the task context of a join instance on backend b.
func joinTask(t *testing.T, b *testBackend, name string) *TaskContext {
	t.Helper()
	ctx := opTask(name, nil)
	if b != nil {
		ctx.Store = b.newStore(t)
	}
	return ctx
}

// joinStoreEntries returns the number of entries that s holds, after a
// commit; 0 for no store.
func joinStoreEntries(t *testing.T, s *StateStore) int {
	t.Helper()
	if s == nil {
		return 0
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.DB().Export(s.UID(), everyKeyGroup, func(int, []byte, []byte) error {
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// joinTags returns the tags of the entries that the join of case c keeps
// in the store.
func joinTags(c ckCase[jrec]) string {
	if strings.HasPrefix(c.name, "window-join") {
		return string(tagJoinWindow)
	}
	return string([]byte{tagLeftRecords, tagRightRecords})
}

// randomJoinCaseOf returns a window join case with random windows, or an
// interval join case with random bounds.
func randomJoinCaseOf(r *rand.Rand, window bool) ckCase[jrec] {
	for {
		if c := randomJoinCase(r); strings.HasPrefix(c.name, "window-join") == window {
			return c
		}
	}
}

// TestJoinsSameOnBothBackends checks that the joins emit exactly the same
// records in the same order on the heap and on Pebble, with caches from
// one entry up.
func TestJoinsSameOnBothBackends(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 19))
	backend := &testBackend{mode: pebblePortable}
	for round := range 60 {
		steps := randomJoinInput(r)
		size := int64(5 + r.IntN(25))
		win := JoinWindows{Size: size, Slide: int64(1 + r.IntN(int(size)))}
		lower := int64(r.IntN(30) - 20)
		upper := lower + int64(r.IntN(30))
		run := func(cache int, window bool) []tsRecord[jpair] {
			out := &outRecorder[jpair]{}
			var op TwoInputOperator[jrec, jrec]
			if window {
				op = newWindowJoin(win, out)
			} else {
				op = newIntervalJoin(lower, upper, out)
			}
			ctx := opTask("join", nil)
			if cache > 0 {
				backend.cacheEntries = cache
				ctx.Store = backend.newStore(t)
			}
			if err := op.Open(ctx); err != nil {
				t.Fatal(err)
			}
			feed(t, op, steps)
			if n := joinStoreEntries(t, ctx.Store); n != 0 {
				t.Fatalf("round %d: %d entries left in the store", round, n)
			}
			return out.records
		}
		for _, window := range []bool{true, false} {
			want := run(0, window)
			for _, cache := range []int{1, 3, 1000} {
				if got := run(cache, window); !slices.Equal(got, want) {
					t.Fatalf("round %d (window join %v), cache %d: Pebble emits\n%v\nheap emits\n%v", round, window, cache, got, want)
				}
			}
		}
	}
}

// TestJoinsRestoreOnPebble runs the restore checks of the joins on the
// Pebble backend: portable restores into an empty store with large and
// tiny caches, restores from the subtask's own Pebble checkpoint with the
// state file alone, and runs that alternate between the backends, each
// restoring the other's snapshots. A restored instance must snapshot what
// it was restored from and go on as an uninterrupted run.
func TestJoinsRestoreOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for i := range 6 {
		c := randomJoinCaseOf(r, i%2 == 0)
		steps := randomJoinSteps(r, 5+r.IntN(20), 1+r.IntN(5), 15)
		for _, b := range backends(joinTags(c)) {
			checkRestores(t, r, onBackend(c, b), steps)
		}
	}
}

// TestJoinsRescaleOnPebble moves join state between 2 subtasks and 1 or
// 3 on the Pebble backend, and between the backends.
func TestJoinsRescaleOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for i := range 4 {
		c := randomJoinCaseOf(r, i%2 == 0)
		steps := randomJoinSteps(r, 10+r.IntN(50), 4+r.IntN(10), 15)
		cut := r.IntN(len(steps) + 1)
		for _, b := range backends(joinTags(c)) {
			checkRescale(t, onBackend(c, b), steps, cut, 1)
			checkRescale(t, onBackend(c, b), steps, cut, 3)
		}
	}
}

// TestJoinsRejectCorruptStateOnPebble restores damaged checkpoints into
// the store.
func TestJoinsRejectCorruptStateOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	steps := randomJoinSteps(r, 20, 4, 5)
	steps = steps[:len(steps)-2] // keep the buffers
	b := testBackend{mode: pebblePortable, cacheEntries: 2}
	checkCorruptionFails(t, onBackend(windowJoinCase(JoinWindows{Size: 1000, Slide: 500}), b), steps)
	checkCorruptionFails(t, onBackend(intervalJoinCase(-1000, 1000), b), steps)
}

// damageStore overwrites every entry of s with bytes that decode as no
// join state, and returns how many it damaged.
func damageStore(t *testing.T, s *StateStore) int {
	t.Helper()
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	var damaged int
	if err := s.DB().Iterate(s.UID(), everyKeyGroup, func(kg int, state string, key, _ []byte) error {
		damaged++
		return s.Put(kg, state[0], slices.Clone(key), []byte{0xff, 0xff})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return damaged
}

// checkStoreError checks that err is a corrupt state error of the join
// store, not a crash.
func checkStoreError(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrCorruptState) || !errors.Is(err, errJoinStore) || errors.Is(err, ErrPanic) {
		t.Fatalf("%s: error %v: want a corrupt state error of the store", what, err)
	}
	var oe *OperatorError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "join state store") {
		t.Fatalf("%s: error %q does not name the operator and the store", what, err)
	}
}

// TestJoinStoreDamageFailsTheStep checks that entries of the store that
// do not decode fail the step that reads them, and a restore from a
// damaged Pebble checkpoint, with an error naming the store.
func TestJoinStoreDamageFailsTheStep(t *testing.T) {
	for _, window := range []bool{true, false} {
		b := &testBackend{mode: pebblePortable, cacheEntries: 1}
		out := &outRecorder[jpair]{}
		var op TwoInputOperator[jrec, jrec]
		if window {
			op = newWindowJoin(JoinWindows{Size: 10}, out)
		} else {
			op = newIntervalJoin(-5, 5, out)
		}
		ctx := joinTask(t, b, "join")
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		// The cache holds one entry: key 1's went to the store.
		feed(t, op, []joinStep{lrec(1, 1, 1), lrec(2, 2, 2), rrec(3, 2, 2)})
		if n := damageStore(t, ctx.Store); n == 0 {
			t.Fatal("nothing in the store")
		}
		err := op.Input2().ProcessBatch(&Batch[jrec]{Values: []jrec{{ID: 4, Key: 1}}, Times: []int64{3}})
		if err == nil {
			err = op.ProcessWatermark(MaxWatermark)
		}
		checkStoreError(t, "step", err)

		// A restore from a Pebble checkpoint of a damaged store, with
		// the state file alone.
		op = newIntervalJoin(-5, 5, out)
		if window {
			op = newWindowJoin(JoinWindows{Size: 10}, out)
		}
		db, err := pebblestate.Open(t.TempDir(), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		store := NewStateStore(db, "op")
		defer store.Close()
		ctx = opTask("join", nil)
		ctx.Store = store
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		feed(t, op, []joinStep{lrec(1, 1, 1), rrec(2, 2, 2)})
		file := NewMemState()
		if err := op.(Checkpointed).SnapshotState(1, file); err != nil {
			t.Fatal(err)
		}
		damageStore(t, store)
		ck := filepath.Join(t.TempDir(), "ck")
		if _, err := db.Checkpoint(ck); err != nil {
			t.Fatal(err)
		}
		rdb, err := pebblestate.Restore(ck, filepath.Join(t.TempDir(), "db"), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		rstore := NewStateStore(rdb, "op")
		defer rstore.Close()
		var rop interface {
			Operator
			Checkpointed
		} = newIntervalJoin(-5, 5, out)
		if window {
			rop = newWindowJoin(JoinWindows{Size: 10}, out)
		}
		rctx := opTask("join", nil)
		rctx.Store = rstore
		if err := rop.Open(rctx); err != nil {
			t.Fatal(err)
		}
		err = rop.RestoreState(file.Reader(snapshot.KeyGroupRange{Start: 0, End: 128}))
		checkStoreError(t, "restore", err)
	}
}

// TestJoinCacheBoundsDirtyEntries buffers records of many more keys than
// the dirty bound in a window join on Pebble with a cache that holds them
// all: after every step at most joinDirtyBound entries may be dirty, so
// that the write-back of a snapshot stays bounded, and the join must emit
// what it emits on the heap.
func TestJoinCacheBoundsDirtyEntries(t *testing.T) {
	const keys = 3 * joinDirtyBound
	backend := &testBackend{mode: pebblePortable, cacheEntries: 1 << 20}
	run := func(pebble bool) []tsRecord[jpair] {
		out := &outRecorder[jpair]{}
		op := newWindowJoin(JoinWindows{Size: 100, Slide: 100}, out)
		ctx := opTask("join", nil)
		if pebble {
			ctx.Store = backend.newStore(t)
		}
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		for side := range 2 {
			in := op.Input1()
			if side == 1 {
				in = op.Input2()
			}
			for k := range keys {
				if err := in.ProcessBatch(&Batch[jrec]{Values: []jrec{{ID: side*keys + k, Key: k}}, Times: []int64{int64(k % 100)}}); err != nil {
					t.Fatal(err)
				}
				if pebble && op.st.l.Dirty() > joinDirtyBound {
					t.Fatalf("%d entries dirty after a step, bound %d", op.st.l.Dirty(), joinDirtyBound)
				}
			}
		}
		if err := op.SnapshotState(1, NewMemState()); err != nil {
			t.Fatal(err)
		}
		if err := op.ProcessWatermark(MaxWatermark); err != nil {
			t.Fatal(err)
		}
		return out.records
	}
	want := run(false)
	if got := run(true); len(want) != keys || !slices.Equal(got, want) {
		t.Fatalf("Pebble emits %d records, heap %d (want %d), or they differ", len(got), len(want), keys)
	}
}
