package stream

import (
	"errors"
	"fmt"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
)

// WatermarkGenerator decides when event time advances; see
// operators.WatermarkGenerator.
type WatermarkGenerator[T any] = operators.WatermarkGenerator[T]

// WatermarkOutput receives a generator's watermarks and idleness.
type WatermarkOutput = operators.WatermarkOutput

// WatermarkStrategy tells how the records of a stream get event time: where
// their timestamps come from and when watermarks are emitted, as Flink's
// WatermarkStrategy. Build one with ForBoundedOutOfOrderness,
// ForMonotonousTimestamps, ForPunctuated, ForGenerator, NoWatermarks,
// ForIngestionTime or ForProcessingTime, refine it with the With methods, and
// apply it at a source (FromSource with WithWatermarks) or in the middle
// of a stream (AssignTimestampsAndWatermarks):
//
//	strategy := stream.ForBoundedOutOfOrderness[Click](5 * time.Second).
//		WithTimestampAssigner(func(c Click, _ int64) int64 { return c.At }).
//		WithIdleness(time.Minute)
//	clicks := stream.FromSource(env, "clicks", newClickSource, false, stream.WithWatermarks(strategy))
//
// A strategy is a value: the With methods return a changed copy. Event
// time is in milliseconds; durations are truncated to milliseconds. A
// mistake in a strategy (a negative duration, a nil function) is reported
// by Execute. The functions a strategy holds are called by every subtask
// of the operator that applies it, concurrently, and must be safe for
// concurrent use (a pure function is); the generators that ForGenerator's
// factory makes belong to one subtask (one split) each.
type WatermarkStrategy[T any] struct {
	s   operators.WatermarkStrategy[T]
	err error
}

func withGenerator[T any](mk func(*operators.TaskContext) WatermarkGenerator[T]) WatermarkStrategy[T] {
	return WatermarkStrategy[T]{s: operators.WatermarkStrategy[T]{NewGenerator: mk}}
}

// ForBoundedOutOfOrderness is the strategy for records that arrive at most
// d out of timestamp order: the watermark trails the highest timestamp
// seen by d plus one millisecond (operators.BoundedOutOfOrderness).
func ForBoundedOutOfOrderness[T any](d time.Duration) WatermarkStrategy[T] {
	w := withGenerator(func(*operators.TaskContext) WatermarkGenerator[T] {
		return operators.BoundedOutOfOrderness[T](d)
	})
	if d < 0 {
		w.err = fmt.Errorf("bounded out-of-orderness %v: must not be negative", d)
	}
	return w
}

// ForMonotonousTimestamps is the strategy for records in timestamp order
// (per source split): the watermark is the highest timestamp seen minus
// one millisecond.
func ForMonotonousTimestamps[T any]() WatermarkStrategy[T] {
	return withGenerator(func(*operators.TaskContext) WatermarkGenerator[T] {
		return operators.Monotonous[T]()
	})
}

// ForPunctuated is the strategy for records that carry watermark
// information: fn is asked about every record and the watermark it returns
// with ok true is emitted, after the batch of records it arrived with.
func ForPunctuated[T any](fn func(v T, ts int64) (wm int64, ok bool)) WatermarkStrategy[T] {
	w := withGenerator(func(*operators.TaskContext) WatermarkGenerator[T] {
		return operators.Punctuated(fn)
	})
	if fn == nil {
		w.err = errors.New("punctuated watermarks: nil function")
	}
	return w
}

// ForGenerator is the strategy of a custom generator: newGenerator makes
// one per source split or subtask, on that subtask's goroutine.
func ForGenerator[T any](newGenerator func(ctx *operators.TaskContext) WatermarkGenerator[T]) WatermarkStrategy[T] {
	w := withGenerator(newGenerator)
	if newGenerator == nil {
		w.err = errors.New("watermark generator: nil factory")
	}
	return w
}

// NoWatermarks is the strategy that keeps or assigns timestamps but emits
// no watermarks before the end of input.
func NoWatermarks[T any]() WatermarkStrategy[T] { return WatermarkStrategy[T]{} }

// ForIngestionTime is the strategy of ingestion time: every record is
// stamped with the processing time at which it is read, and the watermark
// follows the clock (operators.IngestionTimeStrategy).
func ForIngestionTime[T any]() WatermarkStrategy[T] {
	return WatermarkStrategy[T]{s: operators.IngestionTimeStrategy[T]()}
}

