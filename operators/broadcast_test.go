package operators

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/snapshot"
)

// threshold is a broadcast rule: records of Key above Limit are alerts;
// a negative Limit deletes the rule.
type threshold struct {
	Key   string
	Limit int
}

type reading struct {
	Key   string
	Value int
}

// alertFn applies the thresholds to readings; it counts the readings per
// key in keyed state and keeps a timer per key that reports the count.
type alertFn struct {
	desc   MapStateDescriptor[string, int]
	limits *BroadcastState[string, int]
	count  *ValueState[string, int]
	// stolen is a BroadcastContext kept past its call, to check that it
	// cannot write.
	stolen *BroadcastContext
}

func (f *alertFn) Open(ctx *TaskContext) (err error) {
	if f.limits, err = f.desc.State(ctx); err != nil {
		return err
	}
	f.count, err = NewValueState[string, int](ctx, "count")
	return err
}

func (f *alertFn) ProcessBroadcastElement(ctx *BroadcastContext, r threshold, out Collector[string]) error {
	f.stolen = ctx
	if r.Limit < 0 {
		f.limits.Remove(ctx, r.Key)
		return nil
	}
	f.limits.Put(ctx, r.Key, r.Limit)
	out.Collect(fmt.Sprintf("rule %s>%d", r.Key, r.Limit))
	return nil
}

func (f *alertFn) ProcessElement(ctx *KeyedContext[string], r reading, out Collector[string]) error {
	if f.stolen != nil && r.Value == -1 {
		f.limits.Put(f.stolen, "x", 1) // must panic
	}
	n, _ := f.count.Get(ctx)
	f.count.Set(ctx, n+1)
	if limit, ok := f.limits.Get(r.Key); ok && r.Value > limit {
		out.Collect(fmt.Sprintf("alert %s=%d", r.Key, r.Value))
	}
	ctx.TimerService().RegisterEventTimeTimer(100)
	return nil
}

func (f *alertFn) OnTimer(ctx *OnTimerContext[string], _ int64, out Collector[string]) error {
	n, _ := f.count.Get(ctx)
	limit, _ := f.limits.Get(ctx.Key())
	out.Collect(fmt.Sprintf("count %s=%d limit %d", ctx.Key(), n, limit))
	return nil
}

func newAlertOp(subtask, parallelism int, out *outRecorder[string], declared ...BroadcastStateDescriptor) *KeyedBroadcastProcess[string, reading, threshold, string] {
	op := &KeyedBroadcastProcess[string, reading, threshold, string]{
		Key: Key[string, reading]{Selector: func(r reading) string { return r.Key }},
		Fn:  &alertFn{desc: NewMapStateDescriptor[string, int]("limits")},
		Out: out, KeyCodec: CodecFor[string](), States: declared,
	}
	op.Ctx = subtaskTask("alerts", subtask, parallelism)
	return op
}

func feedBatch[T any](t *testing.T, in Input[T], vs ...T) {
	t.Helper()
	var b Batch[T]
	for _, v := range vs {
		b.Append(v, 10)
	}
	if err := in.ProcessBatch(&b); err != nil {
		t.Fatal(err)
	}
}

func records[T any](r *outRecorder[T]) []T {
	var vs []T
	for _, rec := range r.records {
		vs = append(vs, rec.V)
	}
	return vs
}

