package operators

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// asyncMem is an AsyncStateWriter over a MemState: the deferred functions
// run when run is called, on the caller's goroutine.
type asyncMem struct {
	*MemState
	deferred []func(StateWriter) error
}

func newAsyncMem() *asyncMem { return &asyncMem{MemState: NewMemState()} }

// Defer implements AsyncStateWriter.
func (a *asyncMem) Defer(fn func(StateWriter) error) { a.deferred = append(a.deferred, fn) }

// run runs the deferred functions.
func (a *asyncMem) run() error {
	var errs []error
	for _, fn := range a.deferred {
		errs = append(errs, fn(a.MemState))
	}
	a.deferred = nil
	return errors.Join(errs...)
}

// start runs the deferred functions on another goroutine; the returned
// function waits for them.
func (a *asyncMem) start() (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- a.run() }()
	return func() error { return <-done }
}

// cowRec is a record of the copy-on-write tests: key K, operation V.
type cowRec struct{ K, V int64 }

// cowFn updates, deletes and reads states of every kind, with and without
// TTL, so that TTL expiry and sweeps run on the same keys as the writes.
type cowFn struct {
	val, vttl *ValueState[int64, int64]
	red       *ReducingState[int64, int64]
	agg       *AggregatingState[int64, int64, [2]int64, int64]
	list      *ListState[int64, int64]
	lttl      *ListState[int64, int64]
	mp        *MapState[int64, int64, string]
	mttl      *MapState[int64, int64, string]
}

func (f *cowFn) Open(ctx *TaskContext) error {
	ttl := WithTTL(5*time.Millisecond, OnReadAndWrite, NeverReturnExpired)
	var errs [8]error
	f.val, errs[0] = NewValueState[int64, int64](ctx, "val")
	f.vttl, errs[1] = NewValueState[int64, int64](ctx, "vttl", ttl)
	f.red, errs[2] = NewReducingState[int64](ctx, "red", func(a, b int64) int64 { return a + b })
	f.agg, errs[3] = NewAggregatingState[int64](ctx, "agg", AggregateFuncs[int64, [2]int64, int64]{
		Create:     func() [2]int64 { return [2]int64{} },
		Accumulate: func(v int64, acc [2]int64) [2]int64 { acc[0] += v; acc[1]++; return acc },
		Result:     func(acc [2]int64) int64 { return acc[0] / max(acc[1], 1) },
	})
	f.list, errs[4] = NewListState[int64, int64](ctx, "list")
	f.lttl, errs[5] = NewListState[int64, int64](ctx, "lttl", WithTTL(4*time.Millisecond, OnCreateAndWrite, NeverReturnExpired))
	f.mp, errs[6] = NewMapState[int64, int64, string](ctx, "map")
	f.mttl, errs[7] = NewMapState[int64, int64, string](ctx, "mttl", ttl)
	return errors.Join(errs[:]...)
}

func (f *cowFn) ProcessElement(ctx *KeyedContext[int64], r cowRec, out Collector[string]) error {
	v := r.V
	switch v % 6 {
	case 0:
		f.val.Clear(ctx)
		f.list.Clear(ctx)
		f.mp.Clear(ctx)
		f.red.Clear(ctx)
	case 1:
		f.mp.Remove(ctx, v%5)
		f.mttl.Remove(ctx, v%3)
	case 2:
		if l := f.list.Get(ctx); len(l) > 2 {
			f.list.Update(ctx, l[1:])
		}
	default:
		f.val.Set(ctx, v)
		f.list.Add(ctx, v)
		f.mp.Put(ctx, v%5, fmt.Sprint("v", v))
	}
	if v%4 == 0 {
		f.vttl.Set(ctx, v)
		f.mttl.Put(ctx, v%3, fmt.Sprint("t", v))
	}
	f.lttl.Add(ctx, v)
	f.red.Add(ctx, v)
	f.agg.Add(ctx, v)
	// Reads: renewals of the OnReadAndWrite TTLs, removals of expired
	// entries.
	g, _ := f.vttl.Get(ctx)
	_, _ = f.mttl.Get(ctx, v%3)
	n := f.mttl.Len(ctx) + len(f.lttl.Get(ctx))
	out.Collect(fmt.Sprint(r.K, g, n))
	return nil
}

