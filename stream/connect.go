package stream

import (
	"github.com/stromhq/strom/operators"
)

// This file holds connected streams: two streams, possibly of different
// types, that one two-input operator reads (gate 0 the first, gate 1 the
// second).

// ConnectedStreams are two streams read together by CoMap, CoFlatMap or
// CoProcess. Each keeps its own partitioning: connect two streams keyed
// with KeyBy (or use ConnectKeyed) to have records of equal keys meet in
// one subtask.
type ConnectedStreams[A, B any] struct {
	first  *DataStream[A]
	second *DataStream[B]
}

// Connect connects a and b, which may carry different types.
func Connect[A, B any](a *DataStream[A], b *DataStream[B]) *ConnectedStreams[A, B] {
	if a.env != b.env {
		a.env.errorf("connect of streams from different environments")
	}
	return &ConnectedStreams[A, B]{first: a, second: b}
}

// CoProcessFunction processes the records of connected streams.
type CoProcessFunction[A, B, OUT any] = operators.CoProcessFunction[A, B, OUT]

// KeyedCoProcessFunction processes the records of connected keyed streams;
// it may also implement TimerFunction to act on timers.
type KeyedCoProcessFunction[K comparable, A, B, OUT any] = operators.KeyedCoProcessFunction[K, A, B, OUT]

// twoInput builds the spec of a two-input operator.
func twoInput[A, B, OUT any](name string, mk func(out operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[A, B]) operatorSpec {
	return operatorSpec{name: name, build: func(outs []any, sides *operators.SideOutputs) (operators.Operator, []any) {
		op := mk(out[OUT](outs, 0), sides)
		return op, []any{op.Input1(), op.Input2()}
	}}
}

// CoMap maps the records of the first stream with fn1 and those of the
// second with fn2 into one stream. The functions are shared by the
// subtasks.
func CoMap[A, B, OUT any](cs *ConnectedStreams[A, B], name string, fn1 func(A) OUT, fn2 func(B) OUT) *DataStream[OUT] {
	return CoFlatMap(cs, name,
		func(v A, out Collector[OUT]) error { out.Collect(fn1(v)); return nil },
		func(v B, out Collector[OUT]) error { out.Collect(fn2(v)); return nil })
}

// CoFlatMap calls fn1 for every record of the first stream and fn2 for
// every record of the second; each emits any number of records into one
// stream. The functions are shared by the subtasks.
func CoFlatMap[A, B, OUT any](cs *ConnectedStreams[A, B], name string, fn1 func(A, Collector[OUT]) error, fn2 func(B, Collector[OUT]) error) *DataStream[OUT] {
	fns := operators.CoFlatMapFuncs[A, B, OUT]{Fn1: fn1, Fn2: fn2}
	return CoProcess(cs, name, func() CoProcessFunction[A, B, OUT] { return fns })
}

// CoProcess runs a co-process function over connected streams, one made by
// newFn per subtask; it emits to side outputs with Output.
func CoProcess[A, B, OUT any](cs *ConnectedStreams[A, B], name string, newFn func() CoProcessFunction[A, B, OUT]) *DataStream[OUT] {
	return addVertex[OUT](cs.first.env, twoInput[A, B, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[A, B] {
		return &operators.CoProcess[A, B, OUT]{Fn: newFn(), Out: o, Sides: sides}
	}), cs.first.input(), cs.second.input())
}

// KeyedConnectedStreams are two keyed streams with the same key type,
// partitioned alike so that records of equal keys meet in one subtask.
type KeyedConnectedStreams[K comparable, A, B any] struct {
	first  *KeyedStream[K, A]
	second *KeyedStream[K, B]
}

// ConnectKeyed connects two keyed streams with the same key type.
func ConnectKeyed[K comparable, A, B any](a *KeyedStream[K, A], b *KeyedStream[K, B]) *KeyedConnectedStreams[K, A, B] {
	if a.stream.env != b.stream.env {
		a.stream.env.errorf("connect of streams from different environments")
	}
	return &KeyedConnectedStreams[K, A, B]{first: a, second: b}
}

// KeyedCoProcess runs a keyed co-process function over connected keyed
// streams, one made by newFn per subtask. Both of its methods see the key
// of their record and share the timers of the key; it acts on them if it
// implements TimerFunction, and emits to side outputs with Output.
// Checkpoints hold the timers and the keyed states the function creates in
// Open, which both methods share; the function's own fields are not
// checkpointed.
func KeyedCoProcess[K comparable, A, B, OUT any](kcs *KeyedConnectedStreams[K, A, B], name string, newFn func() KeyedCoProcessFunction[K, A, B, OUT]) *DataStream[OUT] {
	keyA, keyB := kcs.first.key, kcs.second.key
	kc := operators.CodecFor[K]()
	return addVertex[OUT](kcs.first.stream.env, twoInput[A, B, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[A, B] {
		return &operators.KeyedCoProcess[K, A, B, OUT]{
			Key1: operators.Key[K, A]{Selector: keyA}, Key2: operators.Key[K, B]{Selector: keyB},
			Fn: newFn(), Out: o, Sides: sides, KeyCodec: kc,
		}
	}), kcs.first.stream.input(), kcs.second.stream.input())
}
