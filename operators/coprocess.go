package operators

// This file holds the two-input operators of connected streams: CoProcess
// (also behind CoMap and CoFlatMap) and KeyedCoProcess with keyed timers.
//
// A two-input operator has one Input per gate (Input1, Input2). The runtime
// feeds each gate's records to that gate's Input and, as for any head
// operator, calls Operator.ProcessWatermark with the subtask's watermark:
// the minimum over the channels of both gates. The gates' own
// ProcessWatermark, used when an operator is driven gate by gate (tests,
// or a chain), tracks each gate's watermark and advances the operator to
// their minimum. Either way a watermark that does not advance event time is
// ignored.
//
// Concurrency: one instance per subtask, driven by the subtask's goroutine
// only; no locks, no goroutines.

// TwoInputOperator is an operator with two inputs (gates 0 and 1) of types
// IN1 and IN2.
type TwoInputOperator[IN1, IN2 any] interface {
	Operator
	Input1() Input[IN1]
	Input2() Input[IN2]
}

// gateInput is the Input of one gate of a two-input operator.
type gateInput[T any] struct {
	batch     func(*Batch[T]) error
	watermark func(int64) error
}

// ProcessBatch implements Input.
func (g gateInput[T]) ProcessBatch(b *Batch[T]) error { return g.batch(b) }

// ProcessWatermark implements Input.
func (g gateInput[T]) ProcessWatermark(wm int64) error { return g.watermark(wm) }

// gateClock is the event time of a two-input operator: the watermark of
// each gate and the combined one.
type gateClock struct {
	gate    [2]int64
	current int64
}

func newGateClock() gateClock {
	return gateClock{gate: [2]int64{NoTimestamp, NoTimestamp}, current: NoTimestamp}
}

// onGate records watermark wm of gate i and returns the minimum over both
// gates.
func (g *gateClock) onGate(i int, wm int64) int64 {
	g.gate[i] = max(g.gate[i], wm)
	return min(g.gate[0], g.gate[1])
}

// advance reports whether wm advances event time, and records it if so.
func (g *gateClock) advance(wm int64) bool {
	if wm <= g.current {
		return false
	}
	g.current = wm
	return true
}

// CoProcessFunction handles the records of two connected streams, each
// with its own method; both emit to one output and to side outputs (see
// Output). Records emitted carry the timestamp of the input record. It may
// also implement Open(*TaskContext) error and Close() error.
type CoProcessFunction[IN1, IN2, OUT any] interface {
	ProcessElement1(ctx *ProcessContext, v IN1, out Collector[OUT]) error
	ProcessElement2(ctx *ProcessContext, v IN2, out Collector[OUT]) error
}

// CoFlatMapFuncs adapts two functions, one per input, to a
// CoProcessFunction; CoMap and CoFlatMap of the stream package use it.
type CoFlatMapFuncs[IN1, IN2, OUT any] struct {
	Fn1 func(IN1, Collector[OUT]) error
	Fn2 func(IN2, Collector[OUT]) error
}

// ProcessElement1 implements CoProcessFunction.
func (f CoFlatMapFuncs[IN1, IN2, OUT]) ProcessElement1(_ *ProcessContext, v IN1, out Collector[OUT]) error {
	return f.Fn1(v, out)
}

// ProcessElement2 implements CoProcessFunction.
func (f CoFlatMapFuncs[IN1, IN2, OUT]) ProcessElement2(_ *ProcessContext, v IN2, out Collector[OUT]) error {
	return f.Fn2(v, out)
}

// CoProcess runs a CoProcessFunction over two inputs.
type CoProcess[IN1, IN2, OUT any] struct {
	Base
	Fn  CoProcessFunction[IN1, IN2, OUT]
	Out Input[OUT]
	// Sides are the side outputs the function emits to; nil for none.
	Sides *SideOutputs
	pc    ProcessContext
	out   emitter[OUT]
	clock gateClock
	// opStates are the operator states the function registered (see
	// operator_state.go).
	opStates *operatorStateRegistry
}

// Open implements Operator.
func (p *CoProcess[IN1, IN2, OUT]) Open(ctx *TaskContext) (err error) {
	p.Ctx = ctx
	p.pc = ProcessContext{watermark: NoTimestamp, sides: p.Sides, task: ctx}
	p.out = emitter[OUT]{out: p.Out}
	p.clock = newGateClock()
	p.opStates, err = openWithOperatorStates(ctx, p.Fn)
	return err
}

// Input1 returns the input of gate 0.
func (p *CoProcess[IN1, IN2, OUT]) Input1() Input[IN1] {
	return gateInput[IN1]{batch: p.processBatch1, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(0, wm)) }}
}

