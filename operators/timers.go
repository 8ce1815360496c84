package operators

// Timer is a timer of one key, due at Time (event time or processing time,
// in milliseconds).
type Timer[K comparable] struct {
	Key  K
	Time int64
}

// TimerQueue holds the timers of many keys in time order. A (key, time)
// pair is held once however often it is registered, as in Flink. It is a
// plain data structure for one operator: no locks, no goroutines.
//
// Deletion is lazy: a deleted timer stays in the heap until it reaches the
// top, where it is dropped, so Register and Delete are O(log n) and O(1).
type TimerQueue[K comparable] struct {
	heap []Timer[K]
	// live holds the timers registered and not deleted or fired.
	live map[Timer[K]]struct{}
}

// NewTimerQueue returns an empty queue.
func NewTimerQueue[K comparable]() *TimerQueue[K] {
	return &TimerQueue[K]{live: make(map[Timer[K]]struct{})}
}

// Register adds a timer; it reports false when the timer was already there.
func (q *TimerQueue[K]) Register(key K, t int64) bool {
	tm := Timer[K]{Key: key, Time: t}
	if _, ok := q.live[tm]; ok {
		return false
	}
	q.live[tm] = struct{}{}
	q.heap = append(q.heap, tm)
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
	tm := q.popTop()
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

func (q *TimerQueue[K]) dropDeleted() {
	for len(q.heap) > 0 {
		if _, ok := q.live[q.heap[0]]; ok {
			return
		}
		q.popTop()
	}
}

func (q *TimerQueue[K]) popTop() Timer[K] {
	top := q.heap[0]
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap[last] = Timer[K]{}
	q.heap = q.heap[:last]
	if last > 0 {
		q.down(0)
	}
	return top
}

func (q *TimerQueue[K]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if q.heap[parent].Time <= q.heap[i].Time {
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
		if r := l + 1; r < n && q.heap[r].Time < q.heap[l].Time {
			small = r
		}
		if q.heap[i].Time <= q.heap[small].Time {
			return
		}
		q.heap[i], q.heap[small] = q.heap[small], q.heap[i]
		i = small
	}
}
