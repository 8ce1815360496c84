package operators

import (
	"fmt"
	"reflect"
)

// KeyedContext is what a keyed process function sees of the record it is
// processing: its key, its timestamp, the timers of its key and the side
// outputs; keyed states (NewValueState and the others) are read and written
// for its key with it. It belongs to the operator and is valid only during
// the call that receives it.
type KeyedContext[K comparable] struct {
	timers    *keyedTimers[K]
	timestamp int64
	// emit is the timestamp of records emitted now.
	emit  int64
	sides *SideOutputs
}

// Key returns the key of the current record.
func (c *KeyedContext[K]) Key() K { return c.timers.key }

// Timestamp returns the event timestamp of the current record, or
// NoTimestamp.
func (c *KeyedContext[K]) Timestamp() int64 { return c.timestamp }

// CurrentWatermark returns the subtask's event time.
func (c *KeyedContext[K]) CurrentWatermark() int64 { return c.timers.watermark }

// TimerService returns the timer service bound to the current key.
func (c *KeyedContext[K]) TimerService() TimerService { return c.timers }

// Task returns the task context of the operator.
func (c *KeyedContext[K]) Task() *TaskContext { return c.timers.task }

// SideOutputTarget implements SideOutputContext.
func (c *KeyedContext[K]) SideOutputTarget() (*SideOutputs, int64) { return c.sides, c.emit }

// OnTimerContext is what a keyed function sees of the timer that fired:
// its key (Key), its time (Timestamp) and its time domain, with the timer
// service and side outputs of a KeyedContext.
type OnTimerContext[K comparable] struct {
	KeyedContext[K]
	domain TimeDomain
}

// TimeDomain returns whether the timer fired on event or processing time.
func (c *OnTimerContext[K]) TimeDomain() TimeDomain { return c.domain }

// TimerFunction is implemented by keyed functions that act on timers
// (KeyedProcessFunction, KeyedCoProcessFunction). OnTimer is called for
// every timer that fires, with its time ts. Records it emits, to the main
// output or to side outputs, carry ts for an event-time timer, as in Flink,
// and NoTimestamp for a processing-time timer.
type TimerFunction[K comparable, OUT any] interface {
	OnTimer(ctx *OnTimerContext[K], ts int64, out Collector[OUT]) error
}

// KeyedProcessFunction handles the records of a keyed stream one at a time,
// with the record's key, timestamp and timers at hand. Records it emits
// carry the timestamp of the input record. It may also implement
// TimerFunction to act on timers, and Open(*TaskContext) error and Close()
// error.
type KeyedProcessFunction[K comparable, IN, OUT any] interface {
	ProcessElement(ctx *KeyedContext[K], v IN, out Collector[OUT]) error
}

// KeyedProcessFunc adapts a function to a KeyedProcessFunction; it has no
// OnTimer, so timers it registers fire without effect.
type KeyedProcessFunc[K comparable, IN, OUT any] func(ctx *KeyedContext[K], v IN, out Collector[OUT]) error

// ProcessElement implements KeyedProcessFunction.
func (f KeyedProcessFunc[K, IN, OUT]) ProcessElement(ctx *KeyedContext[K], v IN, out Collector[OUT]) error {
	return f(ctx, v, out)
}

// keyedTimers holds the event- and processing-time timers of a keyed
// operator instance and is the TimerService of its current key.
type keyedTimers[K comparable] struct {
	key       K
	event     *TimerQueue[K]
	proc      *TimerQueue[K]
	watermark int64
	task      *TaskContext
}

// CurrentProcessingTime implements TimerService.
func (t *keyedTimers[K]) CurrentProcessingTime() int64 { return nowMillis(t.task) }

// CurrentWatermark implements TimerService.
func (t *keyedTimers[K]) CurrentWatermark() int64 { return t.watermark }

// RegisterEventTimeTimer implements TimerService.
func (t *keyedTimers[K]) RegisterEventTimeTimer(ts int64) { t.event.Register(t.key, ts) }

// RegisterProcessingTimeTimer implements TimerService.
func (t *keyedTimers[K]) RegisterProcessingTimeTimer(ts int64) { t.proc.Register(t.key, ts) }

// DeleteEventTimeTimer implements TimerService.
func (t *keyedTimers[K]) DeleteEventTimeTimer(ts int64) { t.event.Delete(t.key, ts) }

// DeleteProcessingTimeTimer implements TimerService.
func (t *keyedTimers[K]) DeleteProcessingTimeTimer(ts int64) { t.proc.Delete(t.key, ts) }

