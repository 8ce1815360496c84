package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
)

// The window tests run whole jobs: a source of winSource records, a
// test-only operator that emits watermarks lagging the largest timestamp
// seen by a bound, a window operator and a sink that keeps records with
// their timestamps.

type winRec struct {
	Key string
	V   int64
}

// winTsSource emits records with their timestamps; subtask i of n emits
// records i, i+n, ..., batch records per poll.
type winTsSource[T any] struct {
	vals  []T
	times []int64
	batch int
	i     int
	step  int
}

func (s *winTsSource[T]) Open(ctx *operators.TaskContext) error {
	s.i, s.step = ctx.Subtask, ctx.Parallelism
	return nil
}

func (s *winTsSource[T]) Poll(b *operators.Batch[T], max int) (operators.PollResult, error) {
	for n := 0; n < min(max, s.batch) && s.i < len(s.vals); n++ {
		b.Append(s.vals[s.i], s.times[s.i])
		s.i += s.step
	}
	return operators.PollResult{Done: s.i >= len(s.vals)}, nil
}

func (s *winTsSource[T]) Close() error { return nil }

// winWatermarks passes records on and, after each batch, the
// watermark max timestamp - bound when it advanced.
type winWatermarks[T any] struct {
	operators.Base
	out     operators.Input[T]
	bound   int64
	maxTs   int64
	emitted int64
}

func (w *winWatermarks[T]) ProcessBatch(b *operators.Batch[T]) error {
	for _, ts := range b.Times {
		w.maxTs = max(w.maxTs, ts)
	}
	if err := w.out.ProcessBatch(b); err != nil {
		return err
	}
	if wm := w.maxTs - w.bound; wm > w.emitted {
		w.emitted = wm
		return w.out.ProcessWatermark(wm)
	}
	return nil
}

func (w *winWatermarks[T]) ProcessWatermark(wm int64) error {
	if wm > w.emitted {
		w.emitted = wm
		return w.out.ProcessWatermark(wm)
	}
	return nil
}

// winSource adds a source of vals with times and the watermark operator.
func winSource[T any](env *Environment, vals []T, times []int64, batch int, bound int64) *DataStream[T] {
	src := FromSource(env, "source", func() operators.Source[T] {
		return &winTsSource[T]{vals: vals, times: times, batch: batch}
	}, true)
	return addVertex[T](env, simple[T, T]("watermarks", func(o operators.Input[T]) operators.OneInputOperator[T] {
		return &winWatermarks[T]{out: o, bound: bound, emitted: operators.NoTimestamp}
	}), src.input())
}

// winCollector collects records as "value at ts".
type winCollector[T any] struct {
	mu  sync.Mutex
	out []string
}

func (c *winCollector[T]) Sink() operators.Sink[T] { return (*winSinkSubtask[T])(c) }

func (c *winCollector[T]) Sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.out)
	slices.Sort(out)
	return out
}

type winSinkSubtask[T any] winCollector[T]

func (s *winSinkSubtask[T]) Open(*operators.TaskContext) error { return nil }
func (s *winSinkSubtask[T]) Finish() error                     { return nil }
func (s *winSinkSubtask[T]) Close() error                      { return nil }

func (s *winSinkSubtask[T]) Write(b *operators.Batch[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range b.Values {
		s.out = append(s.out, fmt.Sprintf("%v at %d", v, b.Times[i]))
	}
	return nil
}

func winEnv(p int, opts ...Option) *Environment {
	return NewEnvironment(append([]Option{WithParallelism(p), WithLogger(DiscardLogger())}, opts...)...)
}

func runWindowJob(t *testing.T, env *Environment) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
}

// winEvents returns n records over keys keys with timestamps rising by
// about 3ms per record and up to disorder ms out of order.
func winEvents(seed uint64, n, keys int, disorder int64) ([]winRec, []int64) {
	r := rand.New(rand.NewPCG(seed, seed))
	vals, times := make([]winRec, n), make([]int64, n)
	for i := range n {
		vals[i] = winRec{Key: fmt.Sprint("k", r.IntN(keys)), V: int64(r.IntN(100))}
		times[i] = int64(i)*3 - r.Int64N(disorder+1)
	}
	return vals, times
}

