package stream

// These tests are in package stream, not stream_test, so that they can add
// a tiny watermark operator with addVertex.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
)

// timedValue is a record with its event timestamp.
type timedValue[T any] struct {
	V  T
	TS int64
}

// sliceSource emits every Parallelism-th record of all, starting at its
// subtask index, in order, with their timestamps, a few per poll.
type sliceSource[T any] struct {
	all        []timedValue[T]
	next, step int
}

func (s *sliceSource[T]) Open(ctx *operators.TaskContext) error {
	s.next, s.step = ctx.Subtask, ctx.Parallelism
	return nil
}

func (s *sliceSource[T]) Poll(b *operators.Batch[T], limit int) (operators.PollResult, error) {
	for n := 0; n < min(limit, 16) && s.next < len(s.all); n++ {
		b.Append(s.all[s.next].V, s.all[s.next].TS)
		s.next += s.step
	}
	return operators.PollResult{Done: s.next >= len(s.all)}, nil
}

func (s *sliceSource[T]) Close() error { return nil }

func fromTimed[T any](env *Environment, name string, recs []timedValue[T]) *DataStream[T] {
	return FromSource(env, name, func() operators.Source[T] { return &sliceSource[T]{all: recs} }, true)
}

// lagWatermarks passes records on and, after each batch, the watermark
// max(timestamp)-lag-1, so that records out of order by up to lag are
// never late.
type lagWatermarks[T any] struct {
	operators.Base
	out        operators.Input[T]
	lag, maxTs int64
	wm         int64
}

func (w *lagWatermarks[T]) ProcessBatch(b *operators.Batch[T]) error {
	if b.Len() == 0 {
		return nil
	}
	for _, ts := range b.Times {
		w.maxTs = max(w.maxTs, ts)
	}
	if err := w.out.ProcessBatch(b); err != nil {
		return err
	}
	return w.ProcessWatermark(w.maxTs - w.lag - 1)
}

func (w *lagWatermarks[T]) ProcessWatermark(wm int64) error {
	if wm <= w.wm {
		return nil
	}
	w.wm = wm
	return w.out.ProcessWatermark(wm)
}

// withLagWatermarks gives s watermarks that lag its timestamps by lag.
func withLagWatermarks[T any](s *DataStream[T], name string, lag int64) *DataStream[T] {
	return addVertex[T](s.env, simple[T, T](name, func(o operators.Input[T]) operators.OneInputOperator[T] {
		return &lagWatermarks[T]{out: o, lag: lag, maxTs: operators.NoTimestamp, wm: operators.NoTimestamp}
	}), s.input())
}

// stampedSink collects records with their timestamps from any subtask.
type stampedSink[T any] struct {
	mu  sync.Mutex
	got []timedValue[T]
	// onWrite, when set, is called with each record.
	onWrite func(T)
}

func (c *stampedSink[T]) newSink() operators.Sink[T] { return stampedSubtask[T]{c} }

func (c *stampedSink[T]) values() []timedValue[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

type stampedSubtask[T any] struct{ c *stampedSink[T] }

func (s stampedSubtask[T]) Open(*operators.TaskContext) error { return nil }
func (s stampedSubtask[T]) Finish() error                     { return nil }
func (s stampedSubtask[T]) Close() error                      { return nil }

func (s stampedSubtask[T]) Write(b *operators.Batch[T]) error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	for i, v := range b.Values {
		s.c.got = append(s.c.got, timedValue[T]{v, b.Times[i]})
		if s.c.onWrite != nil {
			s.c.onWrite(v)
		}
	}
	return nil
}

func testEnv(p int) *Environment {
	return NewEnvironment(WithParallelism(p), WithLogger(DiscardLogger()), WithBufferTimeout(time.Millisecond))
}

func execute(t *testing.T, env *Environment) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
}

// sorted sorts records by timestamp, then by their printed value.
func sorted[T any](s []timedValue[T]) []timedValue[T] {
	s = slices.Clone(s)
	slices.SortStableFunc(s, func(a, b timedValue[T]) int {
		return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(fmt.Sprint(a.V), fmt.Sprint(b.V)))
	})
	return s
}

// event is the record of the end-to-end tests.
type event struct {
	ID, Key, Val int64
}

// lag is how far the test inputs are out of order.
const lag = 40

// events returns n events of the given keys, out of order by up to lag.
func events(n, keys int, seed int64) []timedValue[event] {
	out := make([]timedValue[event], n)
	x := uint64(seed)*2654435761 + 1
	rnd := func(k int) int64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int64(x % uint64(k))
	}
	for i := range out {
		out[i] = timedValue[event]{event{ID: seed*1_000_000 + int64(i), Key: rnd(keys), Val: rnd(100)}, int64(i)*5 + rnd(lag)}
	}
	return out
}

