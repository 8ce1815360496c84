package operators

import "errors"

// RescalableSource is a CheckpointedSource that also resumes at another
// parallelism than its checkpoint's. When a job is restored with the
// source's parallelism changed, the runtime calls SeekRescaled instead of
// Seek on every new subtask, after Open and before the first Poll, with
// the positions of all the old subtasks (by old subtask; an entry is empty
// for a subtask that recorded none). Each new subtask takes its share of
// what the old subtasks had left, so that together the new subtasks read
// every remaining record exactly once; the TaskContext given to Open tells
// the new subtask's index and parallelism.
//
// A source that is not a RescalableSource resumes only at its
// checkpoint's parallelism, and a restore at another one fails with an
// error naming it.
type RescalableSource interface {
	CheckpointedSource
	SeekRescaled(positions [][]byte) error
}

// ErrNotRescalable is returned by SourceOperator.SeekRescaled when its
// source is not a RescalableSource.
var ErrNotRescalable = errors.New("the source resumes only at the parallelism of its checkpoint")

// SeekRescaled implements RescalableSource for sources that do.
func (s *SourceOperator[T]) SeekRescaled(positions [][]byte) error {
	rs, ok := s.Source.(RescalableSource)
	if !ok {
		return ErrNotRescalable
	}
	return rs.SeekRescaled(positions)
}
