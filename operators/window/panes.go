package window

import (
	"math"
	"slices"

	"github.com/stromhq/strom/operators"
)

// Shared panes: a sliding window of size S and slide L is a run of S/P
// panes of P = gcd(S, L), and each pane belongs to S/L windows. With an
// incremental function that merges, a record is added to the accumulator
// of its pane only (once, not S/L times), and a window that fires merges
// the S/P accumulators of its panes. Per key the operator keeps the panes
// in start order and one timer at the end of the next window that holds
// records; firing a window finds the next one.
//
// The results equal those of the general path (one accumulator per window)
// for the default event-time trigger, allowed lateness included: a record
// for a window already fired but not yet cleaned up fires it again at
// once, and panes are dropped once every window containing them is past
// its cleanup time.

// paneState is the state of the shared-pane path.
type paneState[K comparable, ACC any] struct {
	size, slide, pane, offset int64
	keys                      map[K]*paneKey[ACC]
	q                         *operators.TimerQueue[K]
	due                       []paneDue[K]
	seq                       uint64
}

// paneKey holds the panes of one key.
type paneKey[ACC any] struct {
	seq   uint64
	panes []pane[ACC]
	// starts are the pane starts, ascending, when the accumulators are in
	// the Pebble store (store.go); panes is then empty.
	starts []int64
	// next is the MaxTimestamp of the next window to fire, or MaxInt64.
	next int64
}

type pane[ACC any] struct {
	start int64
	acc   ACC
}

type paneDue[K comparable] struct {
	key K
	seq uint64
}

func newPaneState[K comparable, ACC any](s Sliding) *paneState[K, ACC] {
	return &paneState[K, ACC]{
		size: s.size, slide: s.slide, pane: gcd(s.size, s.slide), offset: s.offset,
		keys: make(map[K]*paneKey[ACC]),
		q:    operators.NewTimerQueue[K](),
	}
}

// lastEnd returns the end of the last window containing time t.
func (p *paneState[K, ACC]) lastEnd(t int64) int64 { return StartOf(t, p.offset, p.slide) + p.size }

// firstEnd returns the end of the first window containing time t: the
// smallest window end after t.
func (p *paneState[K, ACC]) firstEnd(t int64) int64 {
	return t + 1 + floorMod(p.offset+p.size-(t+1), p.slide)
}

// search returns the index of the first pane starting at or after t.
func (pk *paneKey[ACC]) search(t int64) int {
	i, _ := slices.BinarySearchFunc(pk.panes, t, func(p pane[ACC], t int64) int {
		switch {
		case p.start < t:
			return -1
		case p.start > t:
			return 1
		}
		return 0
	})
	return i
}

// paneAdd adds a record on the pane path.
func (o *Operator[K, IN, ACC, OUT]) paneAdd(k K, v IN, ts int64) error {
	p := o.panes
	last := StartOf(ts, p.offset, p.slide)
	if addSat(last+p.size-1, o.lateness) <= o.wm {
		o.late(v, ts)
		return nil
	}
	pk := p.keys[k]
	if pk == nil {
		pk = &paneKey[ACC]{seq: p.seq, next: math.MaxInt64}
		p.seq++
		p.keys[k] = pk
	}
	ps := StartOf(ts, p.offset, p.pane)
	if o.st != nil {
		o.storedPaneAdd(k, pk, ps, v)
	} else {
		i := len(pk.panes)
		for i > 0 && pk.panes[i-1].start > ps {
			i--
		}
		if i > 0 && pk.panes[i-1].start == ps {
			pk.panes[i-1].acc = o.fn.add(pk.panes[i-1].acc, v)
		} else {
			pk.panes = slices.Insert(pk.panes, i, pane[ACC]{start: ps, acc: o.fn.first(v)})
		}
	}
	// The record's windows, latest start first: those not yet fired wait
	// for a timer, those fired but within the allowed lateness fire again
	// now, and the rest are cleaned up.
	pending := int64(math.MaxInt64)
	for s := last; s > ts-p.size; s -= p.slide {
		m := s + p.size - 1
		if addSat(m, o.lateness) <= o.wm {
			break
		}
		if m > o.wm {
			pending = m
			continue
		}
		if err := o.paneEmit(k, pk, s); err != nil {
			return err
		}
	}
	switch {
	case pending < pk.next:
		p.q.Register(k, pending)
		pk.next = pending
	case pk.next == math.MaxInt64:
		// Every window of the record has fired already (it came within
		// the allowed lateness) and no window waits: the pane goes when
		// the lateness of its last window has passed.
		p.q.Register(k, addSat(last+p.size-1, o.lateness))
	}
	return nil
}

