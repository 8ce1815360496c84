package operators

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
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
	// ProcessWatermark is called when the subtask's event time advances to
	// wm. The operator may emit records (firing windows or timers); the
	// runtime forwards the watermark downstream after every operator of the
	// chain has seen it.
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

// Base implements the Operator lifecycle with no-ops and keeps the task
// context; operators embed it and override what they need.
type Base struct {
	Ctx *TaskContext
}

// Open implements Operator.
func (b *Base) Open(ctx *TaskContext) error { b.Ctx = ctx; return nil }

// ProcessWatermark implements Operator.
func (b *Base) ProcessWatermark(int64) error { return nil }

// EndInput implements Operator.
func (b *Base) EndInput() error { return nil }

// Close implements Operator.
func (b *Base) Close() error { return nil }
