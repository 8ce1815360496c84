package window

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// The checkpoint tests drive window operators with random steps and
// compare what they emit with runs that checkpoint and restore on the way:
// a chain restored before every step, an instance that snapshots and goes
// on, one restored at a random step, and runs rescaled from 2 subtasks
// (key groups [0,64) and [64,128)) to 1 or 3.

const maxPar = 128

type cstepKind int

const (
	cRecords cstepKind = iota
	cWatermark
	cClock
	cEnd
)

// cstep is one step: records, a watermark, the clock moving to t, or the
// end of input.
type cstep struct {
	kind  cstepKind
	vals  []rec
	times []int64
	t     int64
}

func (s cstep) String() string {
	switch s.kind {
	case cRecords:
		return fmt.Sprintf("records %v at %v", s.vals, s.times)
	case cWatermark:
		return fmt.Sprintf("watermark %d", s.t)
	case cClock:
		return fmt.Sprintf("clock %d", s.t)
	}
	return "end of input"
}

// checkpointed is a window operator of any type parameters.
type checkpointed interface {
	operators.OneInputOperator[rec]
	operators.ProcessingTimer
	operators.Checkpointed
	UsesPanes() bool
}

// ckCase is one operator configuration.
type ckCase struct {
	name string
	make func(out *[]string) checkpointed
}

// ckOut formats what reaches it into lines.
type ckOut[T any] struct {
	out    *[]string
	prefix string
}

func (l ckOut[T]) ProcessBatch(b *operators.Batch[T]) error {
	for i, v := range b.Values {
		*l.out = append(*l.out, fmt.Sprintf("%s%v @%d", l.prefix, v, b.Times[i]))
	}
	return nil
}

func (l ckOut[T]) ProcessWatermark(wm int64) error {
	if l.prefix == "" {
		*l.out = append(*l.out, fmt.Sprintf("wm %d", wm))
	}
	return nil
}

var recKeyGroup = func() func(rec) int {
	h, err := operators.KeyHasher[string]()
	if err != nil {
		panic(err)
	}
	return func(r rec) int { return snapshot.KeyGroupFor(h(r.Key), maxPar) }
}()

// ckRun is a run of instances of a case writing to out.
type ckRun struct {
	t     *testing.T
	c     ckCase
	clock vclock
	out   []string
	ops   []checkpointed
	// db, when set, holds the state of the instances started next, one
	// store each; stores are those of ops (nil on the heap).
	db     *testDB
	stores []*operators.StateStore
}