// paneAdvance fires the pane timers due at wm in time order, ties by the
// order the keys first arrived in.
func (o *Operator[K, IN, ACC, OUT]) paneAdvance(wm int64) error {
	p := o.panes
	for p.q.Len() > 0 {
		t := p.q.Next()
		if t > wm {
			return nil
		}
		p.due = p.due[:0]
		for {
			tm, ok := p.q.PopDue(t)
			if !ok {
				break
			}
			seq := uint64(math.MaxUint64)
			if pk := p.keys[tm.Key]; pk != nil {
				seq = pk.seq
			}
			p.due = append(p.due, paneDue[K]{key: tm.Key, seq: seq})
		}
		slices.SortFunc(p.due, func(a, b paneDue[K]) int {
			switch {
			case a.seq < b.seq:
				return -1
			case a.seq > b.seq:
				return 1
			}
			return 0
		})
		for _, d := range p.due {
			if err := o.paneTimer(d.key, t); err != nil {
				return err
			}
			if o.st != nil {
				o.trim()
			}
		}
		clear(p.due)
	}
	return nil
}

// paneTimer handles the timer of key k at time t: it fires the window
// ending at t+1 when that is the key's next, drops the panes no window
// needs any more, and sets the next timer.
func (o *Operator[K, IN, ACC, OUT]) paneTimer(k K, t int64) error {
	p := o.panes
	pk := p.keys[k]
	if pk == nil {
		return nil
	}
	if t == pk.next {
		if err := o.paneEmit(k, pk, t+1-p.size); err != nil {
			return err
		}
		pk.next = math.MaxInt64
		// The next window holding records: the one after this, or the
		// first one containing the next pane.
		nextEnd := t + 1 + p.slide
		if start, ok := o.paneFrom(pk, nextEnd-p.size); ok {
			pk.next = max(nextEnd, p.firstEnd(start)) - 1
			p.q.Register(k, pk.next)
		}
	}
	var n int
	var last int64
	if o.st != nil {
		for n < len(pk.starts) && addSat(p.lastEnd(pk.starts[n])-1, o.lateness) <= t {
			o.dropPane(k, pk.starts[n])
			n++
		}
		pk.starts = slices.Delete(pk.starts, 0, n)
		n = len(pk.starts)
		if n > 0 {
			last = pk.starts[n-1]
		}
	} else {
		for n < len(pk.panes) && addSat(p.lastEnd(pk.panes[n].start)-1, o.lateness) <= t {
			n++
		}
		pk.panes = slices.Delete(pk.panes, 0, n)
		n = len(pk.panes)
		if n > 0 {
			last = pk.panes[n-1].start
		}
	}
	if pk.next == math.MaxInt64 {
		if n == 0 {
			delete(p.keys, k)
			return nil
		}
		// Drop the rest once the allowed lateness of their last window
		// has passed.
		p.q.Register(k, addSat(p.lastEnd(last)-1, o.lateness))
	}
	return nil
}

// paneFrom returns the start of the first pane of pk starting at or after
// t.
func (o *Operator[K, IN, ACC, OUT]) paneFrom(pk *paneKey[ACC], t int64) (int64, bool) {
	if o.st != nil {
		if i, _ := slices.BinarySearch(pk.starts, t); i < len(pk.starts) {
			return pk.starts[i], true
		}
		return 0, false
	}
	if i := pk.search(t); i < len(pk.panes) {
		return pk.panes[i].start, true
	}
	return 0, false
}

// storedPaneAdd adds a record to the pane starting at ps of key k when the
// accumulators are in the store.
func (o *Operator[K, IN, ACC, OUT]) storedPaneAdd(k K, pk *paneKey[ACC], ps int64, v IN) {
	i := len(pk.starts)
	for i > 0 && pk.starts[i-1] > ps {
		i--
	}
	if i > 0 && pk.starts[i-1] == ps {
		e := o.paneAccOf(k, ps, true)
		e.Value = o.fn.add(e.Value, v)
		return
	}
	pk.starts = slices.Insert(pk.starts, i, ps)
	e := o.st.panes.Add(paneRef[K]{k, ps})
	e.Value = o.fn.first(v)
	o.st.panes.MarkDirty(e)
}

// paneEmit fires window [s, s+size) of key k: it merges the accumulators
// of the window's panes and evaluates the function on the result.
func (o *Operator[K, IN, ACC, OUT]) paneEmit(k K, pk *paneKey[ACC], s int64) error {
	e := s + o.panes.size
	var acc ACC
	has := false
	if o.st != nil {
		i, _ := slices.BinarySearch(pk.starts, s)
		for ; i < len(pk.starts) && pk.starts[i] < e; i++ {
			pa := o.paneAccOf(k, pk.starts[i], false).Value
			if has {
				acc = o.fn.merge(acc, pa)
			} else {
				acc, has = o.fn.clone(pa), true
			}
		}
	}
	for i := pk.search(s); i < len(pk.panes) && pk.panes[i].start < e; i++ {
		if has {
			acc = o.fn.merge(acc, pk.panes[i].acc)
		} else {
			acc, has = o.fn.clone(pk.panes[i].acc), true
		}
	}
	if !has {
		return nil
	}
	o.pctx.key, o.pctx.window, o.pctx.watermark = k, Window{Start: s, End: e}, o.wm
	o.em.ts = e - 1
	return o.fn.result(&o.pctx, acc, &o.em)
}
