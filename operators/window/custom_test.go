package window

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

// flagTrigger fires and purges when a record with a negative value
// arrives: a custom trigger that reads the record.
type flagTrigger struct{ neverTrigger }

func (flagTrigger) OnElement(_ int64, _ Window, ctx TriggerContext) (TriggerResult, error) {
	r, ok := CurrentElement[rec](ctx)
	if !ok {
		return Continue, errors.New("no current element")
	}
	if _, ok := CurrentElement[string](ctx); ok {
		return Continue, errors.New("element of the wrong type")
	}
	if r.Val < 0 {
		return FireAndPurge, nil
	}
	return Continue, nil
}

// oddEvictor evicts records with odd values: a custom evictor that reads
// the records.
type oddEvictor struct{}

func (oddEvictor) EvictBefore(elems Elements, _ Window, _ EvictorContext) error {
	for i := range elems.Len() {
		if ValueAt[rec](elems, i).Val%2 != 0 {
			elems.Evict(i)
		}
	}
	return nil
}

func (oddEvictor) EvictAfter(Elements, Window, EvictorContext) error { return nil }

func keyed(a Assigner) Config[string, rec] {
	return Config[string, rec]{Key: operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}, Assigner: a}
}

func batchOf(recs ...rec) *operators.Batch[rec] {
	b := operators.NewBatch[rec](len(recs))
	for _, r := range recs {
		b.Append(r, 0)
	}
	return b
}

