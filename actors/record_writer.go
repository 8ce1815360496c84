package actors

import (
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// RecordWriter is the tail of a chain on one network edge: it partitions
// records over the edge's channels, fills one batch per channel and hands a
// batch to its BatchSender when the batch is full or when flushed.
type RecordWriter interface {
	// Input returns the writer as an operators.Input[T].
	Input() any
	// Flush hands every non-empty batch over; the runtime calls it before
	// every control event and when the buffer timeout passes.
	Flush()
	// Buffered reports whether some batch holds records not yet handed over.
	Buffered() bool
}

// BatchSender takes full batches from a RecordWriter; it owns them from
// then on. SendWatermark sends a watermark on every channel of the edge.
type BatchSender interface {
	SendBatch(dst int, b any)
	SendWatermark(wm int64)
}

// WriterConfig sets a writer's thresholds.
type WriterConfig struct {
	// BatchSize is the number of records after which a batch is sent.
	BatchSize      int
	Subtask        int
	MaxParallelism int
}

type recordWriter[T any] struct {
	st        *streamType[T]
	sender    BatchSender
	kind      Partitioning
	hash      func(T) uint64
	batchSize int
	subtask   int
	maxPar    int
	next      int
	bufs      []*operators.Batch[T]
	buffered  int
	// route maps a key group to its consumer subtask, saving a division
	// per record.
	route []int32
}

func (w *recordWriter[T]) Input() any { return w }

func (w *recordWriter[T]) Buffered() bool { return w.buffered > 0 }

// buf returns the batch being filled for dst.
func (w *recordWriter[T]) buf(dst int) *operators.Batch[T] {
	b := w.bufs[dst]
	if b == nil {
		b = w.st.get(w.batchSize)
		w.bufs[dst] = b
	}
	return b
}

func (w *recordWriter[T]) emit(dst int, b *operators.Batch[T]) {
	w.bufs[dst] = nil
	w.buffered--
	w.sender.SendBatch(dst, b)
}

// append adds one record for dst, sending the batch when it fills.
func (w *recordWriter[T]) append(dst int, v T, ts int64) {
	b := w.buf(dst)
	if len(b.Values) == 0 {
		w.buffered++
	}
	b.Values = append(b.Values, v)
	b.Times = append(b.Times, ts)
	if len(b.Values) >= w.batchSize {
		w.emit(dst, b)
	}
}

// ProcessBatch implements operators.Input.
func (w *recordWriter[T]) ProcessBatch(in *operators.Batch[T]) error {
	switch w.kind {
	case Forward:
		w.copyTo(w.subtask, in)
	case Rebalance:
		n := len(w.bufs)
		for i, v := range in.Values {
			w.append(w.next, v, in.Times[i])
			if w.next++; w.next == n {
				w.next = 0
			}
		}
	case Hash:
		if w.route == nil {
			w.route = make([]int32, w.maxPar)
			for kg := range w.route {
				w.route[kg] = int32(snapshot.SubtaskFor(kg, w.maxPar, len(w.bufs)))
			}
		}
		for i, v := range in.Values {
			w.append(int(w.route[snapshot.KeyGroupFor(w.hash(v), w.maxPar)]), v, in.Times[i])
		}
	case Broadcast:
		for dst := range w.bufs {
			w.copyTo(dst, in)
		}
	}
	return nil
}

// copyTo appends all of in to dst's batches in bulk.
func (w *recordWriter[T]) copyTo(dst int, in *operators.Batch[T]) {
	vs, ts := in.Values, in.Times
	for len(vs) > 0 {
		b := w.buf(dst)
		if len(b.Values) == 0 {
			w.buffered++
		}
		n := min(len(vs), w.batchSize-len(b.Values))
		b.Values = append(b.Values, vs[:n]...)
		b.Times = append(b.Times, ts[:n]...)
		vs, ts = vs[n:], ts[n:]
		if len(b.Values) >= w.batchSize {
			w.emit(dst, b)
		}
	}
}

// ProcessWatermark implements operators.Input: the watermark follows the
// records buffered before it on every channel of the edge.
func (w *recordWriter[T]) ProcessWatermark(wm int64) error {
	w.Flush()
	w.sender.SendWatermark(wm)
	return nil
}

// Flush implements RecordWriter.
func (w *recordWriter[T]) Flush() {
	for dst, b := range w.bufs {
		if b != nil && len(b.Values) > 0 {
			w.emit(dst, b)
		}
	}
}
