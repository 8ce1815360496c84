package window

import (
	"cmp"
	"slices"
)

// This file holds the keyed state of the general window path: per key and
// window, the contents (accumulator or records) and the trigger's values,
// in Go maps. checkpoint.go writes it into checkpoints.

// winKey names the timers of one window of one key.
type winKey[K comparable] struct {
	key K
	w   Window
}

// winState is what the operator keeps for one window of one key: its
// contents, under its state window, and its trigger's values, under the
// window itself. Under a merging assigner the two can be different
// windows, whose winStates then hold one part each.
type winState[IN, ACC any] struct {
	acc ACC
	// has reports that acc holds at least one record.
	has   bool
	vals  []IN
	times []int64
	vars  []triggerVar
}

// triggerVar is one named value of a trigger's window state.
type triggerVar struct {
	name string
	v    int64
}

func (s *winState[IN, ACC]) empty() bool {
	return !s.has && len(s.vals) == 0 && len(s.vars) == 0
}

func (s *winState[IN, ACC]) clearContents() {
	var zero ACC
	s.acc, s.has = zero, false
	clear(s.vals)
	s.vals, s.times = s.vals[:0], s.times[:0]
}

// keyState is what the operator keeps per key: its windows' states in a
// slice sorted by window, so that a record costs one map lookup however
// many windows it falls into, and its merging set.
type keyState[IN, ACC any] struct {
	// seq orders keys by first arrival, to fire ties deterministically.
	seq     uint64
	wins    []winSlot[IN, ACC]
	merging *mergingSet
	// With the Pebble store, wins stays empty: live counts the key's
	// windows that have state (in the cache or the store), stored those
	// the store holds (store.go).
	live, stored int
}

type winSlot[IN, ACC any] struct {
	w  Window
	st winState[IN, ACC]
}

// find returns the index of window w in ks.wins, or where it belongs.
func (ks *keyState[IN, ACC]) find(w Window) (int, bool) {
	// Records mostly go to the latest windows: try the end first.
	if n := len(ks.wins); n > 0 && ks.wins[n-1].w == w {
		return n - 1, true
	}
	return slices.BinarySearchFunc(ks.wins, w, func(s winSlot[IN, ACC], w Window) int {
		return cmp.Or(cmp.Compare(s.w.Start, w.Start), cmp.Compare(s.w.End, w.End))
	})
}

// slot returns the state of window w, creating it; created reports
// whether it did. The pointer is valid until the key's next window is
// created or released.
func (ks *keyState[IN, ACC]) slot(w Window) (st *winState[IN, ACC], created bool) {
	i, ok := ks.find(w)
	if !ok {
		ks.wins = slices.Insert(ks.wins, i, winSlot[IN, ACC]{w: w})
	}
	return &ks.wins[i].st, !ok
}

// keyState returns the state of key k, creating it.
func (o *Operator[K, IN, ACC, OUT]) keyState(k K) *keyState[IN, ACC] {
	ks := o.keys[k]
	if ks == nil {
		ks = &keyState[IN, ACC]{seq: o.nextSeq}
		o.nextSeq++
		o.keys[k] = ks
	}
	return ks
}

// releaseKey forgets k when it has no state left.
func (o *Operator[K, IN, ACC, OUT]) releaseKey(k K) {
	if ks := o.keys[k]; ks != nil && len(ks.wins) == 0 && ks.live == 0 && (ks.merging == nil || ks.merging.len() == 0) {
		delete(o.keys, k)
	}
}

// lookup returns the state of window w of key k, or nil.
func (o *Operator[K, IN, ACC, OUT]) lookup(k K, w Window) *winState[IN, ACC] {
	if o.st != nil {
		return o.storedLookup(k, w)
	}
	if ks := o.keys[k]; ks != nil {
		if i, ok := ks.find(w); ok {
			return &ks.wins[i].st
		}
	}
	return nil
}

// state returns the state of window w of key k, creating it.
func (o *Operator[K, IN, ACC, OUT]) state(k K, w Window) *winState[IN, ACC] {
	st, _ := o.slot(o.keyState(k), k, w)
	return st
}

// slot returns the state of window w of key k, whose state is ks,
// creating it; created reports whether it did. The pointer is valid until
// the key's next window is created or released.
func (o *Operator[K, IN, ACC, OUT]) slot(ks *keyState[IN, ACC], k K, w Window) (st *winState[IN, ACC], created bool) {
	if o.st != nil {
		return o.storedSlot(ks, k, w)
	}
	return ks.slot(w)
}

