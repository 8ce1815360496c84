package operators

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/snapshot"
)

// The checkpoint tests drive an operator with a sequence of steps and
// compare what it emits with runs that checkpoint and restore on the way:
//
//   - a chain that snapshots at every step boundary and restores into a
//     fresh instance before every step must emit exactly what one
//     uninterrupted instance emits;
//   - an instance that snapshots and goes on must not notice;
//   - a run on 2 subtasks (key groups [0,64) and [64,128), records routed
//     by key group) restored into 1 or 3 subtasks at some step must emit
//     the same records as the single instance (in another order).

const testMaxParallelism = 128

type stepKind int

const (
	stepRecords stepKind = iota
	stepWatermark
	stepClock
	stepEnd
)

// ckStep is one step: records for an input (gate), a watermark, the clock
// moving to t (due processing-time timers fire), or the end of input.
type ckStep[T any] struct {
	kind  stepKind
	gate  int
	vals  []T
	times []int64
	t     int64
}

func (s ckStep[T]) String() string {
	switch s.kind {
	case stepRecords:
		return fmt.Sprintf("gate %d records %v at %v", s.gate, s.vals, s.times)
	case stepWatermark:
		return "watermark " + fmtWM(s.t)
	case stepClock:
		return fmt.Sprintf("clock %d", s.t)
	}
	return "end of input"
}

// ckInstance is an operator under test with its inputs.
type ckInstance[T any] struct {
	op     Operator
	inputs []Input[T]
}

// ckCase makes the instances of one operator configuration.
type ckCase[T any] struct {
	name string
	// make returns an unopened instance that formats what it emits into
	// out.
	make func(out *[]string) ckInstance[T]
	// keyGroup returns the key group of record v of gate.
	keyGroup func(gate int, v T) int
	// batchMode runs the instances in batch mode, whose output at the end
	// of input has no order: runs are compared sorted.
	batchMode bool
	// backend, when set, runs the instances on the Pebble state backend
	// (state_backend_test.go); nil runs them on the heap.
	backend *testBackend
}

// diff compares the output of two runs of c.
func (c ckCase[T]) diff(got, want []string) string {
	if c.batchMode {
		got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	}
	return lineDiff(got, want)
}

// lineOut is an Input that formats records ("value @ts") and watermarks
// ("wm T") into lines.
type lineOut[O any] struct{ out *[]string }

func (l lineOut[O]) ProcessBatch(b *Batch[O]) error {
	for i, v := range b.Values {
		*l.out = append(*l.out, fmt.Sprintf("%v @%s", v, fmtWM(b.Times[i])))
	}
	return nil
}

func (l lineOut[O]) ProcessWatermark(wm int64) error {
	*l.out = append(*l.out, "wm "+fmtWM(wm))
	return nil
}

// ckRun is a run of some instances of a case, all writing to out.
type ckRun[T any] struct {
	t     *testing.T
	c     ckCase[T]
	clock *virtualMillis
	out   []string
	insts []ckInstance[T]
	// stores are the instances' Pebble stores (Pebble backend).
	stores backendStores
}

func newRun[T any](t *testing.T, c ckCase[T]) *ckRun[T] {
	return &ckRun[T]{t: t, c: c, clock: &virtualMillis{}}
}

