package window

import "github.com/stromhq/strom/operators"

// AggregateFunction aggregates a window's records incrementally into an
// accumulator, as Flink's AggregateFunction: the window keeps one
// accumulator, not its records.
//
// Add and Merge may modify and return their first accumulator argument
// (acc, a) but must not modify b, and GetResult must not modify acc: a
// sliding window shares the accumulators of its panes with the windows
// around it. Results must not depend on the order records arrive in (the
// function is associative and commutative), since out-of-order records and
// merged windows reach it in no fixed order.
type AggregateFunction[IN, ACC, OUT any] interface {
	CreateAccumulator() ACC
	Add(v IN, acc ACC) ACC
	GetResult(acc ACC) OUT
	Merge(a, b ACC) ACC
}

// Aggregate builds an AggregateFunction from functions.
type Aggregate[IN, ACC, OUT any] struct {
	Create     func() ACC
	Accumulate func(v IN, acc ACC) ACC
	Result     func(acc ACC) OUT
	Combine    func(a, b ACC) ACC
}

// CreateAccumulator implements AggregateFunction.
func (a Aggregate[IN, ACC, OUT]) CreateAccumulator() ACC { return a.Create() }

// Add implements AggregateFunction.
func (a Aggregate[IN, ACC, OUT]) Add(v IN, acc ACC) ACC { return a.Accumulate(v, acc) }

// GetResult implements AggregateFunction.
func (a Aggregate[IN, ACC, OUT]) GetResult(acc ACC) OUT { return a.Result(acc) }

// Merge implements AggregateFunction.
func (a Aggregate[IN, ACC, OUT]) Merge(x, y ACC) ACC { return a.Combine(x, y) }

// ProcessWindowFunction evaluates a whole window at once: it gets the key,
// the window and its records, and emits any number of results, which carry
// the window's MaxTimestamp. Combined with an incremental function
// (reduce or aggregate), it gets the one incremental result instead of the
// records.
//
// Process must not keep or modify elements after returning. The function
// may also implement Open(*operators.TaskContext) error and Close() error.
type ProcessWindowFunction[K comparable, IN, OUT any] interface {
	Process(ctx *Context[K], elements []IN, out operators.Collector[OUT]) error
}

// ProcessFunc adapts a function to a ProcessWindowFunction.
type ProcessFunc[K comparable, IN, OUT any] func(ctx *Context[K], elements []IN, out operators.Collector[OUT]) error

// Process implements ProcessWindowFunction.
func (f ProcessFunc[K, IN, OUT]) Process(ctx *Context[K], elements []IN, out operators.Collector[OUT]) error {
	return f(ctx, elements, out)
}

// Context is what a ProcessWindowFunction sees of the window it evaluates.
// It is valid only during the call that receives it.
type Context[K comparable] struct {
	key       K
	window    Window
	watermark int64
	now       func() int64
	task      *operators.TaskContext
	sides     *operators.SideOutputs
}

// Key returns the key of the window.
func (c *Context[K]) Key() K { return c.key }

// Window returns the window being evaluated.
func (c *Context[K]) Window() Window { return c.window }

// CurrentWatermark returns the operator's event time.
func (c *Context[K]) CurrentWatermark() int64 { return c.watermark }

// CurrentProcessingTime returns the subtask's processing time.
func (c *Context[K]) CurrentProcessingTime() int64 { return c.now() }

// Task returns the task context of the operator.
func (c *Context[K]) Task() *operators.TaskContext { return c.task }

// SideOutputTarget returns the operator's side outputs and the timestamp
// records emitted now carry (the window's MaxTimestamp), so that a process
// function can emit to side outputs with operators.Output.
func (c *Context[K]) SideOutputTarget() (*operators.SideOutputs, int64) {
	return c.sides, c.window.MaxTimestamp()
}

// function is a window function as the operator runs it: either
// incremental (first/add/merge keep one accumulator per window, result
// emits it) or full-window (process gets the records).
type function[K comparable, IN, ACC, OUT any] struct {
	first func(v IN) ACC
	add   func(acc ACC, v IN) ACC
	// merge combines two accumulators; it may reuse a, not b.
	merge func(a, b ACC) ACC
	// clone returns an accumulator equal to a that merge may modify
	// without touching a.
	clone  func(a ACC) ACC
	result func(ctx *Context[K], acc ACC, out operators.Collector[OUT]) error
	// process is the full-window function, when first is nil.
	process ProcessWindowFunction[K, IN, OUT]
	// user is the user's object, for Open and Close.
	user any
}

func (f *function[K, IN, ACC, OUT]) incremental() bool { return f.first != nil }

