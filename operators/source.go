package operators

import (
	"errors"
	"time"
)

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

// SplitSource is implemented by a source whose subtask reads several
// splits (partitions of a log, files) whose records interleave, each in its
// own event-time order. With a WatermarkStrategy, SourceOperator then runs
// one watermark generator per split, as Flink does per Kafka partition: the
// subtask's watermark is the minimum over its splits that are neither idle
// nor finished, so a split that lags holds it back and a split that brings
// nothing for the idle timeout does not. A split that has not brought a
// record yet holds the watermark back until it times out.
//
// Both methods are called on the subtask's goroutine right after Poll.
type SplitSource interface {
	// Splits returns the number of splits the subtask reads, numbered
	// from 0; it may grow as splits are assigned.
	Splits() int
	// Split returns the split of record i of the batch that the last
	// Poll appended to (the batch starts empty on every Poll).
	Split(i int) int
}

// SplitFinisher is implemented by a SplitSource whose splits can end. A
// finished split no longer holds the watermark back; without it, a split
// that ended holds the watermark until it times out as idle.
type SplitFinisher interface {
	// SplitFinished reports whether split has brought its last record.
	// It is called on the subtask's goroutine after every poll.
	SplitFinished(split int) bool
}

// SourceOperator runs a Source at the head of a chain.
//
// With Watermarks set it is where event time starts: per poll it assigns
// every record's timestamp, feeds the generator of the record's split,
// pushes the batch, and then emits the watermark if it advanced; see
// WatermarkStrategy and SplitSource. While no records arrive the source
// must still be polled for idleness to be noticed and for periodic
// watermarks: PollOnce shortens the Wait a source returns to the next time
// a split may time out or a periodic emission is due.
type SourceOperator[T any] struct {
	Base
	Source Source[T]
	Out    Input[T]
	// Watermarks, when set, assigns timestamps and generates watermarks.
	// It is shared by the subtasks and must not change once they run.
	Watermarks *WatermarkStrategy[T]
	buf        Batch[T]
	emitted    int64
	wm         *watermarker[T]
	// opStates are the operator states the source registered (see
	// operator_state.go).
	opStates *operatorStateRegistry
}

// Emitted implements SourceTask.
func (s *SourceOperator[T]) Emitted() int64 { return s.emitted }

// Open implements Operator.
func (s *SourceOperator[T]) Open(ctx *TaskContext) (err error) {
	s.Ctx = ctx
	defer recoverInto(ctx, &err)
	if s.Watermarks != nil {
		if err := s.Watermarks.Validate(); err != nil {
			return attribute(ctx, err)
		}
	}
	if err := s.openSource(ctx); err != nil {
		return attribute(ctx, err)
	}
	if s.Watermarks == nil {
		return nil
	}
	if err := s.openWatermarks(ctx); err != nil {
		// The runtime closes only what opened: close the source here.
		_ = s.Source.Close()
		return err
	}
	return nil
}

// openWatermarks prepares the strategy once the source is open (it may
// know its splits only then); the factories it calls are user code.
func (s *SourceOperator[T]) openWatermarks(ctx *TaskContext) (err error) {
	defer recoverInto(ctx, &err)
	s.wm, err = newWatermarker(ctx, s.Watermarks, any(s.Source), s.Out.ProcessWatermark)
	return attribute(ctx, err)
}

// PollOnce implements SourceTask.
func (s *SourceOperator[T]) PollOnce(max int) (res PollResult, err error) {
	defer recoverInto(s.Ctx, &err)
	s.buf.Values, s.buf.Times = s.buf.Values[:0], s.buf.Times[:0]
	res, err = s.Source.Poll(&s.buf, max)
	if err != nil {
		return res, attribute(s.Ctx, err)
	}
	if s.wm != nil {
		return s.pollWatermarked(res)
	}
	if len(s.buf.Values) > 0 {
		s.emitted += int64(len(s.buf.Values))
		err = s.Out.ProcessBatch(&s.buf)
		clear(s.buf.Values)
	}
	return res, attribute(s.Ctx, err)
}

// pollWatermarked emits what a poll returned under the watermark
// strategy: records first, then the watermark they advanced.
func (s *SourceOperator[T]) pollWatermarked(res PollResult) (PollResult, error) {
	now := s.wm.clock.NowMillis()
	n := len(s.buf.Values)
	if n > 0 {
		if err := s.wm.stamp(&s.buf, now); err != nil {
			clear(s.buf.Values)
			return res, attribute(s.Ctx, err)
		}
		s.emitted += int64(n)
		err := s.Out.ProcessBatch(&s.buf)
		clear(s.buf.Values)
		if err != nil {
			return res, attribute(s.Ctx, err)
		}
	}
	if res.Done {
		// MaxWatermark follows at once.
		return res, nil
	}
	if err := s.wm.advance(now, n > 0); err != nil {
		return res, attribute(s.Ctx, err)
	}
	res.Wait = s.wm.capWait(res.Wait, now)
	return res, nil
}

// ErrNoPosition is returned by a source operator whose source cannot record
// where it is, so a job reading it cannot be checkpointed.
var ErrNoPosition = errors.New("operators: source cannot record its position")

// Position implements CheckpointedSource for sources that do.
func (s *SourceOperator[T]) Position() ([]byte, error) {
	cs, ok := s.Source.(CheckpointedSource)
	if !ok {
		return nil, ErrNoPosition
	}
	return cs.Position()
}

// Seek implements CheckpointedSource for sources that do.
func (s *SourceOperator[T]) Seek(position []byte) error {
	cs, ok := s.Source.(CheckpointedSource)
	if !ok {
		return ErrNoPosition
	}
	return cs.Seek(position)
}

// ProcessWatermark implements Operator: the runtime ends event time of a
// finished source with MaxWatermark. With Watermarks set, the source
// generates its own event time and only MaxWatermark passes.
func (s *SourceOperator[T]) ProcessWatermark(wm int64) (err error) {
	if s.wm == nil {
		return s.Out.ProcessWatermark(wm)
	}
	if wm != MaxWatermark {
		return nil
	}
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.wm.end())
}

// Close implements Operator.
func (s *SourceOperator[T]) Close() (err error) {
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.Source.Close())
}
