package operators

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

var allKeyGroups = snapshot.KeyGroupRange{Start: 0, End: testMaxParallelism}

// statefulFn keeps state of every kind, some with a TTL, and emits all of
// it with every record and timer, so that any difference in restored state
// shows in the output.
type statefulFn struct {
	count  *ValueState[string, int64]
	recent *ListState[string, int64]
	byMod  *MapState[string, int64, int64]
	sum    *ReducingState[string, int64]
	avg    *AggregatingState[string, int64, avgAcc, string]
	seen   *ValueState[string, int64]
	tags   *MapState[string, string, int64]
	fresh  *ListState[string, int64]
}

func (f *statefulFn) Open(ctx *TaskContext) error {
	var errs [8]error
	f.count, errs[0] = NewValueState[string, int64](ctx, "count")
	f.recent, errs[1] = NewListState[string, int64](ctx, "recent")
	f.byMod, errs[2] = NewMapState[string, int64, int64](ctx, "by-mod")
	f.sum, errs[3] = NewReducingState[string](ctx, "sum", func(a, b int64) int64 { return a + b })
	f.avg, errs[4] = NewAggregatingState[string](ctx, "avg", avgFunc())
	f.seen, errs[5] = NewValueState[string, int64](ctx, "seen", WithTTL(20*time.Millisecond, OnReadAndWrite, NeverReturnExpired))
	f.tags, errs[6] = NewMapState[string, string, int64](ctx, "tags", WithTTL(15*time.Millisecond, OnCreateAndWrite, NeverReturnExpired))
	f.fresh, errs[7] = NewListState[string, int64](ctx, "fresh", WithTTL(12*time.Millisecond, OnCreateAndWrite, NeverReturnExpired))
	return errors.Join(errs[:]...)
}

func (f *statefulFn) element(ctx *KeyedContext[string], v kv, out Collector[string]) {
	n, _ := f.count.Get(ctx)
	f.count.Set(ctx, n+1)
	f.recent.Add(ctx, v.V)
	if l := f.recent.Get(ctx); len(l) > 3 {
		f.recent.Update(ctx, l[1:])
	}
	if v.V%7 == 0 {
		f.byMod.Remove(ctx, v.V%5)
	} else {
		f.byMod.Put(ctx, v.V%5, v.V)
	}
	f.sum.Add(ctx, v.V)
	f.avg.Add(ctx, v.V)
	if v.V%3 == 0 {
		f.seen.Set(ctx, v.V)
	}
	f.tags.Put(ctx, fmt.Sprint("t", v.V%4), v.V)
	f.fresh.Add(ctx, v.V)
	ts := ctx.TimerService()
	switch v.V % 5 {
	case 0:
		ts.RegisterEventTimeTimer(ctx.Timestamp() + 5)
	case 1:
		ts.RegisterProcessingTimeTimer(ts.CurrentProcessingTime() + 7)
	}
	out.Collect(fmt.Sprintf("el %s %d %s", ctx.Key(), v.V, f.describe(ctx)))
}

func (f *statefulFn) ProcessElement(ctx *KeyedContext[string], v kv, out Collector[string]) error {
	f.element(ctx, v, out)
	return nil
}

func (f *statefulFn) OnTimer(ctx *OnTimerContext[string], ts int64, out Collector[string]) error {
	out.Collect(fmt.Sprintf("fire %v %s %d %s", ctx.TimeDomain(), ctx.Key(), ts, f.describe(ctx)))
	if ts%2 == 0 {
		f.count.Clear(ctx)
		f.byMod.Clear(ctx)
		f.fresh.Clear(ctx)
	} else {
		f.sum.Clear(ctx)
		f.avg.Clear(ctx)
		f.recent.Clear(ctx)
	}
	return nil
}

// describe formats every state of the current key of ctx.
func (f *statefulFn) describe(ctx KeyScope[string]) string {
	var b strings.Builder
	opt := func(v any, ok bool) {
		if ok {
			fmt.Fprint(&b, v, " ")
		} else {
			b.WriteString("- ")
		}
	}
	opt(f.count.Get(ctx))
	fmt.Fprint(&b, f.recent.Get(ctx), " ")
	_ = f.byMod.Range(ctx, func(k, v int64) bool { fmt.Fprintf(&b, "%d:%d,", k, v); return true })
	b.WriteString(" ")
	opt(f.sum.Get(ctx))
	opt(f.avg.Get(ctx))
	opt(f.seen.Get(ctx))
	_ = f.tags.Range(ctx, func(k string, v int64) bool { fmt.Fprintf(&b, "%s:%d,", k, v); return true })
	fmt.Fprint(&b, " ", f.fresh.Get(ctx))
	return b.String()
}