// Input2 returns the input of gate 1.
func (p *CoProcess[IN1, IN2, OUT]) Input2() Input[IN2] {
	return gateInput[IN2]{batch: p.processBatch2, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(1, wm)) }}
}

func (p *CoProcess[IN1, IN2, OUT]) processBatch1(b *Batch[IN1]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		p.pc.timestamp, p.out.ts = b.Times[i], b.Times[i]
		if err := p.Fn.ProcessElement1(&p.pc, v, &p.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.out, p.Sides))
}

func (p *CoProcess[IN1, IN2, OUT]) processBatch2(b *Batch[IN2]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		p.pc.timestamp, p.out.ts = b.Times[i], b.Times[i]
		if err := p.Fn.ProcessElement2(&p.pc, v, &p.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.out, p.Sides))
}

// ProcessWatermark implements Operator.
func (p *CoProcess[IN1, IN2, OUT]) ProcessWatermark(wm int64) error {
	if !p.clock.advance(wm) {
		return nil
	}
	p.pc.watermark = wm
	return attribute(p.Ctx, forwardWatermark(&p.out, p.Sides, wm))
}

// Close implements Operator.
func (p *CoProcess[IN1, IN2, OUT]) Close() error { return closeFn(p.Ctx, p.Fn) }

// KeyedCoProcessFunction handles the records of two keyed streams with the
// same key type, connected so that records of equal keys meet in one
// subtask. Both methods see the record's key, timestamp and the timers of
// the key, shared by both inputs. It may also implement TimerFunction to act
// on timers, and Open(*TaskContext) error and Close() error.
type KeyedCoProcessFunction[K comparable, IN1, IN2, OUT any] interface {
	ProcessElement1(ctx *KeyedContext[K], v IN1, out Collector[OUT]) error
	ProcessElement2(ctx *KeyedContext[K], v IN2, out Collector[OUT]) error
}

// KeyedCoProcess runs a KeyedCoProcessFunction over two keyed inputs. It
// implements ProcessingTimer, so the runtime wakes it for processing-time
// timers.
//
// KeyedCoProcess is Checkpointed: its state is the timers of every key and
// the keyed states of the function, as KeyedProcess's; both inputs share
// them. The function's own fields are not checkpointed.
type KeyedCoProcess[K comparable, IN1, IN2, OUT any] struct {
	Base
	Key1 Key[K, IN1]
	Key2 Key[K, IN2]
	Fn   KeyedCoProcessFunction[K, IN1, IN2, OUT]
	Out  Input[OUT]
	// Sides are the side outputs the function emits to; nil for none.
	Sides *SideOutputs
	// KeyCodec encodes keys in checkpoints; the zero StateCodec stands for
	// the key type's default codec.
	KeyCodec StateCodec[K]
	core     keyedCore[K, OUT]
	clock    gateClock
}

// Open implements Operator.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) Open(ctx *TaskContext) error {
	p.Ctx = ctx
	p.clock = newGateClock()
	p.core.setKeyCodec(p.KeyCodec)
	return p.core.open(ctx, p.Fn, p.Out, p.Sides)
}

// Input1 returns the input of gate 0.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) Input1() Input[IN1] {
	return gateInput[IN1]{batch: p.processBatch1, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(0, wm)) }}
}

// Input2 returns the input of gate 1.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) Input2() Input[IN2] {
	return gateInput[IN2]{batch: p.processBatch2, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(1, wm)) }}
}

func (p *KeyedCoProcess[K, IN1, IN2, OUT]) processBatch1(b *Batch[IN1]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		kc := p.core.element(p.Key1.Selector(v), b.Times[i])
		if err := p.Fn.ProcessElement1(kc, v, &p.core.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.core.out, p.Sides))
}

func (p *KeyedCoProcess[K, IN1, IN2, OUT]) processBatch2(b *Batch[IN2]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		kc := p.core.element(p.Key2.Selector(v), b.Times[i])
		if err := p.Fn.ProcessElement2(kc, v, &p.core.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.core.out, p.Sides))
}

// ProcessWatermark implements Operator: event-time timers due at wm fire,
// in time order, before wm goes on.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) ProcessWatermark(wm int64) (err error) {
	if !p.clock.advance(wm) {
		return nil
	}
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.advance(wm))
}

// NextProcessingTime implements ProcessingTimer.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) NextProcessingTime() int64 {
	return p.core.nextProcessingTime()
}

// OnProcessingTime implements ProcessingTimer.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) OnProcessingTime(now int64) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.onProcessingTime(now))
}

// PendingTimers returns the number of registered event- and
// processing-time timers.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) PendingTimers() (event, processing int) {
	return p.core.pendingTimers()
}

// Close implements Operator.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) Close() error { return closeFn(p.Ctx, p.Fn) }