func (r *ckRun) start(parallelism int, states []*operators.MemState) {
	r.t.Helper()
	for _, op := range r.ops {
		if err := op.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	r.ops, r.stores = r.ops[:0], r.stores[:0]
	for j := range parallelism {
		op := r.c.make(&r.out)
		ctx := &operators.TaskContext{Operator: "window", Subtask: j, Parallelism: parallelism, MaxParallelism: maxPar, Clock: &r.clock}
		if r.db != nil {
			ctx.Store = r.db.store()
		}
		r.stores = append(r.stores, ctx.Store)
		if err := op.Open(ctx); err != nil {
			r.t.Fatal(err)
		}
		if states != nil {
			kgs := snapshot.RangeFor(j, maxPar, parallelism)
			if err := op.RestoreState(operators.RescaledReader(states, kgs, j, parallelism)); err != nil {
				r.t.Fatalf("%s: restore subtask %d of %d: %v", r.c.name, j, parallelism, err)
			}
		}
		r.ops = append(r.ops, op)
	}
}

func (r *ckRun) snapshot() []*operators.MemState {
	r.t.Helper()
	states := make([]*operators.MemState, len(r.ops))
	for j, op := range r.ops {
		states[j] = snapshotFull(r.t, op, r.stores[j])
		kgs := snapshot.RangeFor(j, maxPar, len(r.ops))
		for _, kg := range states[j].KeyGroups() {
			if !kgs.Contains(kg) {
				r.t.Fatalf("%s: subtask %d owning %v wrote key group %d", r.c.name, j, kgs, kg)
			}
		}
	}
	return states
}

func (r *ckRun) apply(i int, s cstep) {
	r.t.Helper()
	fail := func(err error) {
		if err != nil {
			r.t.Fatalf("%s: step %d (%v): %v", r.c.name, i, s, err)
		}
	}
	switch s.kind {
	case cRecords:
		parts := make([]operators.Batch[rec], len(r.ops))
		for k, v := range s.vals {
			j := snapshot.SubtaskFor(recKeyGroup(v), maxPar, len(r.ops))
			parts[j].Append(v, s.times[k])
		}
		for j := range parts {
			if len(parts[j].Values) > 0 {
				fail(r.ops[j].ProcessBatch(&parts[j]))
			}
		}
	case cWatermark:
		for _, op := range r.ops {
			fail(op.ProcessWatermark(s.t))
		}
	case cClock:
		r.clock.now = s.t
		for _, op := range r.ops {
			if op.NextProcessingTime() <= s.t {
				fail(op.OnProcessingTime(s.t))
			}
		}
	case cEnd:
		for _, op := range r.ops {
			fail(op.EndInput())
		}
	}
}

func runAllSteps(t *testing.T, c ckCase, steps []cstep) []string {
	r := &ckRun{t: t, c: c}
	r.start(1, nil)
	for i, s := range steps {
		r.apply(i, s)
	}
	return r.out
}

// checkRestores checks a chain restored before every step, and an
// instance that snapshots and goes on and one restored from that snapshot
// at a few random steps, against one uninterrupted instance.
//
// The chain alternates between the heap and the Pebble backend (pdb), so
// that each restores the other's checkpoints, and the snapshot of every
// restored instance must equal the checkpoint it was restored from. The
// instance that goes on runs on one backend and the restored one on the
// other.
func checkRestores(t *testing.T, rnd *rand.Rand, c ckCase, steps []cstep, pdb *testDB) {
	t.Helper()
	want := runAllSteps(t, c, steps)
	dbs := [2]*testDB{nil, pdb}
	chain := &ckRun{t: t, c: c}
	chain.start(1, nil)
	for i, s := range steps {
		states := chain.snapshot()
		chain.db = dbs[(i+1)%2]
		chain.start(1, states)
		if d := stateDiff(chain.snapshot()[0], states[0]); d != "" {
			t.Fatalf("%s: before step %d: the snapshot of the restored instance differs:%s", c.name, i, d)
		}
		chain.apply(i, s)
	}
	if d := lineDiff(chain.out, want); d != "" {
		t.Fatalf("%s: restored before every step:\n%s", c.name, d)
	}
	for round := range 2 {
		cut := rnd.IntN(len(steps) + 1)
		goOn := &ckRun{t: t, c: c, db: dbs[round]}
		goOn.start(1, nil)
		for i, s := range steps[:cut] {
			goOn.apply(i, s)
		}
		states := goOn.snapshot()
		restored := &ckRun{t: t, c: c, clock: goOn.clock, out: slices.Clone(goOn.out), db: dbs[1-round]}
		restored.start(1, states)
		for i, s := range steps[cut:] {
			goOn.apply(cut+i, s)
			restored.apply(cut+i, s)
		}
		if d := lineDiff(goOn.out, want); d != "" {
			t.Fatalf("%s: went on after a snapshot at step %d:\n%s", c.name, cut, d)
		}
		if d := lineDiff(restored.out, want); d != "" {
			t.Fatalf("%s: restored at step %d:\n%s", c.name, cut, d)
		}
	}
}

// checkRescale checks a run on 2 subtasks restored into parallelism ones
// at step cut against the records of one uninterrupted instance.
// The 2 subtasks run on from, the rescaled ones on to (nil: the heap).
func checkRescale(t *testing.T, c ckCase, steps []cstep, cut, parallelism int, from, to *testDB) {
	t.Helper()
	want := recordLines(runAllSteps(t, c, steps))
	r := &ckRun{t: t, c: c, db: from}
	r.start(2, nil)
	for i, s := range steps[:cut] {
		r.apply(i, s)
	}
	states := r.snapshot()
	r.db = to
	r.start(parallelism, states)
	for i, s := range steps[cut:] {
		r.apply(cut+i, s)
	}
	if d := lineDiff(recordLines(r.out), want); d != "" {
		t.Fatalf("%s: from 2 to %d subtasks at step %d:\n%s", c.name, parallelism, cut, d)
	}
}

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
		fmt.Fprintf(&b, "  %3d got %-50q want %q\n", j, g, w)
	}
	return b.String()
}

