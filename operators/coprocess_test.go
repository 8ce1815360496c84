package operators

import (
	"fmt"
	"slices"
	"testing"
)

func TestCoProcessTwoGates(t *testing.T) {
	out := &outRecorder[string]{}
	fn := CoFlatMapFuncs[int, string, string]{
		Fn1: func(v int, o Collector[string]) error { o.Collect(fmt.Sprint("int ", v)); return nil },
		Fn2: func(v string, o Collector[string]) error {
			o.Collect("str " + v)
			o.Collect("str " + v + "!")
			return nil
		},
	}
	op := &CoProcess[int, string, string]{Fn: fn, Out: out}
	var _ TwoInputOperator[int, string] = op
	if err := op.Open(opTask("co", &virtualMillis{})); err != nil {
		t.Fatal(err)
	}
	in1, in2 := op.Input1(), op.Input2()
	steps := []func() error{
		func() error { return in1.ProcessBatch(&Batch[int]{Values: []int{1}, Times: []int64{5}}) },
		func() error { return in2.ProcessBatch(&Batch[string]{Values: []string{"a"}, Times: []int64{6}}) },
		// Gate watermarks combine to their minimum; what does not advance
		// it goes nowhere.
		func() error { return in1.ProcessWatermark(10) },
		func() error { return in2.ProcessWatermark(7) },
		func() error { return in2.ProcessWatermark(12) },
		func() error { return in1.ProcessWatermark(9) },
		func() error { return op.ProcessWatermark(10) },
		func() error { return op.ProcessWatermark(11) },
		func() error { return in1.ProcessBatch(&Batch[int]{Values: []int{2}, Times: []int64{20}}) },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []tsRecord[string]{{"int 1", 5}, {"str a", 6}, {"str a!", 6}, {"int 2", 20}}
	if !slices.Equal(out.records, want) {
		t.Fatalf("got %v", out.records)
	}
	if !slices.Equal(out.wms, []int64{7, 10, 11}) {
		t.Fatalf("watermarks %v, want [7 10 11]", out.wms)
	}
}

// enrichFn keeps the latest name per key from input 2, emits each value of
// input 1 with the key's name, and counts the values of every 100 ms window
// of event time, emitting the count when the window's timer fires.
type enrichFn struct {
	names  map[string]string
	counts map[Timer[string]]int
}

func (f *enrichFn) ProcessElement1(ctx *KeyedContext[string], v keyedVal, out Collector[string]) error {
	out.Collect(fmt.Sprintf("%s(%s)=%d", ctx.Key(), f.names[ctx.Key()], v.v))
	end := ctx.Timestamp()/100*100 + 99
	f.counts[Timer[string]{ctx.Key(), end}]++
	ctx.TimerService().RegisterEventTimeTimer(end)
	return nil
}

func (f *enrichFn) ProcessElement2(ctx *KeyedContext[string], n keyedName, _ Collector[string]) error {
	f.names[ctx.Key()] = n.name
	return nil
}

func (f *enrichFn) OnTimer(ctx *OnTimerContext[string], ts int64, out Collector[string]) error {
	tm := Timer[string]{ctx.Key(), ts}
	out.Collect(fmt.Sprintf("%s count %d", ctx.Key(), f.counts[tm]))
	delete(f.counts, tm)
	return nil
}

type keyedVal struct {
	key string
	v   int
}

type keyedName struct {
	key, name string
}

func TestKeyedCoProcessSharesKeyedTimers(t *testing.T) {
	out := &outRecorder[string]{}
	op := &KeyedCoProcess[string, keyedVal, keyedName, string]{
		Key1: Key[string, keyedVal]{Selector: func(k keyedVal) string { return k.key }},
		Key2: Key[string, keyedName]{Selector: func(n keyedName) string { return n.key }},
		Fn:   &enrichFn{names: map[string]string{}, counts: map[Timer[string]]int{}},
		Out:  out,
	}
	var _ ProcessingTimer = op
	if err := op.Open(opTask("enrich", &virtualMillis{})); err != nil {
		t.Fatal(err)
	}
	in1, in2 := op.Input1(), op.Input2()
	steps := []func() error{
		func() error {
			return in2.ProcessBatch(&Batch[keyedName]{Values: []keyedName{{"a", "ann"}}, Times: []int64{1}})
		},
		func() error {
			return in1.ProcessBatch(&Batch[keyedVal]{Values: []keyedVal{{"a", 1}, {"b", 2}, {"a", 3}}, Times: []int64{10, 20, 150}})
		},
		func() error {
			return in2.ProcessBatch(&Batch[keyedName]{Values: []keyedName{{"b", "bob"}}, Times: []int64{30}})
		},
		func() error {
			return in1.ProcessBatch(&Batch[keyedVal]{Values: []keyedVal{{"b", 4}}, Times: []int64{40}})
		},
		func() error { return in1.ProcessWatermark(99) }, // gate 1 holds event time back
		func() error { return in2.ProcessWatermark(120) },
		func() error { return op.ProcessWatermark(MaxWatermark) },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []tsRecord[string]{
		{"a(ann)=1", 10}, {"b()=2", 20}, {"a(ann)=3", 150}, {"b(bob)=4", 40},
		{"a count 1", 99}, {"b count 2", 99}, // fired at watermark 99
		{"a count 1", 199},
	}
	if !slices.Equal(out.records, want) {
		t.Fatalf("got  %v\nwant %v", out.records, want)
	}
	if !slices.Equal(out.wms, []int64{99, MaxWatermark}) {
		t.Fatalf("watermarks %v", out.wms)
	}
	if !slices.Equal(out.wmAt[4:], []int{0, 0, 1}) {
		t.Fatalf("timer output not ahead of its watermark: %v", out.wmAt)
	}
	if e, p := op.PendingTimers(); e != 0 || p != 0 {
		t.Fatalf("timers left: %d %d", e, p)
	}
}

// coTimers registers a processing-time timer from either input and emits
// the key and time domain when it fires.
type coTimers struct{}

func (coTimers) ProcessElement1(ctx *KeyedContext[int], v int, _ Collector[string]) error {
	ctx.TimerService().RegisterProcessingTimeTimer(ctx.TimerService().CurrentProcessingTime() + int64(v))
	return nil
}

func (coTimers) ProcessElement2(ctx *KeyedContext[int], v string, _ Collector[string]) error {
	ctx.TimerService().RegisterProcessingTimeTimer(int64(len(v)))
	ctx.TimerService().DeleteProcessingTimeTimer(int64(len(v)))
	Output(ctx, "seen", v)
	return nil
}

func (coTimers) OnTimer(ctx *OnTimerContext[int], ts int64, out Collector[string]) error {
	out.Collect(fmt.Sprintf("%d %v %d", ctx.Key(), ctx.TimeDomain(), ts))
	return nil
}

func TestKeyedCoProcessProcessingTimers(t *testing.T) {
	clock := &virtualMillis{now: 1000}
	out, seen := &outRecorder[string]{}, &outRecorder[string]{}
	sides := &SideOutputs{}
	sides.Add("seen", NewSideOutput[string](seen))
	op := &KeyedCoProcess[int, int, string, string]{
		Key1: Key[int, int]{Selector: func(v int) int { return v % 2 }},
		Key2: Key[int, string]{Selector: func(s string) int { return len(s) }},
		Fn:   coTimers{}, Out: out, Sides: sides,
	}
	if err := op.Open(opTask("co-timers", clock)); err != nil {
		t.Fatal(err)
	}
	if err := op.Input1().ProcessBatch(&Batch[int]{Values: []int{5, 10}, Times: []int64{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := op.Input2().ProcessBatch(&Batch[string]{Values: []string{"abc"}, Times: []int64{3}}); err != nil {
		t.Fatal(err)
	}
	if next := op.NextProcessingTime(); next != 1005 {
		t.Fatalf("next processing time %d, want 1005", next)
	}
	clock.now = 1010
	if err := op.OnProcessingTime(clock.now); err != nil {
		t.Fatal(err)
	}
	want := []tsRecord[string]{{"1 processing-time 1005", NoTimestamp}, {"0 processing-time 1010", NoTimestamp}}
	if !slices.Equal(out.records, want) || !slices.Equal(seen.records, []tsRecord[string]{{"abc", 3}}) {
		t.Fatalf("out %v side %v", out.records, seen.records)
	}
	if e, p := op.PendingTimers(); e != 0 || p != 0 || op.NextProcessingTime() != MaxWatermark {
		t.Fatalf("timers left %d %d", e, p)
	}
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
}