// winDescribe formats one window result.
func winDescribe[R any](ctx *window.Context[string], rs []R, out Collector[string]) error {
	out.Collect(fmt.Sprintf("%s %v %v", ctx.Key(), ctx.Window(), rs[0]))
	return nil
}

func winSum(a, b winRec) winRec { return winRec{Key: a.Key, V: a.V + b.V} }

// winExpect computes what aligned windows of size and slide emit
// when no record is late: each window once, with all its records.
func winExpect(vals []winRec, times []int64, size, slide int64) []string {
	type wk struct {
		key   string
		start int64
	}
	sums := map[wk]int64{}
	for i, v := range vals {
		for start := times[i] - times[i]%slide + slide; start > times[i]-size-slide; start -= slide {
			if start <= times[i] && times[i] < start+size {
				sums[wk{v.Key, start}] += v.V
			}
		}
	}
	var out []string
	for k, s := range sums {
		out = append(out, fmt.Sprintf("%s [%d,%d) {%s %d} at %d", k.key, k.start, k.start+size, k.key, s, k.start+size-1))
	}
	slices.Sort(out)
	return out
}

func TestWindowsAtParallelismOneAndTwo(t *testing.T) {
	vals, times := winEvents(7, 3000, 13, 40)
	cases := []struct {
		name        string
		assigner    window.Assigner
		size, slide int64
	}{
		{"tumbling", window.TumblingEventTime(100 * time.Millisecond), 100, 100},
		{"sliding", window.SlidingEventTime(100*time.Millisecond, 20*time.Millisecond), 100, 20},
	}
	for _, c := range cases {
		want := winExpect(vals, times, c.size, c.slide)
		var results [][]string
		for _, p := range []int{1, 2} {
			env := winEnv(p)
			keyed := KeyBy(winSource(env, vals, times, 5, 41), func(e winRec) string { return e.Key })
			res := WindowReduceProcess(Window(keyed, c.assigner), "sums", winSum, window.ProcessFunc[string, winRec, string](winDescribe[winRec]))
			var got winCollector[string]
			SinkTo(res, "collect", got.Sink)
			runWindowJob(t, env)
			results = append(results, got.Sorted())
		}
		if !slices.Equal(results[0], want) {
			t.Fatalf("%s: %d results at p=1, want %d; winFirst %q, want %q", c.name, len(results[0]), len(want), winFirst(results[0]), winFirst(want))
		}
		if !slices.Equal(results[0], results[1]) {
			t.Fatalf("%s: results differ at parallelism 1 and 2", c.name)
		}
	}
}

