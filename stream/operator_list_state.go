package stream

import (
	"github.com/stromhq/strom/operators"
)

// This file re-exports the operator list states of functions that are not
// keyed (see the "Operator state and broadcast state" section of package
// operators): the functions that ProcessStream, CoProcess,
// BroadcastProcess, KeyedBroadcastProcess, sources and sinks run create
// them in Open and use them freely; checkpoints hold each subtask's
// lists, and a restore at another parallelism deals them out by even split
// or hands every subtask all of them (union).
//
//	type buffering struct {
//		pending *stream.OperatorListState[Event]
//	}
//
//	func (b *buffering) Open(ctx *stream.TaskContext) (err error) {
//		b.pending, err = stream.NewOperatorListState[Event](ctx, "pending")
//		return err
//	}
//
//	func (b *buffering) ProcessElement(_ *stream.ProcessContext, e Event, out stream.Collector[Event]) error {
//		b.pending.Add(e)
//		if b.pending.Len() == 100 {
//			for _, p := range b.pending.All() {
//				out.Collect(p)
//			}
//			b.pending.Clear()
//		}
//		return nil
//	}

// OperatorListState is a list of values of one subtask of an operator that
// is not keyed, checkpointed with the subtask.
type OperatorListState[T any] = operators.OperatorListState[T]

// ErrOperatorStateMismatch is wrapped by the errors of operator states
// that do not fit together: a name registered twice, or checkpointed state
// the function does not register (see DiscardOperatorState).
var ErrOperatorStateMismatch = operators.ErrOperatorStateMismatch

// NewOperatorListState creates the operator list state name, dealt out by
// even split when the parallelism changes, in the Open of a function that
// is not keyed; see operators.NewOperatorListState.
func NewOperatorListState[T any](ctx *TaskContext, name string, opts ...StateOption) (*OperatorListState[T], error) {
	return operators.NewOperatorListState[T](ctx, name, opts...)
}

// NewUnionListState creates the operator list state name, of which every
// subtask gets all entries on restore; see operators.NewUnionListState.
func NewUnionListState[T any](ctx *TaskContext, name string, opts ...StateOption) (*OperatorListState[T], error) {
	return operators.NewUnionListState[T](ctx, name, opts...)
}

// DiscardOperatorState drops the checkpointed entries of the operator
// state name (a list or a broadcast state), which the function no longer
// uses; see operators.DiscardOperatorState.
func DiscardOperatorState(ctx *TaskContext, name string) error {
	return operators.DiscardOperatorState(ctx, name)
}