// stateDiff compares two snapshots as sets of entries per key group and
// lists of operator state.
func stateDiff(got, want *operators.MemState) string {
	canon := func(m *operators.MemState) string {
		var b strings.Builder
		for _, kg := range m.KeyGroups() {
			var es []string
			for _, e := range m.Entries(kg) {
				es = append(es, fmt.Sprintf("%q=%q", e.Key, e.Value))
			}
			slices.Sort(es)
			fmt.Fprintf(&b, "kg %d: %s\n", kg, strings.Join(es, " "))
		}
		times, _ := m.Reader(snapshot.KeyGroupRange{}).Operator(operators.EventTimeState)
		fmt.Fprintf(&b, "event time %q\n", times)
		return b.String()
	}
	if g, w := canon(got), canon(want); g != w {
		return fmt.Sprintf("\n got: %s\nwant: %s", g, w)
	}
	return ""
}

// randomCSteps returns records of up to keys keys, out of order by up to
// disorder, with watermarks (some overtaking records, which are then
// late) and clock moves, ending with the end of time and input.
func randomCSteps(r *rand.Rand, n, keys int, spread, disorder int64) []cstep {
	var steps []cstep
	var ts, maxTs, now int64
	wm := int64(math.MinInt64)
	for i := range n {
		switch r.IntN(6) {
		case 0:
			if w := maxTs - r.Int64N(disorder+1); w > wm {
				wm = w
				steps = append(steps, cstep{kind: cWatermark, t: w})
				continue
			}
		case 1:
			now += r.Int64N(2 * spread)
			steps = append(steps, cstep{kind: cClock, t: now})
			continue
		}
		s := cstep{kind: cRecords}
		for range 1 + r.IntN(4) {
			ts += r.Int64N(spread + 1)
			t := ts - r.Int64N(disorder+1)
			maxTs = max(maxTs, t)
			s.vals = append(s.vals, rec{Key: fmt.Sprint("k", r.IntN(keys)), Val: int64(i*10 + r.IntN(10))})
			s.times = append(s.times, t)
		}
		steps = append(steps, s)
	}
	return append(steps,
		cstep{kind: cWatermark, t: operators.MaxWatermark},
		cstep{kind: cClock, t: now + 10*spread},
		cstep{kind: cEnd})
}

func msOf(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// aggregateCase makes operators that aggregate records into sumCounts.
func aggregateCase(name string, cfg Config[string, rec]) ckCase {
	return ckCase{name: name, make: func(out *[]string) checkpointed {
		cfg := cfg
		cfg.Key = operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}
		cfg.LateOutput = operators.NewSideOutput[rec](ckOut[rec]{out, "late "})
		return NewAggregateProcess(cfg, sumCountAgg, ProcessFunc[string, sumCount, string](
			func(ctx *Context[string], rs []sumCount, o operators.Collector[string]) error {
				o.Collect(fmt.Sprintf("%s %v sum=%d n=%d", ctx.Key(), ctx.Window(), rs[0].sum, rs[0].n))
				return nil
			}), ckOut[string]{out: out})
	}}
}

// listCase makes operators that keep the records and list them.
func listCase(name string, cfg Config[string, rec]) ckCase {
	return ckCase{name: name, make: func(out *[]string) checkpointed {
		cfg := cfg
		cfg.Key = operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}
		cfg.LateOutput = operators.NewSideOutput[rec](ckOut[rec]{out, "late "})
		return NewProcess(cfg, ProcessFunc[string, rec, string](
			func(ctx *Context[string], rs []rec, o operators.Collector[string]) error {
				vals := make([]int64, len(rs))
				for i, r := range rs {
					vals[i] = r.Val
				}
				o.Collect(fmt.Sprintf("%s %v %v", ctx.Key(), ctx.Window(), vals))
				return nil
			}), ckOut[string]{out: out})
	}}
}

