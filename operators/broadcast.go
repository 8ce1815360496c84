package operators

import (
	"bytes"
	"fmt"
	"iter"
	"reflect"
	"slices"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/snapshot"
)

// This file holds the broadcast state pattern: a stream connected to a
// broadcast stream, whose records reach every subtask, and a function that
// keeps what the broadcast records say (rules, configuration) in broadcast
// states, maps replicated identically in every subtask. The function
// writes them when it processes a broadcast record and only reads them
// when it processes a record of the other stream: BroadcastProcess for a
// stream that is not keyed, KeyedBroadcastProcess for a keyed one, with
// keyed state and timers.
//
// Gate 0 of the operators is the other stream, gate 1 the broadcast
// stream. Concurrency: one instance per subtask, driven by the subtask's
// goroutine only; no locks, no goroutines.

// BroadcastStateDescriptor declares a broadcast state on a broadcast
// stream: its name and types. MapStateDescriptor is the only
// implementation.
type BroadcastStateDescriptor interface {
	// BroadcastStateName returns the name of the state.
	BroadcastStateName() string
	// broadcastStateType describes the state's type, as
	// "BroadcastState[string, main.Rule]".
	broadcastStateType() string
	// register creates the state in the registry bound to ctx.
	register(ctx *TaskContext) error
}

// MapStateDescriptor declares the broadcast state Name, a map from K to
// V, with the options of NewBroadcastState.
type MapStateDescriptor[K comparable, V any] struct {
	Name    string
	Options []StateOption
}

// NewMapStateDescriptor returns the descriptor of broadcast state name.
func NewMapStateDescriptor[K comparable, V any](name string, opts ...StateOption) MapStateDescriptor[K, V] {
	return MapStateDescriptor[K, V]{Name: name, Options: opts}
}

// BroadcastStateName implements BroadcastStateDescriptor.
func (d MapStateDescriptor[K, V]) BroadcastStateName() string { return d.Name }

func (d MapStateDescriptor[K, V]) broadcastStateType() string {
	return typeName("BroadcastState", reflect.TypeFor[K](), reflect.TypeFor[V]())
}

func (d MapStateDescriptor[K, V]) register(ctx *TaskContext) error {
	_, err := d.State(ctx)
	return err
}

// State creates the broadcast state of d, as NewBroadcastState does.
func (d MapStateDescriptor[K, V]) State(ctx *TaskContext) (*BroadcastState[K, V], error) {
	return NewBroadcastState[K, V](ctx, d.Name, d.Options...)
}

// BroadcastContext is what a function sees of the broadcast record it is
// processing: its timestamp, the subtask's event and processing time, side
// outputs (see Output), and the right to write broadcast states. It
// belongs to the operator and is valid only during the call that receives
// it.
type BroadcastContext struct {
	timestamp int64
	watermark int64
	sides     *SideOutputs
	task      *TaskContext
	// active is set while ProcessBroadcastElement runs.
	active bool
}

// Timestamp returns the event timestamp of the current record, or
// NoTimestamp.
func (c *BroadcastContext) Timestamp() int64 { return c.timestamp }

// CurrentWatermark returns the subtask's event time.
func (c *BroadcastContext) CurrentWatermark() int64 { return c.watermark }

// CurrentProcessingTime returns the processing time of the subtask.
func (c *BroadcastContext) CurrentProcessingTime() int64 { return nowMillis(c.task) }

// Task returns the task context of the operator.
func (c *BroadcastContext) Task() *TaskContext { return c.task }

// SideOutputTarget implements SideOutputContext.
func (c *BroadcastContext) SideOutputTarget() (*SideOutputs, int64) { return c.sides, c.timestamp }