// windowEnd is the last millisecond of the 100 ms window of ts.
func windowEnd(ts int64) int64 { return ts/100*100 + 99 }

// windowSum sums the values of each key per 100 ms window of event time
// and emits each sum when its window's timer fires; it sends the ids of
// values divisible by 7 to a side output.
type windowSum struct {
	sums  map[operators.Timer[int64]]int64
	seven OutputTag[int64]
	// early counts the timers fired before the end of event time.
	early *atomic.Int64
}

func (f *windowSum) ProcessElement(ctx *KeyedContext[int64], e event, _ Collector[string]) error {
	end := windowEnd(ctx.Timestamp())
	f.sums[operators.Timer[int64]{Key: ctx.Key(), Time: end}] += e.Val
	ctx.TimerService().RegisterEventTimeTimer(end)
	if e.Val%7 == 0 {
		Output(ctx, f.seven, e.ID)
	}
	return nil
}

func (f *windowSum) OnTimer(ctx *OnTimerContext[int64], ts int64, out Collector[string]) error {
	tm := operators.Timer[int64]{Key: ctx.Key(), Time: ts}
	if ctx.CurrentWatermark() < ts {
		return fmt.Errorf("timer %d fired at watermark %d", ts, ctx.CurrentWatermark())
	}
	if ctx.CurrentWatermark() != operators.MaxWatermark {
		f.early.Add(1)
	}
	out.Collect(fmt.Sprintf("key %d window %d sum %d", ctx.Key(), ts, f.sums[tm]))
	delete(f.sums, tm)
	return nil
}

func TestKeyedProcessTimersEndToEnd(t *testing.T) {
	input := events(3000, 13, 1)
	var wantSums []timedValue[string]
	sums := map[operators.Timer[int64]]int64{}
	var wantSevens []timedValue[int64]
	for _, e := range input {
		sums[operators.Timer[int64]{Key: e.V.Key, Time: windowEnd(e.TS)}] += e.V.Val
		if e.V.Val%7 == 0 {
			wantSevens = append(wantSevens, timedValue[int64]{e.V.ID, e.TS})
		}
	}
	for tm, s := range sums {
		wantSums = append(wantSums, timedValue[string]{fmt.Sprintf("key %d window %d sum %d", tm.Key, tm.Time, s), tm.Time})
	}
	seven := NewOutputTag[int64]("sevens")
	var results [][]timedValue[string]
	for _, p := range []int{1, 2} {
		env := testEnv(p)
		var out stampedSink[string]
		var side stampedSink[int64]
		var early atomic.Int64
		src := withLagWatermarks(fromTimed(env, "events", input), "watermarks", lag)
		keyed := KeyBy(src, func(e event) int64 { return e.Key })
		summed := KeyedProcess(keyed, "window-sum", func() KeyedProcessFunction[int64, event, string] {
			return &windowSum{sums: map[operators.Timer[int64]]int64{}, seven: seven, early: &early}
		})
		SinkTo(summed, "sums", out.newSink).SetParallelism(1)
		SinkTo(SideOutput(summed, seven), "sevens", side.newSink).SetParallelism(1)
		execute(t, env)
		got := sorted(out.values())
		if !slices.Equal(got, sorted(wantSums)) {
			t.Fatalf("p=%d: %d sums, want %d; first %v", p, len(got), len(wantSums), got[:min(3, len(got))])
		}
		if gotSide := sorted(side.values()); !slices.Equal(gotSide, sorted(wantSevens)) {
			t.Fatalf("p=%d: side output has %d records, want %d", p, len(gotSide), len(wantSevens))
		}
		if early.Load() == 0 {
			t.Fatalf("p=%d: no timer fired before the end of input", p)
		}
		results = append(results, got)
	}
	if !slices.Equal(results[0], results[1]) {
		t.Fatal("parallelism 1 and 2 disagree")
	}
}

// firstSeenTimer registers, on the first record of each key, a
// processing-time timer a few milliseconds ahead, and emits the key when
// it fires.
type firstSeenTimer struct{ seen map[int64]bool }

func (f *firstSeenTimer) ProcessElement(ctx *KeyedContext[int64], e event, _ Collector[int64]) error {
	if !f.seen[ctx.Key()] {
		f.seen[ctx.Key()] = true
		ts := ctx.TimerService()
		ts.RegisterProcessingTimeTimer(ts.CurrentProcessingTime() + 3)
	}
	return nil
}