func TestCustomTriggerAndEvictor(t *testing.T) {
	var out []string
	cfg := keyed(GlobalWindows())
	cfg.Trigger = flagTrigger{}
	cfg.Evictor = oddEvictor{}
	op := NewProcess(cfg, ProcessFunc[string, rec, string](func(ctx *Context[string], rs []rec, o operators.Collector[string]) error {
		o.Collect(fmt.Sprintf("%s %v", ctx.Key(), rs))
		return nil
	}), operators.Input[string](lines[string]{&out, func(s string, _ int64) string { return s }}))
	if err := op.Open(&operators.TaskContext{Operator: "custom", Clock: &vclock{}}); err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessBatch(batchOf(rec{"a", 1}, rec{"a", 2}, rec{"b", 4}, rec{"a", 3}, rec{"a", -2}, rec{"a", 6}, rec{"b", -1})); err != nil {
		t.Fatal(err)
	}
	want := []string{"a [{a 2} {a -2}]", "b [{b 4}]"}
	if !slices.Equal(out, want) {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// lifecycle is a process function with Open and Close.
type lifecycle struct {
	opened, closed bool
	fail           error
}

func (l *lifecycle) Open(*operators.TaskContext) error { l.opened = true; return nil }
func (l *lifecycle) Close() error                      { l.closed = true; return nil }

func (l *lifecycle) Process(ctx *Context[string], rs []rec, o operators.Collector[string]) error {
	if l.fail != nil {
		return l.fail
	}
	// Side outputs reach the operator's SideOutputs with the window's
	// timestamp.
	sides, ts := ctx.SideOutputTarget()
	operators.Emit(sides, "extra", len(rs), ts)
	o.Collect(fmt.Sprintf("%s %v wm=%d now=%d", ctx.Key(), ctx.Window(), ctx.CurrentWatermark(), ctx.CurrentProcessingTime()))
	return nil
}

func TestProcessFunctionLifecycleAndContext(t *testing.T) {
	var out, extra []string
	fn := &lifecycle{}
	cfg := keyed(TumblingEventTime(10 * ms))
	cfg.SideOutputs = &operators.SideOutputs{}
	cfg.SideOutputs.Add("extra", operators.NewSideOutput[int](lines[int]{&extra, func(n int, ts int64) string { return fmt.Sprint(n, " at ", ts) }}))
	cfg.LateTag = "late-nobody-reads"
	op := NewProcess(cfg, fn, operators.Input[string](lines[string]{&out, func(s string, ts int64) string { return fmt.Sprint(s, " at ", ts) }}))
	if err := op.Open(&operators.TaskContext{Operator: "ctx", Clock: &vclock{now: 77}}); err != nil || !fn.opened {
		t.Fatal(err, fn.opened)
	}
	b := operators.NewBatch[rec](2)
	b.Append(rec{"a", 1}, 3)
	b.Append(rec{"a", 2}, 4)
	must(t, op.ProcessBatch(b))
	must(t, op.ProcessWatermark(12))
	b.Reset()
	b.Append(rec{"a", 3}, 5) // late, and nobody reads the late tag
	must(t, op.ProcessBatch(b))
	must(t, op.Close())
	if !fn.closed {
		t.Fatal("not closed")
	}
	if want := []string{"a [0,10) wm=12 now=77 at 9"}; !slices.Equal(out, want) {
		t.Fatalf("got %q, want %q", out, want)
	}
	if want := []string{"2 at 9"}; !slices.Equal(extra, want) {
		t.Fatalf("side output %q, want %q", extra, want)
	}
	if op.LateRecords() != 1 || op.DroppedLateRecords() != 1 || cfg.SideOutputs.Dropped != 1 {
		t.Fatalf("late %d dropped %d side outputs dropped %d", op.LateRecords(), op.DroppedLateRecords(), cfg.SideOutputs.Dropped)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// failing is an Input that fails like an operator further down the chain.
type failing struct{}

func (failing) ProcessBatch(*operators.Batch[rec]) error {
	return &operators.OperatorError{Operator: "sink", Subtask: 3, Err: errors.New("disk full")}
}
func (failing) ProcessWatermark(int64) error { return nil }

func TestErrorsNameTheOperator(t *testing.T) {
	ctx := &operators.TaskContext{Operator: "win", Subtask: 1, Clock: &vclock{}}
	fire := func(op harness) error {
		b := operators.NewBatch[rec](1)
		b.Append(rec{"a", 1}, 1)
		if err := op.ProcessBatch(b); err != nil {
			return err
		}
		return op.ProcessWatermark(100)
	}

	// An error from the window function.
	fn := &lifecycle{fail: errors.New("bad window")}
	op := NewProcess(keyed(TumblingEventTime(10*ms)), fn, operators.Input[string](operators.Discard[string]{}))
	must(t, op.Open(ctx))
	var oe *operators.OperatorError
	if err := fire(op); !errors.As(err, &oe) || oe.Operator != "win" || oe.Subtask != 1 || !strings.Contains(err.Error(), "bad window") {
		t.Fatalf("function error: %v", err)
	}

	// A panic in the reduce function.
	red := NewReduce(keyed(SlidingEventTime(10*ms, 5*ms)), func(a, b rec) rec { panic("overflow") }, operators.Input[rec](operators.Discard[rec]{}))
	must(t, red.Open(ctx))
	b := operators.NewBatch[rec](2)
	b.Append(rec{"a", 1}, 1)
	b.Append(rec{"a", 1}, 2)
	if err := red.ProcessBatch(b); !errors.Is(err, operators.ErrPanic) || !errors.As(err, &oe) || oe.Operator != "win" {
		t.Fatalf("panic: %v", err)
	}

	// An error from downstream keeps its attribution.
	down := NewReduce(keyed(TumblingEventTime(10*ms)), sum, operators.Input[rec](failing{}))
	must(t, down.Open(ctx))
	if err := fire(down); !errors.As(err, &oe) || oe.Operator != "sink" || oe.Subtask != 3 {
		t.Fatalf("downstream error: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	type nonMerging struct{ eventTimeTrigger }
	cases := []struct {
		cfg  Config[string, rec]
		want string
	}{
		{Config[string, rec]{}, "no key selector"},
		{Config[string, rec]{Key: keyed(nil).Key}, "no window assigner"},
		{Config[string, rec]{Key: keyed(nil).Key, Assigner: GlobalWindows(), Trigger: CountTrigger(0)}, "count trigger of 0 records"},
		{Config[string, rec]{Key: keyed(nil).Key, Assigner: GlobalWindows(), Trigger: PurgingTrigger(nil)}, "no trigger to wrap"},
		{Config[string, rec]{Key: keyed(nil).Key, Assigner: GlobalWindows(), Evictor: CountEvictor(-1)}, "count evictor of -1"},
		{Config[string, rec]{Key: keyed(nil).Key, Assigner: GlobalWindows(), Trigger: ContinuousEventTimeTrigger(0)}, "interval 0ms"},
		{Config[string, rec]{Key: keyed(nil).Key, Assigner: TumblingEventTime(ms), AllowedLateness: -ms}, "allowed lateness -1ms"},
		{Config[string, rec]{Key: keyed(nil).Key, Assigner: EventTimeSession(ms), Trigger: flagTrigger{}}, ""},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("unexpected %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func TestPanesNeedTheDefaultTriggerAndMerge(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*Config[string, rec])
		fn   string
		want bool
	}{
		{"reduce", func(*Config[string, rec]) {}, "sum", true},
		{"aggregate", func(*Config[string, rec]) {}, "count", true},
		{"process", func(*Config[string, rec]) {}, "list", false},
		{"explicit event trigger", func(c *Config[string, rec]) { c.Trigger = EventTimeTrigger() }, "sum", true},
		{"count trigger", func(c *Config[string, rec]) { c.Trigger = CountTrigger(2) }, "sum", false},
		{"evictor", func(c *Config[string, rec]) { c.Evictor = CountEvictor(2) }, "sum", false},
		{"disabled", func(c *Config[string, rec]) { c.DisablePanes = true }, "sum", false},
		{"tumbling", func(c *Config[string, rec]) { c.Assigner = TumblingEventTime(10 * ms) }, "sum", false},
		{"processing time", func(c *Config[string, rec]) { c.Assigner = SlidingProcessingTime(10*ms, 5*ms) }, "sum", false},
	}
	for _, c := range cases {
		sc := newScenario()
		sc.cfg.Assigner = SlidingEventTime(10*ms, 5*ms)
		c.cfg(&sc.cfg)
		sc.fn = c.fn
		must(t, sc.build())
		if sc.op.UsesPanes() != c.want {
			t.Errorf("%s: uses panes %v, want %v", c.name, sc.op.UsesPanes(), c.want)
		}
	}
}
