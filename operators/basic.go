package operators

// Map applies a function to every record.
type Map[IN, OUT any] struct {
	Base
	Fn  func(IN) OUT
	Out Input[OUT]
	buf Batch[OUT]
}

// ProcessBatch implements Input.
func (m *Map[IN, OUT]) ProcessBatch(b *Batch[IN]) (err error) {
	defer recoverInto(m.Ctx, &err)
	m.buf.Values = m.buf.Values[:0]
	for _, v := range b.Values {
		m.buf.Values = append(m.buf.Values, m.Fn(v))
	}
	// A map keeps every timestamp in place: share the input's slice.
	m.buf.Times = b.Times
	err = m.Out.ProcessBatch(&m.buf)
	clear(m.buf.Values)
	m.buf.Times = nil
	return attribute(m.Ctx, err)
}

// ProcessWatermark implements Operator and Input.
func (m *Map[IN, OUT]) ProcessWatermark(wm int64) error { return m.Out.ProcessWatermark(wm) }

// Filter keeps the records for which a predicate holds.
type Filter[T any] struct {
	Base
	Fn  func(T) bool
	Out Input[T]
	buf Batch[T]
}

// ProcessBatch implements Input.
func (f *Filter[T]) ProcessBatch(b *Batch[T]) (err error) {
	defer recoverInto(f.Ctx, &err)
	f.buf.Values, f.buf.Times = f.buf.Values[:0], f.buf.Times[:0]
	for i, v := range b.Values {
		if f.Fn(v) {
			f.buf.Values = append(f.buf.Values, v)
			f.buf.Times = append(f.buf.Times, b.Times[i])
		}
	}
	if len(f.buf.Values) == 0 {
		return nil
	}
	err = f.Out.ProcessBatch(&f.buf)
	clear(f.buf.Values)
	return attribute(f.Ctx, err)
}

// ProcessWatermark implements Operator and Input.
func (f *Filter[T]) ProcessWatermark(wm int64) error { return f.Out.ProcessWatermark(wm) }

// FlatMap calls a function per record that emits any number of records.
type FlatMap[IN, OUT any] struct {
	Base
	Fn  func(IN, Collector[OUT]) error
	Out Input[OUT]
	col batchCollector[OUT]
	buf Batch[OUT]
}

// ProcessBatch implements Input.
func (f *FlatMap[IN, OUT]) ProcessBatch(b *Batch[IN]) (err error) {
	defer recoverInto(f.Ctx, &err)
	f.buf.Values, f.buf.Times = f.buf.Values[:0], f.buf.Times[:0]
	f.col.out = &f.buf
	for i, v := range b.Values {
		f.col.ts = b.Times[i]
		if err := f.Fn(v, &f.col); err != nil {
			return attribute(f.Ctx, err)
		}
	}
	if len(f.buf.Values) == 0 {
		return nil
	}
	err = f.Out.ProcessBatch(&f.buf)
	clear(f.buf.Values)
	return attribute(f.Ctx, err)
}

// ProcessWatermark implements Operator and Input.
func (f *FlatMap[IN, OUT]) ProcessWatermark(wm int64) error { return f.Out.ProcessWatermark(wm) }

// SinkOperator hands batches to a Sink.
type SinkOperator[T any] struct {
	Base
	Sink    Sink[T]
	written int64
	// opStates are the operator states the sink registered (see
	// operator_state.go).
	opStates *operatorStateRegistry
}

// Written returns the number of records handed to the sink.
func (s *SinkOperator[T]) Written() int64 { return s.written }

// Open implements Operator.
func (s *SinkOperator[T]) Open(ctx *TaskContext) (err error) {
	s.Ctx = ctx
	defer recoverInto(ctx, &err)
	s.opStates = newOperatorStateRegistry(ctx)
	defer bindOperatorStates(ctx, s.opStates)()
	return attribute(ctx, s.Sink.Open(ctx))
}

// ProcessBatch implements Input.
func (s *SinkOperator[T]) ProcessBatch(b *Batch[T]) (err error) {
	defer recoverInto(s.Ctx, &err)
	s.written += int64(b.Len())
	return attribute(s.Ctx, s.Sink.Write(b))
}

// ProcessWatermark implements Operator and Input: a sink that wants event
// time implements WatermarkSink.
func (s *SinkOperator[T]) ProcessWatermark(wm int64) (err error) {
	if ws, ok := s.Sink.(WatermarkSink); ok {
		defer recoverInto(s.Ctx, &err)
		return attribute(s.Ctx, ws.ProcessWatermark(wm))
	}
	return nil
}

// EndInput implements Operator.
func (s *SinkOperator[T]) EndInput() (err error) {
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.Sink.Finish())
}

// Close implements Operator.
func (s *SinkOperator[T]) Close() (err error) {
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.Sink.Close())
}

// SnapshotState implements Checkpointed: the state of sinks that are
// Checkpointed, and the operator states the sink registered.
func (s *SinkOperator[T]) SnapshotState(id int64, w StateWriter) (err error) {
	defer recoverInto(s.Ctx, &err)
	if c, ok := s.Sink.(Checkpointed); ok {
		if err := c.SnapshotState(id, w); err != nil {
			return attribute(s.Ctx, err)
		}
	}
	return attribute(s.Ctx, s.opStates.snapshot(w))
}

// RestoreState implements Checkpointed.
func (s *SinkOperator[T]) RestoreState(r StateReader) (err error) {
	defer recoverInto(s.Ctx, &err)
	if c, ok := s.Sink.(Checkpointed); ok {
		if err := c.RestoreState(r); err != nil {
			return attribute(s.Ctx, err)
		}
	}
	return attribute(s.Ctx, s.opStates.restore(r))
}

// NotifyCheckpointComplete implements CheckpointListener for sinks that
// are.
func (s *SinkOperator[T]) NotifyCheckpointComplete(id int64) (err error) {
	if l, ok := s.Sink.(CheckpointListener); ok {
		defer recoverInto(s.Ctx, &err)
		return attribute(s.Ctx, l.NotifyCheckpointComplete(id))
	}
	return nil
}