// cowRig is a KeyedProcess running cowFn with its own virtual clock.
type cowRig struct {
	op    *KeyedProcess[int64, cowRec, string]
	clock *virtualMillis
}

func newCowRig(t *testing.T, now int64) *cowRig {
	t.Helper()
	r := &cowRig{clock: &virtualMillis{now: now}}
	r.op = &KeyedProcess[int64, cowRec, string]{
		Key: Key[int64, cowRec]{Selector: func(r cowRec) int64 { return r.K }},
		Fn:  &cowFn{},
		Out: discardInput[string]{},
	}
	if err := r.op.Open(opTask("cow", r.clock)); err != nil {
		t.Fatal(err)
	}
	return r
}

// discardInput drops what it gets.
type discardInput[T any] struct{}

func (discardInput[T]) ProcessBatch(*Batch[T]) error { return nil }
func (discardInput[T]) ProcessWatermark(int64) error { return nil }

// cowBatch returns a batch of n records over keys keys, advancing time
// with the clock's value.
func cowBatch(rnd *rand.Rand, n, keys int, now int64) *Batch[cowRec] {
	var b Batch[cowRec]
	for range n {
		b.Append(cowRec{K: rnd.Int64N(int64(keys)), V: rnd.Int64N(1000)}, now)
	}
	return &b
}

// cowFeed gives both rigs the same batch and advances their clocks by 1 ms.
func cowFeed(t *testing.T, rnd *rand.Rand, rigs ...*cowRig) {
	t.Helper()
	b := cowBatch(rnd, 40, 30, rigs[0].clock.now)
	for _, r := range rigs {
		if err := r.op.ProcessBatch(b); err != nil {
			t.Fatal(err)
		}
		r.clock.now++
	}
}