// BroadcastState is a map from K to V that a broadcast function keeps in
// every subtask (Flink's broadcast MapState). Every subtask sees every
// broadcast record, so a function that updates the state from broadcast
// records alone, deterministically, keeps identical copies in all
// subtasks. The function writes it (Put, Remove, Clear) only with the
// BroadcastContext of ProcessBroadcastElement, and reads it (Get, All)
// anywhere: in ProcessElement, OnTimer, and ProcessBroadcastElement.
//
// When the broadcast stream has several subtasks, their records reach the
// subtasks of the broadcast function in different interleavings: updates
// must not depend on the order of records from different broadcast
// subtasks, or the copies drift apart.
//
// Checkpoints hold one copy, that of subtask 0 (all copies are
// identical), as a Union operator state list; a restore, at any
// parallelism, gives every subtask that copy. Flink gives each new
// subtask the copy of one old subtask; since the copies are identical,
// any copy works.
//
// Iteration order is unspecified, as for Go maps. Like the function, the
// state belongs to the subtask's goroutine.
type BroadcastState[K comparable, V any] struct {
	opStateBase
	keys   StateCodec[K]
	values StateCodec[V]
	m      map[K]V
}

// NewBroadcastState creates the broadcast state name, a map from K to V.
// It is called in the Open of a function that BroadcastProcess or
// KeyedBroadcastProcess runs, with the task context Open got. When the
// broadcast stream declares its states (MapStateDescriptor), only those
// may be created, with the declared types; the operator creates the
// declared states the function does not, so that they are checkpointed
// all the same. A name is registered once per operator. WithStateCodec
// sets the codec of K or V.
func NewBroadcastState[K comparable, V any](ctx *TaskContext, name string, opts ...StateOption) (*BroadcastState[K, V], error) {
	typ := typeName("BroadcastState", reflect.TypeFor[K](), reflect.TypeFor[V]())
	return registerOperatorState(ctx, name, opKindBroadcast, typ, func(b opStateBase) (*BroadcastState[K, V], error) {
		cfg, err := stateOptions(opts)
		if err != nil {
			return nil, err
		}
		s := &BroadcastState[K, V]{opStateBase: b, keys: stateCodec[K](cfg), values: stateCodec[V](cfg), m: make(map[K]V)}
		if err := cfg.unusedCodecs(); err != nil {
			return nil, err
		}
		return s, nil
	})
}

// Get returns the value of k, and whether there is one.
func (s *BroadcastState[K, V]) Get(k K) (V, bool) {
	v, ok := s.m[k]
	return v, ok
}

// Contains reports whether k has a value.
func (s *BroadcastState[K, V]) Contains(k K) bool {
	_, ok := s.m[k]
	return ok
}

// Len returns the number of entries.
func (s *BroadcastState[K, V]) Len() int { return len(s.m) }

// All iterates over the entries, in an unspecified order. Entries may be
// removed during the iteration (with the BroadcastContext).
func (s *BroadcastState[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, v := range s.m {
			if !yield(k, v) {
				return
			}
		}
	}
}

// writable panics unless ctx is the context of a ProcessBroadcastElement
// of the state's operator that is running now.
func (s *BroadcastState[K, V]) writable(ctx *BroadcastContext, op string) {
	if ctx == nil || !ctx.active || ctx.task != s.task {
		panic(fmt.Sprintf("BroadcastState %q: %s with a BroadcastContext that is not that of the running ProcessBroadcastElement; "+
			"broadcast state is written only while processing broadcast records", s.name, op))
	}
}

// Put sets the value of k. ctx is the context ProcessBroadcastElement
// got; any other panics.
func (s *BroadcastState[K, V]) Put(ctx *BroadcastContext, k K, v V) {
	s.writable(ctx, "Put")
	s.m[k] = v
}

// Remove deletes the value of k. ctx is as for Put.
func (s *BroadcastState[K, V]) Remove(ctx *BroadcastContext, k K) {
	s.writable(ctx, "Remove")
	delete(s.m, k)
}

// Clear deletes every entry. ctx is as for Put.
func (s *BroadcastState[K, V]) Clear(ctx *BroadcastContext) {
	s.writable(ctx, "Clear")
	clear(s.m)
}

// codecs resolves the codecs of the state.
func (s *BroadcastState[K, V]) codecs() (codec.Codec[K], codec.Codec[V], error) {
	kc, err := s.keys.Resolve()
	if err != nil {
		return nil, nil, err
	}
	vc, err := s.values.Resolve()
	if err != nil {
		return nil, nil, err
	}
	return kc, vc, nil
}