// coStatefulFn is statefulFn over two inputs sharing the states; the
// second input clears the recent values first.
type coStatefulFn struct{ statefulFn }

func (f *coStatefulFn) ProcessElement1(ctx *KeyedContext[string], v kv, out Collector[string]) error {
	f.element(ctx, v, out)
	return nil
}

func (f *coStatefulFn) ProcessElement2(ctx *KeyedContext[string], v kv, out Collector[string]) error {
	f.recent.Clear(ctx)
	v.V++
	f.element(ctx, v, out)
	return nil
}

func statefulCase() ckCase[kv] {
	return ckCase[kv]{
		name: "stateful-process",
		make: func(out *[]string) ckInstance[kv] {
			op := &KeyedProcess[string, kv, string]{Key: Key[string, kv]{Selector: kvKey}, Fn: &statefulFn{}, Out: lineOut[string]{out}}
			return ckInstance[kv]{op: op, inputs: []Input[kv]{op}}
		},
		keyGroup: keyGroupOf(kvKey),
	}
}

func coStatefulCase() ckCase[kv] {
	return ckCase[kv]{
		name: "stateful-co-process",
		make: func(out *[]string) ckInstance[kv] {
			op := &KeyedCoProcess[string, kv, kv, string]{
				Key1: Key[string, kv]{Selector: kvKey}, Key2: Key[string, kv]{Selector: kvKey},
				Fn: &coStatefulFn{}, Out: lineOut[string]{out},
			}
			return ckInstance[kv]{op: op, inputs: []Input[kv]{op.Input1(), op.Input2()}}
		},
		keyGroup: keyGroupOf(kvKey),
	}
}

func TestUserStateRestores(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for range 40 {
		checkRestores(t, r, statefulCase(), randomKVSteps(r, 5+r.IntN(50), 1+r.IntN(8), 1, 20))
		checkRestores(t, r, coStatefulCase(), randomKVSteps(r, 5+r.IntN(50), 1+r.IntN(8), 2, 20))
	}
}

func TestUserStateRescales(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	for _, c := range []struct {
		c     ckCase[kv]
		gates int
	}{{statefulCase(), 1}, {coStatefulCase(), 2}} {
		for range 20 {
			steps := randomKVSteps(r, 10+r.IntN(50), 4+r.IntN(12), c.gates, 20)
			cut := r.IntN(len(steps) + 1)
			checkRescale(t, c.c, steps, cut, 1)
			checkRescale(t, c.c, steps, cut, 3)
		}
	}
}

// TestUserStateRescalePlacesEachKeyOnce restores the states of two
// subtasks (key groups [0,64) and [64,128)) into one and into three: every
// entry lands in exactly one subtask, the one owning its key group, and
// nothing is lost or changed.
func TestUserStateRescalePlacesEachKeyOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	c := statefulCase()
	steps := randomKVSteps(r, 80, 20, 1, 20)
	steps = steps[:len(steps)-3]
	run := newRun(t, c)
	run.start(2, nil)
	for i, s := range steps {
		run.apply(i, s)
	}
	olds := run.snapshot() // checks that each subtask wrote its key groups only
	if kgs := olds[0].KeyGroups(); len(kgs) == 0 || kgs[len(kgs)-1] >= 64 {
		t.Fatalf("subtask 0 wrote key groups %v", kgs)
	}
	if kgs := olds[1].KeyGroups(); len(kgs) == 0 || kgs[0] < 64 {
		t.Fatalf("subtask 1 wrote key groups %v", kgs)
	}
	entries := func(states []*MemState) (map[string]int, map[string]bool) {
		seen := map[string]int{}
		names := map[string]bool{}
		for _, st := range states {
			for _, kg := range st.KeyGroups() {
				for _, e := range st.Entries(kg) {
					if e.Key[0] != tagUserState {
						continue
					}
					d := NewStateDecoder(e.Key[1:])
					names[d.stringField()] = true
					seen[fmt.Sprintf("kg %d %q=%q", kg, e.Key, e.Value)]++
				}
			}
		}
		return seen, names
	}
	want, names := entries(olds)
	if len(names) != 8 {
		t.Fatalf("the snapshot holds states %v, want all 8", names)
	}
	for _, p := range []int{1, 3} {
		rs := newRun(t, c)
		rs.clock.now = run.clock.now
		rs.start(p, olds)
		news := rs.snapshot() // each subtask wrote only key groups it owns
		got, _ := entries(news)
		for e, n := range got {
			if n != 1 || want[e] != 1 {
				t.Errorf("p=%d: entry %s held %d times, %d before", p, e, n, want[e])
			}
		}
		if len(got) != len(want) {
			t.Errorf("p=%d: %d entries after the restore, want %d", p, len(got), len(want))
		}
	}
}