// ForProcessingTime is the strategy of processing time: it removes the
// records' timestamps (operators.NoTimestamp) and emits no watermarks, so
// windows and timers downstream run on processing time.
func ForProcessingTime[T any]() WatermarkStrategy[T] {
	return WatermarkStrategy[T]{s: operators.ProcessingTimeStrategy[T]()}
}

// WithTimestampAssigner returns w with fn assigning each record's
// timestamp from the record and the timestamp it arrived with (the one its
// source attached, or operators.NoTimestamp). Nil keeps the arriving
// timestamps. fn replaces any assigner w had, that of ForIngestionTime too.
func (w WatermarkStrategy[T]) WithTimestampAssigner(fn func(v T, recordTs int64) int64) WatermarkStrategy[T] {
	w.s.NewAssigner = nil
	if fn != nil {
		w.s.NewAssigner = func(*operators.TaskContext) operators.TimestampAssigner[T] { return fn }
	}
	return w
}

// WithIdleness returns w with an idle timeout: a source split (or a
// subtask) that brings no record for d no longer holds event time back
// downstream, until its next record. Zero turns idleness off.
func (w WatermarkStrategy[T]) WithIdleness(d time.Duration) WatermarkStrategy[T] {
	if d < 0 && w.err == nil {
		w.err = fmt.Errorf("idleness %v: must not be negative", d)
	}
	w.s.IdleTimeout = d
	return w
}

// WithEmitInterval returns w asking its generators for a watermark every d
// while no records arrive (default operators.DefaultWatermarkInterval).
func (w WatermarkStrategy[T]) WithEmitInterval(d time.Duration) WatermarkStrategy[T] {
	if d <= 0 && w.err == nil {
		w.err = fmt.Errorf("watermark emit interval %v: must be positive", d)
	}
	w.s.EmitInterval = d
	return w
}

// Strategy returns the runtime form of w.
func (w WatermarkStrategy[T]) Strategy() operators.WatermarkStrategy[T] { return w.s }

// Err returns the mistake w was built with, or nil.
func (w WatermarkStrategy[T]) Err() error {
	if w.err != nil {
		return w.err
	}
	return w.s.Validate()
}

// SourceOption configures a source added with FromSource.
type SourceOption[T any] func(*sourceConfig[T])

// sourceConfig is what SourceOptions set.
type sourceConfig[T any] struct {
	watermarks *operators.WatermarkStrategy[T]
	errs       []error
}

// WithWatermarks makes the source assign timestamps and generate
// watermarks with strategy, per split for sources that implement
// operators.SplitSource. Without it a source keeps the timestamps it
// attaches and emits no watermarks before the end of its input.
func WithWatermarks[T any](strategy WatermarkStrategy[T]) SourceOption[T] {
	return func(c *sourceConfig[T]) {
		if err := strategy.Err(); err != nil {
			c.errs = append(c.errs, err)
		}
		s := strategy.s
		c.watermarks = &s
	}
}

// newSourceVertex adds the vertex of a source configured by opts.
func newSourceVertex[T any](env *Environment, name string, src func() operators.Source[T], bounded bool, opts []SourceOption[T]) *DataStream[T] {
	var cfg sourceConfig[T]
	for _, o := range opts {
		o(&cfg)
	}
	for _, err := range cfg.errs {
		env.errorf("source %q: %w", name, err)
	}
	v := env.graph.AddVertex(&actors.Vertex{Name: name, UID: name, Parallelism: env.parallelism, Out: streamType[T](), Bounded: bounded})
	v.NewSource = func(out any) (operators.SourceTask, error) {
		return &operators.SourceOperator[T]{Source: src(), Out: out.(operators.Input[T]), Watermarks: cfg.watermarks}, nil
	}
	return &DataStream[T]{env: env, from: []port{{v: v}}}
}

// AssignTimestampsAndWatermarks assigns timestamps and generates watermarks
// for s with strategy, in an operator of its own (chained to its input
// when it can be): upstream watermarks are replaced by the generated ones,
// except the one that ends the input. Prefer a strategy at the source
// (WithWatermarks), which can track event time per split.
func AssignTimestampsAndWatermarks[T any](s *DataStream[T], name string, strategy WatermarkStrategy[T]) *DataStream[T] {
	if err := strategy.Err(); err != nil {
		s.env.errorf("operator %q: %w", name, err)
	}
	ws := strategy.s
	return addVertex[T](s.env, simple[T, T](name, func(o operators.Input[T]) operators.OneInputOperator[T] {
		return &operators.AssignTimestampsAndWatermarks[T]{Strategy: ws, Out: o}
	}), s.input())
}
