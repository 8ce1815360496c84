package stream

import (
	"time"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/operators"
)

// This file re-exports the keyed state of process functions (see the
// "Keyed state" section of package operators): the functions that
// KeyedProcess and KeyedCoProcess run create states in Open and use them
// with the context of each record or timer; checkpoints hold the states,
// and a restore, also at another parallelism, puts them back.
//
//	type dedup struct {
//		seen *stream.ValueState[string, bool]
//	}
//
//	func (d *dedup) Open(ctx *stream.TaskContext) (err error) {
//		d.seen, err = stream.NewValueState[string, bool](ctx, "seen",
//			stream.WithTTL(time.Hour, stream.OnCreateAndWrite, stream.NeverReturnExpired))
//		return err
//	}
//
//	func (d *dedup) ProcessElement(ctx *stream.KeyedContext[string], e Event, out stream.Collector[Event]) error {
//		if _, ok := d.seen.Get(ctx); !ok {
//			d.seen.Set(ctx, true)
//			out.Collect(e)
//		}
//		return nil
//	}

// TaskContext tells a function's Open where it runs; keyed states are
// created with it.
type TaskContext = operators.TaskContext

// KeyScope is the context a keyed state is used with: the *KeyedContext or
// *OnTimerContext of the record or timer being processed.
type KeyScope[K comparable] = operators.KeyScope[K]

// ValueState holds one value per key.
type ValueState[K comparable, T any] = operators.ValueState[K, T]

// ListState holds a list of values per key.
type ListState[K comparable, T any] = operators.ListState[K, T]

// MapState holds a map from user keys to values per key.
type MapState[K comparable, UK comparable, UV any] = operators.MapState[K, UK, UV]

// ReducingState folds the values added to a key with a reduce function.
type ReducingState[K comparable, T any] = operators.ReducingState[K, T]

// AggregatingState aggregates the values added to a key with an
// AggregateFunction.
type AggregatingState[K comparable, IN, ACC, OUT any] = operators.AggregatingState[K, IN, ACC, OUT]

// AggregateFunction is how an AggregatingState aggregates; every
// window.AggregateFunction is one.
type AggregateFunction[IN, ACC, OUT any] = operators.AggregateFunction[IN, ACC, OUT]

// AggregateFuncs builds an AggregateFunction from functions.
type AggregateFuncs[IN, ACC, OUT any] = operators.AggregateFuncs[IN, ACC, OUT]

// StateOption configures a keyed state: WithTTL, WithStateCodec.
type StateOption = operators.StateOption

// TTLUpdate tells which accesses renew an entry's time-to-live.
type TTLUpdate = operators.TTLUpdate

// TTLVisibility tells whether expired entries can be read.
type TTLVisibility = operators.TTLVisibility

const (
	// OnCreateAndWrite renews an entry's TTL when it is written.
	OnCreateAndWrite = operators.OnCreateAndWrite
	// OnReadAndWrite renews an entry's TTL when it is written or read.
	OnReadAndWrite = operators.OnReadAndWrite
	// NeverReturnExpired hides expired entries from every read.
	NeverReturnExpired = operators.NeverReturnExpired
)

// ErrStateMismatch is wrapped by the errors of states that do not fit
// together: a name registered twice, or checkpointed state the function
// does not register (see DiscardState).
var ErrStateMismatch = operators.ErrStateMismatch

// NewValueState creates the ValueState name in the Open of a keyed
// function; see operators.NewValueState.
func NewValueState[K comparable, T any](ctx *TaskContext, name string, opts ...StateOption) (*ValueState[K, T], error) {
	return operators.NewValueState[K, T](ctx, name, opts...)
}

// NewListState creates the ListState name in the Open of a keyed
// function.
func NewListState[K comparable, T any](ctx *TaskContext, name string, opts ...StateOption) (*ListState[K, T], error) {
	return operators.NewListState[K, T](ctx, name, opts...)
}

// NewMapState creates the MapState name in the Open of a keyed function.
func NewMapState[K comparable, UK comparable, UV any](ctx *TaskContext, name string, opts ...StateOption) (*MapState[K, UK, UV], error) {
	return operators.NewMapState[K, UK, UV](ctx, name, opts...)
}

// NewReducingState creates the ReducingState name, folding with reduce, in
// the Open of a keyed function.
func NewReducingState[K comparable, T any](ctx *TaskContext, name string, reduce func(acc, v T) T, opts ...StateOption) (*ReducingState[K, T], error) {
	return operators.NewReducingState[K, T](ctx, name, reduce, opts...)
}

// NewAggregatingState creates the AggregatingState name, aggregating with
// agg, in the Open of a keyed function.
func NewAggregatingState[K comparable, IN, ACC, OUT any](ctx *TaskContext, name string, agg AggregateFunction[IN, ACC, OUT], opts ...StateOption) (*AggregatingState[K, IN, ACC, OUT], error) {
	return operators.NewAggregatingState[K, IN, ACC, OUT](ctx, name, agg, opts...)
}

// DiscardState drops the checkpointed entries of the keyed state name,
// which the function no longer uses; see operators.DiscardState.
func DiscardState[K comparable](ctx *TaskContext, name string) error {
	return operators.DiscardState[K](ctx, name)
}

// WithTTL gives a state a time-to-live in processing time: entries expire
// d after they were last written (OnCreateAndWrite) or accessed
// (OnReadAndWrite).
func WithTTL(d time.Duration, update TTLUpdate, visibility TTLVisibility) StateOption {
	return operators.WithTTL(d, update, visibility)
}

// WithStateCodec has a state encode its values of type T with c in
// checkpoints; see operators.WithStateCodec.
func WithStateCodec[T any](c codec.Codec[T]) StateOption {
	return operators.WithStateCodec(c)
}
