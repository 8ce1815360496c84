package stream

import (
	"errors"
	"fmt"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
)

// WindowedStream is a keyed stream cut into windows, built as in Flink:
//
//	w := stream.Window(keyed, window.TumblingEventTime(10*time.Second)).
//		AllowedLateness(5 * time.Second).
//		SideOutputLateData(lateTag)
//	sums := stream.WindowReduce(w, "sum", func(a, b Sale) Sale { a.Amount += b.Amount; return a })
//	late := stream.SideOutput(sums, lateTag)
//
// Trigger, Evictor, AllowedLateness and SideOutputLateData configure the
// windows; a window function (WindowReduce, WindowAggregate,
// WindowProcess, WindowReduceProcess, WindowAggregateProcess) adds the
// operator. Results carry the timestamp of their window's end minus one.
// See package window for the semantics.
//
// Window operators are checkpointed: their state (accumulators, or records
// for WindowProcess and evictors, trigger state and timers) is encoded
// with the codecs of K, T and the accumulator type, got at build time; a
// type without a codec fails checkpoints, not the job.
type WindowedStream[K comparable, T any] struct {
	keyed *KeyedStream[K, T]
	cfg   window.Config[K, T]
	err   error
}

// Window assigns the records of ks to windows with assigner:
// window.TumblingEventTime, window.SlidingEventTime,
// window.EventTimeSession, their processing-time variants,
// window.GlobalWindows or a custom window.Assigner.
func Window[K comparable, T any](ks *KeyedStream[K, T], assigner window.Assigner) *WindowedStream[K, T] {
	return &WindowedStream[K, T]{keyed: ks, cfg: window.Config[K, T]{
		Key:        operators.Key[K, T]{Selector: ks.key},
		Assigner:   assigner,
		KeyCodec:   operators.CodecFor[K](),
		ValueCodec: operators.CodecFor[T](),
	}}
}

// CountWindow cuts each key's records into windows of size records, as
// Flink's countWindow: with no slide, a window fires and starts afresh
// every size records; with a slide, every slide records a window fires
// with the last size records. A partial window does not fire at the end
// of input.
func CountWindow[K comparable, T any](ks *KeyedStream[K, T], size int64, slide ...int64) *WindowedStream[K, T] {
	w := Window(ks, window.GlobalWindows())
	switch {
	case size < 1:
		w.err = fmt.Errorf("count window of %d records: must be at least 1", size)
	case len(slide) > 1:
		w.err = errors.New("count window: at most one slide")
	case len(slide) == 1 && slide[0] < 1:
		w.err = fmt.Errorf("count window slide of %d records: must be at least 1", slide[0])
	case len(slide) == 0:
		w.cfg.Trigger = window.PurgingTrigger(window.CountTrigger(size))
	default:
		w.cfg.Trigger = window.CountTrigger(slide[0])
		w.cfg.Evictor = window.CountEvictor(size)
	}
	return w
}

// Trigger sets when windows fire, replacing the assigner's default.
func (w *WindowedStream[K, T]) Trigger(t window.Trigger) *WindowedStream[K, T] {
	w.cfg.Trigger = t
	return w
}

// Evictor sets an evictor; windows then keep their records rather than an
// accumulator.
func (w *WindowedStream[K, T]) Evictor(e window.Evictor) *WindowedStream[K, T] {
	w.cfg.Evictor = e
	return w
}

// AllowedLateness keeps event-time windows for d after the watermark
// passed their end: a record arriving meanwhile fires its window again
// with the updated contents. Later records are late (see
// SideOutputLateData). The default is 0.
func (w *WindowedStream[K, T]) AllowedLateness(d time.Duration) *WindowedStream[K, T] {
	w.cfg.AllowedLateness = d
	return w
}