// start replaces the instances by parallelism new ones, restored from the
// states of the old subtasks when states is not nil.
func (r *ckRun[T]) start(parallelism int, states []*MemState) {
	r.t.Helper()
	for _, in := range r.insts {
		if err := in.op.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	r.insts = r.insts[:0]
	native := r.stores.start(r.t, r.c.backend, parallelism, states != nil)
	for j := range parallelism {
		in := r.c.make(&r.out)
		ctx := &TaskContext{Operator: r.c.name, OperatorID: r.c.name, Subtask: j, Parallelism: parallelism,
			MaxParallelism: testMaxParallelism, Clock: r.clock, BatchMode: r.c.batchMode}
		ctx.Store = r.stores.store(j)
		if err := in.op.Open(ctx); err != nil {
			r.t.Fatal(err)
		}
		if states != nil {
			kgs := snapshot.RangeFor(j, testMaxParallelism, parallelism)
			from := states
			if native {
				from = r.stores.withoutStored(r.c.backend, states)
			}
			if err := in.op.(Checkpointed).RestoreState(RescaledReader(from, kgs, j, parallelism)); err != nil {
				r.t.Fatalf("restore subtask %d of %d: %v", j, parallelism, err)
			}
		}
		r.insts = append(r.insts, in)
	}
}

// snapshot snapshots every instance.
func (r *ckRun[T]) snapshot() []*MemState {
	r.t.Helper()
	states := make([]*MemState, len(r.insts))
	for j, in := range r.insts {
		states[j] = NewMemState()
		if err := in.op.(Checkpointed).SnapshotState(1, states[j]); err != nil {
			r.t.Fatalf("snapshot subtask %d: %v", j, err)
		}
		kgs := snapshot.RangeFor(j, testMaxParallelism, len(r.insts))
		r.stores.snapshot(r.t, j, kgs, states[j])
		for _, kg := range states[j].KeyGroups() {
			if !kgs.Contains(kg) {
				r.t.Fatalf("subtask %d owning %v wrote key group %d", j, kgs, kg)
			}
		}
	}
	return states
}

// apply runs step s, routing records to the instance owning their key
// group.
func (r *ckRun[T]) apply(i int, s ckStep[T]) {
	r.t.Helper()
	fail := func(err error) {
		if err != nil {
			r.t.Fatalf("%s: step %d (%v): %v", r.c.name, i, s, err)
		}
	}
	switch s.kind {
	case stepRecords:
		parts := make([]Batch[T], len(r.insts))
		for k, v := range s.vals {
			j := snapshot.SubtaskFor(r.c.keyGroup(s.gate, v), testMaxParallelism, len(r.insts))
			parts[j].Append(v, s.times[k])
		}
		for j := range parts {
			if len(parts[j].Values) > 0 {
				fail(r.insts[j].inputs[s.gate].ProcessBatch(&parts[j]))
			}
		}
	case stepWatermark:
		for _, in := range r.insts {
			fail(in.op.ProcessWatermark(s.t))
		}
	case stepClock:
		r.clock.now = s.t
		for _, in := range r.insts {
			if pt, ok := in.op.(ProcessingTimer); ok && pt.NextProcessingTime() <= s.t {
				fail(pt.OnProcessingTime(s.t))
			}
		}
	case stepEnd:
		for _, in := range r.insts {
			fail(in.op.EndInput())
		}
	}
}

// runAll returns what one uninterrupted instance emits.
func runAll[T any](t *testing.T, c ckCase[T], steps []ckStep[T]) []string {
	t.Helper()
	r := newRun(t, c)
	r.start(1, nil)
	for i, s := range steps {
		r.apply(i, s)
	}
	return r.out
}

// checkRestores checks that restoring at any step boundary changes
// nothing: a chain of instances each restored from its predecessor's
// snapshot, and, at a few random boundaries, an instance that snapshots
// and goes on and one restored from that snapshot.
func checkRestores[T any](t *testing.T, rnd *rand.Rand, c ckCase[T], steps []ckStep[T]) {
	t.Helper()
	want := runAll(t, c, steps)

	chain := newRun(t, c)
	chain.start(1, nil)
	for i, s := range steps {
		states := chain.snapshot()
		chain.start(1, states)
		if d := stateDiff(c.comparable(chain.snapshot()[0]), c.comparable(states[0])); d != "" {
			t.Fatalf("%s: before step %d: the snapshot of the restored instance differs: %s", c.name, i, d)
		}
		chain.apply(i, s)
	}
	chain.start(1, chain.snapshot())
	if d := c.diff(chain.out, want); d != "" {
		t.Fatalf("%s: restored at every step:\n%s", c.name, d)
	}

	for range 3 {
		cut := rnd.IntN(len(steps) + 1)
		goOn := newRun(t, c)
		goOn.start(1, nil)
		for i, s := range steps[:cut] {
			goOn.apply(i, s)
		}
		states := goOn.snapshot()
		before := len(goOn.out)
		restored := newRun(t, c)
		restored.out = slices.Clone(goOn.out)
		restored.clock.now = goOn.clock.now
		restored.start(1, states)
		for i, s := range steps[cut:] {
			goOn.apply(cut+i, s)
			restored.apply(cut+i, s)
		}
		if d := c.diff(goOn.out, want); d != "" {
			t.Fatalf("%s: went on after a snapshot at step %d (output %d):\n%s", c.name, cut, before, d)
		}
		if d := c.diff(restored.out, want); d != "" {
			t.Fatalf("%s: restored at step %d:\n%s", c.name, cut, d)
		}
	}
}

// checkRescale checks that a run on 2 subtasks restored into parallelism
// subtasks at step cut emits the records of the uninterrupted single
// instance.
func checkRescale[T any](t *testing.T, c ckCase[T], steps []ckStep[T], cut, parallelism int) {
	t.Helper()
	want := recordLines(runAll(t, c, steps))
	r := newRun(t, c)
	r.start(2, nil)
	for i, s := range steps[:cut] {
		r.apply(i, s)
	}
	r.start(parallelism, r.snapshot())
	for i, s := range steps[cut:] {
		r.apply(cut+i, s)
	}
	if d := lineDiff(recordLines(r.out), want); d != "" {
		t.Fatalf("%s: from 2 to %d subtasks at step %d:\n%s", c.name, parallelism, cut, d)
	}
}

// stateDiff compares two snapshots as sets of entries per key group and
// lists of operator state.
func stateDiff(got, want *MemState) string {
	canon := func(m *MemState) string {
		var b strings.Builder
		for _, kg := range m.KeyGroups() {
			var es []string
			for _, e := range m.Entries(kg) {
				es = append(es, fmt.Sprintf("%q=%q", e.Key, e.Value))
			}
			slices.Sort(es)
			fmt.Fprintf(&b, "kg %d: %s\n", kg, strings.Join(es, " "))
		}
		for _, name := range slices.Sorted(slices.Values(m.names)) {
			fmt.Fprintf(&b, "op %s: %q\n", name, m.ops[name].entries)
		}
		return b.String()
	}
	if g, w := canon(got), canon(want); g != w {
		return fmt.Sprintf("\n got: %s\nwant: %s", g, w)
	}
	return ""
}

// recordLines returns the record lines of out, sorted.
func recordLines(out []string) []string {
	var recs []string
	for _, l := range out {
		if !strings.HasPrefix(l, "wm ") {
			recs = append(recs, l)
		}
	}
	slices.Sort(recs)
	return recs
}

// lineDiff describes where got and want differ, or returns "".
func lineDiff(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %d lines, want %d; first difference at line %d\n", len(got), len(want), i)
	for j := max(0, i-3); j < min(i+5, max(len(got), len(want))); j++ {
		var g, w string
		if j < len(got) {
			g = got[j]
		}
		if j < len(want) {
			w = want[j]
		}
		mark := " "
		if g != w {
			mark = "!"
		}
		fmt.Fprintf(&b, "  %s %3d got %-40q want %q\n", mark, j, g, w)
	}
	return b.String()
}

// keyGroupOf returns the key group function of keys of type K.
func keyGroupOf[K comparable, T any](key func(T) K) func(int, T) int {
	h, err := KeyHasher[K]()
	if err != nil {
		panic(err)
	}
	return func(_ int, v T) int { return snapshot.KeyGroupFor(h(key(v)), testMaxParallelism) }
}

// checkCorruptionFails snapshots an instance after steps and checks that
// restoring any one of its entries damaged fails with ErrCorruptState:
// the value cut short or extended, the tag unknown, the key cut to its tag,
// or the entry in another key group.
func checkCorruptionFails[T any](t *testing.T, c ckCase[T], steps []ckStep[T]) {
	t.Helper()
	r := newRun(t, c)
	r.start(1, nil)
	for i, s := range steps {
		r.apply(i, s)
	}
	good := r.snapshot()[0]
	if good.Len() == 0 {
		t.Fatalf("%s: no state to corrupt", c.name)
	}
	damages := []struct {
		name string
		fn   func(kg int, e *MemEntry) int
	}{
		{"value cut short", func(kg int, e *MemEntry) int { e.Value = e.Value[:len(e.Value)-1]; return kg }},
		{"value extended", func(kg int, e *MemEntry) int { e.Value = append(e.Value, 0); return kg }},
		{"unknown tag", func(kg int, e *MemEntry) int { e.Key[0] = 0xff; return kg }},
		{"key cut to its tag", func(kg int, e *MemEntry) int { e.Key = e.Key[:1]; return kg }},
		{"other key group", func(kg int, e *MemEntry) int { return (kg + 1) % testMaxParallelism }},
	}
	for _, kg := range good.KeyGroups() {
		for i := range good.Entries(kg) {
			for _, dm := range damages {
				if dm.name == "value cut short" && len(good.Entries(kg)[i].Value) == 0 {
					continue
				}
				bad := NewMemState()
				for _, kg2 := range good.KeyGroups() {
					for i2, e := range good.Entries(kg2) {
						e = MemEntry{Key: slices.Clone(e.Key), Value: slices.Clone(e.Value)}
						to := kg2
						if kg2 == kg && i2 == i {
							to = dm.fn(kg2, &e)
						}
						bad.Keyed(to, e.Key, e.Value)
					}
				}
				in := c.make(new([]string))
				ctx := &TaskContext{Operator: c.name, Parallelism: 1, MaxParallelism: testMaxParallelism, Clock: &virtualMillis{}}
				if c.backend != nil {
					ctx.Store = c.backend.newStore(t)
				}
				if err := in.op.Open(ctx); err != nil {
					t.Fatal(err)
				}
				err := in.op.(Checkpointed).RestoreState(bad.Reader(snapshot.KeyGroupRange{Start: 0, End: testMaxParallelism}))
				if !errors.Is(err, ErrCorruptState) {
					t.Fatalf("%s: entry %d of key group %d (key %q value %q): %s: restore gave %v, want ErrCorruptState",
						c.name, i, kg, good.Entries(kg)[i].Key, good.Entries(kg)[i].Value, dm.name, err)
				}
			}
		}
	}
}