func (f *firstSeenTimer) OnTimer(ctx *OnTimerContext[int64], _ int64, out Collector[int64]) error {
	if ctx.TimeDomain() != operators.ProcessingTime {
		return errors.New("event-time timer fired")
	}
	out.Collect(ctx.Key())
	return nil
}

// waitingSource emits its records and then stays open until done says so,
// so that processing time can pass before the input ends.
type waitingSource struct {
	sliceSource[event]
	done     func() bool
	deadline time.Time
}

func (s *waitingSource) Poll(b *operators.Batch[event], limit int) (operators.PollResult, error) {
	if _, err := s.sliceSource.Poll(b, limit); err != nil || b.Len() > 0 {
		return operators.PollResult{}, err
	}
	if s.done() {
		return operators.PollResult{Done: true}, nil
	}
	if time.Now().After(s.deadline) {
		return operators.PollResult{}, errors.New("processing-time timers did not fire")
	}
	return operators.PollResult{Wait: 2 * time.Millisecond}, nil
}

func TestKeyedProcessProcessingTimeEndToEnd(t *testing.T) {
	const keys = 10
	input := events(200, keys, 2)
	for _, p := range []int{1, 2} {
		env := testEnv(p)
		var fired atomic.Int64
		out := stampedSink[int64]{onWrite: func(int64) { fired.Add(1) }}
		src := FromSource(env, "events", func() operators.Source[event] {
			return &waitingSource{sliceSource: sliceSource[event]{all: input}, done: func() bool { return fired.Load() >= keys }, deadline: time.Now().Add(20 * time.Second)}
		}, true)
		timed := KeyedProcess(KeyBy(src, func(e event) int64 { return e.Key }), "first-seen", func() KeyedProcessFunction[int64, event, int64] {
			return &firstSeenTimer{seen: map[int64]bool{}}
		})
		SinkTo(timed, "keys", out.newSink).SetParallelism(1)
		execute(t, env)
		got := out.values()
		slices.SortFunc(got, func(a, b timedValue[int64]) int { return cmp.Compare(a.V, b.V) })
		if len(got) != keys {
			t.Fatalf("p=%d: %d timers fired, want %d", p, len(got), keys)
		}
		for i, g := range got {
			if g.V != int64(i) || g.TS != operators.NoTimestamp {
				t.Fatalf("p=%d: got %v", p, got)
			}
		}
	}
}

func TestProcessStreamWithSideOutput(t *testing.T) {
	input := events(1000, 5, 3)
	odd := NewOutputTag[event]("odd")
	for _, p := range []int{1, 2} {
		env := testEnv(p)
		var even stampedSink[string]
		var odds stampedSink[event]
		src := withLagWatermarks(fromTimed(env, "events", input), "watermarks", lag)
		split := ProcessStream(src, "split", func() ProcessFunction[event, string] {
			return ProcessStreamFunc[event, string](func(ctx *ProcessContext, e event, out Collector[string]) error {
				if ctx.Timestamp() <= ctx.CurrentWatermark() {
					return fmt.Errorf("record at %d behind watermark %d", ctx.Timestamp(), ctx.CurrentWatermark())
				}
				if e.Val%2 == 1 {
					Output(ctx, odd, e)
					return nil
				}
				out.Collect(fmt.Sprint(e.ID))
				return nil
			})
		})
		SinkTo(split, "even", even.newSink)
		SinkTo(SideOutput(split, odd), "odd", odds.newSink)
		execute(t, env)
		var wantEven []timedValue[string]
		var wantOdd []timedValue[event]
		for _, e := range input {
			if e.V.Val%2 == 1 {
				wantOdd = append(wantOdd, e)
			} else {
				wantEven = append(wantEven, timedValue[string]{fmt.Sprint(e.V.ID), e.TS})
			}
		}
		if !slices.Equal(sorted(even.values()), sorted(wantEven)) || !slices.Equal(sorted(odds.values()), sorted(wantOdd)) {
			t.Fatalf("p=%d: %d even, %d odd; want %d, %d", p, len(even.values()), len(odds.values()), len(wantEven), len(wantOdd))
		}
	}
}

