package operators

import (
	"github.com/stromhq/strom/snapshot"
)

// Checkpointed is implemented by operators that have state. At a
// checkpoint the runtime calls SnapshotState on the subtask's goroutine once
// the barrier has reached the operator, before any later record: this is
// the synchronous part of the snapshot, so the operator only copies what it
// must (encoding it into the writer); the runtime persists it afterwards,
// off the subtask's goroutine. On restore, RestoreState runs after Open and
// before the first record.
//
// Keyed state is written per key group, so that it can be restored at
// another parallelism: an entry's key group is that of the record key it
// belongs to (KeyGroupFor of the key's hash), and a restoring subtask reads
// only the key groups it owns. The bytes of an entry's key and value are the
// operator's own format; it should prefix keys with a small tag per kind of
// state so that one operator can keep several.
type Checkpointed interface {
	SnapshotState(checkpointID int64, w StateWriter) error
	RestoreState(r StateReader) error
}

// StateWriter takes an operator's state at a checkpoint. It copies the
// slices it is given; the operator may reuse them.
type StateWriter interface {
	// Keyed adds one entry of keyed state in key group kg.
	Keyed(kg int, key, value []byte)
	// Operator adds one entry to the operator (non-keyed) state list
	// name, redistributed by mode when the parallelism changes.
	Operator(name string, mode snapshot.RedistributionMode, entry []byte)
}

// StateReader gives a restoring operator its share of a checkpoint.
type StateReader interface {
	// Keyed calls fn for every keyed entry of the key groups this subtask
	// owns, in key group order.
	Keyed(fn func(kg int, key, value []byte) error) error
	// Operator returns this subtask's entries of the operator state list
	// name.
	Operator(name string) ([][]byte, error)
}

// CheckpointListener is implemented by operators that act when a
// checkpoint completed, such as sinks that make output visible only once
// the checkpoint covering it is durable.
type CheckpointListener interface {
	NotifyCheckpointComplete(checkpointID int64) error
}

// CheckpointedSource is a source that can resume where a checkpoint left
// it. Position describes where the source is: after the last record it
// returned from Poll. Seek, called after Open and before the first Poll,
// resumes from such a position.
type CheckpointedSource interface {
	Position() ([]byte, error)
	Seek(position []byte) error
}

// KeyGroupOf returns the key group of a key hash in the operator's task.
func (ctx *TaskContext) KeyGroupOf(hash uint64) int {
	return snapshot.KeyGroupFor(hash, ctx.MaxParallelism)
}
