package operators

import (
	"encoding/binary"
	"fmt"

	"github.com/stromhq/strom/snapshot"
)

// AssignTimestampsAndWatermarks assigns timestamps and generates watermarks
// in the middle of a stream, as Flink's TimestampsAndWatermarksOperator:
// for records whose event time is only known after some processing, or
// for a source that cannot take a strategy itself.
//
// Per batch it assigns every record's timestamp, feeds the generator (one
// per subtask), passes the batch on, and then emits the watermark if it
// advanced. Watermarks from upstream are swallowed, except MaxWatermark
// (end of input), which passes on. While no records arrive it wakes up on
// processing time (it is a ProcessingTimer) for periodic emission and the
// idle timeout; when that times out, it marks the subtask idle through
// TaskContext.MarkIdle and active again before its next record. The
// runtime also derives the subtask's idle status from its input channels,
// so the status follows whichever changed last.
//
// Like every operator it runs on its subtask's goroutine only.
type AssignTimestampsAndWatermarks[T any] struct {
	Base
	// Strategy tells how timestamps and watermarks are made.
	Strategy WatermarkStrategy[T]
	Out      Input[T]
	wm       *watermarker[T]
	buf      Batch[T]
	// restored is a watermark from a checkpoint still to be passed on.
	restored int64
}

// Open implements Operator.
func (a *AssignTimestampsAndWatermarks[T]) Open(ctx *TaskContext) (err error) {
	a.Ctx, a.restored = ctx, NoTimestamp
	defer recoverInto(ctx, &err)
	a.wm, err = newWatermarker(ctx, &a.Strategy, nil, a.Out.ProcessWatermark)
	return attribute(ctx, err)
}

// ProcessBatch implements Input. The caller's batch is left as it is: the
// new timestamps go into a copy of its Times.
func (a *AssignTimestampsAndWatermarks[T]) ProcessBatch(b *Batch[T]) (err error) {
	if len(b.Values) == 0 {
		return nil
	}
	defer recoverInto(a.Ctx, &err)
	if a.restored != NoTimestamp {
		if err := a.emitRestored(); err != nil {
			return attribute(a.Ctx, err)
		}
	}
	now := a.wm.clock.NowMillis()
	a.buf.Values = b.Values
	a.buf.Times = append(a.buf.Times[:0], b.Times...)
	defer func() { a.buf.Values = nil }()
	// A watermark a generator emits on a record goes out right after that
	// record: the batch is passed on in runs that end at such records.
	for start := 0; start < len(a.buf.Values); {
		end, due, err := a.wm.stampUntil(&a.buf, start, now)
		if err != nil {
			return attribute(a.Ctx, err)
		}
		run := Batch[T]{Values: a.buf.Values[start:end], Times: a.buf.Times[start:end]}
		if err := a.Out.ProcessBatch(&run); err != nil {
			return attribute(a.Ctx, err)
		}
		if due {
			if err := a.wm.emitDue(); err != nil {
				return attribute(a.Ctx, err)
			}
		}
		start = end
	}
	return attribute(a.Ctx, a.wm.advance(now, true))
}

// ProcessWatermark implements Operator and Input: upstream event time is
// replaced by the generated one; only MaxWatermark passes.
func (a *AssignTimestampsAndWatermarks[T]) ProcessWatermark(wm int64) (err error) {
	if wm != MaxWatermark {
		return nil
	}
	defer recoverInto(a.Ctx, &err)
	return attribute(a.Ctx, a.wm.end())
}

// NextProcessingTime implements ProcessingTimer: the next periodic
// emission or idle timeout.
func (a *AssignTimestampsAndWatermarks[T]) NextProcessingTime() int64 {
	if a.wm == nil {
		return MaxWatermark
	}
	return a.wm.next()
}

// OnProcessingTime implements ProcessingTimer.
func (a *AssignTimestampsAndWatermarks[T]) OnProcessingTime(now int64) (err error) {
	defer recoverInto(a.Ctx, &err)
	return attribute(a.Ctx, a.wm.advance(now, false))
}

// watermarkStateName is the operator state that keeps the last emitted
// watermark of each subtask.
const watermarkStateName = "watermark"

// SnapshotState implements Checkpointed: the watermark this subtask
// emitted so far. Generators keep their own state, which is not saved; the
// restored watermark makes up for it, because a watermark never goes back:
// after a restore, lateness is decided against the same event time as in a
// run that never stopped.
func (a *AssignTimestampsAndWatermarks[T]) SnapshotState(_ int64, w StateWriter) error {
	var e [binary.MaxVarintLen64 * 2]byte
	b := binary.AppendUvarint(e[:0], uint64(a.Ctx.Subtask))
	b = binary.AppendVarint(b, a.wm.emitted)
	w.Operator(watermarkStateName, snapshot.Union, b)
	return nil
}

// RestoreState implements Checkpointed. With an unchanged parallelism the
// subtask takes its own watermark back; after a rescale it takes the
// lowest of all, which is safe: it only makes fewer records late.
func (a *AssignTimestampsAndWatermarks[T]) RestoreState(r StateReader) error {
	entries, err := r.Operator(watermarkStateName)
	if err != nil {
		return err
	}
	own, lowest, found := NoTimestamp, MaxWatermark, false
	for _, e := range entries {
		sub, n := binary.Uvarint(e)
		wm, m := binary.Varint(e[max(n, 0):])
		if n <= 0 || m <= 0 || n+m != len(e) {
			return fmt.Errorf("restore watermark: corrupt entry %x", e)
		}
		lowest = min(lowest, wm)
		if int(sub) == a.Ctx.Subtask {
			own, found = wm, true
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if !found || len(entries) != a.Ctx.Parallelism {
		own = lowest
	}
	a.restored = own
	return nil
}

// emitRestored passes the restored watermark on before anything else.
func (a *AssignTimestampsAndWatermarks[T]) emitRestored() error {
	wm := a.restored
	a.restored = NoTimestamp
	if wm <= a.wm.emitted {
		return nil
	}
	a.wm.emitted = wm
	return a.Out.ProcessWatermark(wm)
}
