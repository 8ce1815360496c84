package stream

import (
	"github.com/stromhq/strom/operators"
)

// This file holds the broadcast state pattern: a stream (keyed or not)
// connected to a broadcast stream, whose every record reaches every
// subtask of a broadcast process function. The function keeps what the
// broadcast records say (rules, thresholds, configuration) in broadcast
// states, maps replicated identically in every subtask, writes them in
// ProcessBroadcastElement and reads them in ProcessElement:
//
//	rules := stream.NewMapStateDescriptor[string, Rule]("rules")
//	matched := stream.KeyedBroadcastProcess(
//		stream.ConnectKeyedBroadcast(events, stream.Broadcast(ruleUpdates, rules)),
//		"match", func() stream.KeyedBroadcastProcessFunction[string, Event, Rule, Alert] { return &matcher{desc: rules} })
//
//	type matcher struct {
//		desc  stream.MapStateDescriptor[string, Rule]
//		rules *stream.BroadcastState[string, Rule]
//	}
//
//	func (m *matcher) Open(ctx *stream.TaskContext) (err error) {
//		m.rules, err = m.desc.State(ctx)
//		return err
//	}
//
//	func (m *matcher) ProcessBroadcastElement(ctx *stream.BroadcastContext, r Rule, _ stream.Collector[Alert]) error {
//		m.rules.Put(ctx, r.Name, r)
//		return nil
//	}
//
//	func (m *matcher) ProcessElement(ctx *stream.KeyedContext[string], e Event, out stream.Collector[Alert]) error {
//		for _, r := range m.rules.All() {
//			if r.Matches(e) {
//				out.Collect(Alert{Rule: r.Name, Key: ctx.Key()})
//			}
//		}
//		return nil
//	}
//
// Checkpoints hold one copy of each broadcast state; a restore, at any
// parallelism, gives every subtask that copy (see
// operators.BroadcastState).

// BroadcastStateDescriptor declares a broadcast state on a broadcast
// stream.
type BroadcastStateDescriptor = operators.BroadcastStateDescriptor

// MapStateDescriptor declares a broadcast state, a map from K to V.
type MapStateDescriptor[K comparable, V any] = operators.MapStateDescriptor[K, V]

// BroadcastState is a map kept identically in every subtask of a broadcast
// process function.
type BroadcastState[K comparable, V any] = operators.BroadcastState[K, V]

// BroadcastContext is what ProcessBroadcastElement sees of its record; it
// is what broadcast states are written with.
type BroadcastContext = operators.BroadcastContext

// BroadcastProcessFunction processes the records of a stream that is not
// keyed and of a broadcast stream connected to it.
type BroadcastProcessFunction[IN, BC, OUT any] = operators.BroadcastProcessFunction[IN, BC, OUT]

// KeyedBroadcastProcessFunction processes the records of a keyed stream,
// with keyed state and timers, and of a broadcast stream connected to it;
// it may also implement TimerFunction to act on timers.
type KeyedBroadcastProcessFunction[K comparable, IN, BC, OUT any] = operators.KeyedBroadcastProcessFunction[K, IN, BC, OUT]

// NewMapStateDescriptor returns the descriptor of broadcast state name, a
// map from K to V; options are as for NewBroadcastState.
func NewMapStateDescriptor[K comparable, V any](name string, opts ...StateOption) MapStateDescriptor[K, V] {
	return operators.NewMapStateDescriptor[K, V](name, opts...)
}

// NewBroadcastState creates the broadcast state name in the Open of a
// broadcast process function; see operators.NewBroadcastState.
func NewBroadcastState[K comparable, V any](ctx *TaskContext, name string, opts ...StateOption) (*BroadcastState[K, V], error) {
	return operators.NewBroadcastState[K, V](ctx, name, opts...)
}

// BroadcastStream is a stream whose every record goes to every subtask of
// the operator that reads it, with the broadcast states it declares. It is
// read by connecting another stream to it (ConnectBroadcast,
// ConnectKeyedBroadcast).
type BroadcastStream[T any] struct {
	stream *DataStream[T]
	states []BroadcastStateDescriptor
}