// keyedCore is the part of a keyed operator that user functions see: the
// contexts, the timers and their firing, and the outputs.
type keyedCore[K comparable, OUT any] struct {
	timers  keyedTimers[K]
	kc      KeyedContext[K]
	tc      OnTimerContext[K]
	onTimer TimerFunction[K, OUT]
	out     emitter[OUT]
	sides   *SideOutputs
	// keys encodes keys in checkpoints.
	keys lazyKeys[K]
	// keyCodec is the operator's KeyCodec, which the keyed states need
	// from Open on on the Pebble backend; keyCodecSet tells that the
	// operator set it (see setKeyCodec).
	keyCodec    StateCodec[K]
	keyCodecSet bool
	// states are the keyed states the function registered.
	states *stateRegistry[K]
}

// setKeyCodec gives the core the operator's KeyCodec before open. An
// operator that does not call it gets the key type's default codec on the
// Pebble backend, and its snapshot fails if its KeyCodec is another.
func (c *keyedCore[K, OUT]) setKeyCodec(kc StateCodec[K]) {
	c.keyCodec, c.keyCodecSet = kc, true
}

// failed returns the error that stops the operator: one from downstream,
// or one of its state store that a state access met (the states record it
// as the output's error, so that nothing more is emitted).
func (c *keyedCore[K, OUT]) failed() error { return c.out.err }

// open prepares the core and opens fn, with the operator's state registry
// reachable from ctx while fn's Open runs (see bindStates).
func (c *keyedCore[K, OUT]) open(ctx *TaskContext, fn any, out Input[OUT], sides *SideOutputs) error {
	c.timers = keyedTimers[K]{event: NewTimerQueue[K](), proc: NewTimerQueue[K](), watermark: NoTimestamp, task: ctx}
	c.kc = KeyedContext[K]{timers: &c.timers, sides: sides}
	c.tc = OnTimerContext[K]{KeyedContext: KeyedContext[K]{timers: &c.timers, sides: sides}}
	c.onTimer, _ = fn.(TimerFunction[K, OUT])
	c.out = emitter[OUT]{out: out}
	c.sides = sides
	c.states = newStateRegistry[K](ctx)
	if ctx.Store != nil {
		keys, err := c.keys.get(ctx, c.keyCodec)
		if err != nil {
			return attribute(ctx, fmt.Errorf("keyed state on the Pebble state backend: %w", err))
		}
		c.states.store, c.states.keys, c.states.fail = ctx.Store, keys, &c.out.err
	}
	release := bindStates(ctx, c.states)
	defer release()
	return openFn(ctx, fn)
}

// element sets the context of a record of key k at time ts.
func (c *keyedCore[K, OUT]) element(k K, ts int64) *KeyedContext[K] {
	c.timers.key = k
	c.kc.timestamp, c.kc.emit, c.out.ts = ts, ts, ts
	return &c.kc
}

// fire calls OnTimer for every timer of q due at upto, in time order,
// including those registered meanwhile.
func (c *keyedCore[K, OUT]) fire(q *TimerQueue[K], upto int64, domain TimeDomain) error {
	for {
		tm, ok := q.PopDue(upto)
		if !ok {
			return nil
		}
		if c.onTimer == nil {
			continue
		}
		emit := tm.Time
		if domain == ProcessingTime {
			emit = NoTimestamp
		}
		c.timers.key = tm.Key
		c.tc.timestamp, c.tc.emit, c.tc.domain, c.out.ts = tm.Time, emit, domain, emit
		if err := c.onTimer.OnTimer(&c.tc, tm.Time, &c.out); err != nil {
			return err
		}
		if err := c.failed(); err != nil {
			return err
		}
	}
}

// advance moves event time to wm: due event-time timers fire, what they
// emitted goes out, then the watermark.
func (c *keyedCore[K, OUT]) advance(wm int64) error {
	c.timers.watermark = max(c.timers.watermark, wm)
	if err := c.fire(c.timers.event, wm, EventTime); err != nil {
		return err
	}
	return forwardWatermark(&c.out, c.sides, wm)
}

// nextProcessingTime returns the earliest processing-time timer.
func (c *keyedCore[K, OUT]) nextProcessingTime() int64 {
	if c.timers.proc == nil {
		return MaxWatermark
	}
	return c.timers.proc.Next()
}

// onProcessingTime fires the processing-time timers due at now.
func (c *keyedCore[K, OUT]) onProcessingTime(now int64) error {
	if err := c.fire(c.timers.proc, now, ProcessingTime); err != nil {
		return err
	}
	return flushAll(&c.out, c.sides)
}

// pendingTimers returns the number of registered timers.
func (c *keyedCore[K, OUT]) pendingTimers() (event, processing int) {
	if c.timers.event == nil {
		return 0, 0
	}
	return c.timers.event.Len(), c.timers.proc.Len()
}

