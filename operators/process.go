package operators

import (
	"fmt"
	"time"
)

// This file holds what the process-function operators share (time
// domains, timer services, side-output emission, the bounded output
// collector) and the non-keyed Process operator. The keyed operators are in
// keyed.go and coprocess.go.
//
// Concurrency: like every operator, a process operator is one instance per
// subtask, driven by the subtask's goroutine only. It takes no locks and
// starts no goroutines; the contexts it hands to user functions are valid
// only during the call that receives them.

// TimeDomain tells whether a timer fired on event time or processing time.
type TimeDomain int

const (
	// EventTime timers fire when the watermark reaches their time.
	EventTime TimeDomain = iota
	// ProcessingTime timers fire when the clock reaches their time.
	ProcessingTime
)

func (d TimeDomain) String() string {
	switch d {
	case EventTime:
		return "event-time"
	case ProcessingTime:
		return "processing-time"
	}
	return fmt.Sprintf("time-domain(%d)", int(d))
}

// TimerService tells the time and registers timers of the key that a keyed
// function is processing. Times are milliseconds. A (key, time) pair is
// registered once however often it is registered, as in Flink; deleting a
// timer that is not registered does nothing.
//
// Event-time timers fire when the watermark reaches their time (time <=
// watermark), in time order (timers of equal time in an unspecified but
// deterministic order), before the watermark goes downstream; a timer
// registered for a time the watermark has passed fires with the next
// watermark, or in the same pass when registered while timers fire.
// Processing-time timers fire when the clock reaches their time; those
// pending when the input ends do not fire.
type TimerService interface {
	// CurrentProcessingTime returns the processing time of the subtask.
	CurrentProcessingTime() int64
	// CurrentWatermark returns the subtask's event time.
	CurrentWatermark() int64
	RegisterEventTimeTimer(t int64)
	RegisterProcessingTimeTimer(t int64)
	DeleteEventTimeTimer(t int64)
	DeleteProcessingTimeTimer(t int64)
}

// SideOutputContext is implemented by the contexts handed to process
// functions; Output emits to side outputs through it.
type SideOutputContext interface {
	// SideOutputTarget returns the side outputs of the operator and the
	// timestamp that records emitted now carry.
	SideOutputTarget() (sides *SideOutputs, ts int64)
}

// Output emits v to the side output with tag id, with the timestamp of the
// record (or event-time timer) being processed. It reports false, and the
// operator counts the record as dropped, when no operator consumes that side
// output or it carries another type than T.
func Output[T any](ctx SideOutputContext, tag string, v T) bool {
	sides, ts := ctx.SideOutputTarget()
	return Emit(sides, tag, v, ts)
}

// wallMillis is processing time when the task context has no clock.
func wallMillis() int64 { return time.Now().UnixMilli() }

// nowMillis returns the processing time of ctx.
func nowMillis(ctx *TaskContext) int64 {
	if ctx == nil || ctx.Clock == nil {
		return wallMillis()
	}
	return ctx.Clock.NowMillis()
}

// emitChunk bounds the records an operator buffers before handing them
// downstream, so that one input batch or one firing of many timers does not
// build an unbounded batch.
const emitChunk = 1024

// emitter is the Collector of a process operator's main output. Records
// get the timestamp ts, set by the operator before each call; they are
// handed to out when emitChunk are buffered and on flush. An error from out
// is kept and returned by the next flush.
type emitter[T any] struct {
	out Input[T]
	buf Batch[T]
	ts  int64
	err error
}

// Collect implements Collector.
func (e *emitter[T]) Collect(v T) { e.emit(v, e.ts) }

// emit buffers v with timestamp ts.
func (e *emitter[T]) emit(v T, ts int64) {
	e.buf.Append(v, ts)
	if len(e.buf.Values) >= emitChunk {
		_ = e.flush()
	}
}

// flush hands the buffered records to out.
func (e *emitter[T]) flush() error {
	if len(e.buf.Values) > 0 {
		if e.err == nil {
			e.err = e.out.ProcessBatch(&e.buf)
		}
		e.buf.Reset()
	}
	return e.err
}

// flushAll hands over the main output's records and then the side
// outputs'.
func flushAll[T any](e *emitter[T], sides *SideOutputs) error {
	if err := e.flush(); err != nil {
		return err
	}
	return sides.Flush()
}

