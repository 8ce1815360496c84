package operators

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// The checkpoint tests of keyed state and Reduce run on both state
// backends. On the Pebble backend each instance of a run has a Pebble
// instance of its own, and a snapshot is what the runtime makes of it:
// the operator's SnapshotState, then the store's commit, then the store's
// portable export added to the snapshot (as in a savepoint), so that the
// snapshots of both backends compare entry by entry, and each restores
// into the other.

// backendMode is how a test run uses the Pebble backend.
type backendMode int

const (
	// pebblePortable restores every instance into an empty Pebble
	// instance from the portable entries, as from a heap checkpoint or a
	// savepoint.
	pebblePortable backendMode = iota
	// pebbleNative restores an instance at an unchanged parallelism from
	// a Pebble checkpoint of its predecessor's instance, with only the
	// entries the operator keeps outside the store given to
	// RestoreState, as from the subtask's own checkpoint.
	pebbleNative
	// alternate runs every other start of a run on the heap, so that
	// heap snapshots restore into Pebble and Pebble snapshots into the
	// heap.
	alternate
)

// testBackend configures the Pebble backend of a test case.
type testBackend struct {
	mode backendMode
	// tags are the tags of the entries the operator keeps in the store.
	tags string
	// cacheEntries bounds the states' caches (0: the default).
	cacheEntries int
	// db is the instance that the stores of the test share, each under
	// an operator UID of its own (Pebble instances take long to create);
	// n numbers the UIDs.
	db *pebblestate.DB
	n  int
}

// newStore returns an empty store in the shared instance of b.
func (b *testBackend) newStore(t *testing.T) *StateStore {
	t.Helper()
	if b.db == nil {
		db, err := pebblestate.Open(t.TempDir(), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		b.db = db
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Error(err)
			}
			b.db = nil
		})
	}
	b.n++
	st := NewStateStore(b.db, fmt.Sprint("op-", b.n))
	st.SetCacheEntries(b.cacheEntries)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func (m backendMode) String() string {
	return [...]string{"pebble", "pebble-native", "heap-and-pebble"}[m]
}

// onBackend returns c on the Pebble backend b.
func onBackend[T any](c ckCase[T], b testBackend) ckCase[T] {
	c.backend = &b
	c.name += "/" + b.mode.String()
	if b.cacheEntries > 0 {
		c.name += fmt.Sprintf("/cache-%d", b.cacheEntries)
	}
	return c
}

// backendStores are the Pebble instances of the current instances of a
// run, and the Pebble checkpoints of its last snapshot.
type backendStores struct {
	starts int
	dbs    []*pebblestate.DB
	stores []*StateStore
	// checkpoints are the Pebble checkpoints of the last snapshot, per
	// subtask.
	checkpoints []string
	// native tells that snapshots make Pebble checkpoints.
	native bool
}

// start closes the instances of the previous start and opens parallelism
// new ones, empty or (native mode, restore at an unchanged parallelism)
// restored from the last snapshot's checkpoints; it reports the latter.
func (s *backendStores) start(t *testing.T, b *testBackend, parallelism int, restore bool) (native bool) {
	t.Helper()
	s.close(t)
	s.starts++
	if b == nil || (b.mode == alternate && s.starts%2 == 1) {
		s.checkpoints = nil
		return false
	}
	s.native = b.mode == pebbleNative
	native = s.native && restore && len(s.checkpoints) == parallelism
	for j := range parallelism {
		if !s.native {
			// Portable restores start from an empty store: a new UID in
			// the shared instance.
			st := b.newStore(t)
			s.dbs, s.stores = append(s.dbs, nil), append(s.stores, st)
			continue
		}
		dir := filepath.Join(t.TempDir(), "db")
		opts := pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20}
		var db *pebblestate.DB
		var err error
		if native {
			db, err = pebblestate.Restore(s.checkpoints[j], dir, opts)
		} else {
			db, err = pebblestate.Open(dir, opts)
		}
		if err != nil {
			t.Fatal(err)
		}
		st := NewStateStore(db, "op")
		st.SetCacheEntries(b.cacheEntries)
		s.dbs, s.stores = append(s.dbs, db), append(s.stores, st)
	}
	s.checkpoints = nil
	t.Cleanup(func() { s.close(t) })
	return native
}