// stringField reads a codec string (a state name).
func (d *StateDecoder) stringField() string {
	n := d.Uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func TestUserStateRejectsCorruptState(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	steps := randomKVSteps(r, 30, 6, 2, 20)
	steps = steps[:len(steps)-3] // keep the state and timers
	checkCorruptionFails(t, statefulCase(), kvOnGate0(steps))
	checkCorruptionFails(t, coStatefulCase(), steps)
}

// TestUserStateLayout pins the entry layout of every kind of state.
func TestUserStateLayout(t *testing.T) {
	clock := &virtualMillis{now: 100}
	var (
		v   *ValueState[string, int64]
		tv  *ValueState[string, int64]
		l   *ListState[string, int64]
		tl  *ListState[string, int64]
		m   *MapState[string, int64, string]
		red *ReducingState[string, int64]
		agg *AggregatingState[string, int64, avgAcc, string]
	)
	op := stateOp[string](t, clock, func(ctx *TaskContext) error {
		ttl := WithTTL(time.Second, OnCreateAndWrite, NeverReturnExpired)
		var errs [7]error
		v, errs[0] = NewValueState[string, int64](ctx, "v")
		tv, errs[1] = NewValueState[string, int64](ctx, "tv", ttl)
		l, errs[2] = NewListState[string, int64](ctx, "l")
		tl, errs[3] = NewListState[string, int64](ctx, "tl", ttl)
		m, errs[4] = NewMapState[string, int64, string](ctx, "m")
		red, errs[5] = NewReducingState[string](ctx, "r", func(a, b int64) int64 { return a + b })
		agg, errs[6] = NewAggregatingState[string](ctx, "g", avgFunc())
		return errors.Join(errs[:]...)
	})
	a := at(op, "a")
	v.Set(a, 5)
	tv.Set(a, 5)
	l.AddAll(a, []int64{1, 2})
	tl.Add(a, 1)
	m.Put(a, 2, "x")
	m.Put(a, 1, "y")
	m.Put(a, -1, "z")
	red.Add(a, 1)
	red.Add(a, 2)
	agg.Add(a, 4)
	st := NewMemState()
	if err := op.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	h, _ := KeyHasher[string]()
	kg := snapshot.KeyGroupFor(h("a"), testMaxParallelism)
	got := map[string]string{}
	for _, e := range st.Entries(kg) {
		got[string(e.Key)] = string(e.Value)
	}
	want := map[string]string{
		"u\x01v\x01a":  "v\x0a",
		"u\x02tv\x01a": "V\xc8\x01\x0a",                    // stamp 100, then 5
		"u\x01l\x01a":  "l\x02\x02\x04",                    // count, 1, 2
		"u\x02tl\x01a": "L\x01\x02\xc8\x01",                // count, 1 with stamp 100
		"u\x01m\x01a":  "m\x03\x01\x01z\x02\x01y\x04\x01x", // -1, 1, 2 in encoding order
		"u\x01r\x01a":  "r\x06",
		"u\x01g\x01a":  "a\x08\x02", // avgAcc{4, 1}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || st.Len() != len(want) {
		t.Fatalf("state in key group %d:\n got %q\nwant %q", kg, got, want)
	}
}

func TestUserStateWithoutCodecFailsOnlyCheckpoints(t *testing.T) {
	var s *ValueState[string, noCodec]
	var m *MapState[string, string, noCodec]
	op := stateOp[string](t, nil, func(ctx *TaskContext) (err error) {
		s, err = NewValueState[string, noCodec](ctx, "nc")
		if err != nil {
			return err
		}
		m, err = NewMapState[string, string, noCodec](ctx, "ncm", WithStateCodec[noCodec](noCodecCodec{}))
		return err
	})
	s.Set(at(op, "a"), noCodec{K: "x", Fn: func() {}})
	m.Put(at(op, "a"), "u", noCodec{K: "y"})
	if v, ok := s.Get(at(op, "a")); !ok || v.K != "x" {
		t.Fatal("a state without codec works without checkpoints")
	}
	err := op.SnapshotState(1, NewMemState())
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "state" ||
		!strings.Contains(err.Error(), `keyed state "nc": state type operators.noCodec cannot be checkpointed`) ||
		!strings.Contains(err.Error(), "functions cannot be encoded") {
		t.Fatalf("snapshot: %v", err)
	}

	var s2 *ValueState[string, noCodec]
	op2 := stateOp[string](t, nil, func(ctx *TaskContext) (err error) {
		s2, err = NewValueState[string, noCodec](ctx, "nc", WithStateCodec[noCodec](noCodecCodec{}))
		return err
	})
	s2.Set(at(op2, "a"), noCodec{K: "x"})
	st := NewMemState()
	if err := op2.SnapshotState(1, st); err != nil || st.Len() != 1 {
		t.Fatalf("snapshot with a hand-written codec: %v, %d entries", err, st.Len())
	}
}

func TestUserStateMismatch(t *testing.T) {
	clock := &virtualMillis{now: 10}
	var a *ValueState[string, int64]
	var gone *ListState[string, int64]
	op := stateOp[string](t, clock, func(ctx *TaskContext) (err error) {
		a, err = NewValueState[string, int64](ctx, "a")
		if err != nil {
			return err
		}
		gone, err = NewListState[string, int64](ctx, "gone")
		return err
	})
	a.Set(at(op, "k"), 7)
	gone.Add(at(op, "x"), 1)
	st := NewMemState()
	if err := op.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	restore := func(open func(ctx *TaskContext) error) (*KeyedProcess[string, int, int], error) {
		op := stateOp[string](t, clock, open)
		return op, op.RestoreState(st.Reader(allKeyGroups))
	}

	_, err := restore(func(ctx *TaskContext) (err error) {
		_, err = NewValueState[string, int64](ctx, "a")
		return err
	})
	if !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), `keyed state "gone", which the function does not register`) {
		t.Fatalf("restore without a state: %v", err)
	}
	_, err = restore(func(ctx *TaskContext) (err error) {
		_, err = NewValueState[string, int64](ctx, "a")
		_, err2 := NewValueState[string, int64](ctx, "gone")
		return errors.Join(err, err2)
	})
	if !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), `keyed state "gone" was checkpointed as a ListState and is registered as a ValueState`) {
		t.Fatalf("restore with another kind: %v", err)
	}

	// DiscardState drops the state.
	var a2 *ValueState[string, int64]
	op2, err := restore(func(ctx *TaskContext) (err error) {
		a2, err = NewValueState[string, int64](ctx, "a")
		return errors.Join(err, DiscardState[string](ctx, "gone"))
	})
	if err != nil {
		t.Fatalf("restore with the state discarded: %v", err)
	}
	if v, ok := a2.Get(at(op2, "k")); !ok || v != 7 {
		t.Fatalf("a after restore: %d %v", v, ok)
	}
	st2 := NewMemState()
	if err := op2.SnapshotState(2, st2); err != nil || st2.Len() != 1 {
		t.Fatalf("snapshot after discarding: %v, %d entries", err, st2.Len())
	}

	// A TTL may be added: restored entries are stamped at the restore.
	clock.now = 50
	var a3 *ValueState[string, int64]
	op3, err := restore(func(ctx *TaskContext) (err error) {
		a3, err = NewValueState[string, int64](ctx, "a", WithTTL(10*time.Millisecond, OnCreateAndWrite, NeverReturnExpired))
		return errors.Join(err, DiscardState[string](ctx, "gone"))
	})
	if err != nil {
		t.Fatal(err)
	}
	clock.now = 59
	if v, ok := a3.Get(at(op3, "k")); !ok || v != 7 {
		t.Fatalf("a with a TTL before expiry: %d %v", v, ok)
	}
	st3 := NewMemState()
	if err := op3.SnapshotState(3, st3); err != nil {
		t.Fatal(err)
	}
	clock.now = 60
	if _, ok := a3.Get(at(op3, "k")); ok {
		t.Fatal("a with a TTL after expiry")
	}
	// ... and removed again: the stamps are dropped.
	st = st3
	clock.now = 1000
	var a4 *ValueState[string, int64]
	op4, err := restore(func(ctx *TaskContext) (err error) {
		a4, err = NewValueState[string, int64](ctx, "a")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := a4.Get(at(op4, "k")); !ok || v != 7 {
		t.Fatalf("a without TTL restored from a TTL checkpoint: %d %v", v, ok)
	}
}