// SideOutputLateData sends late records to the side output tag of the
// window operator; SideOutput on its result stream reads them. Without it,
// or when nothing reads the side output, late records are dropped,
// counted and logged once.
func (w *WindowedStream[K, T]) SideOutputLateData(tag OutputTag[T]) *WindowedStream[K, T] {
	w.cfg.LateTag = tag.ID
	return w
}

// WindowReduce folds each window's records with fn, incrementally, and
// emits the result. fn should be associative and commutative and must not
// modify its arguments' referenced data: sliding windows share partial
// results between windows.
func WindowReduce[K comparable, T any](w *WindowedStream[K, T], name string, fn func(a, b T) T) *DataStream[T] {
	return addWindow(w, name, func(cfg window.Config[K, T], o operators.Input[T]) operators.OneInputOperator[T] {
		return window.NewReduce(cfg, fn, o)
	})
}

// WindowAggregate aggregates each window's records with agg,
// incrementally, and emits agg.GetResult. Checkpoints hold the
// accumulators, encoded with the codec of ACC.
func WindowAggregate[K comparable, T, ACC, OUT any](w *WindowedStream[K, T], name string, agg window.AggregateFunction[T, ACC, OUT]) *DataStream[OUT] {
	ac := operators.CodecFor[ACC]()
	return addWindow(w, name, func(cfg window.Config[K, T], o operators.Input[OUT]) operators.OneInputOperator[T] {
		return window.NewAggregate(cfg, agg, o).WithAccumulatorCodec(ac)
	})
}

// WindowProcess keeps each window's records and calls fn with the key,
// the window and the records when the window fires. fn is shared by the
// operator's subtasks: it must not keep mutable state.
func WindowProcess[K comparable, T, OUT any](w *WindowedStream[K, T], name string, fn window.ProcessWindowFunction[K, T, OUT]) *DataStream[OUT] {
	return addWindow(w, name, func(cfg window.Config[K, T], o operators.Input[OUT]) operators.OneInputOperator[T] {
		return window.NewProcess(cfg, fn, o)
	})
}

// WindowReduceProcess folds each window's records with reduce and, when
// the window fires, calls fn with the one result and the window.
func WindowReduceProcess[K comparable, T, OUT any](w *WindowedStream[K, T], name string, reduce func(a, b T) T, fn window.ProcessWindowFunction[K, T, OUT]) *DataStream[OUT] {
	return addWindow(w, name, func(cfg window.Config[K, T], o operators.Input[OUT]) operators.OneInputOperator[T] {
		return window.NewReduceProcess(cfg, reduce, fn, o)
	})
}

// WindowAggregateProcess aggregates each window's records with agg and,
// when the window fires, calls fn with agg.GetResult and the window.
func WindowAggregateProcess[K comparable, T, ACC, R, OUT any](w *WindowedStream[K, T], name string, agg window.AggregateFunction[T, ACC, R], fn window.ProcessWindowFunction[K, R, OUT]) *DataStream[OUT] {
	ac := operators.CodecFor[ACC]()
	return addWindow(w, name, func(cfg window.Config[K, T], o operators.Input[OUT]) operators.OneInputOperator[T] {
		return window.NewAggregateProcess(cfg, agg, fn, o).WithAccumulatorCodec(ac)
	})
}

// addWindow adds the window operator that mk makes, one per subtask, with
// the configuration of w as it is now.
func addWindow[K comparable, T, OUT any](w *WindowedStream[K, T], name string, mk func(window.Config[K, T], operators.Input[OUT]) operators.OneInputOperator[T]) *DataStream[OUT] {
	env := w.keyed.stream.env
	cfg := w.cfg
	err := w.err
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		env.errorf("window %q: %w", name, err)
	}
	return addVertex[OUT](env, operatorSpec{name: name, build: func(outs []any, sides *operators.SideOutputs) (operators.Operator, []any) {
		c := cfg
		c.SideOutputs = sides
		op := mk(c, out[OUT](outs, 0))
		return op, []any{operators.Input[T](op)}
	}}, w.keyed.stream.input())
}