// store returns the store of subtask j, nil on the heap.
func (s *backendStores) store(j int) *StateStore {
	if j < len(s.stores) {
		return s.stores[j]
	}
	return nil
}

// snapshot completes the snapshot of subtask j as the runtime would: it
// commits the store, checkpoints it, and adds its portable entries to
// state.
func (s *backendStores) snapshot(t *testing.T, j int, kgs snapshot.KeyGroupRange, state *MemState) {
	t.Helper()
	if j >= len(s.stores) {
		return
	}
	if err := s.stores[j].Commit(); err != nil {
		t.Fatal(err)
	}
	if j == 0 {
		s.checkpoints = s.checkpoints[:0]
	}
	if s.native {
		dir := filepath.Join(t.TempDir(), "ck")
		if _, err := s.stores[j].DB().Checkpoint(dir); err != nil {
			t.Fatal(err)
		}
		s.checkpoints = append(s.checkpoints, dir)
	}
	if err := s.stores[j].DB().Export(s.stores[j].UID(), kgs, func(kg int, k, v []byte) error {
		state.Keyed(kg, k, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// withoutStored returns states without the entries the operator keeps in
// the store: what RestoreState gets from the subtask's own checkpoint.
func (s *backendStores) withoutStored(b *testBackend, states []*MemState) []*MemState {
	out := make([]*MemState, len(states))
	for i, st := range states {
		out[i] = NewMemState()
		for _, kg := range st.KeyGroups() {
			for _, e := range st.Entries(kg) {
				if len(e.Key) > 0 && !slices.Contains([]byte(b.tags), e.Key[0]) {
					out[i].Keyed(kg, e.Key, e.Value)
				}
			}
		}
		for _, name := range st.names {
			for _, e := range st.ops[name].entries {
				out[i].Operator(name, st.ops[name].mode, e)
			}
		}
	}
	return out
}

func (s *backendStores) close(t *testing.T) {
	t.Helper()
	for i, st := range s.stores {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
		if s.dbs[i] != nil {
			if err := s.dbs[i].Close(); err != nil {
				t.Error(err)
			}
		}
	}
	s.stores, s.dbs = nil, nil
}

// backends are the Pebble configurations the checkpoint tests run on: a
// cache that holds everything, one that evicts all the time, restores
// from the Pebble checkpoints, and both backends in turn.
func backends(tags string) []testBackend {
	return []testBackend{
		{mode: pebblePortable, tags: tags},
		{mode: pebblePortable, tags: tags, cacheEntries: 2},
		{mode: pebbleNative, tags: tags, cacheEntries: 3},
		{mode: alternate, tags: tags, cacheEntries: 4},
	}
}

func TestReduceRestoresOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	for _, b := range backends("v") {
		c := onBackend(reduceCase(), b)
		batch := reduceCase()
		batch.name, batch.batchMode = "batch-reduce", true
		batch = onBackend(batch, b)
		checkRestores(t, r, c, randomKVSteps(r, 5+r.IntN(15), 1+r.IntN(8), 1, 10))
		checkRestores(t, r, batch, randomKVSteps(r, 5+r.IntN(15), 1+r.IntN(8), 1, 10))
	}
}

func TestUserStateRestoresOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 22))
	for _, b := range backends("u") {
		checkRestores(t, r, onBackend(statefulCase(), b), randomKVSteps(r, 10+r.IntN(15), 1+r.IntN(8), 1, 20))
		checkRestores(t, r, onBackend(coStatefulCase(), b), randomKVSteps(r, 10+r.IntN(15), 1+r.IntN(8), 2, 20))
	}
}

func TestKeyedOperatorsRescaleOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 23))
	for _, b := range []testBackend{{mode: pebblePortable, cacheEntries: 2}, {mode: alternate}} {
		for _, c := range []struct {
			c     ckCase[kv]
			tags  string
			gates int
		}{{reduceCase(), "v", 1}, {statefulCase(), "u", 1}, {coStatefulCase(), "u", 2}} {
			b.tags = c.tags
			steps := randomKVSteps(r, 10+r.IntN(40), 4+r.IntN(12), c.gates, 20)
			cut := r.IntN(len(steps) + 1)
			checkRescale(t, onBackend(c.c, b), steps, cut, 1)
			checkRescale(t, onBackend(c.c, b), steps, cut, 3)
		}
	}
}

