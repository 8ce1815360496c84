// Package operators holds the operators that run inside a subtask, the
// contexts they hand to user functions, and the interfaces through which
// the runtime drives and checkpoints them.
//
// # Keyed state
//
// The functions that KeyedProcess and KeyedCoProcess run keep their state
// per key in keyed states, which the operators checkpoint and restore (also
// at another parallelism: each key's entries go to the subtask that owns its
// key group). A function creates its states in Open, with the task context
// Open got, and uses them with the context of the record or timer it
// processes; a state access applies to that context's current key:
//
//	type counter struct {
//		count *operators.ValueState[string, int64]
//	}
//
//	func (c *counter) Open(ctx *operators.TaskContext) (err error) {
//		c.count, err = operators.NewValueState[string, int64](ctx, "count")
//		return err
//	}
//
//	func (c *counter) ProcessElement(ctx *operators.KeyedContext[string], v Event, out operators.Collector[Count]) error {
//		n, _ := c.count.Get(ctx)
//		c.count.Set(ctx, n+1)
//		out.Collect(Count{ctx.Key(), n + 1})
//		return nil
//	}
//
// The states are ValueState (one value), ListState (a list), MapState (a
// map from user keys to values, ranged over in a deterministic order),
// ReducingState (values folded by a reduce function) and AggregatingState
// (values aggregated into an accumulator by an AggregateFunction). They
// live on the heap: each keeps a Go map from key to value, so accesses do
// not encode anything; a checkpoint encodes every entry, with the codec of
// its type (codec.For, or WithStateCodec). A type without a codec fails
// checkpoints, naming the state and the type, and nothing else.
//
// Registration. The operator makes a registry of states before it calls the
// function's Open and keeps it reachable from the task context for the
// time of that call only: NewValueState and the others look it up by the
// task context, so that user functions need no other handle, the
// TaskContext type has no field for it, and creating a state after Open
// (when a restore may already have run) fails rather than missing its
// restored entries. A name is registered once per operator; a second
// registration, a key type other than the operator's, or creating a state
// outside the Open of a keyed function returns an error. A function that
// KeyedProcess shares between subtasks (stream.Process) must not keep
// states in its fields: use one function per subtask. Like the function,
// its states belong to the subtask's goroutine and take no locks.
//
// Time-to-live. WithTTL gives a state a time-to-live in processing time
// (the task's Clock): an entry expires a duration after it was last
// written (OnCreateAndWrite) or accessed (OnReadAndWrite). Expired entries
// are never returned (NeverReturnExpired). No compaction filter or
// background cleaner is needed: expiry is checked on read, where an expired
// entry is removed; each write examines a few other entries and removes the
// expired ones, so that cleanup is incremental; a snapshot drops what
// expired, and a restore what expired meanwhile. List elements and map
// entries expire one by one.
//
// Evolution. A restore puts every checkpointed entry back into the state of
// its name, and fails with ErrStateMismatch when the function does not
// register that name, or registers it as another kind of state: state is
// never dropped silently. So, between a checkpoint and the job that
// resumes from it:
//   - a new state may be added;
//   - a state that is no longer used is dropped explicitly, by calling
//     DiscardState with its name in Open; the call may go once the job
//     has taken a checkpoint after the restore that dropped the state;
//   - a state cannot be renamed, nor change its kind: register a new one
//     and move the values over while both exist;
//   - a TTL may be added or removed: entries checkpointed without a TTL
//     are stamped with the time of the restore;
//   - the type of values may change only if its encoding does not, since
//     entries carry no schema (codec package): use protobuf messages for
//     types that evolve, or WithStateCodec with a codec that reads the old
//     encoding.
//
// # Operator state and broadcast state
//
// Functions that are not keyed (those Process, CoProcess,
// BroadcastProcess, SourceOperator and SinkOperator run) keep state per
// subtask in operator list states, created in Open like keyed states and
// used without a context:
//
//	func (f *buffer) Open(ctx *operators.TaskContext) (err error) {
//		f.pending, err = operators.NewOperatorListState[Event](ctx, "pending")
//		return err
//	}
//
// A checkpoint holds each subtask's lists. A restore at another
// parallelism deals the entries of a NewOperatorListState out by even
// split (every entry to one subtask), and gives every subtask all entries
// of a NewUnionListState. As for keyed state, a name is registered once,
// and a checkpointed state that the function does not register fails the
// restore with ErrOperatorStateMismatch unless DiscardOperatorState drops
// it.
//
// The functions of a stream connected to a broadcast stream
// (BroadcastProcessFunction, KeyedBroadcastProcessFunction) keep
// broadcast states: a BroadcastState is a map replicated in every subtask,
// written only in ProcessBroadcastElement, with its BroadcastContext, and
// read anywhere. Since every subtask applies the same broadcast records,
// the copies are identical: a checkpoint holds subtask 0's, and a restore
// at any parallelism gives it to every subtask.
package operators
