package operators

import (
	"fmt"
	"math"
	"time"
)

// Event time, as in Flink: every record carries a timestamp in milliseconds
// and watermarks tell how far event time has progressed. A watermark wm
// declares that no more records with a timestamp at or below wm are
// expected; records that still come are late.
//
// A WatermarkStrategy says where timestamps come from (a
// TimestampAssigner) and when watermarks are emitted (a
// WatermarkGenerator). It is applied at a source (SourceOperator.Watermarks)
// or in the middle of a stream (AssignTimestampsAndWatermarks).
//
// Concurrency: a strategy is a read-only value that every subtask of an
// operator shares. Its factories are called on each subtask's goroutine,
// possibly at the same time; the assigners and generators they return
// belong to that subtask (a generator to one split of it) and are called on
// its goroutine only. A factory that returns one shared assigner makes that
// assigner called concurrently: it must then be safe for concurrent use,
// which a pure function is.

// DefaultWatermarkInterval is how often, at most, generators are asked for
// a watermark while no records arrive (Flink's autoWatermarkInterval).
// After every poll or batch that brought records they are asked at once.
const DefaultWatermarkInterval = 200 * time.Millisecond

// TimestampAssigner returns the event timestamp of record v, which arrived
// with timestamp recordTs (the one its source attached, or NoTimestamp).
type TimestampAssigner[T any] func(v T, recordTs int64) int64

// WatermarkOutput receives what a WatermarkGenerator decides.
type WatermarkOutput interface {
	// EmitWatermark declares that event time reached wm. A watermark not
	// above the output's previous one is ignored: watermarks never go
	// back. Emitting ends an idleness declared with MarkIdle; a split
	// idle by timeout is active again only with its next record.
	EmitWatermark(wm int64)
	// MarkIdle declares that the output expects no records for a while,
	// so that it does not hold event time back. It is active again on its
	// next record or watermark.
	MarkIdle()
}

// WatermarkGenerator decides when event time advances, from the records it
// sees and from the passing of processing time. Each split of a subtask
// has its own generator; the methods are called on the subtask's goroutine
// only, so a generator needs no locks.
type WatermarkGenerator[T any] interface {
	// OnEvent is called for every record with its assigned timestamp. A
	// generator may emit a watermark here (punctuated) or only remember
	// what it saw. Either way the watermark goes downstream after the
	// batch the record came in, never between its records.
	OnEvent(v T, ts int64, out WatermarkOutput)
	// OnPeriodicEmit is called after every poll or batch that brought
	// records, and at most every emit interval while none arrive.
	OnPeriodicEmit(out WatermarkOutput)
}

// WatermarkStrategy tells how records get their event timestamps and how
// watermarks are generated. The zero value keeps the records' timestamps
// and emits no watermarks (except MaxWatermark at the end of input).
type WatermarkStrategy[T any] struct {
	// NewAssigner makes the timestamp assigner of a subtask. Nil keeps the
	// timestamp each record arrives with.
	NewAssigner func(ctx *TaskContext) TimestampAssigner[T]
	// NewGenerator makes a watermark generator: one per split of a source
	// subtask (see SplitSource), one per subtask otherwise. Nil emits no
	// watermarks.
	NewGenerator func(ctx *TaskContext) WatermarkGenerator[T]
	// IdleTimeout, when positive, marks a split idle when it brought no
	// record for that long (in processing time, TaskContext.Clock), so
	// that it does not hold the watermark back; a subtask whose splits are
	// all idle tells downstream it is idle. Zero never times out.
	//
	// Idleness is noticed on polls (and, mid-stream, on processing-time
	// wake-ups). The time counts from the last record, including time a
	// backpressured source was not polled: after a long stall, a split
	// whose records did not fit in the next poll can be declared idle,
	// and its records may then be late. Choose a timeout well above the
	// stalls a job sees.
	IdleTimeout time.Duration
	// EmitInterval is how often generators are asked for a watermark while
	// no records arrive; zero means DefaultWatermarkInterval.
	EmitInterval time.Duration
}

// Validate reports a setting that cannot work.
func (s *WatermarkStrategy[T]) Validate() error {
	switch {
	case s.IdleTimeout < 0:
		return fmt.Errorf("watermark strategy: idle timeout %v: must not be negative", s.IdleTimeout)
	case s.EmitInterval < 0:
		return fmt.Errorf("watermark strategy: emit interval %v: must not be negative", s.EmitInterval)
	}
	return nil
}

