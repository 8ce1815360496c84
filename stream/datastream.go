package stream

import (
	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/operators"
)

// DataStream is a stream of records of type T: the output of an operator,
// or the union of several.
type DataStream[T any] struct {
	env *Environment
	// from are the operator outputs this stream is made of.
	from []port
	// part is the partitioning of edges drawn from this stream.
	part actors.Partitioning
	// keyHash hashes a record's key, on keyed streams.
	keyHash any
}

// port is one output of a vertex: 0 the main output, i side output i.
type port struct {
	v      *actors.Vertex
	output int
}

// Collector receives the records a function emits.
type Collector[T any] = operators.Collector[T]

// vertex returns the single vertex of a non-union stream, recording an
// error for what builds on a union.
func (s *DataStream[T]) vertex(what string) *actors.Vertex {
	if len(s.from) != 1 || s.from[0].output != 0 {
		s.env.errorf("%s applies to an operator's main output, not to a union or side output", what)
		return &actors.Vertex{}
	}
	return s.from[0].v
}

// Name renames the operator that produces s.
func (s *DataStream[T]) Name(name string) *DataStream[T] {
	v := s.vertex("Name")
	if v.UID == v.Name {
		v.UID = name
	}
	v.Name = name
	return s
}

// UID sets the stable ID that identifies the operator's state across runs
// and versions of a job (default: its name).
func (s *DataStream[T]) UID(id string) *DataStream[T] {
	s.vertex("UID").UID = id
	return s
}

// SetParallelism sets the number of subtasks of the operator producing s.
func (s *DataStream[T]) SetParallelism(n int) *DataStream[T] {
	s.vertex("SetParallelism").Parallelism = n
	return s
}

// DisableChaining runs the operator producing s in a subtask of its own.
func (s *DataStream[T]) DisableChaining() *DataStream[T] {
	s.vertex("DisableChaining").DisableChaining = true
	return s
}

// Codec sets the codec of the records of s, used when they cross nodes.
func (s *DataStream[T]) Codec(c codec.Codec[T]) *DataStream[T] {
	for _, p := range s.from {
		st := actors.NewStreamType(c)
		if p.output == 0 {
			p.v.Out = st
		} else {
			p.v.SideOutputs[p.output-1] = st
		}
	}
	return s
}

// Rebalance deals the records of s round-robin over the next operator's
// subtasks.
func (s *DataStream[T]) Rebalance() *DataStream[T] { return s.withPart(actors.Rebalance) }

// Broadcast sends every record of s to every subtask of the next operator.
func (s *DataStream[T]) Broadcast() *DataStream[T] { return s.withPart(actors.Broadcast) }

// Forward sends subtask i's records to subtask i of the next operator, which
// must have the same parallelism.
func (s *DataStream[T]) Forward() *DataStream[T] { return s.withPart(actors.Forward) }

func (s *DataStream[T]) withPart(p actors.Partitioning) *DataStream[T] {
	return &DataStream[T]{env: s.env, from: s.from, part: p}
}

// Union merges streams of one type into one; records of each input keep
// their order, records of different inputs interleave.
func Union[T any](first *DataStream[T], rest ...*DataStream[T]) *DataStream[T] {
	u := &DataStream[T]{env: first.env, from: append([]port(nil), first.from...)}
	for _, s := range rest {
		if s.env != first.env {
			first.env.errorf("union of streams from different environments")
			continue
		}
		u.from = append(u.from, s.from...)
	}
	return u
}

// streamType returns the runtime type of T with its default codec; a type
// without one can still run in one process.
func streamType[T any]() actors.StreamType {
	c, err := codec.For[T]()
	if err != nil {
		return actors.NewStreamType[T](nil)
	}
	return actors.NewStreamType(c)
}

// operatorSpec describes an operator for addVertex.
type operatorSpec struct {
	name string
	// build makes one instance from its outputs (main first) and side
	// outputs, and returns its lifecycle and its inputs, one per gate.
	build func(outs []any, sides *operators.SideOutputs) (operators.Operator, []any)
}