func reduceFunction[K comparable, T, OUT any](fn func(a, b T) T) function[K, T, T, OUT] {
	return function[K, T, T, OUT]{
		first: func(v T) T { return v },
		add:   fn,
		merge: fn,
		clone: func(a T) T { return a },
	}
}

func aggregateFunction[K comparable, IN, ACC, R, OUT any](agg AggregateFunction[IN, ACC, R]) function[K, IN, ACC, OUT] {
	return function[K, IN, ACC, OUT]{
		first: func(v IN) ACC { return agg.Add(v, agg.CreateAccumulator()) },
		add:   func(acc ACC, v IN) ACC { return agg.Add(v, acc) },
		merge: agg.Merge,
		clone: func(a ACC) ACC { return agg.Merge(agg.CreateAccumulator(), a) },
	}
}

// processResult passes an incremental result to a process function as its
// only element.
func processResult[K comparable, R, OUT any](fn ProcessWindowFunction[K, R, OUT]) func(*Context[K], R, operators.Collector[OUT]) error {
	one := make([]R, 1)
	return func(ctx *Context[K], r R, out operators.Collector[OUT]) error {
		one[0] = r
		err := fn.Process(ctx, one, out)
		var zero R
		one[0] = zero
		return err
	}
}

// NewReduce returns an operator that folds each window's records with fn
// and emits the result. fn must not modify its arguments when T holds
// pointers, and should be associative and commutative (see
// AggregateFunction).
func NewReduce[K comparable, T any](cfg Config[K, T], fn func(a, b T) T, out operators.Input[T]) *Operator[K, T, T, T] {
	f := reduceFunction[K, T, T](fn)
	f.result = func(_ *Context[K], acc T, o operators.Collector[T]) error { o.Collect(acc); return nil }
	op := newOperator(cfg, f, out)
	op.accCodec = cfg.ValueCodec
	return op
}

// NewAggregate returns an operator that aggregates each window's records
// with agg and emits agg.GetResult. Its accumulators are checkpointed with
// the codec set by WithAccumulatorCodec.
func NewAggregate[K comparable, IN, ACC, OUT any](cfg Config[K, IN], agg AggregateFunction[IN, ACC, OUT], out operators.Input[OUT]) *Operator[K, IN, ACC, OUT] {
	f := aggregateFunction[K, IN, ACC, OUT, OUT](agg)
	f.result = func(_ *Context[K], acc ACC, o operators.Collector[OUT]) error {
		o.Collect(agg.GetResult(acc))
		return nil
	}
	f.user = agg
	return newOperator(cfg, f, out)
}

// NewProcess returns an operator that keeps each window's records and
// evaluates fn on them when the window fires.
func NewProcess[K comparable, IN, OUT any](cfg Config[K, IN], fn ProcessWindowFunction[K, IN, OUT], out operators.Input[OUT]) *Operator[K, IN, struct{}, OUT] {
	return newOperator(cfg, function[K, IN, struct{}, OUT]{process: fn, user: fn}, out)
}

// NewReduceProcess returns an operator that folds each window's records
// with reduce and, when the window fires, passes the one result to fn with
// the window's metadata.
func NewReduceProcess[K comparable, T, OUT any](cfg Config[K, T], reduce func(a, b T) T, fn ProcessWindowFunction[K, T, OUT], out operators.Input[OUT]) *Operator[K, T, T, OUT] {
	f := reduceFunction[K, T, OUT](reduce)
	f.result, f.user = processResult(fn), fn
	op := newOperator(cfg, f, out)
	op.accCodec = cfg.ValueCodec
	return op
}

// NewAggregateProcess returns an operator that aggregates each window's
// records with agg and, when the window fires, passes agg.GetResult to fn
// with the window's metadata.
func NewAggregateProcess[K comparable, IN, ACC, R, OUT any](cfg Config[K, IN], agg AggregateFunction[IN, ACC, R], fn ProcessWindowFunction[K, R, OUT], out operators.Input[OUT]) *Operator[K, IN, ACC, OUT] {
	f := aggregateFunction[K, IN, ACC, R, OUT](agg)
	res := processResult(fn)
	f.result = func(ctx *Context[K], acc ACC, o operators.Collector[OUT]) error {
		return res(ctx, agg.GetResult(acc), o)
	}
	f.user = fn
	return newOperator(cfg, f, out)
}

func newOperator[K comparable, IN, ACC, OUT any](cfg Config[K, IN], fn function[K, IN, ACC, OUT], out operators.Input[OUT]) *Operator[K, IN, ACC, OUT] {
	return &Operator[K, IN, ACC, OUT]{cfg: cfg, fn: fn, out: out}
}