func TestKeyedStateRejectsCorruptStateOnPebble(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 24))
	steps := randomKVSteps(r, 10, 2, 2, 20)
	steps = steps[:len(steps)-3] // keep the state and timers
	checkCorruptionFails(t, onBackend(reduceCase(), testBackend{tags: "v"}), kvOnGate0(steps))
	checkCorruptionFails(t, onBackend(statefulCase(), testBackend{tags: "u"}), kvOnGate0(steps))
}

// pebbleStateOp is stateOp on the Pebble backend, with a cache of
// cacheEntries keys per state.
func pebbleStateOp[K comparable](t *testing.T, clock Clock, cacheEntries int, open func(ctx *TaskContext) error) (*KeyedProcess[K, int, int], *StateStore) {
	t.Helper()
	st := openTestStore(t, "op")
	st.SetCacheEntries(cacheEntries)
	op := &KeyedProcess[K, int, int]{
		Key: Key[K, int]{Selector: func(int) K { var k K; return k }},
		Fn:  &openFunc[K]{open: open}, Out: lineOut[int]{new([]string)},
	}
	ctx := opTask("op", clock)
	ctx.Store = st
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	return op, st
}

// storedEntries returns the number of entries of uid in the store's
// instance, committing first.
func storedEntries(t *testing.T, st *StateStore) int {
	t.Helper()
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := st.DB().Iterate(st.UID(), allKeyGroups, func(int, string, []byte, []byte) error {
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPebbleCacheEviction runs states of every kind through a cache of two
// keys: every access of another key evicts, and the values must survive
// the round trips through the store, before and after a snapshot.
func TestPebbleCacheEviction(t *testing.T) {
	var (
		v   *ValueState[int64, int64]
		l   *ListState[int64, string]
		m   *MapState[int64, string, int64]
		red *ReducingState[int64, int64]
	)
	op, st := pebbleStateOp[int64](t, &virtualMillis{}, 2, func(ctx *TaskContext) (err error) {
		v, err = NewValueState[int64, int64](ctx, "v")
		if err == nil {
			l, err = NewListState[int64, string](ctx, "l")
		}
		if err == nil {
			m, err = NewMapState[int64, string, int64](ctx, "m")
		}
		if err == nil {
			red, err = NewReducingState[int64](ctx, "r", func(a, b int64) int64 { return a + b })
		}
		return err
	})
	const keys = 50
	for round := range 3 {
		for k := range int64(keys) {
			ctx := at(op, k)
			n, _ := v.Get(ctx)
			v.Set(ctx, n+k)
			l.Add(ctx, fmt.Sprint(round))
			m.Put(ctx, fmt.Sprint("r", round), k)
			red.Add(ctx, 1)
			if k%10 == 0 {
				m.Remove(ctx, "r0")
			}
		}
		if len(v.sc.m) > 2 || len(l.sc.m) > 2 || len(m.sc.m) > 2 {
			t.Fatalf("caches hold %d, %d, %d keys, bound 2", len(v.sc.m), len(l.sc.m), len(m.sc.m))
		}
		if round == 1 {
			if err := op.SnapshotState(1, NewMemState()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := range int64(keys) {
		ctx := at(op, k)
		if n, ok := v.Get(ctx); !ok || n != 3*k {
			t.Fatalf("key %d: value %d, %v, want %d", k, n, ok, 3*k)
		}
		if got := l.Get(ctx); !slices.Equal(got, []string{"0", "1", "2"}) {
			t.Fatalf("key %d: list %v", k, got)
		}
		wantLen := 3
		if k%10 == 0 {
			wantLen = 2
		}
		if n := m.Len(ctx); n != wantLen {
			t.Fatalf("key %d: map of %d entries, want %d", k, n, wantLen)
		}
		if n, _ := red.Get(ctx); n != 3 {
			t.Fatalf("key %d: reduced %d, want 3", k, n)
		}
	}
	if err := op.SnapshotState(2, NewMemState()); err != nil {
		t.Fatal(err)
	}
	if n := storedEntries(t, st); n != 4*keys {
		t.Fatalf("%d entries in the store, want %d", n, 4*keys)
	}
	for k := range int64(keys) {
		ctx := at(op, k)
		v.Clear(ctx)
		l.Clear(ctx)
		m.Clear(ctx)
		red.Clear(ctx)
	}
	if err := op.SnapshotState(3, NewMemState()); err != nil {
		t.Fatal(err)
	}
	if n := storedEntries(t, st); n != 0 {
		t.Fatalf("%d entries in the store after clearing every key", n)
	}
}

// TestPebbleTTL checks that expired entries are never read on the Pebble
// backend, whether cached or stored, and that the incremental cleanup
// removes the stored entries of keys that are never accessed again.
func TestPebbleTTL(t *testing.T) {
	clock := &virtualMillis{now: 1000}
	ttl := WithTTL(10*time.Millisecond, OnCreateAndWrite, NeverReturnExpired)
	var (
		v *ValueState[string, int64]
		l *ListState[string, int64]
		m *MapState[string, string, int64]
	)
	op, st := pebbleStateOp[string](t, clock, 4, func(ctx *TaskContext) (err error) {
		v, err = NewValueState[string, int64](ctx, "v", ttl)
		if err == nil {
			l, err = NewListState[string, int64](ctx, "l", ttl)
		}
		if err == nil {
			m, err = NewMapState[string, string, int64](ctx, "m", ttl)
		}
		return err
	})
	const keys = 300
	for i := range keys {
		ctx := at(op, fmt.Sprint("old", i))
		v.Set(ctx, int64(i))
		l.Add(ctx, int64(i))
		m.Put(ctx, "a", int64(i))
	}
	// Half the lists and maps get an element that outlives the others.
	clock.now += 5
	for i := range keys / 2 {
		ctx := at(op, fmt.Sprint("old", i))
		l.Add(ctx, -1)
		m.Put(ctx, "b", -1)
	}
	if err := op.SnapshotState(1, NewMemState()); err != nil {
		t.Fatal(err)
	}
	before := storedEntries(t, st)
	if before != 3*keys {
		t.Fatalf("%d entries stored, want %d", before, 3*keys)
	}
	clock.now += 6 // the first writes expired, the second not
	for i := range keys {
		ctx := at(op, fmt.Sprint("old", i))
		if n, ok := v.Get(ctx); ok {
			t.Fatalf("key %d: expired value %d read", i, n)
		}
		wantList, wantMap := []int64(nil), 0
		if i < keys/2 {
			wantList, wantMap = []int64{-1}, 1
		}
		if got := l.Get(ctx); !slices.Equal(got, wantList) {
			t.Fatalf("key %d: list %v, want %v", i, got, wantList)
		}
		if n := m.Len(ctx); n != wantMap {
			t.Fatalf("key %d: map of %d, want %d", i, n, wantMap)
		}
	}
	clock.now += 20 // everything expired
	// Writes to other keys clean up the stored entries of the old ones,
	// a bounded number per write.
	for i := range 40 * keys {
		ctx := at(op, fmt.Sprint("new", i%8))
		v.Set(ctx, 1)
		l.Update(ctx, []int64{1})
		m.Put(ctx, "x", 1)
	}
	if err := op.SnapshotState(2, NewMemState()); err != nil {
		t.Fatal(err)
	}
	if n := storedEntries(t, st); n != 3*8 {
		t.Fatalf("%d entries stored after the cleanup, want the %d of the live keys", n, 3*8)
	}
}

// TestPebbleStoreErrorFailsTask checks that a store that fails under a
// state fails the operator with an error, not a crash.
func TestPebbleStoreErrorFailsTask(t *testing.T) {
	var v *ValueState[int64, int64]
	op := &KeyedProcess[int64, int, int]{
		Key: Key[int64, int]{Selector: func(x int) int64 { return int64(x) }},
		Fn: &countFn{open: func(ctx *TaskContext) (err error) {
			v, err = NewValueState[int64, int64](ctx, "v")
			return err
		}, v: &v},
		Out: lineOut[int]{new([]string)},
	}
	db, err := pebblestate.Open(t.TempDir(), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	st := NewStateStore(db, "op")
	ctx := opTask("op", &virtualMillis{})
	ctx.Store = st
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var b Batch[int]
	b.Append(1, 0)
	if err := op.ProcessBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Append(2, 0)
	err = op.ProcessBatch(&b)
	var oe *OperatorError
	if !errors.As(err, &oe) || !errors.Is(err, pebblestate.ErrClosed) || errors.Is(err, ErrPanic) {
		t.Fatalf("ProcessBatch on a closed store: %v, want an OperatorError wrapping ErrClosed", err)
	}
	if err := op.SnapshotState(1, NewMemState()); err == nil {
		t.Fatal("a snapshot after a store error succeeded")
	}
	_ = st.Close()
}

// countFn counts the records of each key in a ValueState.
type countFn struct {
	open func(ctx *TaskContext) error
	v    **ValueState[int64, int64]
}

func (f *countFn) Open(ctx *TaskContext) error { return f.open(ctx) }

func (f *countFn) ProcessElement(ctx *KeyedContext[int64], _ int, out Collector[int]) error {
	n, _ := (*f.v).Get(ctx)
	(*f.v).Set(ctx, n+1)
	out.Collect(int(n + 1))
	return nil
}

// comparable returns the part of snapshot m that a restore reproduces
// exactly. On the Pebble backend that leaves out the entries of states
// with a TTL (upper-case kind): the store holds an entry that expired
// until the incremental cleanup or a write removes it, so a snapshot may
// hold it where a heap snapshot would not, and a restore drops it.
func (c ckCase[T]) comparable(m *MemState) *MemState {
	if c.backend == nil {
		return m
	}
	out := NewMemState()
	for _, kg := range m.KeyGroups() {
		for _, e := range m.Entries(kg) {
			if len(e.Key) > 0 && e.Key[0] == tagUserState && len(e.Value) > 0 && e.Value[0] >= 'A' && e.Value[0] <= 'Z' {
				continue
			}
			out.Keyed(kg, e.Key, e.Value)
		}
	}
	out.ops, out.names = m.ops, m.names
	return out
}

// TestPebbleCacheBoundsDirtyKeys writes many more keys than the dirty
// bound into a large cache: the cache must write the excess back as it
// goes, so that a snapshot writes back at most storeDirtyBound keys, and
// nothing is lost.
func TestPebbleCacheBoundsDirtyKeys(t *testing.T) {
	var v *ValueState[int64, int64]
	op, st := pebbleStateOp[int64](t, &virtualMillis{}, 1<<20, func(ctx *TaskContext) (err error) {
		v, err = NewValueState[int64, int64](ctx, "v")
		return err
	})
	const keys = 5 * storeDirtyBound
	for k := range int64(keys) {
		v.Set(at(op, k), k*k)
		if v.sc.dirty > storeDirtyBound {
			t.Fatalf("after %d keys, %d are dirty, bound %d", k+1, v.sc.dirty, storeDirtyBound)
		}
	}
	if len(v.sc.m) != keys {
		t.Fatalf("the cache holds %d keys, want all %d", len(v.sc.m), keys)
	}
	stored := storedEntries(t, st)
	if stored < keys-storeDirtyBound {
		t.Fatalf("%d entries in the store before the snapshot, want at least %d", stored, keys-storeDirtyBound)
	}
	if err := op.SnapshotState(1, NewMemState()); err != nil {
		t.Fatal(err)
	}
	if v.sc.dirty != 0 {
		t.Fatalf("%d keys dirty after the snapshot", v.sc.dirty)
	}
	if n := storedEntries(t, st); n != keys {
		t.Fatalf("%d entries stored after the snapshot, want %d", n, keys)
	}
	for k := range int64(keys) {
		if n, ok := v.Get(at(op, k)); !ok || n != k*k {
			t.Fatalf("key %d: %d, %v", k, n, ok)
		}
	}
}