// addVertex adds an operator reading the given inputs (one per gate), at
// the default parallelism.
func addVertex[OUT any](env *Environment, spec operatorSpec, inputs ...inputStream) *DataStream[OUT] {
	v := env.graph.AddVertex(&actors.Vertex{
		Name: spec.name, UID: spec.name, Parallelism: env.parallelism,
		Out: streamType[OUT](),
	})
	v.NewOperator = func(outs []any) (operators.Operator, []any, error) {
		var sides *operators.SideOutputs
		if tags := env.sides[v]; len(tags) > 0 {
			sides = &operators.SideOutputs{}
			for i, tag := range tags {
				sides.Add(tag.id, tag.newSide(outs[1+i]))
			}
		}
		op, ins := spec.build(outs, sides)
		return op, ins, nil
	}
	for gate, in := range inputs {
		for _, src := range in.from {
			env.graph.Connect(src.v, src.output, v, gate, in.part, in.keyHash)
		}
	}
	return &DataStream[OUT]{env: env, from: []port{{v: v}}}
}

// out returns output i of outs as an operators.Input[T]; nil for a sink.
func out[T any](outs []any, i int) operators.Input[T] {
	o, _ := outs[i].(operators.Input[T])
	return o
}

// simple builds the spec of a one-input operator with a main output only.
func simple[IN, OUT any](name string, mk func(out operators.Input[OUT]) operators.OneInputOperator[IN]) operatorSpec {
	return operatorSpec{name: name, build: func(outs []any, _ *operators.SideOutputs) (operators.Operator, []any) {
		op := mk(out[OUT](outs, 0))
		return op, []any{operators.Input[IN](op)}
	}}
}

// inputStream is the type-free view of a stream feeding a new operator.
type inputStream struct {
	from    []port
	part    actors.Partitioning
	keyHash any
}

func (s *DataStream[T]) input() inputStream {
	return inputStream{from: s.from, part: s.part, keyHash: s.keyHash}
}

// FromSource adds a source. bounded tells whether its input ends. Options
// configure it further: WithWatermarks gives its records event time.
func FromSource[T any](env *Environment, name string, src func() operators.Source[T], bounded bool, opts ...SourceOption[T]) *DataStream[T] {
	return newSourceVertex(env, name, src, bounded, opts)
}

// Map applies fn to every record.
func Map[IN, OUT any](s *DataStream[IN], name string, fn func(IN) OUT) *DataStream[OUT] {
	return addVertex[OUT](s.env, simple[IN, OUT](name, func(o operators.Input[OUT]) operators.OneInputOperator[IN] {
		return &operators.Map[IN, OUT]{Fn: fn, Out: o}
	}), s.input())
}

// FlatMap calls fn for every record; fn emits any number of records.
func FlatMap[IN, OUT any](s *DataStream[IN], name string, fn func(IN, Collector[OUT]) error) *DataStream[OUT] {
	return addVertex[OUT](s.env, simple[IN, OUT](name, func(o operators.Input[OUT]) operators.OneInputOperator[IN] {
		return &operators.FlatMap[IN, OUT]{Fn: fn, Out: o}
	}), s.input())
}

// Filter keeps the records for which fn returns true.
func Filter[T any](s *DataStream[T], name string, fn func(T) bool) *DataStream[T] {
	return addVertex[T](s.env, simple[T, T](name, func(o operators.Input[T]) operators.OneInputOperator[T] {
		return &operators.Filter[T]{Fn: fn, Out: o}
	}), s.input())
}

// SinkStream is the handle of a sink operator.
type SinkStream struct {
	v *actors.Vertex
}

// SetParallelism sets the number of sink subtasks.
func (s *SinkStream) SetParallelism(n int) *SinkStream { s.v.Parallelism = n; return s }

// UID sets the sink's stable ID.
func (s *SinkStream) UID(id string) *SinkStream { s.v.UID = id; return s }

// SinkTo writes s to a sink; newSink makes one Sink per subtask.
func SinkTo[T any](s *DataStream[T], name string, newSink func() operators.Sink[T]) *SinkStream {
	ds := addVertex[struct{}](s.env, operatorSpec{name: name, build: func([]any, *operators.SideOutputs) (operators.Operator, []any) {
		op := &operators.SinkOperator[T]{Sink: newSink()}
		return op, []any{operators.Input[T](op)}
	}}, s.input())
	v := ds.from[0].v
	v.Out = nil
	return &SinkStream{v: v}
}