func winFirst(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// winCount counts records.
var winCount = window.Aggregate[winRec, int64, int64]{
	Create:     func() int64 { return 0 },
	Accumulate: func(_ winRec, n int64) int64 { return n + 1 },
	Result:     func(n int64) int64 { return n },
	Combine:    func(a, b int64) int64 { return a + b },
}

func TestSessionsAndAggregatesAtParallelismOneAndTwo(t *testing.T) {
	vals, times := winEvents(11, 2000, 9, 30)
	// Make gaps: drop the records of every fifth 200ms stretch.
	var sv []winRec
	var st []int64
	for i, ts := range times {
		if (ts/200)%5 != 0 {
			sv, st = append(sv, vals[i]), append(st, ts)
		}
	}
	var results [][]string
	for _, p := range []int{1, 2} {
		env := winEnv(p)
		keyed := KeyBy(winSource(env, sv, st, 7, 31), func(e winRec) string { return e.Key })
		sessions := WindowProcess(Window(keyed, window.EventTimeSession(50*time.Millisecond)), "sessions",
			window.ProcessFunc[string, winRec, string](func(ctx *window.Context[string], es []winRec, out Collector[string]) error {
				var sum int64
				for _, e := range es {
					sum += e.V
				}
				out.Collect(fmt.Sprintf("session %s %v n=%d sum=%d", ctx.Key(), ctx.Window(), len(es), sum))
				return nil
			}))
		counts := WindowAggregate(Window(keyed, window.SlidingEventTime(time.Second, 250*time.Millisecond)), "counts", winCount)
		var got winCollector[string]
		SinkTo(sessions, "sessions-out", got.Sink)
		SinkTo(Map(counts, "fmt", func(n int64) string { return fmt.Sprint("count ", n) }), "counts-out", got.Sink)
		runWindowJob(t, env)
		results = append(results, got.Sorted())
	}
	if len(results[0]) < 50 || !strings.HasPrefix(results[0][0], "count ") || !strings.HasPrefix(results[0][len(results[0])-1], "session ") {
		t.Fatalf("implausible results: %d, %q ... %q", len(results[0]), winFirst(results[0]), results[0][len(results[0])-1])
	}
	if !slices.Equal(results[0], results[1]) {
		t.Fatalf("results differ at parallelism 1 and 2:\n%v\n%v", results[0][:5], results[1][:5])
	}
}

func TestLateDataSideOutput(t *testing.T) {
	vals := []winRec{{"a", 1}, {"a", 2}, {"b", 4}, {"a", 8}, {"a", 16}, {"b", 32}}
	// The watermark follows each record; 3 and 5 come after the watermark
	// passed 50, when [0,10) is gone; 55 is within the allowed lateness of
	// [50,60) at watermark 62.
	times := []int64{1, 5, 50, 3, 62, 55}
	env := winEnv(1)
	late := NewOutputTag[winRec]("late")
	keyed := KeyBy(winSource(env, vals, times, 1, 0), func(e winRec) string { return e.Key })
	w := Window(keyed, window.TumblingEventTime(10*time.Millisecond)).AllowedLateness(5 * time.Millisecond).SideOutputLateData(late)
	sums := WindowReduce(w, "sums", winSum)
	var got, lateGot winCollector[winRec]
	SinkTo(sums, "sums-out", got.Sink)
	SinkTo(SideOutput(sums, late), "late-out", lateGot.Sink)
	runWindowJob(t, env)
	want := []string{"{a 16} at 69", "{a 3} at 9", "{b 36} at 59", "{b 4} at 59"}
	if g := got.Sorted(); !slices.Equal(g, want) {
		t.Fatalf("results %q, want %q", g, want)
	}
	if g := lateGot.Sorted(); !slices.Equal(g, []string{"{a 8} at 3"}) {
		t.Fatalf("late records %q", g)
	}

	// Without a consumer late records are dropped, and the job runs on.
	env = winEnv(1)
	keyed = KeyBy(winSource(env, vals, times, 1, 0), func(e winRec) string { return e.Key })
	var dropped winCollector[winRec]
	SinkTo(WindowReduce(Window(keyed, window.TumblingEventTime(10*time.Millisecond)).SideOutputLateData(late), "sums", winSum), "out", dropped.Sink)
	runWindowJob(t, env)
	if g := dropped.Sorted(); len(g) != 3 {
		t.Fatalf("results without lateness %q", g)
	}
}

func TestCountWindows(t *testing.T) {
	var vals []winRec
	for i := range 20 {
		vals = append(vals, winRec{Key: fmt.Sprint("k", i%2), V: int64(i)})
	}
	times := make([]int64, len(vals))
	for i := range times {
		times[i] = operators.NoTimestamp
	}
	for _, p := range []int{1, 2} {
		env := winEnv(p)
		// One source subtask keeps each key's records in order.
		src := FromSource(env, "source", func() operators.Source[winRec] {
			return &winTsSource[winRec]{vals: vals, times: times, batch: 3}
		}, true).SetParallelism(1)
		keyed := KeyBy(src, func(e winRec) string { return e.Key })
		var tumbling, sliding winCollector[winRec]
		SinkTo(WindowReduce(CountWindow(keyed, 3), "count3", winSum), "t", tumbling.Sink)
		SinkTo(WindowReduce(CountWindow(keyed, 4, 2), "count4-2", winSum), "s", sliding.Sink)
		runWindowJob(t, env)
		const end = operators.MaxWatermark
		// k0 gets 0 2 4 ... 18, k1 gets 1 3 ... 19; partial windows do not
		// fire.
		want := []string{}
		for _, k := range []int64{0, 1} {
			for w := range int64(3) {
				s := int64(0)
				for j := range int64(3) {
					s += k + 2*(3*w+j)
				}
				want = append(want, fmt.Sprintf("{k%d %d} at %d", k, s, end))
			}
		}
		slices.Sort(want)
		if g := tumbling.Sorted(); !slices.Equal(g, want) {
			t.Fatalf("p=%d: count windows of 3: %q, want %q", p, g, want)
		}
		if g := sliding.Sorted(); len(g) != 10 || !slices.Contains(g, fmt.Sprintf("{k1 %d} at %d", 13+15+17+19, end)) || !slices.Contains(g, fmt.Sprintf("{k0 %d} at %d", 0+2, end)) {
			t.Fatalf("p=%d: count windows of 4 every 2: %q", p, g)
		}
	}
}

type winClock int64

func (c winClock) NowMillis() int64 { return int64(c) }

func TestProcessingTimeWindowsFireAtEndOfInput(t *testing.T) {
	vals, times := winEvents(3, 500, 5, 0)
	for _, p := range []int{1, 2} {
		env := winEnv(p, WithClock(winClock(1_000_000)))
		keyed := KeyBy(winSource(env, vals, times, 10, 0), func(e winRec) string { return e.Key })
		w := Window(keyed, window.TumblingProcessingTime(time.Hour))
		res := WindowAggregateProcess(w, "counts", winCount, window.ProcessFunc[string, int64, string](winDescribe[int64]))
		var got winCollector[string]
		SinkTo(res, "out", got.Sink)
		runWindowJob(t, env)
		var total int
		g := got.Sorted()
		for _, line := range g {
			var key, win string
			var n, ts int
			if _, err := fmt.Sscanf(line, "%s %s %d at %d", &key, &win, &n, &ts); err != nil {
				t.Fatal(err)
			}
			total += n
			if win != "[0,3600000)" || ts != 3599999 {
				t.Fatalf("p=%d: %q", p, line)
			}
		}
		if len(g) != 5 || total != len(vals) {
			t.Fatalf("p=%d: %d results counting %d records, want 5 counting %d", p, len(g), total, len(vals))
		}
	}
}

func TestWindowErrors(t *testing.T) {
	env := winEnv(1)
	keyed := KeyBy(winSource(env, []winRec{{"a", 1}}, []int64{1}, 1, 0), func(e winRec) string { return e.Key })
	WindowReduce(Window(keyed, window.TumblingEventTime(0)), "bad", winSum)
	WindowReduce(CountWindow(keyed, 0), "bad-count", winSum)
	WindowReduce(Window(keyed, window.EventTimeSession(time.Second)).Trigger(winNonMerging{window.EventTimeTrigger()}), "bad-trigger", winSum)
	err := env.Execute(context.Background())
	for _, want := range []string{`window "bad": tumbling window size 0ms`, `window "bad-count": count window of 0 records`, `window "bad-trigger": trigger`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}

	env = winEnv(2)
	vals, times := winEvents(5, 100, 3, 0)
	keyed = KeyBy(winSource(env, vals, times, 10, 0), func(e winRec) string { return e.Key })
	res := WindowProcess(Window(keyed, window.TumblingEventTime(50*time.Millisecond)), "explode",
		window.ProcessFunc[string, winRec, winRec](func(*window.Context[string], []winRec, Collector[winRec]) error { panic("boom") }))
	SinkTo(res, "out", (&winCollector[winRec]{}).Sink)
	err = env.Execute(context.Background())
	var oe *operators.OperatorError
	if !errors.Is(err, operators.ErrPanic) || !errors.As(err, &oe) || oe.Operator != "explode" {
		t.Fatalf("got %v", err)
	}
}

// winNonMerging is a trigger that cannot merge windows.
type winNonMerging struct{ window.Trigger }

func (winNonMerging) CanMerge() bool { return false }