// KeyedProcess runs a KeyedProcessFunction with timers and side outputs.
// It implements ProcessingTimer, so the runtime wakes it for
// processing-time timers. One instance serves one subtask and is driven by
// its goroutine only: no locks, no goroutines.
//
// KeyedProcess is Checkpointed: its state is the event- and
// processing-time timers of every key and the keyed states the function
// created in Open (NewValueState and the others; see SnapshotState). The
// function's own fields are not checkpointed: a function that keeps state
// in its fields starts afresh after a restore.
type KeyedProcess[K comparable, IN, OUT any] struct {
	Base
	Key Key[K, IN]
	Fn  KeyedProcessFunction[K, IN, OUT]
	Out Input[OUT]
	// Sides are the side outputs the function emits to; nil for none.
	Sides *SideOutputs
	// KeyCodec encodes keys in checkpoints; the zero StateCodec stands for
	// the key type's default codec.
	KeyCodec StateCodec[K]
	core     keyedCore[K, OUT]
}

// Open implements Operator.
func (p *KeyedProcess[K, IN, OUT]) Open(ctx *TaskContext) error {
	p.Ctx = ctx
	p.core.setKeyCodec(p.KeyCodec)
	return p.core.open(ctx, p.Fn, p.Out, p.Sides)
}

// ProcessBatch implements Input.
func (p *KeyedProcess[K, IN, OUT]) ProcessBatch(b *Batch[IN]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		kc := p.core.element(p.Key.Selector(v), b.Times[i])
		if err := p.Fn.ProcessElement(kc, v, &p.core.out); err != nil {
			return attribute(p.Ctx, err)
		}
		if err := p.core.failed(); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.core.out, p.Sides))
}

// ProcessWatermark implements Operator and Input: event-time timers due at
// wm fire, in time order, before wm goes on.
func (p *KeyedProcess[K, IN, OUT]) ProcessWatermark(wm int64) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.advance(wm))
}

// NextProcessingTime implements ProcessingTimer.
func (p *KeyedProcess[K, IN, OUT]) NextProcessingTime() int64 { return p.core.nextProcessingTime() }

// OnProcessingTime implements ProcessingTimer.
func (p *KeyedProcess[K, IN, OUT]) OnProcessingTime(now int64) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.onProcessingTime(now))
}

// PendingTimers returns the number of registered event- and
// processing-time timers.
func (p *KeyedProcess[K, IN, OUT]) PendingTimers() (event, processing int) {
	return p.core.pendingTimers()
}

// Close implements Operator.
func (p *KeyedProcess[K, IN, OUT]) Close() error { return closeFn(p.Ctx, p.Fn) }

// Key extracts the key of a record.
type Key[K comparable, T any] struct {
	Selector func(T) K
}

// Reduce folds the records of each key into one value. In streaming mode it
// emits the running value after every record (a rolling reduce); in batch
// mode it emits each key's final value once, at the end of input.
//
// Reduce is Checkpointed: its state is each key's value and timestamp (see
// SnapshotState). On the Pebble backend (TaskContext.Store) the values are
// in the store, behind a write-back cache of decoded values. On the heap
// the values are in a copy-on-write map (see state_cow.go): when the key
// and value types are cowSafe, a snapshot freezes it and encodes it on
// the persisting goroutine, and a record of a key copies the key's cell
// at its first write while a snapshot is in flight.
type Reduce[K comparable, T any] struct {
	Base
	Key Key[K, T]
	Fn  func(acc, v T) (T, error)
	Out Input[T]
	// KeyCodec and ValueCodec encode the state in checkpoints; the zero
	// StateCodec stands for the type's default codec.
	KeyCodec   StateCodec[K]
	ValueCodec StateCodec[T]

	state  cowMap[K, *reduced[T]]
	async  bool
	buf    Batch[T]
	codecs reduceCodecs[K, T]
	// sc holds the values on the Pebble backend, and storeErr is the
	// first error of the store, which fails the next call.
	sc       *storeCache[K, reduced[T]]
	storeErr error
}

type reduced[T any] struct {
	value T
	ts    int64
}

// cloneReduced copies a cell, for a write while a snapshot reads it.
func cloneReduced[T any](r *reduced[T]) *reduced[T] {
	c := *r
	return &c
}

// Open implements Operator.
func (r *Reduce[K, T]) Open(ctx *TaskContext) error {
	r.Ctx = ctx
	r.state = newCowMap[K](cloneReduced[T])
	r.async = cowSafeTypes(reflect.TypeFor[K](), reflect.TypeFor[T]())
	if ctx.Store != nil {
		keys, vc, err := r.stateCodecs()
		if err != nil {
			return attribute(ctx, fmt.Errorf("reduce on the Pebble state backend: %w", err))
		}
		r.sc = newStoreCache(ctx.Store, keys, tagReduceValue, nil, "reduce state", &r.storeErr,
			func(dst []byte, e reduced[T], _ int64) ([]byte, bool) {
				return AppendVarint(vc.Append(dst, e.value), e.ts), true
			},
			func(v []byte, _ int64) (reduced[T], bool, error) {
				e, err := decodeReduced(vc, v)
				return e, true, err
			}, nil)
	}
	return nil
}

