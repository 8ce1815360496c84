package window

import (
	"fmt"
	"math"
	"time"

	"github.com/stromhq/strom/operators"
)

// Operator is the keyed window operator: it assigns each record of a key
// to windows, keeps per key and window either an accumulator or the
// records, asks the trigger when to fire, and emits the window function's
// results with the window's MaxTimestamp. K is the key type, IN the record
// type, ACC the accumulator of incremental functions (struct{} for
// full-window functions) and OUT the result type.
//
// Make one with NewReduce, NewAggregate, NewProcess, NewReduceProcess or
// NewAggregateProcess. An Operator is one instance of one subtask, driven
// by that subtask's goroutine only.
//
// An Operator is operators.Checkpointed: it checkpoints all its keyed
// state and its event time (see SnapshotState).
type Operator[K comparable, IN, ACC, OUT any] struct {
	cfg Config[K, IN]
	fn  function[K, IN, ACC, OUT]
	out operators.Input[OUT]

	task      *operators.TaskContext
	assigner  Assigner
	merging   MergingAssigner // nil unless the assigner merges
	trigger   Trigger
	evictor   Evictor
	lateness  int64
	eventTime bool
	// listMode keeps the records of windows rather than an accumulator.
	listMode bool
	// eventTrigger is set when the trigger is EventTimeTrigger.
	eventTrigger bool

	wm int64
	// now is the processing time of the current step, read once.
	now      int64
	nowValid bool
	// endOfTime is set while EndInput fires processing-time windows.
	endOfTime bool

	keys    map[K]*keyState[IN, ACC]
	nextSeq uint64
	eventQ  *operators.TimerQueue[winKey[K]]
	procQ   *operators.TimerQueue[winKey[K]]
	due     []dueTimer[K]
	panes   *paneState[K, ACC]
	// st holds window contents in the Pebble store when the task has
	// one (store.go); nil with the heap backend.
	st *winStore[K, IN, ACC]

	tctx    triggerCtx[K, IN, ACC, OUT]
	pctx    Context[K]
	em      emitter[OUT]
	elems   elements[IN]
	wbuf    []Window
	mergeFn mergeFunc
	// mergeKey is the key whose windows merge, for mergeFn.
	mergeKey K

	lateRecords, lateDropped int64
	warnedDrop               bool

	// accCodec encodes accumulators in checkpoints; codecs are resolved
	// at the first snapshot or restore.
	accCodec operators.StateCodec[ACC]
	codecs   stateCodecs[K, IN, ACC]
}

var (
	_ operators.OneInputOperator[int] = (*Operator[int, int, int, int])(nil)
	_ operators.ProcessingTimer       = (*Operator[int, int, int, int])(nil)
	_ operators.Checkpointed          = (*Operator[int, int, int, int])(nil)
)

// Open implements operators.Operator: it checks the configuration and
// opens the user function.
func (o *Operator[K, IN, ACC, OUT]) Open(ctx *operators.TaskContext) (err error) {
	o.task = ctx
	defer o.catch(&err)
	if err := o.cfg.Validate(); err != nil {
		return o.wrap(fmt.Errorf("window: %w", err))
	}
	o.assigner = o.cfg.Assigner
	o.merging, _ = o.assigner.(MergingAssigner)
	o.trigger = o.cfg.trigger()
	_, o.eventTrigger = o.trigger.(eventTimeTrigger)
	o.evictor = o.cfg.Evictor
	o.eventTime = o.assigner.IsEventTime()
	if o.eventTime {
		o.lateness = millis(o.cfg.AllowedLateness)
	}
	o.listMode = o.evictor != nil || !o.fn.incremental()
	o.wm = math.MinInt64
	o.keys = make(map[K]*keyState[IN, ACC])
	o.eventQ = operators.NewTimerQueue[winKey[K]]()
	o.procQ = operators.NewTimerQueue[winKey[K]]()
	o.tctx.o = o
	o.pctx = Context[K]{now: o.procTime, task: ctx, sides: o.cfg.SideOutputs}
	o.em.out = o.out
	o.mergeFn = o.onMerge
	if o.panesEligible() {
		o.panes = newPaneState[K, ACC](o.assigner.(Sliding))
	}
	if ctx != nil && ctx.Store != nil {
		// Contents in the store are encoded at every write: the codecs
		// must exist from the start.
		if _, err := o.stateCodecs(); err != nil {
			return o.wrap(fmt.Errorf("window: state in the Pebble store: %w", err))
		}
		bound := o.cfg.StateCacheSize
		if bound <= 0 {
			bound = DefaultStateCacheSize
		}
		o.st = newWinStore[K, IN, ACC](ctx.Store, bound)
	}
	if op, ok := o.fn.user.(interface {
		Open(*operators.TaskContext) error
	}); ok {
		return o.wrap(op.Open(ctx))
	}
	return nil
}