func TestConnectCoMapAndCoFlatMap(t *testing.T) {
	nums := events(500, 3, 4)
	words := make([]timedValue[string], 300)
	for i := range words {
		words[i] = timedValue[string]{fmt.Sprint("w", i), int64(i)}
	}
	for _, p := range []int{1, 2} {
		env := testEnv(p)
		var mapped, flat stampedSink[string]
		a, b := fromTimed(env, "nums", nums), fromTimed(env, "words", words)
		cs := Connect(a, b)
		SinkTo(CoMap(cs, "co-map", func(e event) string { return fmt.Sprint("n", e.ID) }, func(w string) string { return w }), "mapped", mapped.newSink)
		SinkTo(CoFlatMap(cs, "co-flat-map",
			func(e event, out Collector[string]) error {
				if e.Val < 50 {
					out.Collect(fmt.Sprint("n", e.ID))
				}
				return nil
			},
			func(w string, out Collector[string]) error { out.Collect(w); out.Collect(w + "!"); return nil }), "flat", flat.newSink)
		execute(t, env)
		var wantMapped, wantFlat []timedValue[string]
		for _, e := range nums {
			v := timedValue[string]{fmt.Sprint("n", e.V.ID), e.TS}
			wantMapped = append(wantMapped, v)
			if e.V.Val < 50 {
				wantFlat = append(wantFlat, v)
			}
		}
		for _, w := range words {
			wantMapped = append(wantMapped, w)
			wantFlat = append(wantFlat, w, timedValue[string]{w.V + "!", w.TS})
		}
		if !slices.Equal(sorted(mapped.values()), sorted(wantMapped)) {
			t.Fatalf("p=%d: co-map emitted %d records, want %d", p, len(mapped.values()), len(wantMapped))
		}
		if !slices.Equal(sorted(flat.values()), sorted(wantFlat)) {
			t.Fatalf("p=%d: co-flat-map emitted %d records, want %d", p, len(flat.values()), len(wantFlat))
		}
	}
}

// sumAndCount sums the values of input 1 and counts the records of input
// 2 per key and 100 ms window, and emits both when the window's timer,
// shared by the two inputs, fires.
type sumAndCount struct {
	sum, count map[operators.Timer[int64]]int64
}

func (f *sumAndCount) ProcessElement1(ctx *KeyedContext[int64], e event, _ Collector[string]) error {
	end := windowEnd(ctx.Timestamp())
	f.sum[operators.Timer[int64]{Key: ctx.Key(), Time: end}] += e.Val
	ctx.TimerService().RegisterEventTimeTimer(end)
	return nil
}

func (f *sumAndCount) ProcessElement2(ctx *KeyedContext[int64], _ event, _ Collector[string]) error {
	end := windowEnd(ctx.Timestamp())
	f.count[operators.Timer[int64]{Key: ctx.Key(), Time: end}]++
	ctx.TimerService().RegisterEventTimeTimer(end)
	return nil
}

func (f *sumAndCount) OnTimer(ctx *OnTimerContext[int64], ts int64, out Collector[string]) error {
	tm := operators.Timer[int64]{Key: ctx.Key(), Time: ts}
	out.Collect(fmt.Sprintf("key %d window %d sum %d count %d", tm.Key, ts, f.sum[tm], f.count[tm]))
	delete(f.sum, tm)
	delete(f.count, tm)
	return nil
}

func TestKeyedCoProcessEndToEnd(t *testing.T) {
	left, right := events(2000, 11, 5), events(1500, 11, 6)
	sum, count := map[operators.Timer[int64]]int64{}, map[operators.Timer[int64]]int64{}
	for _, e := range left {
		sum[operators.Timer[int64]{Key: e.V.Key, Time: windowEnd(e.TS)}] += e.V.Val
	}
	for _, e := range right {
		tm := operators.Timer[int64]{Key: e.V.Key, Time: windowEnd(e.TS)}
		count[tm]++
		sum[tm] += 0
	}
	var want []timedValue[string]
	for tm, s := range sum {
		want = append(want, timedValue[string]{fmt.Sprintf("key %d window %d sum %d count %d", tm.Key, tm.Time, s, count[tm]), tm.Time})
	}
	want = sorted(want)
	for _, p := range []int{1, 2} {
		env := testEnv(p)
		var out stampedSink[string]
		a := withLagWatermarks(fromTimed(env, "left", left), "left-watermarks", lag)
		b := withLagWatermarks(fromTimed(env, "right", right), "right-watermarks", lag)
		byKey := func(e event) int64 { return e.Key }
		joined := KeyedCoProcess(ConnectKeyed(KeyBy(a, byKey), KeyBy(b, byKey)), "sum-and-count", func() KeyedCoProcessFunction[int64, event, event, string] {
			return &sumAndCount{sum: map[operators.Timer[int64]]int64{}, count: map[operators.Timer[int64]]int64{}}
		})
		SinkTo(joined, "out", out.newSink).SetParallelism(1)
		execute(t, env)
		if got := sorted(out.values()); !slices.Equal(got, want) {
			t.Fatalf("p=%d: %d results, want %d", p, len(got), len(want))
		}
	}
}
