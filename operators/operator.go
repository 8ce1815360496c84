package operators

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// Operator is the lifecycle of one operator instance inside a subtask, seen
// by the runtime without its record types. The runtime calls every method on
// the subtask's goroutine, never concurrently: operators are plain state
// machines and take no locks.
//
// Records reach an operator through its Input[T] (ProcessBatch); control
// events reach it through this interface, in order with the records.
type Operator interface {
	// Open prepares the operator before the first record.
	Open(ctx *TaskContext) error
	// ProcessWatermark is called on the head operator of a chain when the
	// subtask's event time (the minimum over its active input channels)
	// advances to wm. The operator may emit records (firing windows or
	// timers) and then passes the watermark on through its output.
	ProcessWatermark(wm int64) error
	// EndInput is called once when every input of the subtask has ended.
	// Operators that hold results until the end (batch-mode reductions)
	// emit them here.
	EndInput() error
	// Close releases resources. It is called once, also after a failure.
	Close() error
}

// TaskContext tells an operator where it runs.
type TaskContext struct {
	// Operator is the operator's name; OperatorID its stable ID.
	Operator   string
	OperatorID string
	// Subtask is this instance's index in [0, Parallelism).
	Subtask     int
	Parallelism int
	// MaxParallelism is the number of key groups.
	MaxParallelism int
	// BatchMode is true when the job runs in batch mode.
	BatchMode bool
	Logger    *slog.Logger
	// Clock tells processing time. It is the wall clock unless a test
	// injects a virtual one.
	Clock Clock
	// Counter returns the job-wide counter of the given name, shared by
	// all subtasks in the process (for example "rejected" or "late"
	// records). Operators count what users need to see at the end of a
	// job; the strom command prints non-zero counters.
	Counter func(name string) *atomic.Int64
	// MarkIdle, set by the runtime, tells downstream that this subtask
	// will emit no records and no watermarks for a while (idle=true), so
	// that its channels do not hold event time back, or that it is active
	// again. Only sources and watermark generators call it.
	MarkIdle func(idle bool)
	// Store is the operator's part of the subtask's Pebble instance when
	// the job runs with the Pebble state backend, nil with the heap
	// backend (see StateStore).
	Store *StateStore
}

// Count adds n to the counter name of ctx; a context without counters
// (an operator driven by a test) counts nothing.
func (ctx *TaskContext) Count(name string, n int64) {
	if ctx != nil && ctx.Counter != nil {
		ctx.Counter(name).Add(n)
	}
}

// Clock tells processing time in milliseconds since the Unix epoch.
type Clock interface {
	NowMillis() int64
}

// ProcessingTimer is implemented by operators that act on processing time
// (processing-time timers and windows). After every step the runtime asks
// for the earliest time the operator wants to be called at, and calls
// OnProcessingTime once the clock has reached it. Both run on the subtask's
// goroutine.
type ProcessingTimer interface {
	// NextProcessingTime returns the earliest pending processing-time
	// timer, or MaxWatermark when there is none.
	NextProcessingTime() int64
	// OnProcessingTime fires every timer due at now.
	OnProcessingTime(now int64) error
}

// OperatorError attributes a failure to an operator subtask.
type OperatorError struct {
	Operator string
	Subtask  int
	Err      error
}

func (e *OperatorError) Error() string {
	return fmt.Sprintf("operator %q subtask %d: %v", e.Operator, e.Subtask, e.Err)
}

func (e *OperatorError) Unwrap() error { return e.Err }

// ErrPanic marks an error that was a panic in user code.
var ErrPanic = errors.New("operators: panic")

// attribute wraps err as an OperatorError of ctx unless an operator further
// down the chain already claimed it.
func attribute(ctx *TaskContext, err error) error {
	if err == nil {
		return nil
	}
	var oe *OperatorError
	if errors.As(err, &oe) {
		return err
	}
	name, sub := "?", -1
	if ctx != nil {
		name, sub = ctx.Operator, ctx.Subtask
	}
	return &OperatorError{Operator: name, Subtask: sub, Err: err}
}

// recoverInto turns a panic into an OperatorError stored in *errp. Use as
// `defer recoverInto(ctx, &err)` in every method that calls user code.
func recoverInto(ctx *TaskContext, errp *error) {
	if r := recover(); r != nil {
		*errp = attribute(ctx, fmt.Errorf("%w: %v\n%s", ErrPanic, r, debug.Stack()))
	}
}

// Base implements Open, EndInput and Close of the Operator lifecycle with
// no-ops and keeps the task context; operators embed it and override what
// they need. It has no ProcessWatermark: every operator decides what a
// watermark means to it, and most pass it on unchanged.
type Base struct {
	Ctx *TaskContext
}

// Open implements Operator.
func (b *Base) Open(ctx *TaskContext) error { b.Ctx = ctx; return nil }

// EndInput implements Operator.
func (b *Base) EndInput() error { return nil }

// Close implements Operator.
func (b *Base) Close() error { return nil }

// OneInputOperator is an operator with one input of type IN.
type OneInputOperator[IN any] interface {
	Operator
	Input[IN]
}