// reduceCase makes operators that add the values up with a reduce
// function.
func reduceCase(name string, cfg Config[string, rec]) ckCase {
	return ckCase{name: name, make: func(out *[]string) checkpointed {
		cfg := cfg
		cfg.Key = operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}
		return NewReduce(cfg, func(a, b rec) rec { return rec{Key: a.Key, Val: a.Val + b.Val} }, ckOut[rec]{out: out})
	}}
}

// randomWindowCase returns an operator configuration covering the
// assigners, triggers, evictors and both sliding paths.
func randomWindowCase(r *rand.Rand) ckCase {
	size := 2 + r.Int64N(25)
	slide := 1 + r.Int64N(size)
	lateness := msOf([]int64{0, 0, 5, 20}[r.IntN(4)])
	sliding := SlidingEventTime(msOf(size), msOf(slide)).WithOffset(msOf(r.Int64N(slide)))
	// A tiny cache makes the Pebble backend evict; 0 is the default.
	cache := r.IntN(4)
	name := func(s string) string {
		return fmt.Sprintf("%s size %d slide %d lateness %v cache %d", s, size, slide, lateness, cache)
	}
	switch r.IntN(13) {
	case 0:
		return aggregateCase(name("tumbling"), Config[string, rec]{StateCacheSize: cache, Assigner: TumblingEventTime(msOf(size)), AllowedLateness: lateness})
	case 1:
		return aggregateCase(name("sliding panes"), Config[string, rec]{StateCacheSize: cache, Assigner: sliding, AllowedLateness: lateness})
	case 2:
		return aggregateCase(name("sliding general"), Config[string, rec]{StateCacheSize: cache, Assigner: sliding, AllowedLateness: lateness, DisablePanes: true})
	case 3:
		return listCase(name("sliding list"), Config[string, rec]{StateCacheSize: cache, Assigner: sliding, AllowedLateness: lateness})
	case 4:
		return aggregateCase(name("session"), Config[string, rec]{StateCacheSize: cache, Assigner: EventTimeSession(msOf(slide)), AllowedLateness: lateness})
	case 5:
		return listCase(name("session list"), Config[string, rec]{StateCacheSize: cache, Assigner: EventTimeSession(msOf(slide)), AllowedLateness: lateness})
	case 6:
		return listCase(name("count sliding"), Config[string, rec]{StateCacheSize: cache, Assigner: GlobalWindows(),
			Trigger: CountTrigger(1 + r.Int64N(3)), Evictor: CountEvictor(1 + r.Int64N(5))})
	case 7:
		return aggregateCase(name("count tumbling"), Config[string, rec]{StateCacheSize: cache, Assigner: GlobalWindows(),
			Trigger: PurgingTrigger(CountTrigger(1 + r.Int64N(4)))})
	case 8:
		return aggregateCase(name("continuous event time"), Config[string, rec]{StateCacheSize: cache, Assigner: EventTimeSession(msOf(slide)),
			Trigger: ContinuousEventTimeTrigger(msOf(1 + r.Int64N(5))), AllowedLateness: lateness})
	case 9:
		return aggregateCase(name("processing-time sliding"), Config[string, rec]{StateCacheSize: cache, Assigner: SlidingProcessingTime(msOf(size), msOf(slide))})
	case 10:
		return listCase(name("processing-time session"), Config[string, rec]{StateCacheSize: cache, Assigner: ProcessingTimeSession(msOf(slide)),
			Trigger: ContinuousProcessingTimeTrigger(msOf(1 + r.Int64N(5)))})
	case 11:
		return reduceCase(name("reduce sliding panes"), Config[string, rec]{StateCacheSize: cache, Assigner: sliding, AllowedLateness: lateness})
	}
	return listCase(name("time evictor"), Config[string, rec]{StateCacheSize: cache, Assigner: TumblingEventTime(msOf(size)),
		Trigger: CountTrigger(2), Evictor: TimeEvictor(msOf(slide)), AllowedLateness: lateness})
}