// forwardWatermark flushes, then passes wm to the main output and the side
// outputs.
func forwardWatermark[T any](e *emitter[T], sides *SideOutputs, wm int64) error {
	if err := flushAll(e, sides); err != nil {
		return err
	}
	if err := e.out.ProcessWatermark(wm); err != nil {
		return err
	}
	return sides.ProcessWatermark(wm)
}

// openFn calls fn's Open(*TaskContext) error if it has one.
func openFn(ctx *TaskContext, fn any) (err error) {
	if o, ok := fn.(interface{ Open(*TaskContext) error }); ok {
		defer recoverInto(ctx, &err)
		return attribute(ctx, o.Open(ctx))
	}
	return nil
}

// closeFn calls fn's Close() error if it has one.
func closeFn(ctx *TaskContext, fn any) (err error) {
	if c, ok := fn.(interface{ Close() error }); ok {
		defer recoverInto(ctx, &err)
		return attribute(ctx, c.Close())
	}
	return nil
}

// ProcessContext is what a non-keyed process function sees of the record
// it is processing. It has no timers: as in Flink, timers need a key.
type ProcessContext struct {
	timestamp int64
	watermark int64
	sides     *SideOutputs
	task      *TaskContext
}

// Timestamp returns the event timestamp of the current record, or
// NoTimestamp.
func (c *ProcessContext) Timestamp() int64 { return c.timestamp }

// CurrentWatermark returns the subtask's event time.
func (c *ProcessContext) CurrentWatermark() int64 { return c.watermark }

// CurrentProcessingTime returns the processing time of the subtask.
func (c *ProcessContext) CurrentProcessingTime() int64 { return nowMillis(c.task) }

// Task returns the task context of the operator.
func (c *ProcessContext) Task() *TaskContext { return c.task }

// SideOutputTarget implements SideOutputContext.
func (c *ProcessContext) SideOutputTarget() (*SideOutputs, int64) { return c.sides, c.timestamp }

// ProcessFunction handles the records of a stream one at a time, emitting
// any number of records to its output and to side outputs (see Output). It
// may also implement Open(*TaskContext) error and Close() error.
type ProcessFunction[IN, OUT any] interface {
	ProcessElement(ctx *ProcessContext, v IN, out Collector[OUT]) error
}

// ProcessFunc adapts a function to a ProcessFunction.
type ProcessFunc[IN, OUT any] func(ctx *ProcessContext, v IN, out Collector[OUT]) error

// ProcessElement implements ProcessFunction.
func (f ProcessFunc[IN, OUT]) ProcessElement(ctx *ProcessContext, v IN, out Collector[OUT]) error {
	return f(ctx, v, out)
}

// Process runs a ProcessFunction. Records it emits carry the timestamp of
// the input record.
type Process[IN, OUT any] struct {
	Base
	Fn  ProcessFunction[IN, OUT]
	Out Input[OUT]
	// Sides are the side outputs the function emits to; nil for none.
	Sides *SideOutputs
	pc    ProcessContext
	out   emitter[OUT]
	// opStates are the operator states the function registered (see
	// operator_state.go).
	opStates *operatorStateRegistry
}

// Open implements Operator.
func (p *Process[IN, OUT]) Open(ctx *TaskContext) (err error) {
	p.Ctx = ctx
	p.pc = ProcessContext{watermark: NoTimestamp, sides: p.Sides, task: ctx}
	p.out.out = p.Out
	p.opStates, err = openWithOperatorStates(ctx, p.Fn)
	return err
}

// ProcessBatch implements Input.
func (p *Process[IN, OUT]) ProcessBatch(b *Batch[IN]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		p.pc.timestamp, p.out.ts = b.Times[i], b.Times[i]
		if err := p.Fn.ProcessElement(&p.pc, v, &p.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.out, p.Sides))
}

// ProcessWatermark implements Operator and Input.
func (p *Process[IN, OUT]) ProcessWatermark(wm int64) error {
	p.pc.watermark = max(p.pc.watermark, wm)
	return attribute(p.Ctx, forwardWatermark(&p.out, p.Sides, wm))
}

// Close implements Operator.
func (p *Process[IN, OUT]) Close() error { return closeFn(p.Ctx, p.Fn) }