// snapshot writes, on subtask 0 only, one entry per map entry: the key in
// K's codec followed by the value in V's codec, in the order of the
// encoded entries (so that equal maps give equal files). Every subtask
// resolves the codecs, so that a type without one fails the checkpoint
// on all of them alike.
func (s *BroadcastState[K, V]) snapshot(w StateWriter) error {
	kc, vc, err := s.codecs()
	if err != nil {
		return err
	}
	if s.task.Subtask != 0 {
		return nil
	}
	entries := make([][]byte, 0, len(s.m))
	for k, v := range s.m {
		entries = append(entries, vc.Append(kc.Append(nil, k), v))
	}
	slices.SortFunc(entries, bytes.Compare)
	for _, e := range entries {
		w.Operator(s.list, snapshot.Union, e)
	}
	return nil
}

// restore implements operatorState. A key that appears twice is
// corruption: the checkpoint holds a single copy.
func (s *BroadcastState[K, V]) restore(entries [][]byte) error {
	kc, vc, err := s.codecs()
	if err != nil {
		return err
	}
	m := make(map[K]V, len(entries))
	for _, e := range entries {
		d := NewStateDecoder(e)
		k := Decode(&d, kc)
		v := Decode(&d, vc)
		if err := d.End(); err != nil {
			return err
		}
		if _, dup := m[k]; dup {
			return CorruptState("key %v restored twice", k)
		}
		m[k] = v
	}
	s.m = m
	return nil
}

// openBroadcast opens fn with a registry that takes broadcast states,
// bound to ctx, then creates the declared states fn did not create. open
// is what opens fn (a keyed operator binds its keyed states around it).
func openBroadcast(ctx *TaskContext, declared []BroadcastStateDescriptor, open func() error) (*operatorStateRegistry, error) {
	reg := newOperatorStateRegistry(ctx)
	reg.broadcast = true
	if len(declared) > 0 {
		reg.declared = make(map[string]BroadcastStateDescriptor, len(declared))
		for _, d := range declared {
			name := d.BroadcastStateName()
			if prev, dup := reg.declared[name]; dup {
				return nil, attribute(ctx, fmt.Errorf("%w: broadcast state %q is declared twice, as %s and as %s",
					ErrOperatorStateMismatch, name, prev.broadcastStateType(), d.broadcastStateType()))
			}
			reg.declared[name] = d
		}
	}
	release := bindOperatorStates(ctx, reg)
	defer release()
	if err := open(); err != nil {
		return nil, err
	}
	for _, d := range declared {
		if _, ok := reg.byName[d.BroadcastStateName()]; !ok {
			if err := d.register(ctx); err != nil {
				return nil, attribute(ctx, err)
			}
		}
	}
	return reg, nil
}

// BroadcastProcessFunction handles the records of a stream that is not
// keyed (ProcessElement) and of a broadcast stream connected to it
// (ProcessBroadcastElement). ProcessBroadcastElement may write the
// broadcast states with its context; ProcessElement only reads them. Both
// emit to one output and to side outputs (see Output); records carry the
// timestamp of the input record. It may also implement
// Open(*TaskContext) error, where it creates its broadcast states
// (NewBroadcastState or MapStateDescriptor.State) and operator list
// states, and Close() error.
type BroadcastProcessFunction[IN, BC, OUT any] interface {
	ProcessElement(ctx *ProcessContext, v IN, out Collector[OUT]) error
	ProcessBroadcastElement(ctx *BroadcastContext, v BC, out Collector[OUT]) error
}

// BroadcastProcess runs a BroadcastProcessFunction: gate 0 reads the
// stream, gate 1 the broadcast stream.
//
// BroadcastProcess is Checkpointed: its state is the function's broadcast
// states and operator list states. The function's own fields are not
// checkpointed.
type BroadcastProcess[IN, BC, OUT any] struct {
	Base
	Fn  BroadcastProcessFunction[IN, BC, OUT]
	Out Input[OUT]
	// Sides are the side outputs the function emits to; nil for none.
	Sides *SideOutputs
	// States are the broadcast states declared on the broadcast stream;
	// with none, the function may create any.
	States   []BroadcastStateDescriptor
	pc       ProcessContext
	bc       BroadcastContext
	out      emitter[OUT]
	clock    gateClock
	opStates *operatorStateRegistry
}

