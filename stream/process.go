package stream

import (
	"github.com/stromhq/strom/operators"
)

// This file holds the process functions of the user API: keyed ones with
// timers (KeyedProcess; Process in keyed.go) and non-keyed ones
// (ProcessStream), and side-output emission (Output).
//
// Function objects that may keep state (process functions, co-process
// functions) are made per subtask by a constructor, as sources and sinks
// are: each subtask calls it once and drives its function on its own
// goroutine, so a function needs no locks. Functions given as plain values
// (Map, CoMap, Process) are shared by the subtasks.

// TimerService registers the timers of the current key; see
// operators.TimerService.
type TimerService = operators.TimerService

// TimerFunction is implemented by keyed functions that act on timers.
type TimerFunction[K comparable, OUT any] = operators.TimerFunction[K, OUT]

// OnTimerContext is what OnTimer sees of the timer that fired.
type OnTimerContext[K comparable] = operators.OnTimerContext[K]

// ProcessContext is what a non-keyed process function sees of its record.
type ProcessContext = operators.ProcessContext

// ProcessFunction processes the records of a stream that is not keyed.
type ProcessFunction[IN, OUT any] = operators.ProcessFunction[IN, OUT]

// ProcessStreamFunc adapts a function to a ProcessFunction.
type ProcessStreamFunc[IN, OUT any] = operators.ProcessFunc[IN, OUT]

// Output emits v to the side output of tag from a process function; ctx is
// the context the function got (a *KeyedContext, *OnTimerContext or
// *ProcessContext). The record carries the timestamp of the record or
// event-time timer being processed. SideOutput on the function's stream
// reads it; Output reports false, and the record is dropped and counted,
// when nothing does.
func Output[T any](ctx operators.SideOutputContext, tag OutputTag[T], v T) bool {
	return operators.Output(ctx, tag.ID, v)
}

// withSides builds the spec of a one-input operator that emits to side
// outputs.
func withSides[IN, OUT any](name string, mk func(out operators.Input[OUT], sides *operators.SideOutputs) operators.OneInputOperator[IN]) operatorSpec {
	return operatorSpec{name: name, build: func(outs []any, sides *operators.SideOutputs) (operators.Operator, []any) {
		op := mk(out[OUT](outs, 0), sides)
		return op, []any{operators.Input[IN](op)}
	}}
}

// KeyedProcess runs a keyed process function over ks, one made by newFn
// per subtask. The function sees each record's key and timestamp,
// registers event- and processing-time timers of the key, acts on them if
// it implements TimerFunction, and emits to side outputs with Output.
// Checkpoints hold the timers and the keyed states the function creates in
// Open (NewValueState and the others, see state.go); the function's own
// fields are not checkpointed.
func KeyedProcess[K comparable, IN, OUT any](ks *KeyedStream[K, IN], name string, newFn func() KeyedProcessFunction[K, IN, OUT]) *DataStream[OUT] {
	key := ks.key
	kc := operators.CodecFor[K]()
	return addVertex[OUT](ks.stream.env, withSides[IN, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.OneInputOperator[IN] {
		return &operators.KeyedProcess[K, IN, OUT]{Key: operators.Key[K, IN]{Selector: key}, Fn: newFn(), Out: o, Sides: sides, KeyCodec: kc}
	}), ks.stream.input())
}

// ProcessStream runs a process function over s, which need not be keyed,
// one made by newFn per subtask. The function sees each record's timestamp
// and the watermark and emits to side outputs with Output; as in Flink it
// has no timers, which need a key.
func ProcessStream[IN, OUT any](s *DataStream[IN], name string, newFn func() ProcessFunction[IN, OUT]) *DataStream[OUT] {
	return addVertex[OUT](s.env, withSides[IN, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.OneInputOperator[IN] {
		return &operators.Process[IN, OUT]{Fn: newFn(), Out: o, Sides: sides}
	}), s.input())
}