// release drops the state of window w of key k when it holds nothing.
// Operations call it last, once no pointer to the state is in use.
func (o *Operator[K, IN, ACC, OUT]) release(k K, w Window) {
	if o.st != nil {
		o.storedRelease(k, w)
		return
	}
	if ks := o.keys[k]; ks != nil {
		if i, ok := ks.find(w); ok && ks.wins[i].st.empty() {
			ks.wins = slices.Delete(ks.wins, i, i+1)
		}
	}
}

// addTo adds a record to a window's contents.
func (o *Operator[K, IN, ACC, OUT]) addTo(st *winState[IN, ACC], v IN, ts int64) {
	switch {
	case o.listMode:
		st.vals = append(st.vals, v)
		st.times = append(st.times, ts)
	case st.has:
		st.acc = o.fn.add(st.acc, v)
	default:
		st.acc, st.has = o.fn.first(v), true
	}
}

// mergeContents moves the contents of src into dst.
func (o *Operator[K, IN, ACC, OUT]) mergeContents(dst, src *winState[IN, ACC]) {
	switch {
	case o.listMode:
		dst.vals = append(dst.vals, src.vals...)
		dst.times = append(dst.times, src.times...)
	case !src.has:
	case dst.has:
		dst.acc = o.fn.merge(dst.acc, src.acc)
	default:
		dst.acc, dst.has = src.acc, true
	}
	src.clearContents()
}

// triggerCtx is the TriggerContext, OnMergeContext and EvictorContext of
// the operator, pointed at one key and window at a time.
type triggerCtx[K comparable, IN, ACC, OUT any] struct {
	o   *Operator[K, IN, ACC, OUT]
	key K
	w   Window
	// merged are the windows merged into w, during OnMerge.
	merged  []Window
	elem    IN
	hasElem bool
}

func (c *triggerCtx[K, IN, ACC, OUT]) at(k K, w Window) *triggerCtx[K, IN, ACC, OUT] {
	c.key, c.w = k, w
	return c
}

func (c *triggerCtx[K, IN, ACC, OUT]) currentElement() (IN, bool) { return c.elem, c.hasElem }

func (c *triggerCtx[K, IN, ACC, OUT]) CurrentWatermark() int64      { return c.o.wm }
func (c *triggerCtx[K, IN, ACC, OUT]) CurrentProcessingTime() int64 { return c.o.procTime() }

func (c *triggerCtx[K, IN, ACC, OUT]) RegisterEventTimeTimer(t int64) {
	c.o.eventQ.Register(winKey[K]{c.key, c.w}, t)
}

func (c *triggerCtx[K, IN, ACC, OUT]) DeleteEventTimeTimer(t int64) {
	c.o.eventQ.Delete(winKey[K]{c.key, c.w}, t)
}

func (c *triggerCtx[K, IN, ACC, OUT]) RegisterProcessingTimeTimer(t int64) {
	c.o.procQ.Register(winKey[K]{c.key, c.w}, t)
}

func (c *triggerCtx[K, IN, ACC, OUT]) DeleteProcessingTimeTimer(t int64) {
	c.o.procQ.Delete(winKey[K]{c.key, c.w}, t)
}

func (c *triggerCtx[K, IN, ACC, OUT]) State(name string) (int64, bool) {
	return getVar(c.o.lookup(c.key, c.w), name)
}

func getVar[IN, ACC any](st *winState[IN, ACC], name string) (int64, bool) {
	if st != nil {
		for _, tv := range st.vars {
			if tv.name == name {
				return tv.v, true
			}
		}
	}
	return 0, false
}

func (c *triggerCtx[K, IN, ACC, OUT]) SetState(name string, v int64) {
	st := c.o.state(c.key, c.w)
	for i := range st.vars {
		if st.vars[i].name == name {
			st.vars[i].v = v
			return
		}
	}
	st.vars = append(st.vars, triggerVar{name: name, v: v})
}

func (c *triggerCtx[K, IN, ACC, OUT]) ClearState(name string) {
	if st := c.o.lookup(c.key, c.w); st != nil {
		st.vars = slices.DeleteFunc(st.vars, func(tv triggerVar) bool { return tv.name == name })
	}
}

func (c *triggerCtx[K, IN, ACC, OUT]) MergeState(name string, merge func(a, b int64) int64) {
	acc, has := c.State(name)
	for _, m := range c.merged {
		if m == c.w {
			continue
		}
		if v, ok := getVar(c.o.lookup(c.key, m), name); ok {
			if has {
				acc = merge(acc, v)
			} else {
				acc, has = v, true
			}
		}
	}
	if has {
		c.SetState(name, acc)
	}
}
