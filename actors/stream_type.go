package actors

import (
	"fmt"
	"sync"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
)

// StreamType is the runtime's handle on the record type of a vertex's
// output. The runtime moves batches as `any`; a StreamType is where their
// type is known again: it builds typed writers, feeds batches to typed
// inputs with one type assertion per batch, and encodes batches for
// channels that cross an actor system.
type StreamType interface {
	// Fanout combines operators.Input[T] values into one (Discard for
	// none).
	Fanout(outs []any) any
	// Discard returns an operators.Input[T] that drops records.
	Discard() any
	// NewWriter returns the writer of edge e at one producer subtask.
	NewWriter(e *Edge, cfg WriterConfig, s BatchSender) RecordWriter
	// Feed returns a function that delivers a batch to in, an
	// operators.Input[T], and recycles the batch afterwards.
	Feed(in any) func(b any) error
	// Encode fills m with batch b and recycles b.
	Encode(b any, m *protos.RecordBatch)
	// Decode turns a remote batch back into a *operators.Batch[T].
	Decode(m *protos.RecordBatch) (any, error)
	// Len returns the number of records in batch b.
	Len(b any) int
	// HasCodec reports whether batches can be encoded.
	HasCodec() bool
}

// NewStreamType returns the StreamType of records of type T. c may be nil
// when T has no codec; the job then cannot cross actor systems.
func NewStreamType[T any](c codec.Codec[T]) StreamType {
	return &streamType[T]{codec: c}
}

type streamType[T any] struct {
	codec codec.Codec[T]
	// pool recycles channel batches: a writer takes one, the receiving
	// subtask gives it back once processed.
	pool sync.Pool
}

func (st *streamType[T]) get(capacity int) *operators.Batch[T] {
	if b, ok := st.pool.Get().(*operators.Batch[T]); ok && cap(b.Values) >= capacity {
		return b
	}
	return operators.NewBatch[T](capacity)
}

func (st *streamType[T]) put(b *operators.Batch[T]) {
	b.Reset()
	st.pool.Put(b)
}

func (st *streamType[T]) Fanout(outs []any) any {
	switch len(outs) {
	case 0:
		return operators.Discard[T]{}
	case 1:
		return outs[0]
	}
	f := make(operators.Fanout[T], len(outs))
	for i, o := range outs {
		f[i] = o.(operators.Input[T])
	}
	return f
}

func (st *streamType[T]) Discard() any { return operators.Discard[T]{} }

func (st *streamType[T]) Feed(in any) func(b any) error {
	typed := in.(operators.Input[T])
	return func(b any) error {
		batch := b.(*operators.Batch[T])
		err := typed.ProcessBatch(batch)
		st.put(batch)
		return err
	}
}

func (st *streamType[T]) HasCodec() bool { return st.codec != nil }

func (st *streamType[T]) Len(b any) int { return b.(*operators.Batch[T]).Len() }

func (st *streamType[T]) Encode(b any, m *protos.RecordBatch) {
	batch := b.(*operators.Batch[T])
	m.Count = int32(batch.Len())
	m.Payload = codec.AppendBatch(st.codec, m.Payload[:0], batch.Values)
	m.Timestamps = append(m.Timestamps[:0], batch.Times...)
	st.put(batch)
}

func (st *streamType[T]) Decode(m *protos.RecordBatch) (any, error) {
	if st.codec == nil {
		return nil, fmt.Errorf("decode batch: record type %T has no codec", *new(T))
	}
	batch := st.get(int(m.Count))
	var err error
	batch.Values, err = codec.DecodeBatch(st.codec, m.Payload, batch.Values)
	if err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	if len(batch.Values) != len(m.Timestamps) {
		return nil, fmt.Errorf("decode batch: %d values but %d timestamps: %w", len(batch.Values), len(m.Timestamps), codec.ErrCorrupt)
	}
	batch.Times = append(batch.Times, m.Timestamps...)
	return batch, nil
}

func (st *streamType[T]) NewWriter(e *Edge, cfg WriterConfig, s BatchSender) RecordWriter {
	w := &recordWriter[T]{
		st:        st,
		sender:    s,
		kind:      e.Partitioning,
		batchSize: cfg.BatchSize,
		subtask:   cfg.Subtask,
		maxPar:    cfg.MaxParallelism,
		bufs:      make([]*operators.Batch[T], e.Target.Parallelism),
	}
	if e.Partitioning == Hash {
		w.hash = e.KeyHash.(func(T) uint64)
	}
	// Stagger round-robin starts so producers do not all hit subtask 0.
	w.next = cfg.Subtask % len(w.bufs)
	return w
}
