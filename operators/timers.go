package operators

import (
	"cmp"
	"maps"
	"slices"
)

// Timer is a timer of one key, due at Time (event time or processing time,
// in milliseconds).
type Timer[K comparable] struct {
	Key  K
	Time int64
}

// TimerQueue holds the timers of many keys in time order; timers of equal
// time come in the order they were registered. A (key, time) pair is held
// once however often it is registered, as in Flink. It is a plain data
// structure for one operator: no locks, no goroutines.
//
// Deletion is lazy: a deleted timer stays in the heap until it reaches the
// top, where it is dropped, so Register and Delete are O(log n) and O(1).
//
// Registering the timers of Registered, in that order, into an empty queue
// gives a queue that fires exactly as the original: that is how operators
// restore their timers from a checkpoint.
type TimerQueue[K comparable] struct {
	heap []queuedTimer[K]
	// live holds the timers registered and not deleted or fired, with
	// their registration numbers.
	live map[Timer[K]]uint64
	// seq numbers the next registration.
	seq uint64
}

// queuedTimer is a timer in the heap with its registration number. An
// entry whose number is not the live one of its timer was deleted (and
// maybe registered again).
type queuedTimer[K comparable] struct {
	Timer[K]
	seq uint64
}

// before orders the heap: by time, then by registration.
func (a queuedTimer[K]) before(b queuedTimer[K]) bool {
	return a.Time < b.Time || (a.Time == b.Time && a.seq < b.seq)
}

// NewTimerQueue returns an empty queue.
func NewTimerQueue[K comparable]() *TimerQueue[K] {
	return &TimerQueue[K]{live: make(map[Timer[K]]uint64)}
}

// Register adds a timer; it reports false when the timer was already there
// (it then keeps its place among timers of equal time).
func (q *TimerQueue[K]) Register(key K, t int64) bool {
	tm := Timer[K]{Key: key, Time: t}
	if _, ok := q.live[tm]; ok {
		return false
	}
	q.live[tm] = q.seq
	q.heap = append(q.heap, queuedTimer[K]{Timer: tm, seq: q.seq})
	q.seq++
	q.up(len(q.heap) - 1)
	return true
}

// Delete removes a timer if it is registered.
func (q *TimerQueue[K]) Delete(key K, t int64) {
	delete(q.live, Timer[K]{Key: key, Time: t})
}

// Len returns the number of live timers.
func (q *TimerQueue[K]) Len() int { return len(q.live) }

// Next returns the time of the earliest live timer, or MaxWatermark.
func (q *TimerQueue[K]) Next() int64 {
	q.dropDeleted()
	if len(q.heap) == 0 {
		return MaxWatermark
	}
	return q.heap[0].Time
}

// PopDue removes and returns the earliest live timer due at or before t.
// Timers that the caller registers while popping are seen by later calls,
// so firing in a loop handles timers that register timers.
func (q *TimerQueue[K]) PopDue(t int64) (Timer[K], bool) {
	q.dropDeleted()
	if len(q.heap) == 0 || q.heap[0].Time > t {
		return Timer[K]{}, false
	}
	tm := q.popTop().Timer
	delete(q.live, tm)
	return tm, true
}

// All returns the live timers in no particular order.
func (q *TimerQueue[K]) All() []Timer[K] {
	out := make([]Timer[K], 0, len(q.live))
	for tm := range q.live {
		out = append(out, tm)
	}
	return out
}

// Registered returns the live timers in the order they were registered.
// Registering them in this order into an empty queue reproduces the
// queue's firing order, ties included.
func (q *TimerQueue[K]) Registered() []Timer[K] { return q.Frozen().Registered() }

// FrozenTimers is a copy of a TimerQueue's live timers at one moment,
// which later changes of the queue do not affect: a checkpoint takes it in
// its synchronous part (a copy of a map, without sorting) and orders and
// encodes it in its asynchronous part.
type FrozenTimers[K comparable] struct {
	live map[Timer[K]]uint64
}

// Frozen returns a copy of the live timers.
func (q *TimerQueue[K]) Frozen() FrozenTimers[K] { return FrozenTimers[K]{live: maps.Clone(q.live)} }

// Registered returns the timers in the order they were registered (see
// TimerQueue.Registered).
func (f FrozenTimers[K]) Registered() []Timer[K] {
	out := make([]queuedTimer[K], 0, len(f.live))
	for tm, seq := range f.live {
		out = append(out, queuedTimer[K]{Timer: tm, seq: seq})
	}
	slices.SortFunc(out, func(a, b queuedTimer[K]) int { return cmp.Compare(a.seq, b.seq) })
	tms := make([]Timer[K], len(out))
	for i, e := range out {
		tms[i] = e.Timer
	}
	return tms
}

func (q *TimerQueue[K]) dropDeleted() {
	for len(q.heap) > 0 {
		if seq, ok := q.live[q.heap[0].Timer]; ok && seq == q.heap[0].seq {
			return
		}
		q.popTop()
	}
}

func (q *TimerQueue[K]) popTop() queuedTimer[K] {
	top := q.heap[0]
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap[last] = queuedTimer[K]{}
	q.heap = q.heap[:last]
	if last > 0 {
		q.down(0)
	}
	return top
}

func (q *TimerQueue[K]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !q.heap[i].before(q.heap[parent]) {
			return
		}
		q.heap[parent], q.heap[i] = q.heap[i], q.heap[parent]
		i = parent
	}
}

func (q *TimerQueue[K]) down(i int) {
	n := len(q.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		small := l
		if r := l + 1; r < n && q.heap[r].before(q.heap[l]) {
			small = r
		}
		if !q.heap[small].before(q.heap[i]) {
			return
		}
		q.heap[i], q.heap[small] = q.heap[small], q.heap[i]
		i = small
	}
}
