package stream

import (
	"github.com/stromhq/strom/operators"
)

// OutputTag names a side output carrying records of type T. Operators that
// support side outputs (process functions, windows for late records) emit
// to a tag; SideOutput turns what an operator emitted to it into a stream.
type OutputTag[T any] struct {
	ID string
}

// NewOutputTag returns the tag id.
func NewOutputTag[T any](id string) OutputTag[T] { return OutputTag[T]{ID: id} }

// sideTag is a side output of an operator as the builder keeps it.
type sideTag struct {
	id string
	// newSide makes the *operators.SideOutput[T] writing to out.
	newSide func(out any) any
}

// SideOutput returns the stream of records that the operator producing s
// emitted to tag. Records emitted to a tag nobody reads are dropped and
// counted.
func SideOutput[T, X any](s *DataStream[X], tag OutputTag[T]) *DataStream[T] {
	v := s.vertex("SideOutput")
	tags := s.env.sides[v]
	for i, t := range tags {
		if t.id == tag.ID {
			return &DataStream[T]{env: s.env, from: []port{{v: v, output: i + 1}}}
		}
	}
	s.env.sides[v] = append(tags, sideTag{id: tag.ID, newSide: func(out any) any {
		return operators.NewSideOutput(out.(operators.Input[T]))
	}})
	v.SideOutputs = append(v.SideOutputs, streamType[T]())
	return &DataStream[T]{env: s.env, from: []port{{v: v, output: len(v.SideOutputs)}}}
}