func TestWindowsRestore(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	pdb := newBackend(t, "pebble")
	for range 200 {
		c := randomWindowCase(r)
		checkRestores(t, r, c, randomCSteps(r, 5+r.IntN(45), 1+r.IntN(5), 4, r.Int64N(20)), pdb)
	}
}

func TestWindowsRescale(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	pdb := newBackend(t, "pebble")
	for i := range 100 {
		c := randomWindowCase(r)
		steps := randomCSteps(r, 10+r.IntN(50), 4+r.IntN(12), 4, r.Int64N(20))
		cut := r.IntN(len(steps) + 1)
		// Heap to heap, Pebble to heap, heap to Pebble, Pebble to Pebble.
		from, to := [2]*testDB{nil, pdb}[i%2], [2]*testDB{nil, pdb}[i/2%2]
		checkRescale(t, c, steps, cut, 1, from, to)
		checkRescale(t, c, steps, cut, 3, to, from)
	}
}

// TestWindowsRejectCorruptState damages one entry at a time of snapshots
// of the general path (sessions with merging sets and timers), the list
// path with trigger values, and the shared-pane path: each restore must
// fail with operators.ErrCorruptState.
func TestWindowsRejectCorruptState(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	steps := randomCSteps(r, 30, 4, 4, 10)
	steps = steps[:len(steps)-3] // keep the windows
	for _, c := range []ckCase{
		aggregateCase("session", Config[string, rec]{Assigner: EventTimeSession(msOf(20)), AllowedLateness: msOf(5)}),
		listCase("count list", Config[string, rec]{Assigner: GlobalWindows(), Trigger: CountTrigger(5), Evictor: CountEvictor(3)}),
		aggregateCase("sliding panes", Config[string, rec]{Assigner: SlidingEventTime(msOf(40), msOf(10))}),
	} {
		run := &ckRun{t: t, c: c}
		run.start(1, nil)
		for i, s := range steps {
			run.apply(i, s)
		}
		good := run.snapshot()[0]
		if good.Len() == 0 {
			t.Fatalf("%s: no state", c.name)
		}
		tags := map[byte]bool{}
		for _, kg := range good.KeyGroups() {
			for i, e := range good.Entries(kg) {
				tags[e.Key[0]] = true
				for _, dm := range damages {
					bad := operators.NewMemState()
					for _, kg2 := range good.KeyGroups() {
						for i2, e2 := range good.Entries(kg2) {
							k, v, to := slices.Clone(e2.Key), slices.Clone(e2.Value), kg2
							if kg2 == kg && i2 == i {
								k, v, to = dm.fn(k, v, kg2)
							}
							bad.Keyed(to, k, v)
						}
					}
					op := c.make(new([]string))
					if err := op.Open(&operators.TaskContext{Operator: "window", Parallelism: 1, MaxParallelism: maxPar, Clock: &vclock{}}); err != nil {
						t.Fatal(err)
					}
					err := op.RestoreState(bad.Reader(snapshot.KeyGroupRange{Start: 0, End: maxPar}))
					if !errors.Is(err, operators.ErrCorruptState) {
						t.Fatalf("%s: entry %q=%q: %s: restore gave %v", c.name, e.Key, e.Value, dm.name, err)
					}
				}
			}
		}
		t.Logf("%s: tags %q", c.name, slices.Sorted(func(yield func(byte) bool) {
			for tag := range tags {
				if !yield(tag) {
					return
				}
			}
		}))
	}
}

var damages = []struct {
	name string
	fn   func(key, value []byte, kg int) ([]byte, []byte, int)
}{
	{"value cut short", func(k, v []byte, kg int) ([]byte, []byte, int) { return k, v[:len(v)-1], kg }},
	{"value extended", func(k, v []byte, kg int) ([]byte, []byte, int) { return k, append(v, 0), kg }},
	{"unknown tag", func(k, v []byte, kg int) ([]byte, []byte, int) { k[0] = 0xff; return k, v, kg }},
	{"key cut to its tag", func(k, v []byte, kg int) ([]byte, []byte, int) { return k[:1], v, kg }},
	{"other key group", func(k, v []byte, kg int) ([]byte, []byte, int) { return k, v, (kg + 1) % maxPar }},
}

