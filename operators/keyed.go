package operators

// KeyedContext is what a keyed process function sees of the record it is
// processing.
type KeyedContext[K comparable] struct {
	key       K
	timestamp int64
	watermark int64
	task      *TaskContext
}

// Key returns the key of the current record.
func (c *KeyedContext[K]) Key() K { return c.key }

// Timestamp returns the event timestamp of the current record, or
// NoTimestamp.
func (c *KeyedContext[K]) Timestamp() int64 { return c.timestamp }

// CurrentWatermark returns the subtask's current event time.
func (c *KeyedContext[K]) CurrentWatermark() int64 { return c.watermark }

// Task returns the task context of the operator.
func (c *KeyedContext[K]) Task() *TaskContext { return c.task }

// KeyedProcessFunction handles the records of a keyed stream one at a time,
// with the record's key at hand.
type KeyedProcessFunction[K comparable, IN, OUT any] interface {
	ProcessElement(ctx *KeyedContext[K], v IN, out Collector[OUT]) error
}

// KeyedProcess runs a KeyedProcessFunction.
type KeyedProcess[K comparable, IN, OUT any] struct {
	Base
	Key Key[K, IN]
	Fn  KeyedProcessFunction[K, IN, OUT]
	Out Input[OUT]
	kc  KeyedContext[K]
	col batchCollector[OUT]
	buf Batch[OUT]
}

// Open implements Operator.
func (p *KeyedProcess[K, IN, OUT]) Open(ctx *TaskContext) error {
	p.Ctx = ctx
	p.kc = KeyedContext[K]{task: ctx, watermark: NoTimestamp}
	if o, ok := p.Fn.(interface{ Open(*TaskContext) error }); ok {
		return attribute(ctx, o.Open(ctx))
	}
	return nil
}

// ProcessBatch implements Input.
func (p *KeyedProcess[K, IN, OUT]) ProcessBatch(b *Batch[IN]) (err error) {
	defer recoverInto(p.Ctx, &err)
	p.buf.Values, p.buf.Times = p.buf.Values[:0], p.buf.Times[:0]
	p.col.out = &p.buf
	for i, v := range b.Values {
		p.kc.key = p.Key.Selector(v)
		p.kc.timestamp = b.Times[i]
		p.col.ts = b.Times[i]
		if err := p.Fn.ProcessElement(&p.kc, v, &p.col); err != nil {
			return attribute(p.Ctx, err)
		}
	}
	if len(p.buf.Values) == 0 {
		return nil
	}
	err = p.Out.ProcessBatch(&p.buf)
	clear(p.buf.Values)
	return attribute(p.Ctx, err)
}

// ProcessWatermark implements Operator.
func (p *KeyedProcess[K, IN, OUT]) ProcessWatermark(wm int64) error {
	p.kc.watermark = wm
	return p.Out.ProcessWatermark(wm)
}

// Close implements Operator.
func (p *KeyedProcess[K, IN, OUT]) Close() error {
	if c, ok := p.Fn.(interface{ Close() error }); ok {
		return attribute(p.Ctx, c.Close())
	}
	return nil
}

// Key extracts the key of a record.
type Key[K comparable, T any] struct {
	Selector func(T) K
}

// Reduce folds the records of each key into one value. In streaming mode it
// emits the running value after every record (a rolling reduce); in batch
// mode it emits each key's final value once, at the end of input.
type Reduce[K comparable, T any] struct {
	Base
	Key Key[K, T]
	Fn  func(acc, v T) (T, error)
	Out Input[T]

	state map[K]*reduced[T]
	buf   Batch[T]
}

type reduced[T any] struct {
	value T
	ts    int64
}

// Open implements Operator.
func (r *Reduce[K, T]) Open(ctx *TaskContext) error {
	r.Ctx = ctx
	r.state = make(map[K]*reduced[T])
	return nil
}

// ProcessBatch implements Input.
func (r *Reduce[K, T]) ProcessBatch(b *Batch[T]) (err error) {
	defer recoverInto(r.Ctx, &err)
	r.buf.Values, r.buf.Times = r.buf.Values[:0], r.buf.Times[:0]
	for i, v := range b.Values {
		k := r.Key.Selector(v)
		ts := b.Times[i]
		cur, ok := r.state[k]
		if !ok {
			cur = &reduced[T]{value: v, ts: ts}
			r.state[k] = cur
		} else {
			nv, err := r.Fn(cur.value, v)
			if err != nil {
				return attribute(r.Ctx, err)
			}
			cur.value = nv
			cur.ts = max(cur.ts, ts)
		}
		if !r.Ctx.BatchMode {
			r.buf.Append(cur.value, ts)
		}
	}
	if len(r.buf.Values) == 0 {
		return nil
	}
	err = r.Out.ProcessBatch(&r.buf)
	clear(r.buf.Values)
	return attribute(r.Ctx, err)
}

// ProcessWatermark implements Operator and Input.
func (r *Reduce[K, T]) ProcessWatermark(wm int64) error { return r.Out.ProcessWatermark(wm) }

// EndInput implements Operator: in batch mode every key's final value is
// emitted, in batches of bounded size.
func (r *Reduce[K, T]) EndInput() (err error) {
	if !r.Ctx.BatchMode {
		return nil
	}
	defer recoverInto(r.Ctx, &err)
	const chunk = 1024
	r.buf.Values, r.buf.Times = r.buf.Values[:0], r.buf.Times[:0]
	for _, cur := range r.state {
		r.buf.Append(cur.value, cur.ts)
		if len(r.buf.Values) == chunk {
			if err := r.Out.ProcessBatch(&r.buf); err != nil {
				return attribute(r.Ctx, err)
			}
			r.buf.Reset()
		}
	}
	if len(r.buf.Values) > 0 {
		err = r.Out.ProcessBatch(&r.buf)
	}
	r.buf.Reset()
	return attribute(r.Ctx, err)
}
