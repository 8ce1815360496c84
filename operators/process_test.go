package operators

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// virtualMillis is a virtual processing-time clock.
type virtualMillis struct{ now int64 }

func (c *virtualMillis) NowMillis() int64 { return c.now }

func opTask(name string, clock Clock) *TaskContext {
	return &TaskContext{Operator: name, OperatorID: name, Parallelism: 1, MaxParallelism: 128, Clock: clock}
}

// tsRecord is a record with its timestamp as an operator emitted it.
type tsRecord[T any] struct {
	V  T
	TS int64
}

// outRecorder is an Input that keeps what it is given, in order; log, when
// set, receives one line per record and watermark.
type outRecorder[T any] struct {
	name    string
	records []tsRecord[T]
	wms     []int64
	log     *[]string
	// wmAt is, per record, how many watermarks came before it.
	wmAt []int
}

func (r *outRecorder[T]) ProcessBatch(b *Batch[T]) error {
	for i, v := range b.Values {
		r.records = append(r.records, tsRecord[T]{v, b.Times[i]})
		r.wmAt = append(r.wmAt, len(r.wms))
		if r.log != nil {
			*r.log = append(*r.log, fmt.Sprintf("%s @%s %v", r.name, fmtWM(b.Times[i]), v))
		}
	}
	return nil
}

func (r *outRecorder[T]) ProcessWatermark(wm int64) error {
	r.wms = append(r.wms, wm)
	if r.log != nil && r.name == "out" {
		*r.log = append(*r.log, "wm "+fmtWM(wm))
	}
	return nil
}

func fmtWM(t int64) string {
	switch t {
	case NoTimestamp:
		return "-"
	case MaxWatermark:
		return "max"
	}
	return strconv.FormatInt(t, 10)
}