// IngestionTimeStrategy is the strategy of ingestion time: every record is
// stamped with the processing time (TaskContext.Clock) at which it is read,
// and the watermark follows the clock, one millisecond behind, also while
// no records arrive.
func IngestionTimeStrategy[T any]() WatermarkStrategy[T] {
	return WatermarkStrategy[T]{
		NewAssigner: func(ctx *TaskContext) TimestampAssigner[T] {
			c := clockOf(ctx)
			return func(T, int64) int64 { return c.NowMillis() }
		},
		NewGenerator: func(ctx *TaskContext) WatermarkGenerator[T] {
			return &ingestionTime[T]{clock: clockOf(ctx)}
		},
	}
}

// ProcessingTimeStrategy is the strategy of processing time: records carry
// no timestamp (NoTimestamp) and no watermarks are emitted before the end
// of input. Windows and timers then run on processing time.
func ProcessingTimeStrategy[T any]() WatermarkStrategy[T] {
	return WatermarkStrategy[T]{
		NewAssigner: func(*TaskContext) TimestampAssigner[T] {
			return func(T, int64) int64 { return NoTimestamp }
		},
	}
}

// BoundedOutOfOrderness returns a generator for records that arrive at most
// d out of order: after seeing the highest timestamp maxTs it emits, when
// asked periodically, the watermark maxTs - d - 1 (as Flink does). It emits
// nothing before the first timestamped record; records without a timestamp
// are ignored. A negative d counts as 0; d is truncated to milliseconds.
func BoundedOutOfOrderness[T any](d time.Duration) WatermarkGenerator[T] {
	return &boundedOutOfOrderness[T]{maxTs: NoTimestamp, delay: max(d.Milliseconds(), 0)}
}

// Monotonous returns a generator for records whose timestamps never
// decrease: BoundedOutOfOrderness with no delay, watermark maxTs - 1.
func Monotonous[T any]() WatermarkGenerator[T] { return BoundedOutOfOrderness[T](0) }

// Punctuated returns a generator that asks fn about every record and emits
// the watermark it returns when ok is true: for streams whose records
// carry watermark information.
func Punctuated[T any](fn func(v T, ts int64) (wm int64, ok bool)) WatermarkGenerator[T] {
	return punctuated[T](fn)
}

// NoWatermarks returns a generator that never emits a watermark.
func NoWatermarks[T any]() WatermarkGenerator[T] { return noWatermarks[T]{} }

type boundedOutOfOrderness[T any] struct {
	maxTs, delay int64
}

func (g *boundedOutOfOrderness[T]) OnEvent(_ T, ts int64, _ WatermarkOutput) {
	g.maxTs = max(g.maxTs, ts)
}

func (g *boundedOutOfOrderness[T]) OnPeriodicEmit(out WatermarkOutput) {
	// Below this, maxTs - delay - 1 would overflow: event time has not
	// started.
	if g.maxTs < math.MinInt64+g.delay+1 {
		return
	}
	out.EmitWatermark(g.maxTs - g.delay - 1)
}

type punctuated[T any] func(v T, ts int64) (int64, bool)

func (p punctuated[T]) OnEvent(v T, ts int64, out WatermarkOutput) {
	if wm, ok := p(v, ts); ok {
		out.EmitWatermark(wm)
	}
}

func (punctuated[T]) OnPeriodicEmit(WatermarkOutput) {}

type noWatermarks[T any] struct{}

func (noWatermarks[T]) OnEvent(T, int64, WatermarkOutput) {}
func (noWatermarks[T]) OnPeriodicEmit(WatermarkOutput)    {}

type ingestionTime[T any] struct{ clock Clock }

func (*ingestionTime[T]) OnEvent(T, int64, WatermarkOutput) {}

func (g *ingestionTime[T]) OnPeriodicEmit(out WatermarkOutput) {
	out.EmitWatermark(g.clock.NowMillis() - 1)
}

// systemClock is the wall clock, for a task context without a clock.
type systemClock struct{}

func (systemClock) NowMillis() int64 { return time.Now().UnixMilli() }

func clockOf(ctx *TaskContext) Clock {
	if ctx == nil || ctx.Clock == nil {
		return systemClock{}
	}
	return ctx.Clock
}

// splitWatermark is the watermark state of one split: its generator writes
// to it as its WatermarkOutput.
type splitWatermark[T any] struct {
	gen WatermarkGenerator[T]
	// wm is the highest watermark the generator emitted.
	wm int64
	// idle is set by the generator (MarkIdle), timedOut by the idle
	// timeout; either keeps the split from holding event time back.
	idle, timedOut bool
	// finished splits bring no more records (SplitFinisher).
	finished bool
	// lastRecord is the processing time of the split's last record.
	lastRecord int64
}