// Open implements Operator.
func (p *BroadcastProcess[IN, BC, OUT]) Open(ctx *TaskContext) (err error) {
	p.Ctx = ctx
	p.pc = ProcessContext{watermark: NoTimestamp, sides: p.Sides, task: ctx}
	p.bc = BroadcastContext{watermark: NoTimestamp, sides: p.Sides, task: ctx}
	p.out = emitter[OUT]{out: p.Out}
	p.clock = newGateClock()
	p.opStates, err = openBroadcast(ctx, p.States, func() error { return openFn(ctx, p.Fn) })
	return err
}

// Input1 returns the input of gate 0, the stream.
func (p *BroadcastProcess[IN, BC, OUT]) Input1() Input[IN] {
	return gateInput[IN]{batch: p.processBatch, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(0, wm)) }}
}

// Input2 returns the input of gate 1, the broadcast stream.
func (p *BroadcastProcess[IN, BC, OUT]) Input2() Input[BC] {
	return gateInput[BC]{batch: p.processBroadcastBatch, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(1, wm)) }}
}

func (p *BroadcastProcess[IN, BC, OUT]) processBatch(b *Batch[IN]) (err error) {
	defer recoverInto(p.Ctx, &err)
	for i, v := range b.Values {
		p.pc.timestamp, p.out.ts = b.Times[i], b.Times[i]
		if err := p.Fn.ProcessElement(&p.pc, v, &p.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.out, p.Sides))
}

func (p *BroadcastProcess[IN, BC, OUT]) processBroadcastBatch(b *Batch[BC]) (err error) {
	defer recoverInto(p.Ctx, &err)
	p.bc.active, p.bc.watermark = true, p.pc.watermark
	defer func() { p.bc.active = false }()
	for i, v := range b.Values {
		p.bc.timestamp, p.out.ts = b.Times[i], b.Times[i]
		if err := p.Fn.ProcessBroadcastElement(&p.bc, v, &p.out); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.out, p.Sides))
}

// ProcessWatermark implements Operator.
func (p *BroadcastProcess[IN, BC, OUT]) ProcessWatermark(wm int64) error {
	if !p.clock.advance(wm) {
		return nil
	}
	p.pc.watermark = wm
	return attribute(p.Ctx, forwardWatermark(&p.out, p.Sides, wm))
}

// Close implements Operator.
func (p *BroadcastProcess[IN, BC, OUT]) Close() error { return closeFn(p.Ctx, p.Fn) }

// SnapshotState implements Checkpointed: the broadcast states (written by
// subtask 0) and the operator list states of the function.
func (p *BroadcastProcess[IN, BC, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.opStates.snapshot(w))
}

// RestoreState implements Checkpointed.
func (p *BroadcastProcess[IN, BC, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.opStates.restore(r))
}

// KeyedBroadcastProcessFunction handles the records of a keyed stream
// (ProcessElement, with the record's key, keyed states and timers, as a
// KeyedProcessFunction) and of a broadcast stream connected to it
// (ProcessBroadcastElement, which has no current key). Only
// ProcessBroadcastElement writes the broadcast states; ProcessElement and
// OnTimer read them. It may also implement TimerFunction to act on
// timers, and Open(*TaskContext) error, where it creates its keyed and
// broadcast states, and Close() error.
type KeyedBroadcastProcessFunction[K comparable, IN, BC, OUT any] interface {
	ProcessElement(ctx *KeyedContext[K], v IN, out Collector[OUT]) error
	ProcessBroadcastElement(ctx *BroadcastContext, v BC, out Collector[OUT]) error
}