// TestWindowsRestoreNeedsTheSamePath checks that a checkpoint of the
// shared-pane path does not restore into the general path.
func TestWindowsRestoreNeedsTheSamePath(t *testing.T) {
	cfg := Config[string, rec]{Assigner: SlidingEventTime(msOf(40), msOf(10))}
	run := &ckRun{t: t, c: aggregateCase("panes", cfg)}
	run.start(1, nil)
	run.apply(0, cstep{kind: cRecords, vals: []rec{{"a", 1}}, times: []int64{5}})
	states := run.snapshot()
	cfg.DisablePanes = true
	op := aggregateCase("general", cfg).make(new([]string))
	if err := op.Open(&operators.TaskContext{Operator: "window", Parallelism: 1, MaxParallelism: maxPar}); err != nil {
		t.Fatal(err)
	}
	err := op.RestoreState(states[0].Reader(snapshot.KeyGroupRange{End: maxPar}))
	if err == nil || !strings.Contains(err.Error(), "shared panes") {
		t.Fatalf("restore: %v", err)
	}
}

// TestWindowStateWithoutCodec checks that an accumulator type without a
// codec fails the snapshot, naming the operator and the type, and nothing
// else.
func TestWindowStateWithoutCodec(t *testing.T) {
	type acc struct {
		N  int64
		Fn func()
	}
	cfg := Config[string, rec]{Key: operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}, Assigner: TumblingEventTime(msOf(10))}
	op := NewAggregate(cfg, Aggregate[rec, acc, int64]{
		Create:     func() acc { return acc{} },
		Accumulate: func(_ rec, a acc) acc { a.N++; return a },
		Result:     func(a acc) int64 { return a.N },
		Combine:    func(a, b acc) acc { a.N += b.N; return a },
	}, ckOut[int64]{out: new([]string)}).WithAccumulatorCodec(operators.CodecFor[acc]())
	if err := op.Open(&operators.TaskContext{Operator: "count", Parallelism: 1, MaxParallelism: maxPar}); err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessBatch(batchOf(rec{"a", 1})); err != nil {
		t.Fatal(err)
	}
	err := op.SnapshotState(1, operators.NewMemState())
	var oe *operators.OperatorError
	if !errors.As(err, &oe) || oe.Operator != "count" || !strings.Contains(err.Error(), "state type window.acc cannot be checkpointed") {
		t.Fatalf("snapshot: %v", err)
	}
	if err := op.ProcessWatermark(operators.MaxWatermark); err != nil {
		t.Fatalf("the job goes on: %v", err)
	}
}

// TestWindowStateLayout pins the entries of one tumbling window.
func TestWindowStateLayout(t *testing.T) {
	var out []string
	op := aggregateCase("layout", Config[string, rec]{Assigner: TumblingEventTime(msOf(10))}).make(&out)
	if err := op.Open(&operators.TaskContext{Operator: "window", Parallelism: 1, MaxParallelism: maxPar}); err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessBatch(&operators.Batch[rec]{Values: []rec{{"a", 5}}, Times: []int64{3}}); err != nil {
		t.Fatal(err)
	}
	st := operators.NewMemState()
	if err := op.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	tk := func(ts int64) string { return string(operators.AppendTimeKey(nil, ts)) }
	want := []operators.MemEntry{
		{Key: []byte("k\x01a"), Value: []byte{0}},
		{Key: []byte("w\x01a" + tk(0) + tk(10)), Value: []byte{1, 10, 2, 0, 0}},
		{Key: []byte("e\x01a" + tk(0) + tk(10) + tk(9)), Value: []byte{0}},
	}
	if got := st.Entries(recKeyGroup(rec{Key: "a"})); fmt.Sprint(got) != fmt.Sprint(want) || st.Len() != len(want) {
		t.Fatalf("entries %q, want %q", got, want)
	}
	times, err := st.Reader(snapshot.KeyGroupRange{}).Operator(operators.EventTimeState)
	if err != nil || len(times) != 1 || string(times[0]) != "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" {
		t.Fatalf("event time %q, %v", times, err)
	}
}