// snapshotSync snapshots c into a plain MemState (no asynchronous part).
func snapshotSync(t *testing.T, c Checkpointed) *MemState {
	t.Helper()
	m := NewMemState()
	if err := c.SnapshotState(1, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCowSnapshotWhileUpdating checks that a snapshot encoded on another
// goroutine while records keep updating, deleting and expiring the same
// keys equals the state at the moment of SnapshotState, which a twin
// operator snapshots synchronously; and that it restores.
func TestCowSnapshotWhileUpdating(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	a, ref := newCowRig(t, 100), newCowRig(t, 100)
	for round := range 6 {
		for range 8 {
			cowFeed(t, rnd, a, ref)
		}
		got := newAsyncMem()
		if err := a.op.SnapshotState(int64(round), got); err != nil {
			t.Fatal(err)
		}
		if len(got.deferred) == 0 {
			t.Fatal("no state deferred to the asynchronous part")
		}
		at := a.clock.now
		want := snapshotSync(t, ref.op)
		wait := got.start()
		for range 10 {
			cowFeed(t, rnd, a, ref)
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if d := stateDiff(got.MemState, want); d != "" {
			t.Fatalf("round %d: asynchronous snapshot differs from the state at SnapshotState: %s", round, d)
		}
		// Restore round trip at the time of the snapshot.
		c := newCowRig(t, at)
		if err := c.op.RestoreState(RescaledReader([]*MemState{got.MemState}, allKeyGroups, 0, 1)); err != nil {
			t.Fatal(err)
		}
		if d := stateDiff(snapshotSync(t, c.op), want); d != "" {
			t.Fatalf("round %d: restored state differs: %s", round, d)
		}
		// The states go on alike after the overlay is folded back.
		cowFeed(t, rnd, a, ref)
		if d := stateDiff(snapshotSync(t, a.op), snapshotSync(t, ref.op)); d != "" {
			t.Fatalf("round %d: state after the snapshot differs: %s", round, d)
		}
	}
}

// TestCowOverlappingSnapshots takes a second snapshot before the first
// one's asynchronous part ran, then runs the first one's while records
// are processed: both snapshots hold the state of their moment.
func TestCowOverlappingSnapshots(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	a, ref := newCowRig(t, 100), newCowRig(t, 100)
	for range 5 {
		cowFeed(t, rnd, a, ref)
	}
	first := newAsyncMem()
	if err := a.op.SnapshotState(1, first); err != nil {
		t.Fatal(err)
	}
	want1 := snapshotSync(t, ref.op)
	for range 5 {
		cowFeed(t, rnd, a, ref)
	}
	second := newAsyncMem()
	if err := a.op.SnapshotState(2, second); err != nil {
		t.Fatal(err)
	}
	want2 := snapshotSync(t, ref.op)
	wait1 := first.start()
	for range 5 {
		cowFeed(t, rnd, a, ref)
	}
	if err := wait1(); err != nil {
		t.Fatal(err)
	}
	wait2 := second.start()
	for range 5 {
		cowFeed(t, rnd, a, ref)
	}
	if err := wait2(); err != nil {
		t.Fatal(err)
	}
	if d := stateDiff(first.MemState, want1); d != "" {
		t.Fatalf("first snapshot: %s", d)
	}
	if d := stateDiff(second.MemState, want2); d != "" {
		t.Fatalf("second snapshot: %s", d)
	}
	// A snapshot abandoned before its asynchronous part ran leaves the
	// state correct.
	abandoned := newAsyncMem()
	if err := a.op.SnapshotState(3, abandoned); err != nil {
		t.Fatal(err)
	}
	_ = snapshotSync(t, ref.op)
	for range 5 {
		cowFeed(t, rnd, a, ref)
	}
	if d := stateDiff(snapshotSync(t, a.op), snapshotSync(t, ref.op)); d != "" {
		t.Fatalf("after an abandoned snapshot: %s", d)
	}
}

// TestCowReduce checks Reduce's asynchronous snapshot while records keep
// folding into the same keys, and its restore.
func TestCowReduce(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	mk := func() *Reduce[int64, cowRec] {
		r := &Reduce[int64, cowRec]{
			Key: Key[int64, cowRec]{Selector: func(r cowRec) int64 { return r.K }},
			Fn:  func(acc, v cowRec) (cowRec, error) { acc.V += v.V; return acc, nil },
			Out: discardInput[cowRec]{},
		}
		if err := r.Open(opTask("reduce", &virtualMillis{})); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, ref := mk(), mk()
	both := func(n int) {
		for range n {
			b := cowBatch(rnd, 50, 40, 0)
			for i := range b.Times {
				b.Times[i] = rnd.Int64N(1000)
			}
			for _, r := range []*Reduce[int64, cowRec]{a, ref} {
				if err := r.ProcessBatch(b); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for round := range 4 {
		both(5)
		got := newAsyncMem()
		if err := a.SnapshotState(int64(round), got); err != nil {
			t.Fatal(err)
		}
		if len(got.deferred) == 0 {
			t.Fatal("no state deferred to the asynchronous part")
		}
		want := snapshotSync(t, ref)
		// A second snapshot while the first is in flight.
		both(2)
		second := newAsyncMem()
		if err := a.SnapshotState(int64(round), second); err != nil {
			t.Fatal(err)
		}
		want2 := snapshotSync(t, ref)
		wait := got.start()
		both(5)
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if err := second.run(); err != nil {
			t.Fatal(err)
		}
		if d := stateDiff(got.MemState, want); d != "" {
			t.Fatalf("round %d: %s", round, d)
		}
		if d := stateDiff(second.MemState, want2); d != "" {
			t.Fatalf("round %d, second snapshot: %s", round, d)
		}
		c := mk()
		if err := c.RestoreState(RescaledReader([]*MemState{got.MemState}, allKeyGroups, 0, 1)); err != nil {
			t.Fatal(err)
		}
		if d := stateDiff(snapshotSync(t, c), want); d != "" {
			t.Fatalf("round %d: restored state differs: %s", round, d)
		}
	}
}

// TestCowSafe checks which types are encoded concurrently.
func TestCowSafe(t *testing.T) {
	type plain struct {
		A int64
		S string
		F [2]float64
	}
	type ref struct {
		A int64
		P *int
	}
	for _, c := range []struct {
		v    any
		safe bool
	}{
		{int64(0), true}, {"", true}, {plain{}, true}, {[3]plain{}, true},
		{ref{}, false}, {[]int{}, false}, {map[int]int{}, false}, {new(int), false},
		{[1][]int{}, false}, {struct{ E error }{}, false},
	} {
		typ := fmt.Sprintf("%T", c.v)
		if got := cowSafeTypes(reflect.TypeOf(c.v)); got != c.safe {
			t.Errorf("cowSafe(%s) = %v, want %v", typ, got, c.safe)
		}
	}
}
