package operators

import (
	"errors"
	"fmt"
	"github.com/stromhq/strom/snapshot"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// virtualClock is a processing-time clock the test moves by hand.
type virtualClock struct{ now int64 }

func (c *virtualClock) NowMillis() int64 { return c.now }

// eventLog records, in order, what an operator emits and the idle status
// it reports: "rec 10 20" (a batch's timestamps), "wm 9", "idle",
// "active".
type eventLog struct{ events []string }

func (l *eventLog) add(format string, args ...any) {
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

// logInput is an Input that writes to an eventLog.
type logInput[T any] struct{ log *eventLog }

func (in logInput[T]) ProcessBatch(b *Batch[T]) error {
	ts := make([]string, len(b.Times))
	for i, t := range b.Times {
		ts[i] = fmtTs(t)
	}
	in.log.add("rec %s", strings.Join(ts, " "))
	return nil
}

func (in logInput[T]) ProcessWatermark(wm int64) error {
	in.log.add("wm %s", fmtTs(wm))
	return nil
}

func fmtTs(t int64) string {
	switch t {
	case NoTimestamp:
		return "none"
	case MaxWatermark:
		return "max"
	}
	return strconv.FormatInt(t, 10)
}

func newTestContext(clock Clock, log *eventLog) *TaskContext {
	return &TaskContext{
		Operator: "test", Parallelism: 1, Clock: clock,
		MarkIdle: func(idle bool) {
			if idle {
				log.add("idle")
			} else {
				log.add("active")
			}
		},
	}
}

// checkLog verifies the invariants of any emitted event sequence:
// watermarks strictly rise, idle and active alternate (MarkIdle is called
// only on a change), and nothing is emitted while the subtask is idle. With
// noLate, no record has a timestamp at or below a watermark emitted before
// it.
func checkLog(t *testing.T, events []string, noLate bool) {
	t.Helper()
	wm, idle := NoTimestamp, false
	for i, ev := range events {
		switch f := strings.Fields(ev); f[0] {
		case "idle", "active":
			if (f[0] == "idle") == idle {
				t.Fatalf("event %d: %s twice in a row: %v", i, f[0], events)
			}
			idle = f[0] == "idle"
		case "wm":
			if idle {
				t.Fatalf("event %d: watermark while idle: %v", i, events)
			}
			w := parseTs(t, f[1])
			if w <= wm {
				t.Fatalf("event %d: watermark %d after %d: %v", i, w, wm, events)
			}
			wm = w
		case "rec":
			if idle {
				t.Fatalf("event %d: records while idle: %v", i, events)
			}
			for _, s := range f[1:] {
				if ts := parseTs(t, s); noLate && ts <= wm {
					t.Fatalf("event %d: record %d at or below watermark %d", i, ts, wm)
				}
			}
		}
	}
}

func parseTs(t *testing.T, s string) int64 {
	t.Helper()
	switch s {
	case "none":
		return NoTimestamp
	case "max":
		return MaxWatermark
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rec is a scripted record: value, source timestamp and split.
type rec struct {
	v, ts int64
	split int
}

// scriptSource returns scripted records; with splits > 0 it is a
// SplitSource and SplitFinisher. It returns wait when it has nothing.
type scriptSource struct {
	next     []rec
	splits   int
	finished map[int]bool
	wait     time.Duration
	done     bool
	last     []rec
	opened   bool
}

func (s *scriptSource) Open(*TaskContext) error { s.opened = true; return nil }
func (s *scriptSource) Close() error            { s.opened = false; return nil }

func (s *scriptSource) Poll(b *Batch[int64], max int) (PollResult, error) {
	n := min(max, len(s.next))
	s.last = s.next[:n]
	s.next = s.next[n:]
	for _, r := range s.last {
		b.Append(r.v, r.ts)
	}
	if n == 0 {
		return PollResult{Wait: s.wait, Done: s.done}, nil
	}
	return PollResult{Done: s.done && len(s.next) == 0}, nil
}

// splitScript wraps a scriptSource as a SplitSource.
type splitScript struct{ *scriptSource }

func (s splitScript) Splits() int                  { return s.splits }
func (s splitScript) Split(i int) int              { return s.last[i].split }
func (s splitScript) SplitFinished(split int) bool { return s.finished[split] }

// sourceHarness runs a SourceOperator by hand on a virtual clock.
type sourceHarness struct {
	t     *testing.T
	clock *virtualClock
	log   *eventLog
	src   *scriptSource
	op    *SourceOperator[int64]
}

// noSplits makes newSourceHarness run a source that is no SplitSource.
const noSplits = -1

func newSourceHarness(t *testing.T, strategy *WatermarkStrategy[int64], splits int) *sourceHarness {
	h := &sourceHarness{t: t, clock: &virtualClock{}, log: &eventLog{}, src: &scriptSource{splits: splits, finished: map[int]bool{}}}
	var src Source[int64] = h.src
	if splits >= 0 {
		src = splitScript{h.src}
	}
	h.op = &SourceOperator[int64]{Source: src, Out: logInput[int64]{h.log}, Watermarks: strategy}
	if err := h.op.Open(newTestContext(h.clock, h.log)); err != nil {
		t.Fatal(err)
	}
	return h
}

// poll moves the clock to at, lets the source return recs and polls once,
// returning the events logged by that poll.
func (h *sourceHarness) poll(at int64, recs ...rec) ([]string, PollResult) {
	h.t.Helper()
	h.clock.now = at
	h.src.next = append(h.src.next, recs...)
	before := len(h.log.events)
	res, err := h.op.PollOnce(1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return slices.Clone(h.log.events[before:]), res
}

func (h *sourceHarness) expect(at int64, want []string, recs ...rec) {
	h.t.Helper()
	got, _ := h.poll(at, recs...)
	if !slices.Equal(got, want) {
		h.t.Fatalf("at %d: got %q, want %q", at, got, want)
	}
}

func monotonous(idle time.Duration) *WatermarkStrategy[int64] {
	return &WatermarkStrategy[int64]{
		NewGenerator: func(*TaskContext) WatermarkGenerator[int64] { return Monotonous[int64]() },
		IdleTimeout:  idle,
	}
}

// recordingOutput records what a generator emits.
type recordingOutput struct{ got []string }

func (o *recordingOutput) EmitWatermark(wm int64) { o.got = append(o.got, "wm "+fmtTs(wm)) }
func (o *recordingOutput) MarkIdle()              { o.got = append(o.got, "idle") }

func TestWatermarkGenerators(t *testing.T) {
	clock := &virtualClock{now: 1000}
	even := func(v, ts int64) (int64, bool) { return ts, v%2 == 0 }
	// Steps: "e<v>@<ts>" is an event, "p" a periodic emission, "t<ms>"
	// moves the clock.
	cases := []struct {
		name  string
		gen   WatermarkGenerator[int64]
		steps string
		want  []string
	}{
		{"bounded before any event", BoundedOutOfOrderness[int64](3 * time.Millisecond), "p p", nil},
		{"bounded", BoundedOutOfOrderness[int64](3 * time.Millisecond), "e1@10 e2@5 p e3@20 p e4@15 p",
			[]string{"wm 6", "wm 16", "wm 16"}},
		{"bounded ignores records without timestamp", BoundedOutOfOrderness[int64](time.Second), "e1@none p", nil},
		{"bounded in seconds", BoundedOutOfOrderness[int64](2 * time.Second), "e1@5000 p", []string{"wm 2999"}},
		{"bounded truncates to milliseconds", BoundedOutOfOrderness[int64](1500 * time.Microsecond), "e1@10 p", []string{"wm 8"}},
		{"bounded negative counts as zero", BoundedOutOfOrderness[int64](-time.Second), "e1@10 p", []string{"wm 9"}},
		{"bounded near the minimum does not overflow", BoundedOutOfOrderness[int64](time.Millisecond), "e1@-9223372036854775807 p", nil},
		{"monotonous", Monotonous[int64](), "e1@10 e2@10 p e3@11 p", []string{"wm 9", "wm 10"}},
		{"monotonous negative time", Monotonous[int64](), "e1@-50 p", []string{"wm -51"}},
		{"punctuated", Punctuated(even), "e1@10 e2@20 p e3@30 e4@40", []string{"wm 20", "wm 40"}},
		{"no watermarks", NoWatermarks[int64](), "e1@10 p e2@20 p", nil},
		{"ingestion time", IngestionTimeStrategy[int64]().NewGenerator(&TaskContext{Clock: clock}), "e1@5 p t1200 p",
			[]string{"wm 999", "wm 1199"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock.now = 1000
			out := &recordingOutput{}
			for _, s := range strings.Fields(c.steps) {
				switch s[0] {
				case 'p':
					c.gen.OnPeriodicEmit(out)
				case 't':
					clock.now, _ = strconv.ParseInt(s[1:], 10, 64)
				case 'e':
					v, ts, _ := strings.Cut(s[1:], "@")
					n, _ := strconv.ParseInt(v, 10, 64)
					c.gen.OnEvent(n, parseTs(t, ts), out)
				}
			}
			if !slices.Equal(out.got, c.want) {
				t.Fatalf("got %q, want %q", out.got, c.want)
			}
		})
	}
}

// TestSplitWatermarks runs a source of 3 splits: the subtask's watermark
// is the minimum over the splits, a lagging split holds it back, a split
// that times out does not, and it never goes back when the split returns.
func TestSplitWatermarks(t *testing.T) {
	h := newSourceHarness(t, monotonous(100*time.Millisecond), 3)
	h.expect(0, []string{"rec 10 5 20", "wm 4"}, rec{1, 10, 0}, rec{2, 5, 1}, rec{3, 20, 2})
	// Split 1 lags: it holds the watermark at 4.
	h.expect(10, []string{"rec 30 40"}, rec{4, 30, 0}, rec{5, 40, 2})
	h.expect(20, []string{"rec 12", "wm 11"}, rec{6, 12, 1})
	h.expect(50, []string{"rec 50 25", "wm 24"}, rec{7, 50, 0}, rec{8, 25, 1})
	// Split 2 brought nothing since 10: idle, it no longer holds 39.
	h.expect(130, []string{"rec 60 45", "wm 44"}, rec{9, 60, 0}, rec{10, 45, 1})
	// Back with 40, split 2 is active again but the watermark stays.
	h.expect(140, []string{"rec 41"}, rec{11, 41, 2})
	h.expect(150, []string{"rec 70 80 90", "wm 69"}, rec{12, 70, 0}, rec{13, 80, 1}, rec{14, 90, 2})
	h.expect(200, nil)
	// Every split idle: the subtask tells downstream.
	h.expect(260, []string{"idle"})
	h.expect(270, nil)
	// Active again before its record; the idle splits do not hold it.
	h.expect(280, []string{"active", "rec 100", "wm 99"}, rec{15, 100, 1})
	// End of input.
	if err := h.op.ProcessWatermark(MaxWatermark); err != nil {
		t.Fatal(err)
	}
	if last := h.log.events[len(h.log.events)-1]; last != "wm max" {
		t.Fatalf("end of input: last event %q", last)
	}
	checkLog(t, h.log.events, false)
}

// TestSplitNotYetSeenHoldsUntilIdle: a split with no record yet holds the
// watermark back until it times out; a finished split does not hold it.
func TestSplitNotYetSeenHoldsUntilIdle(t *testing.T) {
	h := newSourceHarness(t, monotonous(100*time.Millisecond), 3)
	h.expect(0, []string{"rec 10 20"}, rec{1, 10, 0}, rec{2, 20, 1})
	h.expect(50, []string{"rec 30"}, rec{3, 30, 0})
	h.expect(100, []string{"rec 40 50", "wm 39"}, rec{4, 40, 0}, rec{5, 50, 1})

	h = newSourceHarness(t, monotonous(0), 2)
	h.expect(0, []string{"rec 10"}, rec{1, 10, 0})
	h.src.finished[1] = true
	h.expect(10, []string{"wm 9"})
	// A split assigned later holds the watermark back from then on.
	h.src.splits = 3
	h.expect(20, []string{"rec 30"}, rec{2, 30, 0})
	h.expect(30, []string{"rec 25 31", "wm 24"}, rec{3, 25, 2}, rec{4, 31, 0})
	checkLog(t, h.log.events, false)
}

func TestSourceIdlenessAndWait(t *testing.T) {
	s := &WatermarkStrategy[int64]{
		NewGenerator: func(*TaskContext) WatermarkGenerator[int64] {
			return BoundedOutOfOrderness[int64](5 * time.Millisecond)
		},
		IdleTimeout:  50 * time.Millisecond,
		EmitInterval: 80 * time.Millisecond,
	}
	h := newSourceHarness(t, s, noSplits)
	h.src.wait = time.Hour
	h.expect(1000, []string{"rec 100", "wm 94"}, rec{1, 100, 0})
	// A source waiting an hour is polled again when it may time out.
	if _, res := h.poll(1010); res.Wait != 40*time.Millisecond {
		t.Fatalf("wait %v, want 40ms", res.Wait)
	}
	h.expect(1049, nil)
	h.expect(1050, []string{"idle"})
	// Idle: polled for the periodic emission (last at 1000).
	if _, res := h.poll(1060); res.Wait != 20*time.Millisecond {
		t.Fatalf("wait %v, want 20ms", res.Wait)
	}
	h.expect(2000, nil)
	h.expect(2001, []string{"active", "rec 200", "wm 194"}, rec{2, 200, 0})
	h.expect(2002, []string{"rec 150"}, rec{3, 150, 0})
	// End of input while idle: active before MaxWatermark.
	h.expect(3000, []string{"idle"})
	if err := h.op.ProcessWatermark(MaxWatermark); err != nil {
		t.Fatal(err)
	}
	if got := h.log.events[len(h.log.events)-2:]; !slices.Equal(got, []string{"active", "wm max"}) {
		t.Fatalf("end of input: %q", got)
	}
	checkLog(t, h.log.events, false)

	// Without a strategy Wait and watermarks pass unchanged.
	h = newSourceHarness(t, nil, noSplits)
	h.src.wait = time.Hour
	if ev, res := h.poll(0); res.Wait != time.Hour || len(ev) != 0 {
		t.Fatalf("no strategy: wait %v events %q", res.Wait, ev)
	}
	if err := h.op.ProcessWatermark(42); err != nil || !slices.Equal(h.log.events, []string{"wm 42"}) {
		t.Fatalf("no strategy: %v %q", err, h.log.events)
	}
}

// TestIdleWithoutSplits: a split source that has no split yet is idle
// after the timeout, and active with its first record.
func TestIdleWithoutSplits(t *testing.T) {
	h := newSourceHarness(t, monotonous(30*time.Millisecond), 0)
	h.expect(29, nil)
	h.expect(30, []string{"idle"})
	h.src.splits = 1
	h.expect(40, []string{"active", "rec 7", "wm 6"}, rec{1, 7, 0})
	checkLog(t, h.log.events, true)
}

func TestTimestampStrategies(t *testing.T) {
	t.Run("assigner", func(t *testing.T) {
		s := monotonous(0)
		s.NewAssigner = func(*TaskContext) TimestampAssigner[int64] {
			return func(v, ts int64) int64 { return v*10 + ts }
		}
		h := newSourceHarness(t, s, noSplits)
		h.expect(0, []string{"rec 11 22", "wm 21"}, rec{1, 1, 0}, rec{2, 2, 0})
	})
	t.Run("ingestion time", func(t *testing.T) {
		s := IngestionTimeStrategy[int64]()
		h := newSourceHarness(t, &s, noSplits)
		h.expect(1000, []string{"rec 1000 1000", "wm 999"}, rec{1, 5, 0}, rec{2, NoTimestamp, 0})
		// No records: the watermark still follows the clock, at most
		// every interval.
		h.expect(1100, nil)
		h.expect(1200, []string{"wm 1199"})
		h.expect(1250, []string{"rec 1250", "wm 1249"}, rec{3, 0, 0})
		checkLog(t, h.log.events, true)
	})
	t.Run("processing time", func(t *testing.T) {
		s := ProcessingTimeStrategy[int64]()
		h := newSourceHarness(t, &s, noSplits)
		h.expect(0, []string{"rec none none"}, rec{1, 5, 0}, rec{2, 6, 0})
		h.expect(500, nil)
		if err := h.op.ProcessWatermark(MaxWatermark); err != nil || h.log.events[len(h.log.events)-1] != "wm max" {
			t.Fatalf("end: %v %q", err, h.log.events)
		}
	})
	t.Run("keeps source timestamps", func(t *testing.T) {
		h := newSourceHarness(t, &WatermarkStrategy[int64]{}, noSplits)
		h.expect(0, []string{"rec 5 3"}, rec{1, 5, 0}, rec{2, 3, 0})
		// Upstream watermarks other than the last do not pass.
		if err := h.op.ProcessWatermark(4); err != nil || len(h.log.events) != 1 {
			t.Fatalf("%v %q", err, h.log.events)
		}
	})
}

// idleAtMultiplesOf5 is a custom generator: bounded by 2ms, and it marks
// its split idle on every record whose value is a multiple of 5.
type idleAtMultiplesOf5 struct{ boundedOutOfOrderness[int64] }

func (g *idleAtMultiplesOf5) OnEvent(v, ts int64, out WatermarkOutput) {
	g.boundedOutOfOrderness.OnEvent(v, ts, out)
	if v%5 == 0 {
		out.MarkIdle()
	}
}

// TestWatermarkNeverRegresses drives random splits, timestamps, clock
// steps, idle timeouts, finished splits and generator idleness, and checks
// that watermarks only rise and idle status is reported consistently.
func TestWatermarkNeverRegresses(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		s := &WatermarkStrategy[int64]{
			NewGenerator: func(*TaskContext) WatermarkGenerator[int64] {
				return &idleAtMultiplesOf5{boundedOutOfOrderness[int64]{maxTs: NoTimestamp, delay: 3}}
			},
			IdleTimeout:  time.Duration(r.IntN(3)*20) * time.Millisecond,
			EmitInterval: 30 * time.Millisecond,
		}
		h := newSourceHarness(t, s, 1+r.IntN(4))
		now := int64(0)
		for step := range 300 {
			now += int64(r.IntN(40))
			var recs []rec
			for range r.IntN(4) {
				recs = append(recs, rec{v: int64(step), ts: int64(r.IntN(1000)), split: r.IntN(h.src.splits + 1)})
			}
			if r.IntN(50) == 0 {
				h.src.finished[r.IntN(h.src.splits)] = true
			}
			h.poll(now, recs...)
		}
		if err := h.op.ProcessWatermark(MaxWatermark); err != nil {
			t.Fatal(err)
		}
		if h.log.events[len(h.log.events)-1] != "wm max" {
			t.Fatalf("round %d: did not end with MaxWatermark", round)
		}
		checkLog(t, h.log.events, false)
	}
}

// TestMonotonousSortedInputIsNeverLate: with sorted timestamps and the
// monotonous strategy, no record arrives at or below a watermark already
// emitted, at the source and in the middle of a stream.
func TestMonotonousSortedInputIsNeverLate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ts := int64(0)
	var recs []rec
	for i := range 5000 {
		ts += int64(r.IntN(3)) // repeats too
		recs = append(recs, rec{v: int64(i), ts: ts})
	}

	h := newSourceHarness(t, monotonous(10*time.Millisecond), noSplits)
	now := int64(0)
	for rest := recs; len(rest) > 0; {
		n := min(len(rest), r.IntN(20))
		now += int64(r.IntN(15))
		h.poll(now, rest[:n]...)
		rest = rest[n:]
	}
	checkLog(t, h.log.events, true)

	log := &eventLog{}
	op := &AssignTimestampsAndWatermarks[int64]{Strategy: *monotonous(0), Out: logInput[int64]{log}}
	if err := op.Open(newTestContext(&virtualClock{}, log)); err != nil {
		t.Fatal(err)
	}
	for rest := recs; len(rest) > 0; {
		b := NewBatch[int64](20)
		for _, x := range rest[:min(len(rest), 1+r.IntN(20))] {
			b.Append(x.v, x.ts)
		}
		rest = rest[b.Len():]
		if err := op.ProcessBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	checkLog(t, log.events, true)
	if len(log.events) < 100 {
		t.Fatalf("only %d events", len(log.events))
	}
}

func TestAssignTimestampsAndWatermarksOperator(t *testing.T) {
	log, clock := &eventLog{}, &virtualClock{now: 0}
	op := &AssignTimestampsAndWatermarks[int64]{
		Strategy: WatermarkStrategy[int64]{
			NewAssigner: func(*TaskContext) TimestampAssigner[int64] { return func(v, _ int64) int64 { return v * 10 } },
			NewGenerator: func(*TaskContext) WatermarkGenerator[int64] {
				return BoundedOutOfOrderness[int64](5 * time.Millisecond)
			},
			IdleTimeout: 100 * time.Millisecond,
		},
		Out: logInput[int64]{log},
	}
	var _ ProcessingTimer = op
	if err := op.Open(newTestContext(clock, log)); err != nil {
		t.Fatal(err)
	}
	in := &Batch[int64]{Values: []int64{1, 3, 2}, Times: []int64{NoTimestamp, 7, 8}}
	if err := op.ProcessBatch(in); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.Times, []int64{NoTimestamp, 7, 8}) {
		t.Fatalf("caller's batch changed: %v", in.Times)
	}
	// Upstream watermarks are swallowed.
	if err := op.ProcessWatermark(1000); err != nil {
		t.Fatal(err)
	}
	want := []string{"rec 10 30 20", "wm 24"}
	if !slices.Equal(log.events, want) {
		t.Fatalf("got %q, want %q", log.events, want)
	}
	// It wakes up on processing time to time out.
	if next := op.NextProcessingTime(); next != 100 {
		t.Fatalf("next processing time %d, want 100", next)
	}
	clock.now = 100
	if err := op.OnProcessingTime(100); err != nil {
		t.Fatal(err)
	}
	clock.now = 150
	if err := op.ProcessBatch(&Batch[int64]{Values: []int64{5}, Times: []int64{0}}); err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessWatermark(MaxWatermark); err != nil {
		t.Fatal(err)
	}
	want = append(want, "idle", "active", "rec 50", "wm 44", "wm max")
	if !slices.Equal(log.events, want) {
		t.Fatalf("got %q, want %q", log.events, want)
	}
	if next := op.NextProcessingTime(); next != MaxWatermark {
		t.Fatalf("after the end: next processing time %d", next)
	}
}

// panicGenerator panics on every record.
type panicGenerator struct{}

func (panicGenerator) OnEvent(int64, int64, WatermarkOutput) { panic("generator exploded") }
func (panicGenerator) OnPeriodicEmit(WatermarkOutput)        {}

func TestWatermarkErrors(t *testing.T) {
	// A bad strategy fails Open before the source opens.
	src := &scriptSource{}
	op := &SourceOperator[int64]{Source: src, Out: Discard[int64]{}, Watermarks: &WatermarkStrategy[int64]{IdleTimeout: -time.Second}}
	err := op.Open(newTestContext(&virtualClock{}, &eventLog{}))
	var oe *OperatorError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "idle timeout -1s: must not be negative") || src.opened {
		t.Fatalf("got %v (source opened %v)", err, src.opened)
	}
	mid := &AssignTimestampsAndWatermarks[int64]{Strategy: WatermarkStrategy[int64]{EmitInterval: -1}, Out: Discard[int64]{}}
	if err := mid.Open(newTestContext(&virtualClock{}, &eventLog{})); err == nil {
		t.Fatal("negative emit interval accepted")
	}

	// A negative split is an error of the operator.
	h := newSourceHarness(t, monotonous(0), 2)
	h.src.next = []rec{{1, 1, -1}}
	if _, err := h.op.PollOnce(10); !errors.As(err, &oe) || !strings.Contains(err.Error(), "split -1 for record 0") {
		t.Fatalf("got %v", err)
	}

	// A panicking generator fails the poll with ErrPanic.
	h = newSourceHarness(t, &WatermarkStrategy[int64]{
		NewGenerator: func(*TaskContext) WatermarkGenerator[int64] { return panicGenerator{} },
	}, noSplits)
	h.src.next = []rec{{1, 1, 0}}
	if _, err := h.op.PollOnce(10); !errors.Is(err, ErrPanic) {
		t.Fatalf("got %v", err)
	}
}

// TestWatermarkDefaults: the zero strategy asks for no wake-ups and uses
// the default emit interval.
func TestWatermarkDefaults(t *testing.T) {
	e, err := newWatermarker(nil, &WatermarkStrategy[int64]{}, nil, func(int64) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if e.interval != DefaultWatermarkInterval.Milliseconds() || e.idleAfter != 0 || e.next() != MaxWatermark {
		t.Fatalf("interval %d idle %d next %d", e.interval, e.idleAfter, e.next())
	}
}

// TestPanickingFactoryClosesSource: a strategy whose factory panics fails
// Open with ErrPanic and leaves the source closed.
func TestPanickingFactoryClosesSource(t *testing.T) {
	src := &scriptSource{}
	op := &SourceOperator[int64]{Source: src, Out: Discard[int64]{}, Watermarks: &WatermarkStrategy[int64]{
		NewGenerator: func(*TaskContext) WatermarkGenerator[int64] { panic("no generator today") },
	}}
	if err := op.Open(newTestContext(&virtualClock{}, &eventLog{})); !errors.Is(err, ErrPanic) || src.opened {
		t.Fatalf("got %v (source open %v)", err, src.opened)
	}
}

func TestPunctuatedWatermarkFollowsItsRecord(t *testing.T) {
	log, clock := &eventLog{}, &virtualClock{}
	op := &AssignTimestampsAndWatermarks[int64]{
		Strategy: WatermarkStrategy[int64]{
			NewGenerator: func(*TaskContext) WatermarkGenerator[int64] {
				// A watermark at every multiple of 10.
				return Punctuated(func(v, ts int64) (int64, bool) { return ts, ts%10 == 0 })
			},
		},
		Out: logInput[int64]{log},
	}
	if err := op.Open(newTestContext(clock, log)); err != nil {
		t.Fatal(err)
	}
	in := &Batch[int64]{Values: []int64{1, 2, 3, 4, 5, 6}, Times: []int64{5, 10, 12, 20, 15, 21}}
	if err := op.ProcessBatch(in); err != nil {
		t.Fatal(err)
	}
	// Each watermark goes out right after the record that carried it, so a
	// record behind it (15) is seen downstream after the watermark 20.
	want := []string{"rec 5 10", "wm 10", "rec 12 20", "wm 20", "rec 15 21"}
	if !slices.Equal(log.events, want) {
		t.Fatalf("got %q, want %q", log.events, want)
	}
}

// memStateRW is a StateWriter whose operator entries a StateReader returns.
type memStateRW struct{ ops map[string][][]byte }

func (m *memStateRW) Keyed(int, []byte, []byte) {}
func (m *memStateRW) Operator(name string, _ snapshot.RedistributionMode, e []byte) {
	if m.ops == nil {
		m.ops = map[string][][]byte{}
	}
	m.ops[name] = append(m.ops[name], slices.Clone(e))
}

type memStateReader struct{ *memStateRW }

func (r memStateReader) Keyed(func(int, []byte, []byte) error) error { return nil }
func (r memStateReader) Operator(name string) ([][]byte, error)      { return r.ops[name], nil }

func TestAssignerRestoresItsWatermark(t *testing.T) {
	newOp := func(log *eventLog) *AssignTimestampsAndWatermarks[int64] {
		return &AssignTimestampsAndWatermarks[int64]{
			Strategy: WatermarkStrategy[int64]{NewGenerator: func(*TaskContext) WatermarkGenerator[int64] {
				return Punctuated(func(v, ts int64) (int64, bool) { return ts - 10, true })
			}},
			Out: logInput[int64]{log},
		}
	}
	log := &eventLog{}
	op := newOp(log)
	if err := op.Open(newTestContext(&virtualClock{}, log)); err != nil {
		t.Fatal(err)
	}
	op.ProcessBatch(&Batch[int64]{Values: []int64{1, 2}, Times: []int64{100, 50}})
	st := &memStateRW{}
	if err := op.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	// A fresh instance restores watermark 90 and passes it on before its
	// first record, so the record at 60 is behind event time as before.
	log2 := &eventLog{}
	op2 := newOp(log2)
	if err := op2.Open(newTestContext(&virtualClock{}, log2)); err != nil {
		t.Fatal(err)
	}
	if err := op2.RestoreState(memStateReader{st}); err != nil {
		t.Fatal(err)
	}
	op2.ProcessBatch(&Batch[int64]{Values: []int64{3}, Times: []int64{60}})
	if want := []string{"wm 90", "rec 60"}; !slices.Equal(log2.events, want) {
		t.Fatalf("got %q, want %q", log2.events, want)
	}
	bad := &memStateRW{ops: map[string][][]byte{watermarkStateName: {{0xff}}}}
	if err := newOp(log2).RestoreState(memStateReader{bad}); err == nil {
		t.Fatal("corrupt watermark state restored")
	}
}