// TestKeyedBroadcastProcess runs two subtasks that each see every rule and
// their share of the readings, checkpoints them, and restores them at
// parallelism 1 and 3: every new subtask has the full broadcast state,
// keyed state and timers follow their keys.
func TestKeyedBroadcastProcess(t *testing.T) {
	desc := NewMapStateDescriptor[string, int]("limits")
	rules := []threshold{{"a", 5}, {"b", 7}, {"c", 1}, {"c", -1}}
	var olds []*MemState
	var alerts []string
	for sub := range 2 {
		out := &outRecorder[string]{}
		op := newAlertOp(sub, 2, out, desc)
		if err := op.Open(op.Ctx); err != nil {
			t.Fatal(err)
		}
		feedBatch(t, op.Input2(), rules...)
		// Readings of subtask sub's keys (by key group, as a keyed
		// exchange would route them).
		for _, r := range []reading{{"a", 3}, {"a", 9}, {"b", 8}, {"c", 50}, {"d", 1}} {
			kg := testKeyGroupOf(t, r.Key)
			if snapshot.RangeFor(sub, testMaxParallelism, 2).Contains(kg) {
				feedBatch(t, op.Input1(), r)
			}
		}
		alerts = append(alerts, records(out)...)
		if want := []string{"rule a>5", "rule b>7", "rule c>1"}; !slices.Equal(records(out)[:3], want) {
			t.Fatalf("subtask %d emitted %v first, want %v", sub, records(out)[:3], want)
		}
		if got := maps.Collect(op.Fn.(*alertFn).limits.All()); !maps.Equal(got, map[string]int{"a": 5, "b": 7}) {
			t.Fatalf("subtask %d broadcast state %v", sub, got)
		}
		olds = append(olds, snapshotOf(t, op))
	}
	slices.Sort(alerts)
	if want := []string{"alert a=9", "alert b=8", "rule a>5", "rule a>5", "rule b>7", "rule b>7", "rule c>1", "rule c>1"}; !slices.Equal(alerts, want) {
		t.Fatalf("emitted %v, want %v", alerts, want)
	}
	if l0, l1 := olds[0].ops["broadcast/limits"], olds[1].ops["broadcast/limits"]; l0 == nil || len(l0.entries) != 2 || l1 != nil {
		t.Fatalf("broadcast state is written by subtask 0 only: subtask 0 %v, subtask 1 %v", l0, l1)
	}

	for _, newP := range []int{1, 2, 3} {
		var fired []string
		for sub := range newP {
			out := &outRecorder[string]{}
			op := newAlertOp(sub, newP, out, desc)
			if err := op.Open(op.Ctx); err != nil {
				t.Fatal(err)
			}
			if err := op.RestoreState(RescaledReader(olds, snapshot.RangeFor(sub, testMaxParallelism, newP), sub, newP)); err != nil {
				t.Fatal(err)
			}
			if got := maps.Collect(op.Fn.(*alertFn).limits.All()); !maps.Equal(got, map[string]int{"a": 5, "b": 7}) {
				t.Fatalf("p=%d subtask %d restored broadcast state %v", newP, sub, got)
			}
			if err := op.ProcessWatermark(200); err != nil {
				t.Fatal(err)
			}
			fired = append(fired, records(out)...)
		}
		slices.Sort(fired)
		want := []string{"count a=2 limit 5", "count b=1 limit 7", "count c=1 limit 0", "count d=1 limit 0"}
		if !slices.Equal(fired, want) {
			t.Fatalf("p=%d: timers fired %v, want %v", newP, fired, want)
		}
	}
}

// testKeyGroupOf returns the key group of a string key.
func testKeyGroupOf(t *testing.T, k string) int {
	h, err := KeyHasher[string]()
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.KeyGroupFor(h(k), testMaxParallelism)
}

func TestBroadcastStateIsReadOnlyOutsideProcessBroadcastElement(t *testing.T) {
	op := newAlertOp(0, 1, &outRecorder[string]{})
	if err := op.Open(op.Ctx); err != nil {
		t.Fatal(err)
	}
	feedBatch(t, op.Input2(), threshold{"a", 1})
	var b Batch[reading]
	b.Append(reading{"a", -1}, 0)
	err := op.Input1().ProcessBatch(&b)
	if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "broadcast state is written only while processing broadcast records") {
		t.Fatalf("write with a stale BroadcastContext: %v", err)
	}
}

// ruleFn is a non-keyed broadcast function: it forwards the records that
// a broadcast rule allows, and keeps the rules and an operator list.
type ruleFn struct {
	allowed *BroadcastState[int, bool]
	passed  *OperatorListState[int]
	// register tells which broadcast states to create in Open.
	register func(ctx *TaskContext) error
}

func (f *ruleFn) Open(ctx *TaskContext) (err error) {
	if f.register != nil {
		return f.register(ctx)
	}
	if f.allowed, err = NewBroadcastState[int, bool](ctx, "allowed"); err != nil {
		return err
	}
	f.passed, err = NewOperatorListState[int](ctx, "passed")
	return err
}

func (f *ruleFn) ProcessBroadcastElement(ctx *BroadcastContext, v int, _ Collector[int]) error {
	if ctx.Timestamp() != 10 || ctx.Task().Operator != "rules" {
		return fmt.Errorf("broadcast context: timestamp %d, operator %q", ctx.Timestamp(), ctx.Task().Operator)
	}
	f.allowed.Put(ctx, v, true)
	return nil
}

func (f *ruleFn) ProcessElement(_ *ProcessContext, v int, out Collector[int]) error {
	if f.allowed.Contains(v) {
		f.passed.Add(v)
		out.Collect(v)
	}
	return nil
}

func openRuleOp(t *testing.T, fn *ruleFn, subtask, parallelism int, declared ...BroadcastStateDescriptor) (*BroadcastProcess[int, int, int], *outRecorder[int], error) {
	t.Helper()
	out := &outRecorder[int]{}
	op := &BroadcastProcess[int, int, int]{Fn: fn, Out: out, States: declared}
	return op, out, op.Open(subtaskTask("rules", subtask, parallelism))
}