// Broadcast makes a broadcast stream of s, declaring the broadcast states
// of the functions that read it: each such function has these states
// (created by the operator if the function does not create them in Open)
// and no others. With no descriptors, a function may create any broadcast
// state.
func Broadcast[T any](s *DataStream[T], states ...BroadcastStateDescriptor) *BroadcastStream[T] {
	return &BroadcastStream[T]{stream: s.Broadcast(), states: append([]BroadcastStateDescriptor(nil), states...)}
}

// BroadcastConnectedStream is a stream that is not keyed connected to a
// broadcast stream, read by BroadcastProcess.
type BroadcastConnectedStream[A, B any] struct {
	first *DataStream[A]
	bc    *BroadcastStream[B]
}

// ConnectBroadcast connects s to the broadcast stream bs. s keeps its own
// partitioning.
func ConnectBroadcast[A, B any](s *DataStream[A], bs *BroadcastStream[B]) *BroadcastConnectedStream[A, B] {
	if s.env != bs.stream.env {
		s.env.errorf("connect of streams from different environments")
	}
	return &BroadcastConnectedStream[A, B]{first: s, bc: bs}
}

// BroadcastProcess runs a broadcast process function over a stream
// connected to a broadcast stream, one made by newFn per subtask. Every
// subtask sees every broadcast record. Checkpoints hold the function's
// broadcast states and operator list states; its own fields are not
// checkpointed.
func BroadcastProcess[A, B, OUT any](cs *BroadcastConnectedStream[A, B], name string, newFn func() BroadcastProcessFunction[A, B, OUT]) *DataStream[OUT] {
	states := cs.bc.states
	return addVertex[OUT](cs.first.env, twoInput[A, B, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[A, B] {
		return &operators.BroadcastProcess[A, B, OUT]{Fn: newFn(), Out: o, Sides: sides, States: states}
	}), cs.first.input(), cs.bc.stream.input())
}

// KeyedBroadcastConnectedStream is a keyed stream connected to a broadcast
// stream, read by KeyedBroadcastProcess.
type KeyedBroadcastConnectedStream[K comparable, A, B any] struct {
	first *KeyedStream[K, A]
	bc    *BroadcastStream[B]
}

// ConnectKeyedBroadcast connects the keyed stream ks to the broadcast
// stream bs.
func ConnectKeyedBroadcast[K comparable, A, B any](ks *KeyedStream[K, A], bs *BroadcastStream[B]) *KeyedBroadcastConnectedStream[K, A, B] {
	if ks.stream.env != bs.stream.env {
		ks.stream.env.errorf("connect of streams from different environments")
	}
	return &KeyedBroadcastConnectedStream[K, A, B]{first: ks, bc: bs}
}

// KeyedBroadcastProcess runs a keyed broadcast process function over a
// keyed stream connected to a broadcast stream, one made by newFn per
// subtask. ProcessElement sees the key of its record, its keyed states and
// timers (it acts on them if it implements TimerFunction) and reads the
// broadcast states; ProcessBroadcastElement, which every subtask runs for
// every broadcast record, writes them. Checkpoints hold the timers, keyed
// states, broadcast states and operator list states; the function's own
// fields are not checkpointed.
func KeyedBroadcastProcess[K comparable, A, B, OUT any](kcs *KeyedBroadcastConnectedStream[K, A, B], name string, newFn func() KeyedBroadcastProcessFunction[K, A, B, OUT]) *DataStream[OUT] {
	key, states := kcs.first.key, kcs.bc.states
	kc := operators.CodecFor[K]()
	return addVertex[OUT](kcs.first.stream.env, twoInput[A, B, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[A, B] {
		return &operators.KeyedBroadcastProcess[K, A, B, OUT]{
			Key: operators.Key[K, A]{Selector: key}, Fn: newFn(), Out: o, Sides: sides, States: states, KeyCodec: kc,
		}
	}), kcs.first.stream.input(), kcs.bc.stream.input())
}