// panesEligible reports whether sliding windows can share panes: aligned
// overlapping event-time windows, an incremental function that merges, the
// default trigger and no evictor.
func (o *Operator[K, IN, ACC, OUT]) panesEligible() bool {
	s, ok := o.assigner.(Sliding)
	if !ok || !s.eventTime || s.size <= s.slide || o.cfg.DisablePanes || o.listMode || o.fn.merge == nil {
		return false
	}
	_, isDefault := o.trigger.(eventTimeTrigger)
	return isDefault
}

// UsesPanes reports whether the operator evaluates sliding windows on
// shared panes. It is known after Open.
func (o *Operator[K, IN, ACC, OUT]) UsesPanes() bool { return o.panes != nil }

// LateRecords returns the number of records that arrived after every
// window they belong to was cleaned up: emitted to the late side output,
// or dropped (DroppedLateRecords).
func (o *Operator[K, IN, ACC, OUT]) LateRecords() int64 { return o.lateRecords }

// DroppedLateRecords returns the number of late records no side output
// received.
func (o *Operator[K, IN, ACC, OUT]) DroppedLateRecords() int64 { return o.lateDropped }

// CurrentWatermark returns the operator's event time.
func (o *Operator[K, IN, ACC, OUT]) CurrentWatermark() int64 { return o.wm }

// ProcessBatch implements operators.Input.
func (o *Operator[K, IN, ACC, OUT]) ProcessBatch(b *operators.Batch[IN]) (err error) {
	defer o.catch(&err)
	o.nowValid = false
	for i, v := range b.Values {
		if err := o.processElement(v, b.Times[i]); err != nil {
			return o.wrap(err)
		}
		if o.st != nil {
			o.trim()
		}
	}
	return o.wrap(o.flush())
}

// ProcessWatermark implements operators.Operator: it fires the event-time
// timers due at wm, emits what fired, then passes wm to the main output
// and the side outputs.
func (o *Operator[K, IN, ACC, OUT]) ProcessWatermark(wm int64) (err error) {
	defer o.catch(&err)
	o.nowValid = false
	o.wm = max(o.wm, wm)
	if o.panes != nil {
		err = o.paneAdvance(o.wm)
	} else {
		err = o.advance(o.eventQ, o.wm, true)
	}
	if err != nil {
		return o.wrap(err)
	}
	if err := o.flush(); err != nil {
		return o.wrap(err)
	}
	if err := o.out.ProcessWatermark(wm); err != nil {
		return o.wrap(err)
	}
	if o.cfg.LateOutput != nil {
		if err := o.cfg.LateOutput.ProcessWatermark(wm); err != nil {
			return o.wrap(err)
		}
	}
	return o.wrap(o.cfg.SideOutputs.ProcessWatermark(wm))
}

// NextProcessingTime implements operators.ProcessingTimer.
func (o *Operator[K, IN, ACC, OUT]) NextProcessingTime() int64 {
	if o.procQ == nil {
		return operators.MaxWatermark
	}
	return o.procQ.Next()
}

// OnProcessingTime implements operators.ProcessingTimer: it fires the
// processing-time timers due at now.
func (o *Operator[K, IN, ACC, OUT]) OnProcessingTime(now int64) (err error) {
	defer o.catch(&err)
	o.now, o.nowValid = now, true
	if err := o.advance(o.procQ, now, false); err != nil {
		return o.wrap(err)
	}
	return o.wrap(o.flush())
}

// EndInput implements operators.Operator. Event-time windows have fired
// on the final watermark by now. Processing-time windows still pending
// fire as if the clock had reached their end, so that a bounded job loses
// no window (Flink 1.x drops them); the global window of count windows is
// not flushed, as in Flink. Remaining processing-time timers are dropped.
func (o *Operator[K, IN, ACC, OUT]) EndInput() (err error) {
	defer o.catch(&err)
	if !o.eventTime {
		o.now, o.nowValid = o.procTime(), true
		o.endOfTime = true
		err = o.advance(o.procQ, math.MaxInt64, false)
		o.endOfTime, o.nowValid = false, false
		if err != nil {
			return o.wrap(err)
		}
	}
	o.procQ = operators.NewTimerQueue[winKey[K]]()
	return o.wrap(o.flush())
}

// Close implements operators.Operator: it closes the user function.
func (o *Operator[K, IN, ACC, OUT]) Close() (err error) {
	defer o.catch(&err)
	if c, ok := o.fn.user.(interface{ Close() error }); ok {
		return o.wrap(c.Close())
	}
	return nil
}

// procTime returns the processing time of the current step.
func (o *Operator[K, IN, ACC, OUT]) procTime() int64 {
	if !o.nowValid {
		if o.task != nil && o.task.Clock != nil {
			o.now = o.task.Clock.NowMillis()
		} else {
			o.now = time.Now().UnixMilli()
		}
		o.nowValid = true
	}
	return o.now
}