// EmitWatermark implements WatermarkOutput.
func (o *splitWatermark[T]) EmitWatermark(wm int64) {
	o.idle = false
	o.wm = max(o.wm, wm)
}

// MarkIdle implements WatermarkOutput.
func (o *splitWatermark[T]) MarkIdle() { o.idle = true }

// live reports whether the split holds event time back.
func (o *splitWatermark[T]) live() bool { return !o.idle && !o.timedOut && !o.finished }

// watermarker runs a WatermarkStrategy for one subtask: it stamps records,
// feeds the generators of their splits, and emits the minimum watermark
// over the live splits whenever it rises. It tells downstream, through
// TaskContext.MarkIdle, when every split is idle, and that it is active
// again before it emits a record or a watermark. It is a plain state
// machine of the subtask's goroutine.
type watermarker[T any] struct {
	ctx    *TaskContext
	clock  Clock
	assign TimestampAssigner[T]
	newGen func(*TaskContext) WatermarkGenerator[T]
	// idleAfter and interval are in milliseconds; idleAfter 0 never
	// times out.
	idleAfter, interval int64
	// splits, when set, tells the split of each record; else every
	// record belongs to split 0.
	splits   SplitSource
	finisher SplitFinisher
	outs     []*splitWatermark[T]
	// emit passes a watermark downstream.
	emit func(wm int64) error
	// emitted is the last watermark passed downstream.
	emitted int64
	// idle is true while downstream was told this subtask is idle.
	idle bool
	// lastPeriodic and lastRecord are processing times of the last
	// periodic emission and of the last record of any split.
	lastPeriodic, lastRecord int64
	ended                    bool
}

// newWatermarker prepares strategy s for the subtask of ctx. src is the
// source, which may implement SplitSource and SplitFinisher, or nil.
func newWatermarker[T any](ctx *TaskContext, s *WatermarkStrategy[T], src any, emit func(int64) error) (*watermarker[T], error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	e := &watermarker[T]{
		ctx: ctx, clock: clockOf(ctx), newGen: s.NewGenerator, emit: emit,
		idleAfter: s.IdleTimeout.Milliseconds(), interval: s.EmitInterval.Milliseconds(),
		emitted: NoTimestamp,
	}
	if s.IdleTimeout > 0 {
		e.idleAfter = max(e.idleAfter, 1)
	}
	if e.interval <= 0 {
		e.interval = DefaultWatermarkInterval.Milliseconds()
	}
	if s.NewAssigner != nil {
		e.assign = s.NewAssigner(ctx)
	}
	now := e.clock.NowMillis()
	e.lastPeriodic, e.lastRecord = now, now
	if ss, ok := src.(SplitSource); ok {
		e.splits = ss
		e.finisher, _ = src.(SplitFinisher)
		e.grow(ss.Splits(), now)
	} else {
		e.grow(1, now)
	}
	return e, nil
}

// grow makes sure splits [0, n) have their state.
func (e *watermarker[T]) grow(n int, now int64) {
	for len(e.outs) < n {
		o := &splitWatermark[T]{wm: NoTimestamp, lastRecord: now}
		if e.newGen != nil {
			o.gen = e.newGen(e.ctx)
		}
		e.outs = append(e.outs, o)
	}
}

// stamp assigns the timestamps of b in place and feeds every record to the
// generator of its split. A subtask that was idle is marked active first:
// b is about to be emitted.
func (e *watermarker[T]) stamp(b *Batch[T], now int64) error {
	for i := 0; i < len(b.Values); {
		end, _, err := e.stampUntil(b, i, now)
		if err != nil {
			return err
		}
		i = end
	}
	return nil
}

// stampUntil stamps the records of b from i on, as stamp does, and stops
// after the first record on which a generator emitted a watermark that
// raises the subtask's watermark (punctuated emission, as Flink emits it
// right after the record that carries it). It returns the end of the
// stamped run and whether a watermark is due; emitDue passes it on.
func (e *watermarker[T]) stampUntil(b *Batch[T], i int, now int64) (end int, due bool, err error) {
	if i >= len(b.Values) {
		return i, false, nil
	}
	if e.idle {
		e.markIdle(false)
	}
	e.lastRecord = now
	if e.splits != nil {
		e.grow(e.splits.Splits(), now)
	}
	var o *splitWatermark[T]
	if e.splits == nil {
		o = e.outs[0]
	}
	for ; i < len(b.Values); i++ {
		v, ts := b.Values[i], b.Times[i]
		if e.assign != nil {
			ts = e.assign(v, ts)
			b.Times[i] = ts
		}
		if e.splits != nil {
			k := e.splits.Split(i)
			if k < 0 {
				return i, false, fmt.Errorf("source reported split %d for record %d", k, i)
			}
			e.grow(k+1, now)
			o = e.outs[k]
		}
		o.lastRecord, o.idle, o.timedOut = now, false, false
		if o.gen != nil {
			before := o.wm
			o.gen.OnEvent(v, ts, o)
			if o.wm > before && o.wm > e.emitted && e.combined() > e.emitted {
				return i + 1, true, nil
			}
		}
	}
	return i, false, nil
}

