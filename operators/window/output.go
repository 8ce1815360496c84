package window

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/stromhq/strom/operators"
)

// This file holds how the operator hands over results and late records,
// and how it reports failures.

// emitter collects the operator's results with the timestamp of the
// window being emitted, handing them over in bounded batches. An error
// from downstream is kept and returned by the next flush.
type emitter[T any] struct {
	out operators.Input[T]
	buf operators.Batch[T]
	ts  int64
	err error
}

// Collect implements operators.Collector.
func (e *emitter[T]) Collect(v T) {
	e.buf.Append(v, e.ts)
	if len(e.buf.Values) >= 1024 {
		_ = e.flush()
	}
}

func (e *emitter[T]) flush() error {
	if len(e.buf.Values) > 0 {
		if e.err == nil {
			e.err = e.out.ProcessBatch(&e.buf)
		}
		e.buf.Reset()
	}
	return e.err
}

// flush hands the results and late records over.
func (o *Operator[K, IN, ACC, OUT]) flush() error {
	if err := o.em.flush(); err != nil {
		return err
	}
	if o.cfg.LateOutput != nil {
		if err := o.cfg.LateOutput.Flush(); err != nil {
			return err
		}
	}
	return o.cfg.SideOutputs.Flush()
}

// late handles a record that belongs to no live window.
func (o *Operator[K, IN, ACC, OUT]) late(v IN, ts int64) {
	o.lateRecords++
	switch {
	case o.cfg.LateOutput != nil:
		o.cfg.LateOutput.Collect(v, ts)
		return
	case o.cfg.LateTag != "" && operators.Emit(o.cfg.SideOutputs, o.cfg.LateTag, v, ts):
		return
	}
	o.lateDropped++
	if !o.warnedDrop && o.task != nil && o.task.Logger != nil {
		o.warnedDrop = true
		o.task.Logger.Warn("window operator drops late records; set a late-data side output to keep them (logged once)",
			"watermark", o.wm, "record_timestamp", ts)
	}
}

// wrap attributes err to the operator unless an operator further down the
// chain already claimed it.
func (o *Operator[K, IN, ACC, OUT]) wrap(err error) error {
	if err == nil {
		return nil
	}
	var oe *operators.OperatorError
	if errors.As(err, &oe) {
		return err
	}
	name, sub := "?", -1
	if o.task != nil {
		name, sub = o.task.Operator, o.task.Subtask
	}
	return &operators.OperatorError{Operator: name, Subtask: sub, Err: err}
}

// catch turns a panic in user code into an error. Use as
// `defer o.catch(&err)`.
func (o *Operator[K, IN, ACC, OUT]) catch(errp *error) {
	if r := recover(); r != nil {
		if se, ok := r.(storeError); ok {
			*errp = o.wrap(fmt.Errorf("window: %w", se.err))
			return
		}
		*errp = o.wrap(fmt.Errorf("%w: %v\n%s", operators.ErrPanic, r, debug.Stack()))
	}
}
