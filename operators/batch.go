package operators

import "math"

// NoTimestamp marks a record that carries no event timestamp.
const NoTimestamp int64 = math.MinInt64

// MaxWatermark is the watermark that ends event time: it follows the last
// record of a bounded input and fires every pending window and timer.
const MaxWatermark int64 = math.MaxInt64

// Batch is a run of records of one type: values and their event timestamps,
// kept as two parallel slices. Batches are how records move between
// operators: an operator asserts a batch's type once and then loops over
// plain values, so no record is ever boxed.
//
// Ownership: a batch passed to Input.ProcessBatch belongs to the caller. The
// callee reads it during the call and must neither modify it nor keep it
// after returning; to keep records it copies them.
type Batch[T any] struct {
	Values []T
	Times  []int64
}

// NewBatch returns an empty batch with room for capacity records.
func NewBatch[T any](capacity int) *Batch[T] {
	return &Batch[T]{Values: make([]T, 0, capacity), Times: make([]int64, 0, capacity)}
}

// Len returns the number of records in b.
func (b *Batch[T]) Len() int { return len(b.Values) }

// Append adds one record.
func (b *Batch[T]) Append(v T, ts int64) {
	b.Values = append(b.Values, v)
	b.Times = append(b.Times, ts)
}

// Reset empties b, keeping its capacity. Values are cleared so that a
// reused batch does not pin memory the records referenced.
func (b *Batch[T]) Reset() {
	clear(b.Values)
	b.Values = b.Values[:0]
	b.Times = b.Times[:0]
}

// Input receives the records of type T and the watermarks of one stream:
// the next operator of a chain, a fan-out to several, or the writer of a
// network edge. Its methods run synchronously on the subtask's goroutine.
//
// Watermarks travel the chain the way records do: an operator handles a
// watermark (firing timers and windows, whose results it emits first) and
// then passes it on with ProcessWatermark of its output. An operator that
// generates watermarks passes on its own instead.
type Input[T any] interface {
	ProcessBatch(b *Batch[T]) error
	ProcessWatermark(wm int64) error
}

// Collector is handed to user functions that emit any number of records per
// input record. Records collected inherit the input record's timestamp.
type Collector[T any] interface {
	Collect(v T)
}

// batchCollector appends collected records to a batch with a fixed
// timestamp; operators set ts before calling the user function.
type batchCollector[T any] struct {
	out *Batch[T]
	ts  int64
}

func (c *batchCollector[T]) Collect(v T) { c.out.Append(v, c.ts) }

// Fanout sends every batch to each of several inputs in order.
type Fanout[T any] []Input[T]

// ProcessBatch implements Input.
func (f Fanout[T]) ProcessBatch(b *Batch[T]) error {
	for _, in := range f {
		if err := in.ProcessBatch(b); err != nil {
			return err
		}
	}
	return nil
}

// ProcessWatermark implements Input.
func (f Fanout[T]) ProcessWatermark(wm int64) error {
	for _, in := range f {
		if err := in.ProcessWatermark(wm); err != nil {
			return err
		}
	}
	return nil
}

// Discard is an Input that drops everything (the output of a sink).
type Discard[T any] struct{}

// ProcessBatch implements Input.
func (Discard[T]) ProcessBatch(*Batch[T]) error { return nil }

// ProcessWatermark implements Input.
func (Discard[T]) ProcessWatermark(int64) error { return nil }
