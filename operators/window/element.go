package window

import (
	"fmt"
	"math"

	"github.com/stromhq/strom/operators"
)

// processElement adds one record to its windows, as Flink's
// WindowOperator.processElement.
func (o *Operator[K, IN, ACC, OUT]) processElement(v IN, ts int64) error {
	if o.eventTime && ts == operators.NoTimestamp {
		return errNoTimestamp
	}
	k := o.cfg.Key.Selector(v)
	if o.panes != nil {
		return o.paneAdd(k, v, ts)
	}
	o.wbuf = o.assigner.AssignWindows(ts, o.procTime(), o.wbuf[:0])
	if len(o.wbuf) == 0 {
		return nil // the record falls between windows
	}
	o.tctx.elem, o.tctx.hasElem = v, true
	defer o.clearElement()
	var skipped bool
	var err error
	if o.merging != nil {
		skipped, err = o.addMerging(k, v, ts)
	} else {
		skipped, err = o.addAligned(k, v, ts)
	}
	if err != nil {
		return err
	}
	if skipped {
		o.late(v, ts)
	}
	o.releaseKey(k)
	return nil
}

func (o *Operator[K, IN, ACC, OUT]) clearElement() {
	var zero IN
	o.tctx.elem, o.tctx.hasElem = zero, false
}

// addAligned adds a record to the windows in o.wbuf, which do not merge.
// It reports whether every window was late.
func (o *Operator[K, IN, ACC, OUT]) addAligned(k K, v IN, ts int64) (skipped bool, err error) {
	skipped = true
	ks := o.keyState(k)
	for _, w := range o.wbuf {
		if o.windowLate(w) {
			continue
		}
		skipped = false
		st, created := o.slot(ks, k, w)
		o.addTo(st, v, ts)
		if !created && o.eventTrigger && w.MaxTimestamp() > o.wm {
			// The event-time trigger registered its timer when the
			// window was created; it has nothing to do until then.
			continue
		}
		res, err := o.trigger.OnElement(ts, w, o.tctx.at(k, w))
		if err != nil {
			return false, err
		}
		if err := o.act(k, w, w, res); err != nil {
			return false, err
		}
		if created {
			// Windows that do not merge keep their cleanup timer from
			// creation to cleanup.
			o.registerCleanup(k, w)
		}
		o.release(k, w)
	}
	return skipped, nil
}

// addMerging adds a record to the windows in o.wbuf under a merging
// assigner: each merges into the key's live windows first.
func (o *Operator[K, IN, ACC, OUT]) addMerging(k K, v IN, ts int64) (skipped bool, err error) {
	skipped = true
	ki := o.keyState(k)
	if ki.merging == nil {
		ki.merging = &mergingSet{}
	}
	o.mergeKey = k
	for _, w := range o.wbuf {
		actual, err := ki.merging.add(o.merging, w, o.mergeFn)
		if err != nil {
			return false, err
		}
		if o.windowLate(actual) {
			ki.merging.retire(actual)
			continue
		}
		skipped = false
		sw, _ := ki.merging.stateWindow(actual)
		o.addTo(o.state(k, sw), v, ts)
		res, err := o.trigger.OnElement(ts, actual, o.tctx.at(k, actual))
		if err != nil {
			return false, err
		}
		if err := o.act(k, actual, sw, res); err != nil {
			return false, err
		}
		o.registerCleanup(k, actual)
		o.release(k, actual)
		o.release(k, sw)
	}
	return skipped, nil
}

// onMerge is the mergeFunc of the key o.mergeKey: the trigger merges its
// state into the result window, the merged windows' trigger state and
// cleanup timers go, and their contents move into stateResult.
func (o *Operator[K, IN, ACC, OUT]) onMerge(result Window, merged []Window, stateResult Window, mergedState []Window) error {
	k := o.mergeKey
	if o.eventTime && o.cleanupTime(result) <= o.wm {
		return fmt.Errorf("window: merging produced window %v, already past the watermark %d", result, o.wm)
	}
	c := o.tctx.at(k, result)
	c.merged = merged
	err := o.trigger.OnMerge(result, c)
	c.merged = nil
	if err != nil {
		return err
	}
	for _, m := range merged {
		if m == result {
			continue
		}
		if err := o.trigger.Clear(m, o.tctx.at(k, m)); err != nil {
			return err
		}
		if st := o.lookup(k, m); st != nil {
			st.vars = st.vars[:0]
		}
		o.deleteCleanup(k, m)
	}
	dst := o.state(k, stateResult)
	for _, sw := range mergedState {
		if st := o.lookup(k, sw); st != nil {
			o.mergeContents(dst, st)
		}
	}
	for _, m := range merged {
		o.release(k, m)
	}
	for _, sw := range mergedState {
		o.release(k, sw)
	}
	o.release(k, stateResult)
	o.release(k, result)
	return nil
}

// act carries out a trigger's result for window w, whose contents are
// kept under sw.
func (o *Operator[K, IN, ACC, OUT]) act(k K, w, sw Window, res TriggerResult) error {
	if res == Continue {
		return nil
	}
	st := o.lookup(k, sw)
	if st == nil {
		return nil
	}
	if res.IsFire() {
		if err := o.emit(k, w, st); err != nil {
			return err
		}
	}
	if res.IsPurge() {
		st.clearContents()
	}
	return nil
}

// cleanupTime is when the state of w goes: the end of its allowed
// lateness for event time, its end for processing time; never for windows
// that end at the end of time.
func (o *Operator[K, IN, ACC, OUT]) cleanupTime(w Window) int64 {
	return addSat(w.MaxTimestamp(), o.lateness)
}

// windowLate reports whether w has been cleaned up already.
func (o *Operator[K, IN, ACC, OUT]) windowLate(w Window) bool {
	return o.eventTime && o.cleanupTime(w) <= o.wm
}

func (o *Operator[K, IN, ACC, OUT]) registerCleanup(k K, w Window) {
	t := o.cleanupTime(w)
	if t == math.MaxInt64 {
		return
	}
	if o.eventTime {
		o.eventQ.Register(winKey[K]{k, w}, t)
	} else {
		o.procQ.Register(winKey[K]{k, w}, t)
	}
}

func (o *Operator[K, IN, ACC, OUT]) deleteCleanup(k K, w Window) {
	t := o.cleanupTime(w)
	if t == math.MaxInt64 {
		return
	}
	if o.eventTime {
		o.eventQ.Delete(winKey[K]{k, w}, t)
	} else {
		o.procQ.Delete(winKey[K]{k, w}, t)
	}
}