// combined returns the minimum watermark over the live splits, or
// NoTimestamp when none is live.
func (e *watermarker[T]) combined() int64 {
	wm, active := MaxWatermark, false
	for _, o := range e.outs {
		if o.live() {
			wm, active = min(wm, o.wm), true
		}
	}
	if !active {
		return NoTimestamp
	}
	return wm
}

// emitDue passes on the watermark that stampUntil found due.
func (e *watermarker[T]) emitDue() error {
	wm := e.combined()
	if wm <= e.emitted {
		return nil
	}
	e.emitted = wm
	return e.emit(wm)
}

// advance is called after every poll or batch (records tells whether it
// brought any) and on processing-time wake-ups: it times splits out, asks
// the generators for watermarks when due, and emits the combined watermark
// if it rose. It then marks the subtask idle when no split is live.
func (e *watermarker[T]) advance(now int64, records bool) error {
	if e.ended {
		return nil
	}
	if e.splits != nil {
		e.grow(e.splits.Splits(), now)
	}
	for k, o := range e.outs {
		if !o.finished && e.finisher != nil && e.finisher.SplitFinished(k) {
			o.finished = true
		}
		if e.idleAfter > 0 && !o.timedOut && now-o.lastRecord >= e.idleAfter {
			o.timedOut = true
		}
	}
	if e.newGen != nil && (records || now-e.lastPeriodic >= e.interval) {
		e.lastPeriodic = now
		for _, o := range e.outs {
			// A timed-out split is not asked, as in Flink: only
			// its next record makes it active again.
			if !o.timedOut && !o.finished {
				o.gen.OnPeriodicEmit(o)
			}
		}
	}
	wm, active := MaxWatermark, false
	for _, o := range e.outs {
		if o.live() {
			wm, active = min(wm, o.wm), true
		}
	}
	if active && wm > e.emitted {
		if e.idle {
			e.markIdle(false)
		}
		e.emitted = wm
		if err := e.emit(wm); err != nil {
			return err
		}
	}
	idle := !active && (len(e.outs) > 0 || (e.idleAfter > 0 && now-e.lastRecord >= e.idleAfter))
	if idle != e.idle {
		e.markIdle(idle)
	}
	return nil
}

// next returns the processing time at which advance has work without
// records (a periodic emission or a split timing out), or MaxWatermark.
func (e *watermarker[T]) next() int64 {
	if e.ended {
		return MaxWatermark
	}
	next := MaxWatermark
	if e.newGen != nil {
		next = e.lastPeriodic + e.interval
	}
	if e.idleAfter > 0 {
		for _, o := range e.outs {
			if !o.timedOut && !o.finished {
				next = min(next, o.lastRecord+e.idleAfter)
			}
		}
		if len(e.outs) == 0 && !e.idle {
			next = min(next, e.lastRecord+e.idleAfter)
		}
	}
	return next
}

// capWait shortens a source's wait so that it is polled again when
// advance has work: idleness is only noticed on a poll.
func (e *watermarker[T]) capWait(wait time.Duration, now int64) time.Duration {
	next := e.next()
	if wait <= 0 || next == MaxWatermark {
		return wait
	}
	return min(wait, max(time.Duration(next-now)*time.Millisecond, time.Millisecond))
}

// end passes MaxWatermark on at the end of input, after marking the
// subtask active; generators are not asked anymore.
func (e *watermarker[T]) end() error {
	e.ended = true
	if e.idle {
		e.markIdle(false)
	}
	if e.emitted == MaxWatermark {
		return nil
	}
	e.emitted = MaxWatermark
	return e.emit(MaxWatermark)
}

func (e *watermarker[T]) markIdle(idle bool) {
	e.idle = idle
	if e.ctx != nil && e.ctx.MarkIdle != nil {
		e.ctx.MarkIdle(idle)
	}
}