func TestBroadcastProcess(t *testing.T) {
	fn := &ruleFn{}
	op, out, err := openRuleOp(t, fn, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	feedBatch(t, op.Input1(), 1, 2, 3)
	feedBatch(t, op.Input2(), 2, 3)
	feedBatch(t, op.Input1(), 1, 2, 3, 4)
	if got := records(out); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("passed %v, want [2 3]", got)
	}
	// Watermarks: the minimum of both gates.
	if err := op.Input1().ProcessWatermark(50); err != nil {
		t.Fatal(err)
	}
	if err := op.Input2().ProcessWatermark(40); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.wms, []int64{40}) {
		t.Fatalf("watermarks %v, want [40]", out.wms)
	}
	m := snapshotOf(t, op)
	fn2 := &ruleFn{}
	op2, _, err := openRuleOp(t, fn2, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := op2.RestoreState(m.Reader(snapshot.RangeFor(0, testMaxParallelism, 1))); err != nil {
		t.Fatal(err)
	}
	if got := maps.Collect(fn2.allowed.All()); !maps.Equal(got, map[int]bool{2: true, 3: true}) || !slices.Equal(fn2.passed.Get(), []int{2, 3}) {
		t.Fatalf("restored %v and %v", got, fn2.passed.Get())
	}
}

// TestBroadcastStateDeclarations checks the declared broadcast states:
// only they may be created, with their types, and those the function
// does not create are created and checkpointed by the operator.
func TestBroadcastStateDeclarations(t *testing.T) {
	allowed := NewMapStateDescriptor[int, bool]("allowed")
	other := NewMapStateDescriptor[string, string]("other")
	for _, tc := range []struct {
		name     string
		declared []BroadcastStateDescriptor
		register func(ctx *TaskContext) error
		want     string
	}{
		{"undeclared", []BroadcastStateDescriptor{other}, nil, "not among the broadcast states declared"},
		{"other types", []BroadcastStateDescriptor{NewMapStateDescriptor[int, int]("allowed")}, nil, "is declared on the broadcast stream as BroadcastState[int, int]"},
		{"declared twice", []BroadcastStateDescriptor{allowed, NewMapStateDescriptor[int, int]("allowed")}, nil, "declared twice"},
		{"registered twice", nil, func(ctx *TaskContext) error {
			_, err1 := allowed.State(ctx)
			_, err2 := NewBroadcastState[int, bool](ctx, "allowed")
			return errors.Join(err1, err2)
		}, "already registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := openRuleOp(t, &ruleFn{register: tc.register}, 0, 1, tc.declared...)
			if !errors.Is(err, ErrOperatorStateMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrOperatorStateMismatch containing %q", err, tc.want)
			}
		})
	}

	// "other" is declared but the function does not create it: it is
	// still checkpointed (its index entry), and a restore into an
	// operator that does not declare it fails; one that does takes it.
	fn := &ruleFn{}
	op, _, err := openRuleOp(t, fn, 0, 1, allowed, other)
	if err != nil {
		t.Fatal(err)
	}
	feedBatch(t, op.Input2(), 5)
	m := snapshotOf(t, op)
	reader := func() StateReader { return m.Reader(snapshot.RangeFor(0, testMaxParallelism, 1)) }
	op2, _, err := openRuleOp(t, &ruleFn{}, 0, 1, allowed)
	if err != nil {
		t.Fatal(err)
	}
	if err := op2.RestoreState(reader()); !errors.Is(err, ErrOperatorStateMismatch) || !strings.Contains(err.Error(), `BroadcastState "other"`) {
		t.Fatalf("restore without the declared state: %v", err)
	}
	fn3 := &ruleFn{}
	op3, _, err := openRuleOp(t, fn3, 0, 1, other, allowed)
	if err != nil {
		t.Fatal(err)
	}
	if err := op3.RestoreState(reader()); err != nil {
		t.Fatal(err)
	}
	if !fn3.allowed.Contains(5) {
		t.Fatal("restored broadcast state lacks its entry")
	}
}

func TestBroadcastStateRestoreRejectsDuplicates(t *testing.T) {
	fn := &ruleFn{}
	op, _, err := openRuleOp(t, fn, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	feedBatch(t, op.Input2(), 5)
	m := snapshotOf(t, op)
	// Two old subtasks that both wrote a copy: a union restore sees the
	// key twice.
	op2, _, err := openRuleOp(t, &ruleFn{}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = op2.RestoreState(RescaledReader([]*MemState{m, m}, snapshot.RangeFor(0, testMaxParallelism, 1), 0, 1))
	if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), "restored twice") {
		t.Fatalf("restore of two copies: %v", err)
	}
}
