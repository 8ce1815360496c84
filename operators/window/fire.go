package window

import (
	"cmp"
	"math"
	"slices"

	"github.com/stromhq/strom/operators"
)

// dueTimer is a timer popped for firing, with its key's arrival order.
type dueTimer[K comparable] struct {
	key K
	w   Window
	seq uint64
}

// advance fires the timers of q due at limit in time order, ties by
// window start and then by the order the keys first arrived in. Timers
// registered while firing fire in the same pass when due.
func (o *Operator[K, IN, ACC, OUT]) advance(q *operators.TimerQueue[winKey[K]], limit int64, eventTime bool) error {
	for q.Len() > 0 {
		t := q.Next()
		if t > limit {
			return nil
		}
		o.due = o.due[:0]
		for {
			tm, ok := q.PopDue(t)
			if !ok {
				break
			}
			o.due = append(o.due, dueTimer[K]{key: tm.Key.key, w: tm.Key.w, seq: o.seqOf(tm.Key.key)})
		}
		slices.SortFunc(o.due, func(a, b dueTimer[K]) int {
			return cmp.Or(cmp.Compare(a.w.Start, b.w.Start), cmp.Compare(a.seq, b.seq))
		})
		for i := range o.due {
			d := o.due[i]
			if o.endOfTime {
				// At the end of input, timers of the never-ending global
				// window and timers beyond their window's cleanup are
				// dropped: only finite windows run to their end.
				if c := o.cleanupTime(d.w); c == math.MaxInt64 || t > c {
					continue
				}
				o.now = max(o.now, t)
			}
			if err := o.onTimer(d.key, d.w, t, eventTime); err != nil {
				return err
			}
			if o.st != nil {
				o.trim()
			}
		}
		clear(o.due)
	}
	return nil
}

func (o *Operator[K, IN, ACC, OUT]) seqOf(k K) uint64 {
	if ki := o.keys[k]; ki != nil {
		return ki.seq
	}
	return math.MaxUint64
}

// onTimer fires one timer of window w of key k at time t, as Flink's
// WindowOperator.onEventTime and onProcessingTime.
func (o *Operator[K, IN, ACC, OUT]) onTimer(k K, w Window, t int64, eventTime bool) error {
	sw := w
	var ms *mergingSet
	if o.merging != nil {
		ki := o.keys[k]
		if ki == nil || ki.merging == nil {
			return nil
		}
		ms = ki.merging
		s, ok := ms.stateWindow(w)
		if !ok {
			// A timer of a window merged away or cleaned up whose
			// trigger did not delete it.
			return nil
		}
		sw = s
	}
	var res TriggerResult
	var err error
	if eventTime {
		res, err = o.trigger.OnEventTime(t, w, o.tctx.at(k, w))
	} else {
		res, err = o.trigger.OnProcessingTime(t, w, o.tctx.at(k, w))
	}
	if err != nil {
		return err
	}
	if err := o.act(k, w, sw, res); err != nil {
		return err
	}
	if eventTime == o.eventTime && t == o.cleanupTime(w) {
		if err := o.clearAll(k, w, sw, ms); err != nil {
			return err
		}
	}
	o.release(k, w)
	o.release(k, sw)
	o.releaseKey(k)
	return nil
}

// clearAll removes everything the operator keeps for window w.
func (o *Operator[K, IN, ACC, OUT]) clearAll(k K, w, sw Window, ms *mergingSet) error {
	if st := o.lookup(k, sw); st != nil {
		st.clearContents()
	}
	if err := o.trigger.Clear(w, o.tctx.at(k, w)); err != nil {
		return err
	}
	if st := o.lookup(k, w); st != nil {
		st.vars = st.vars[:0]
	}
	if ms != nil {
		ms.retire(w)
	}
	return nil
}

// emit evaluates the window function on window w, whose contents are st,
// and collects the results with timestamp w.MaxTimestamp(). An empty
// window emits nothing.
func (o *Operator[K, IN, ACC, OUT]) emit(k K, w Window, st *winState[IN, ACC]) error {
	o.pctx.key, o.pctx.window, o.pctx.watermark = k, w, o.wm
	o.em.ts = w.MaxTimestamp()
	if !o.listMode {
		if !st.has {
			return nil
		}
		return o.fn.result(&o.pctx, st.acc, &o.em)
	}
	if len(st.vals) == 0 {
		return nil
	}
	ctx := o.tctx.at(k, w)
	if o.evictor != nil {
		o.elems.reset(st.vals, st.times)
		if err := o.evictor.EvictBefore(&o.elems, w, ctx); err != nil {
			return err
		}
		st.vals, st.times = o.elems.compact()
	}
	if len(st.vals) > 0 {
		var err error
		if o.fn.incremental() {
			acc := o.fn.first(st.vals[0])
			for _, v := range st.vals[1:] {
				acc = o.fn.add(acc, v)
			}
			err = o.fn.result(&o.pctx, acc, &o.em)
		} else {
			err = o.fn.process.Process(&o.pctx, st.vals, &o.em)
		}
		if err != nil {
			return err
		}
	}
	if o.evictor != nil {
		o.elems.reset(st.vals, st.times)
		if err := o.evictor.EvictAfter(&o.elems, w, ctx); err != nil {
			return err
		}
		st.vals, st.times = o.elems.compact()
	}
	return nil
}