// ProcessBatch implements Input.
func (r *Reduce[K, T]) ProcessBatch(b *Batch[T]) (err error) {
	defer recoverInto(r.Ctx, &err)
	if r.sc != nil {
		return r.processStored(b)
	}
	r.buf.Values, r.buf.Times = r.buf.Values[:0], r.buf.Times[:0]
	for i, v := range b.Values {
		k := r.Key.Selector(v)
		ts := b.Times[i]
		cur, ok := r.state.mut(k)
		if !ok {
			cur = &reduced[T]{value: v, ts: ts}
			r.state.set(k, cur)
		} else {
			nv, err := r.Fn(cur.value, v)
			if err != nil {
				return attribute(r.Ctx, err)
			}
			cur.value = nv
			cur.ts = max(cur.ts, ts)
		}
		if !r.Ctx.BatchMode {
			r.buf.Append(cur.value, ts)
		}
	}
	if len(r.buf.Values) == 0 {
		return nil
	}
	err = r.Out.ProcessBatch(&r.buf)
	clear(r.buf.Values)
	return attribute(r.Ctx, err)
}

// processStored is ProcessBatch on the Pebble backend.
func (r *Reduce[K, T]) processStored(b *Batch[T]) (err error) {
	r.buf.Values, r.buf.Times = r.buf.Values[:0], r.buf.Times[:0]
	for i, v := range b.Values {
		k := r.Key.Selector(v)
		ts := b.Times[i]
		cur, ok := r.sc.get(k)
		if r.storeErr != nil {
			return attribute(r.Ctx, r.storeErr)
		}
		if !ok {
			cur = reduced[T]{value: v, ts: ts}
		} else {
			nv, err := r.Fn(cur.value, v)
			if err != nil {
				return attribute(r.Ctx, err)
			}
			cur.value = nv
			cur.ts = max(cur.ts, ts)
		}
		r.sc.put(k, cur)
		if !r.Ctx.BatchMode {
			r.buf.Append(cur.value, ts)
		}
	}
	if r.storeErr != nil {
		return attribute(r.Ctx, r.storeErr)
	}
	if len(r.buf.Values) == 0 {
		return nil
	}
	err = r.Out.ProcessBatch(&r.buf)
	clear(r.buf.Values)
	return attribute(r.Ctx, err)
}

// ProcessWatermark implements Operator and Input.
func (r *Reduce[K, T]) ProcessWatermark(wm int64) error { return r.Out.ProcessWatermark(wm) }

// EndInput implements Operator: in batch mode every key's final value is
// emitted, in batches of bounded size.
func (r *Reduce[K, T]) EndInput() (err error) {
	if !r.Ctx.BatchMode {
		return nil
	}
	defer recoverInto(r.Ctx, &err)
	if r.sc != nil {
		return attribute(r.Ctx, r.endStored())
	}
	const chunk = 1024
	r.buf.Values, r.buf.Times = r.buf.Values[:0], r.buf.Times[:0]
	r.state.each(func(_ K, cur *reduced[T]) bool {
		r.buf.Append(cur.value, cur.ts)
		if len(r.buf.Values) == chunk {
			if err = r.Out.ProcessBatch(&r.buf); err != nil {
				return false
			}
			r.buf.Reset()
		}
		return true
	})
	if err != nil {
		return attribute(r.Ctx, err)
	}
	if len(r.buf.Values) > 0 {
		err = r.Out.ProcessBatch(&r.buf)
	}
	r.buf.Reset()
	return attribute(r.Ctx, err)
}

// endStored is EndInput on the Pebble backend: it writes the cached
// values back and emits the value of every key in the store, key group by
// key group, in batches of bounded size.
func (r *Reduce[K, T]) endStored() error {
	if err := r.sc.flush(); err != nil {
		return err
	}
	_, vc, err := r.stateCodecs()
	if err != nil {
		return err
	}
	const chunk = 1024
	r.buf.Reset()
	kgs := ownedKeyGroups(r.Ctx)
	for kg := kgs.Start; kg < kgs.End; kg++ {
		err := r.sc.store.Scan(kg, tagReduceValue, nil, func(key, value []byte) error {
			e, err := decodeReduced(vc, value)
			if err != nil {
				return fmt.Errorf("stored entry %q of key group %d: %w", key, kg, err)
			}
			r.buf.Append(e.value, e.ts)
			if len(r.buf.Values) < chunk {
				return nil
			}
			err = r.Out.ProcessBatch(&r.buf)
			r.buf.Reset()
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(r.buf.Values) > 0 {
		err = r.Out.ProcessBatch(&r.buf)
	}
	r.buf.Reset()
	return err
}
