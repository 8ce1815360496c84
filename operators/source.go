package operators

import "time"

// Source reads one split of an input. The runtime opens one Source per
// source subtask; a source uses ctx.Subtask and ctx.Parallelism to pick its
// share of the input, so that together the subtasks read everything once.
//
// Poll must not block for long: the runtime calls it from the subtask's
// actor and keeps calling it only while downstream grants credit, which is
// how backpressure slows a source down. A source that waits on I/O runs the
// wait in a goroutine of its own and hands records over in Poll.
type Source[T any] interface {
	Open(ctx *TaskContext) error
	// Poll appends at most max records to b.
	Poll(b *Batch[T], max int) (PollResult, error)
	Close() error
}

// PollResult tells the runtime when to poll next. The zero value means
// "poll again at once".
type PollResult struct {
	// Done reports that the input is exhausted; records appended in the
	// same call are still delivered.
	Done bool
	// Wait, when positive, is how long nothing new will be available.
	Wait time.Duration
}

// Sink writes the records of one sink subtask.
type Sink[T any] interface {
	Open(ctx *TaskContext) error
	// Write consumes a batch; it must not keep b after returning.
	Write(b *Batch[T]) error
	// Finish is called at the end of bounded input, before Close.
	Finish() error
	Close() error
}

// WatermarkSink is implemented by sinks that act on event time.
type WatermarkSink interface {
	ProcessWatermark(wm int64) error
}

// SourceTask is the runtime's view of a source operator.
type SourceTask interface {
	Operator
	// PollOnce polls the source for up to max records and pushes them
	// through the chain.
	PollOnce(max int) (PollResult, error)
	// Emitted returns the number of records the source emitted so far.
	Emitted() int64
}

// SourceOperator runs a Source at the head of a chain.
type SourceOperator[T any] struct {
	Base
	Source  Source[T]
	Out     Input[T]
	buf     Batch[T]
	emitted int64
}

// Emitted implements SourceTask.
func (s *SourceOperator[T]) Emitted() int64 { return s.emitted }

// Open implements Operator.
func (s *SourceOperator[T]) Open(ctx *TaskContext) (err error) {
	s.Ctx = ctx
	defer recoverInto(ctx, &err)
	return attribute(ctx, s.Source.Open(ctx))
}

// PollOnce implements SourceTask.
func (s *SourceOperator[T]) PollOnce(max int) (res PollResult, err error) {
	defer recoverInto(s.Ctx, &err)
	s.buf.Values, s.buf.Times = s.buf.Values[:0], s.buf.Times[:0]
	res, err = s.Source.Poll(&s.buf, max)
	if err != nil {
		return res, attribute(s.Ctx, err)
	}
	if len(s.buf.Values) > 0 {
		s.emitted += int64(len(s.buf.Values))
		err = s.Out.ProcessBatch(&s.buf)
		clear(s.buf.Values)
	}
	return res, attribute(s.Ctx, err)
}

// ProcessWatermark implements Operator: the runtime ends event time of a
// finished source with MaxWatermark.
func (s *SourceOperator[T]) ProcessWatermark(wm int64) error { return s.Out.ProcessWatermark(wm) }

// Close implements Operator.
func (s *SourceOperator[T]) Close() (err error) {
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.Source.Close())
}