func parseWM(s string) (int64, error) {
	switch s {
	case "-":
		return NoTimestamp, nil
	case "max":
		return MaxWatermark, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// scenarioRec is the input of the scenario's process function: a key and
// the actions to take.
type scenarioRec struct {
	key  string
	acts []string
}

// scenarioFn acts out the actions of its records:
//
//	e=T       register an event-time timer at T
//	e=T>U     ... and when it fires, register one at U
//	p=T       register a processing-time timer at T
//	-e=T -p=T delete a timer
//	emit=X    emit X
//	side=X    emit X to side output "side"
//
// Every timer emits "fire <domain> <key> <ts> wm=<watermark>", and a
// processing-time timer also emits "ptimer <key> <ts>" to "side".
type scenarioFn struct {
	then map[Timer[string]]int64
}

func (f *scenarioFn) ProcessElement(ctx *KeyedContext[string], r scenarioRec, out Collector[string]) error {
	ts := ctx.TimerService()
	for _, a := range r.acts {
		verb, arg, _ := strings.Cut(a, "=")
		num := func(s string) int64 {
			n, err := parseWM(s)
			if err != nil {
				panic(fmt.Sprintf("bad time in %q", a))
			}
			return n
		}
		switch verb {
		case "e":
			at, next, chained := strings.Cut(arg, ">")
			ts.RegisterEventTimeTimer(num(at))
			if chained {
				f.then[Timer[string]{ctx.Key(), num(at)}] = num(next)
			}
		case "p":
			ts.RegisterProcessingTimeTimer(num(arg))
		case "-e":
			ts.DeleteEventTimeTimer(num(arg))
		case "-p":
			ts.DeleteProcessingTimeTimer(num(arg))
		case "emit":
			out.Collect(arg)
		case "side":
			Output(ctx, "side", arg)
		default:
			return fmt.Errorf("unknown action %q", a)
		}
	}
	return nil
}

func (f *scenarioFn) OnTimer(ctx *OnTimerContext[string], ts int64, out Collector[string]) error {
	if ctx.Timestamp() != ts {
		return fmt.Errorf("timer context timestamp %d, timer %d", ctx.Timestamp(), ts)
	}
	domain := "event"
	if ctx.TimeDomain() == ProcessingTime {
		domain = "proc"
		Output(ctx, "side", fmt.Sprintf("ptimer %s %d", ctx.Key(), ts))
	}
	out.Collect(fmt.Sprintf("fire %s %s %d wm=%s", domain, ctx.Key(), ts, fmtWM(ctx.CurrentWatermark())))
	if next, ok := f.then[Timer[string]{ctx.Key(), ts}]; ok {
		delete(f.then, Timer[string]{ctx.Key(), ts})
		ctx.TimerService().RegisterEventTimeTimer(next)
	}
	return nil
}

// timerScenario is a script of the keyed process operator. A command line
// feeds it one step; the indented lines below it are what the step must
// emit, in order:
//
//	rec KEY@TS ACTION...   a record (see scenarioFn)
//	wm T                   a watermark ("max" ends event time)
//	now T                  the clock moves to T; due processing-time timers fire
//	timers E P             E event-time and P processing-time timers are pending
//
//	out @TS VALUE          a record on the main output ("-": no timestamp)
//	side @TS VALUE         a record on side output "side"
//	wm T                   a watermark on the main output
const timerScenario = `
# Records emit with their own timestamp; side outputs too.
rec a@10 emit=a1 e=20 e=15
  out @10 a1
rec b@12 e=17 side=b-side
  side @12 b-side
timers 3 0

# Event-time timers fire when the watermark reaches them (time <= watermark),
# in time order, with the timer's time as timestamp, before the watermark
# goes on.
wm 14
  wm 14
wm 17
  out @15 fire event a 15 wm=17
  out @17 fire event b 17 wm=17
  wm 17
timers 1 0

# A timer is held once per key and time; deleting one cancels it.
rec a@30 e=40 e=40 e=45 -e=45 -e=99
rec b@30 e=39
timers 3 0
wm 25
  out @20 fire event a 20 wm=25
  wm 25

# A timer registered while timers fire, for a time the watermark has
# passed, fires in the same pass.
rec c@30 e=35>33
wm 41
  out @35 fire event c 35 wm=41
  out @33 fire event c 33 wm=41
  out @39 fire event b 39 wm=41
  out @40 fire event a 40 wm=41
  wm 41

# A record behind the watermark is processed as any other; a timer for a
# passed time fires with the next watermark.
rec a@5 emit=behind e=6
  out @5 behind
wm 42
  out @6 fire event a 6 wm=42
  wm 42

# Processing-time timers fire when the clock reaches them; what they emit
# has no timestamp.
now 100
rec a@50 p=150 p=120 p=120 side=x
  side @50 x
rec b@51 p=130 -p=130 p=140
timers 0 3
now 119
now 120
  out @- fire proc a 120 wm=42
  side @- ptimer a 120
now 200
  out @- fire proc b 140 wm=42
  out @- fire proc a 150 wm=42
  side @- ptimer b 140
  side @- ptimer a 150
timers 0 0

# The end of event time fires every event-time timer left.
rec z@60 e=1000 e=70>500
wm max
  out @70 fire event z 70 wm=max
  out @500 fire event z 500 wm=max
  out @1000 fire event z 1000 wm=max
  wm max
timers 0 0
`

func TestKeyedProcessTimerScenario(t *testing.T) {
	clock := &virtualMillis{}
	var log []string
	out := &outRecorder[string]{name: "out", log: &log}
	side := &outRecorder[string]{name: "side", log: &log}
	sides := &SideOutputs{}
	sides.Add("side", NewSideOutput[string](side))
	op := &KeyedProcess[string, scenarioRec, string]{
		Key: Key[string, scenarioRec]{Selector: func(r scenarioRec) string { return r.key }},
		Fn:  &scenarioFn{then: map[Timer[string]]int64{}}, Out: out, Sides: sides,
	}
	if err := op.Open(opTask("timers", clock)); err != nil {
		t.Fatal(err)
	}
	var want []string
	step, stepLine := "", 0
	check := func() {
		if !slices.Equal(log, want) {
			t.Errorf("line %d %q:\ngot\n  %s\nwant\n  %s", stepLine, step, strings.Join(log, "\n  "), strings.Join(want, "\n  "))
		}
		log, want = nil, nil
	}
	for n, line := range strings.Split(timerScenario, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "  ") {
			want = append(want, strings.TrimSpace(line))
			continue
		}
		check()
		step, stepLine = line, n+1
		f := strings.Fields(line)
		var err error
		switch f[0] {
		case "rec":
			key, at, _ := strings.Cut(f[1], "@")
			ts, perr := parseWM(at)
			if perr != nil {
				t.Fatalf("line %d: %v", n+1, perr)
			}
			err = op.ProcessBatch(&Batch[scenarioRec]{Values: []scenarioRec{{key, f[2:]}}, Times: []int64{ts}})
		case "wm":
			wm, perr := parseWM(f[1])
			if perr != nil {
				t.Fatalf("line %d: %v", n+1, perr)
			}
			err = op.ProcessWatermark(wm)
		case "now":
			clock.now, err = strconv.ParseInt(f[1], 10, 64)
			if err == nil && op.NextProcessingTime() <= clock.now {
				err = op.OnProcessingTime(clock.now)
			}
		case "timers":
			e, p := op.PendingTimers()
			if got := fmt.Sprintf("%d %d", e, p); got != strings.Join(f[1:], " ") {
				t.Errorf("line %d: pending timers %s, want %s", n+1, got, strings.Join(f[1:], " "))
			}
		default:
			t.Fatalf("line %d: unknown step %q", n+1, line)
		}
		if err != nil {
			t.Fatalf("line %d %q: %v", n+1, line, err)
		}
	}
	check()
	if len(side.wms) == 0 || side.wms[len(side.wms)-1] != MaxWatermark {
		t.Errorf("side output got watermarks %v, want them to end with max", side.wms)
	}
}

// noTimerFn is a KeyedProcessFunction that emits its records and registers
// an event timer at every record's time plus 10, without OnTimer.
type noTimerFn struct{}

func (noTimerFn) ProcessElement(ctx *KeyedContext[int], v int, out Collector[int]) error {
	ctx.TimerService().RegisterEventTimeTimer(ctx.Timestamp() + 10)
	out.Collect(v)
	return nil
}

func TestKeyedProcessWithoutOnTimerDropsTimers(t *testing.T) {
	out := &outRecorder[int]{}
	op := &KeyedProcess[int, int, int]{Key: Key[int, int]{Selector: func(v int) int { return v % 3 }}, Fn: noTimerFn{}, Out: out}
	if err := op.Open(opTask("p", &virtualMillis{})); err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessBatch(&Batch[int]{Values: []int{1, 2, 3}, Times: []int64{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if e, _ := op.PendingTimers(); e != 3 {
		t.Fatalf("pending %d, want 3", e)
	}
	if err := op.ProcessWatermark(MaxWatermark); err != nil {
		t.Fatal(err)
	}
	if e, _ := op.PendingTimers(); e != 0 || len(out.records) != 3 || !slices.Equal(out.wms, []int64{MaxWatermark}) {
		t.Fatalf("pending %d, out %v, watermarks %v", e, out.records, out.wms)
	}
}

// timerFuncs builds a keyed function from closures, for table tests.
type timerFuncs[K comparable, IN, OUT any] struct {
	element func(*KeyedContext[K], IN, Collector[OUT]) error
	timer   func(*OnTimerContext[K], int64, Collector[OUT]) error
	opened  int
	closed  int
}

func (f *timerFuncs[K, IN, OUT]) ProcessElement(ctx *KeyedContext[K], v IN, out Collector[OUT]) error {
	return f.element(ctx, v, out)
}

func (f *timerFuncs[K, IN, OUT]) OnTimer(ctx *OnTimerContext[K], ts int64, out Collector[OUT]) error {
	return f.timer(ctx, ts, out)
}

func (f *timerFuncs[K, IN, OUT]) Open(*TaskContext) error { f.opened++; return nil }
func (f *timerFuncs[K, IN, OUT]) Close() error            { f.closed++; return nil }

func TestKeyedProcessFailures(t *testing.T) {
	register := func(ctx *KeyedContext[int], v int, _ Collector[int]) error {
		ctx.TimerService().RegisterEventTimeTimer(int64(v))
		ctx.TimerService().RegisterProcessingTimeTimer(int64(v))
		return nil
	}
	errBoom := errors.New("boom")
	cases := []struct {
		name    string
		fn      *timerFuncs[int, int, int]
		step    func(op *KeyedProcess[int, int, int]) error
		isPanic bool
	}{
		{
			name: "element error",
			fn: &timerFuncs[int, int, int]{element: func(*KeyedContext[int], int, Collector[int]) error {
				return fmt.Errorf("element: %w", errBoom)
			}},
			step: func(op *KeyedProcess[int, int, int]) error {
				return op.ProcessBatch(&Batch[int]{Values: []int{1}, Times: []int64{1}})
			},
		},
		{
			name: "event timer error",
			fn: &timerFuncs[int, int, int]{element: register, timer: func(*OnTimerContext[int], int64, Collector[int]) error {
				return fmt.Errorf("timer: %w", errBoom)
			}},
			step: func(op *KeyedProcess[int, int, int]) error { return op.ProcessWatermark(5) },
		},
		{
			name: "processing timer panic",
			fn: &timerFuncs[int, int, int]{element: register, timer: func(*OnTimerContext[int], int64, Collector[int]) error {
				panic("boom")
			}},
			step:    func(op *KeyedProcess[int, int, int]) error { return op.OnProcessingTime(5) },
			isPanic: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := &KeyedProcess[int, int, int]{Key: Key[int, int]{Selector: func(v int) int { return v }}, Fn: tc.fn, Out: &outRecorder[int]{}}
			if err := op.Open(opTask("failing", &virtualMillis{})); err != nil {
				t.Fatal(err)
			}
			if tc.fn.opened != 1 {
				t.Fatalf("opened %d times", tc.fn.opened)
			}
			if err := op.ProcessBatch(&Batch[int]{Values: []int{3}, Times: []int64{3}}); err != nil && tc.name != "element error" {
				t.Fatal(err)
			}
			err := tc.step(op)
			var oe *OperatorError
			if !errors.As(err, &oe) || oe.Operator != "failing" {
				t.Fatalf("error %v does not name the operator", err)
			}
			if tc.isPanic != errors.Is(err, ErrPanic) || (!tc.isPanic && !errors.Is(err, errBoom)) {
				t.Fatalf("error %v: want panic %v", err, tc.isPanic)
			}
			if err := op.Close(); err != nil || tc.fn.closed != 1 {
				t.Fatalf("close: %v, closed %d times", err, tc.fn.closed)
			}
		})
	}
}

func TestKeyedProcessFlushesLargeFirings(t *testing.T) {
	// Many timers firing at once reach the output in bounded batches.
	var sizes []int
	out := &batchSizeLog{sizes: &sizes}
	fn := &timerFuncs[int, int, int]{
		element: func(ctx *KeyedContext[int], v int, _ Collector[int]) error {
			ctx.TimerService().RegisterEventTimeTimer(100)
			return nil
		},
		timer: func(ctx *OnTimerContext[int], ts int64, out Collector[int]) error {
			out.Collect(ctx.Key())
			return nil
		},
	}
	op := &KeyedProcess[int, int, int]{Key: Key[int, int]{Selector: func(v int) int { return v }}, Fn: fn, Out: out}
	if err := op.Open(opTask("p", &virtualMillis{})); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	b := NewBatch[int](n)
	for i := range n {
		b.Append(i, 1)
	}
	if err := op.ProcessBatch(b); err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessWatermark(100); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sizes {
		if s > emitChunk {
			t.Fatalf("batch of %d records", s)
		}
		total += s
	}
	if total != n {
		t.Fatalf("%d records, want %d", total, n)
	}
}

type batchSizeLog struct{ sizes *[]int }

func (b *batchSizeLog) ProcessBatch(x *Batch[int]) error {
	*b.sizes = append(*b.sizes, x.Len())
	return nil
}
func (b *batchSizeLog) ProcessWatermark(int64) error { return nil }

func TestProcessNonKeyed(t *testing.T) {
	out := &outRecorder[string]{}
	odd := &outRecorder[int]{}
	sides := &SideOutputs{}
	sides.Add("odd", NewSideOutput[int](odd))
	var seenWM []int64
	fn := ProcessFunc[int, string](func(ctx *ProcessContext, v int, o Collector[string]) error {
		seenWM = append(seenWM, ctx.CurrentWatermark())
		if ctx.CurrentProcessingTime() != 77 || ctx.Task().Operator != "proc" {
			return fmt.Errorf("context: time %d task %v", ctx.CurrentProcessingTime(), ctx.Task())
		}
		if v%2 == 1 {
			Output(ctx, "odd", v)
			Output(ctx, "nobody", v)
			return nil
		}
		o.Collect(fmt.Sprint("even ", v))
		return nil
	})
	op := &Process[int, string]{Fn: fn, Out: out, Sides: sides}
	if err := op.Open(opTask("proc", &virtualMillis{now: 77})); err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { return op.ProcessBatch(&Batch[int]{Values: []int{1, 2}, Times: []int64{10, 11}}) },
		func() error { return op.ProcessWatermark(11) },
		func() error {
			return op.ProcessBatch(&Batch[int]{Values: []int{3, 4}, Times: []int64{12, NoTimestamp}})
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	wantOut := []tsRecord[string]{{"even 2", 11}, {"even 4", NoTimestamp}}
	wantOdd := []tsRecord[int]{{1, 10}, {3, 12}}
	if !slices.Equal(out.records, wantOut) || !slices.Equal(odd.records, wantOdd) {
		t.Fatalf("out %v odd %v", out.records, odd.records)
	}
	if !slices.Equal(out.wms, []int64{11}) || !slices.Equal(odd.wms, []int64{11}) {
		t.Fatalf("watermarks: out %v side %v", out.wms, odd.wms)
	}
	if !slices.Equal(seenWM, []int64{NoTimestamp, NoTimestamp, 11, 11}) {
		t.Fatalf("watermarks seen %v", seenWM)
	}
	if sides.Dropped != 2 {
		t.Fatalf("dropped %d side records, want 2", sides.Dropped)
	}
}
