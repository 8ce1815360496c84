package window

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// backends are the state backends the tests run the operator on.
var backends = []string{"heap", "pebble"}

// testDB is a Pebble instance of one test that hands out a state store,
// under its own operator UID, to each operator instance.
type testDB struct {
	t      testing.TB
	db     *pebblestate.DB
	stores []*operators.StateStore
}

// newBackend returns nil for the heap backend, else a Pebble instance in
// t.TempDir that t closes at its end.
func newBackend(t testing.TB, backend string) *testDB {
	if backend == "heap" {
		return nil
	}
	return openTestDB(t, t.TempDir())
}

func openTestDB(t testing.TB, dir string) *testDB {
	t.Helper()
	db, err := pebblestate.Open(dir, pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	d := &testDB{t: t, db: db}
	t.Cleanup(d.close)
	return d
}

func (d *testDB) close() {
	for _, s := range d.stores {
		if err := s.Close(); err != nil {
			d.t.Error(err)
		}
	}
	d.stores = nil
	if d.db != nil {
		if err := d.db.Close(); err != nil {
			d.t.Error(err)
		}
		d.db = nil
	}
}

// store returns the store of a new operator instance.
func (d *testDB) store() *operators.StateStore {
	return d.storeOf(fmt.Sprintf("op%d", len(d.stores)))
}

// storeOf returns a store of operator uid.
func (d *testDB) storeOf(uid string) *operators.StateStore {
	s := operators.NewStateStore(d.db, uid)
	d.stores = append(d.stores, s)
	return s
}

var allKeyGroups = snapshot.KeyGroupRange{Start: 0, End: snapshot.MaxMaxParallelism}

// snapshotFull snapshots op as the runtime does with the Pebble backend
// and returns the portable checkpoint: the state file plus the store's
// export. With s nil it is the heap backend's snapshot.
func snapshotFull(t testing.TB, op operators.Checkpointed, s *operators.StateStore) *operators.MemState {
	t.Helper()
	m := operators.NewMemState()
	if err := op.SnapshotState(1, m); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return m
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	inFile := make(map[string]bool)
	for _, kg := range m.KeyGroups() {
		for _, e := range m.Entries(kg) {
			inFile[string(e.Key)] = true
		}
	}
	if err := s.DB().Export(s.UID(), allKeyGroups, func(kg int, k, v []byte) error {
		if inFile[string(k)] {
			return fmt.Errorf("entry %q both in the state file and in the store", k)
		}
		m.Keyed(kg, k, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWindowsRestoreOwnPebbleCheckpoint restores instances as the runtime
// does from the subtask's own Pebble checkpoint: the store from a Pebble
// checkpoint of the instance and, from the state file, only what the
// operator keeps outside the store. The restored instance must emit what
// an uninterrupted one emits and snapshot as the original did.
func TestWindowsRestoreOwnPebbleCheckpoint(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for i := range 20 {
		c := randomWindowCase(r)
		steps := randomCSteps(r, 10+r.IntN(40), 1+r.IntN(5), 4, r.Int64N(20))
		want := runAllSteps(t, c, steps)
		cut := r.IntN(len(steps) + 1)

		goOn := &ckRun{t: t, c: c, db: openTestDB(t, t.TempDir())}
		goOn.start(1, nil)
		for i, s := range steps[:cut] {
			goOn.apply(i, s)
		}
		op, store := goOn.ops[0], goOn.stores[0]
		file := operators.NewMemState()
		if err := op.SnapshotState(1, file); err != nil {
			t.Fatal(err)
		}
		if err := store.Commit(); err != nil {
			t.Fatal(err)
		}
		ck := filepath.Join(t.TempDir(), "ck")
		if _, err := store.DB().Checkpoint(ck); err != nil {
			t.Fatal(err)
		}
		full := snapshotFull(t, op, store)

		db, err := pebblestate.Restore(ck, filepath.Join(t.TempDir(), "db"), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		tdb := &testDB{t: t, db: db}
		t.Cleanup(tdb.close)
		restored := &ckRun{t: t, c: c, clock: goOn.clock, out: slices.Clone(goOn.out)}
		rop := c.make(&restored.out)
		ctx := &operators.TaskContext{Operator: "window", Parallelism: 1, MaxParallelism: maxPar, Clock: &restored.clock,
			Store: tdb.storeOf(store.UID())}
		if err := rop.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if err := rop.RestoreState(file.Reader(snapshot.RangeFor(0, maxPar, 1))); err != nil {
			t.Fatalf("%s: restore at step %d: %v", c.name, cut, err)
		}
		restored.ops, restored.stores = []checkpointed{rop}, []*operators.StateStore{ctx.Store}
		if d := stateDiff(snapshotFull(t, rop, ctx.Store), full); d != "" {
			t.Fatalf("%s: iteration %d: the restored instance snapshots differently:%s", c.name, i, d)
		}
		for i, s := range steps[cut:] {
			restored.apply(cut+i, s)
		}
		if d := lineDiff(restored.out, want); d != "" {
			t.Fatalf("%s: restored from its Pebble checkpoint at step %d:\n%s", c.name, cut, d)
		}
		goOn.start(0, nil) // closes the instance
	}
}

// TestWindowStoreErrorsFailTheStep checks that state the store cannot give
// back fails the step with an error naming the store, rather than
// crashing or emitting wrong results.
func TestWindowStoreErrorsFailTheStep(t *testing.T) {
	for _, path := range []string{"general", "panes"} {
		t.Run(path, func(t *testing.T) {
			db := newBackend(t, "pebble")
			var out []string
			cfg := Config[string, rec]{Assigner: SlidingEventTime(msOf(10), msOf(5)), DisablePanes: path == "general", StateCacheSize: 1}
			op := aggregateCase("", cfg).make(&out)
			store := db.store()
			if err := op.Open(&operators.TaskContext{Operator: "window", Parallelism: 1, MaxParallelism: maxPar, Clock: &vclock{}, Store: store}); err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			if err := op.ProcessBatch(batchAt(rec{"a", 1}, 1, rec{"b", 2}, 2)); err != nil {
				t.Fatal(err)
			}
			// The cache holds one window or pane: a's went to the store.
			// Damage every entry of a.
			if err := store.Commit(); err != nil {
				t.Fatal(err)
			}
			var damaged int
			if err := store.DB().Iterate(store.UID(), allKeyGroups, func(kg int, state string, key, _ []byte) error {
				damaged++
				return store.Put(kg, state[0], slices.Clone(key), []byte{0xff, 0xff})
			}); err != nil || damaged == 0 {
				t.Fatalf("damaged %d entries: %v", damaged, err)
			}
			err := op.ProcessBatch(batchAt(rec{"a", 3}, 3))
			if err == nil {
				err = op.ProcessWatermark(100)
			}
			if !errors.Is(err, operators.ErrCorruptState) || !errors.Is(err, errStore) || errors.Is(err, operators.ErrPanic) {
				t.Fatalf("error %v: want a corrupt state error of the store", err)
			}
			if !strings.Contains(err.Error(), "window state store") {
				t.Fatalf("error %q does not name the store", err)
			}
		})
	}
}

func batchAt(args ...any) *operators.Batch[rec] {
	b := operators.NewBatch[rec](len(args) / 2)
	for i := 0; i < len(args); i += 2 {
		b.Append(args[i].(rec), int64(args[i+1].(int)))
	}
	return b
}

// TestPebbleCacheBoundsDirtyWindows runs many keys through sliding windows
// on Pebble with a cache large enough for all of them: after every step
// at most storeDirtyBound windows and panes may be dirty, so that the
// write-back of a snapshot stays bounded, and the results must equal the
// heap backend's.
func TestPebbleCacheBoundsDirtyWindows(t *testing.T) {
	for _, panes := range []bool{true, false} {
		t.Run(fmt.Sprint("panes=", panes), func(t *testing.T) {
			run := func(backend string) []string {
				var out []string
				cfg := Config[int64, benchEvent]{
					Key:            operators.Key[int64, benchEvent]{Selector: func(e benchEvent) int64 { return e.key }},
					Assigner:       SlidingEventTime(10*time.Second, 2*time.Second),
					DisablePanes:   !panes,
					StateCacheSize: 1 << 20,
				}
				op := NewAggregate(cfg, benchAvg, operators.Input[float64](ckOut[float64]{out: &out}))
				ctx := &operators.TaskContext{Operator: "bound", Clock: &vclock{}}
				if db := newBackend(t, backend); db != nil {
					ctx.Store = db.store()
				}
				if err := op.Open(ctx); err != nil {
					t.Fatal(err)
				}
				batch := operators.NewBatch[benchEvent](1024)
				for i := int64(0); i < 40_000; {
					batch.Reset()
					for range 1024 {
						batch.Append(benchEvent{key: i % 3000, val: i}, i/4)
						i++
					}
					if err := op.ProcessBatch(batch); err != nil {
						t.Fatal(err)
					}
					if err := op.ProcessWatermark(i/4 - 100); err != nil {
						t.Fatal(err)
					}
					if ctx.Store != nil {
						if w, p := op.st.wins.Dirty(), op.st.panes.Dirty(); w > storeDirtyBound || p > storeDirtyBound {
							t.Fatalf("%d windows and %d panes dirty after a step, bound %d", w, p, storeDirtyBound)
						}
					}
					if i%8192 < 1024 {
						if err := op.SnapshotState(1, operators.NewMemState()); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := op.ProcessWatermark(operators.MaxWatermark); err != nil {
					t.Fatal(err)
				}
				return out
			}
			heap, pebble := run("heap"), run("pebble")
			if len(heap) == 0 || !slices.Equal(heap, pebble) {
				t.Fatalf("pebble emitted %d results, heap %d, or they differ", len(pebble), len(heap))
			}
		})
	}
}
