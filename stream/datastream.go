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
	// from are the vertices whose output this stream is.
	from []*actors.Vertex
	// part is the partitioning of edges drawn from this stream.
	part actors.Partitioning
	// keyHash hashes a record's key, on keyed streams.
	keyHash any
}

// Collector receives the records a function emits.
type Collector[T any] = operators.Collector[T]

// vertex returns the single vertex of a non-union stream, recording an
// error for what builds on a union.
func (s *DataStream[T]) vertex(what string) *actors.Vertex {
	if len(s.from) != 1 {
		s.env.errorf("%s on a union of %d streams: apply it to each input", what, len(s.from))
		return &actors.Vertex{}
	}
	return s.from[0]
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
	for _, v := range s.from {
		v.Out = actors.NewStreamType(c)
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
	u := &DataStream[T]{env: first.env, from: append([]*actors.Vertex(nil), first.from...)}
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

// addVertex adds an operator of parallelism p (0: the default) reading the
// given inputs (one per gate).
func addVertex[OUT any](env *Environment, name string, p int, build func(out operators.Input[OUT], ctx *buildContext) (operators.Operator, []any), inputs ...inputStream) *DataStream[OUT] {
	if p == 0 {
		p = env.parallelism
	}
	v := env.graph.AddVertex(&actors.Vertex{Name: name, UID: name, Parallelism: p, Out: streamType[OUT]()})
	v.NewOperator = func(out any) (operators.Operator, []any, error) {
		o, _ := out.(operators.Input[OUT]) // nil for a sink
		op, ins := build(o, nil)
		return op, ins, nil
	}
	for gate, in := range inputs {
		for _, src := range in.from {
			env.graph.Connect(src, v, gate, in.part, in.keyHash)
		}
	}
	return &DataStream[OUT]{env: env, from: []*actors.Vertex{v}}
}

// buildContext is reserved for build-time information an operator needs.
type buildContext struct{}

// inputStream is the type-free view of a stream feeding a new operator.
type inputStream struct {
	from    []*actors.Vertex
	part    actors.Partitioning
	keyHash any
}

func (s *DataStream[T]) input() inputStream {
	return inputStream{from: s.from, part: s.part, keyHash: s.keyHash}
}

// FromSource adds a source. bounded tells whether its input ends.
func FromSource[T any](env *Environment, name string, src func() operators.Source[T], bounded bool) *DataStream[T] {
	v := env.graph.AddVertex(&actors.Vertex{Name: name, UID: name, Parallelism: env.parallelism, Out: streamType[T](), Bounded: bounded})
	v.NewSource = func(out any) (operators.SourceTask, error) {
		return &operators.SourceOperator[T]{Source: src(), Out: out.(operators.Input[T])}, nil
	}
	return &DataStream[T]{env: env, from: []*actors.Vertex{v}}
}

// Map applies fn to every record.
func Map[IN, OUT any](s *DataStream[IN], name string, fn func(IN) OUT) *DataStream[OUT] {
	return addVertex(s.env, name, 0, func(out operators.Input[OUT], _ *buildContext) (operators.Operator, []any) {
		op := &operators.Map[IN, OUT]{Fn: fn, Out: out}
		return op, []any{operators.Input[IN](op)}
	}, s.input())
}

// FlatMap calls fn for every record; fn emits any number of records.
func FlatMap[IN, OUT any](s *DataStream[IN], name string, fn func(IN, Collector[OUT]) error) *DataStream[OUT] {
	return addVertex(s.env, name, 0, func(out operators.Input[OUT], _ *buildContext) (operators.Operator, []any) {
		op := &operators.FlatMap[IN, OUT]{Fn: fn, Out: out}
		return op, []any{operators.Input[IN](op)}
	}, s.input())
}

// Filter keeps the records for which fn returns true.
func Filter[T any](s *DataStream[T], name string, fn func(T) bool) *DataStream[T] {
	return addVertex(s.env, name, 0, func(out operators.Input[T], _ *buildContext) (operators.Operator, []any) {
		op := &operators.Filter[T]{Fn: fn, Out: out}
		return op, []any{operators.Input[T](op)}
	}, s.input())
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
	ds := addVertex(s.env, name, 0, func(_ operators.Input[struct{}], _ *buildContext) (operators.Operator, []any) {
		op := &operators.SinkOperator[T]{Sink: newSink()}
		return op, []any{operators.Input[T](op)}
	}, s.input())
	ds.from[0].Out = nil
	return &SinkStream{v: ds.from[0]}
}