// KeyedBroadcastProcess runs a KeyedBroadcastProcessFunction: gate 0 reads
// the keyed stream, gate 1 the broadcast stream. It implements
// ProcessingTimer, so the runtime wakes it for processing-time timers.
//
// KeyedBroadcastProcess is Checkpointed: its state is the timers and keyed
// states of every key, as KeyedProcess's, and the broadcast states and
// operator list states of the function. The function's own fields are not
// checkpointed.
type KeyedBroadcastProcess[K comparable, IN, BC, OUT any] struct {
	Base
	Key Key[K, IN]
	Fn  KeyedBroadcastProcessFunction[K, IN, BC, OUT]
	Out Input[OUT]
	// Sides are the side outputs the function emits to; nil for none.
	Sides *SideOutputs
	// States are the broadcast states declared on the broadcast stream;
	// with none, the function may create any.
	States []BroadcastStateDescriptor
	// KeyCodec encodes keys in checkpoints; the zero StateCodec stands for
	// the key type's default codec.
	KeyCodec StateCodec[K]
	core     keyedCore[K, OUT]
	bc       BroadcastContext
	clock    gateClock
	opStates *operatorStateRegistry
}

// Open implements Operator.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) Open(ctx *TaskContext) (err error) {
	p.Ctx = ctx
	p.clock = newGateClock()
	p.bc = BroadcastContext{watermark: NoTimestamp, sides: p.Sides, task: ctx}
	p.core.setKeyCodec(p.KeyCodec)
	p.opStates, err = openBroadcast(ctx, p.States, func() error { return p.core.open(ctx, p.Fn, p.Out, p.Sides) })
	return err
}

// Input1 returns the input of gate 0, the keyed stream.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) Input1() Input[IN] {
	return gateInput[IN]{batch: p.processBatch, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(0, wm)) }}
}

// Input2 returns the input of gate 1, the broadcast stream.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) Input2() Input[BC] {
	return gateInput[BC]{batch: p.processBroadcastBatch, watermark: func(wm int64) error { return p.ProcessWatermark(p.clock.onGate(1, wm)) }}
}

func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) processBatch(b *Batch[IN]) (err error) {
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

func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) processBroadcastBatch(b *Batch[BC]) (err error) {
	defer recoverInto(p.Ctx, &err)
	p.bc.active, p.bc.watermark = true, p.core.timers.watermark
	defer func() { p.bc.active = false }()
	for i, v := range b.Values {
		p.bc.timestamp, p.core.out.ts = b.Times[i], b.Times[i]
		if err := p.Fn.ProcessBroadcastElement(&p.bc, v, &p.core.out); err != nil {
			return attribute(p.Ctx, err)
		}
		if err := p.core.failed(); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	return attribute(p.Ctx, flushAll(&p.core.out, p.Sides))
}

// ProcessWatermark implements Operator: event-time timers due at wm fire,
// in time order, before wm goes on.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) ProcessWatermark(wm int64) (err error) {
	if !p.clock.advance(wm) {
		return nil
	}
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.advance(wm))
}

// NextProcessingTime implements ProcessingTimer.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) NextProcessingTime() int64 {
	return p.core.nextProcessingTime()
}

// OnProcessingTime implements ProcessingTimer.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) OnProcessingTime(now int64) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.onProcessingTime(now))
}

// PendingTimers returns the number of registered event- and
// processing-time timers.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) PendingTimers() (event, processing int) {
	return p.core.pendingTimers()
}

// Close implements Operator.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) Close() error { return closeFn(p.Ctx, p.Fn) }

// SnapshotState implements Checkpointed: the timers and keyed states of
// every key (see keyedCore.snapshot), then the broadcast states (written
// by subtask 0) and operator list states.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(p.Ctx, &err)
	if err := p.core.snapshot(p.KeyCodec, w); err != nil {
		return attribute(p.Ctx, err)
	}
	return attribute(p.Ctx, p.opStates.snapshot(w))
}

// RestoreState implements Checkpointed.
func (p *KeyedBroadcastProcess[K, IN, BC, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(p.Ctx, &err)
	if err := p.core.restore(p.KeyCodec, r); err != nil {
		return attribute(p.Ctx, err)
	}
	return attribute(p.Ctx, p.opStates.restore(r))
}
