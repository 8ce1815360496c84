package window

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Evictor removes records from a window's contents before and after the
// window function runs, as Flink's Evictor. A window with an evictor keeps
// all its records (not an accumulator), so evictors cost memory. Like
// triggers, evictors are immutable values shared by all windows.
type Evictor interface {
	// EvictBefore is called before the window function with the window's
	// records; records it marks (elems.Evict) are removed and not seen by
	// the function.
	EvictBefore(elems Elements, w Window, ctx EvictorContext) error
	// EvictAfter is called after the window function; records it marks
	// are removed from the window.
	EvictAfter(elems Elements, w Window, ctx EvictorContext) error
}

// Elements is an evictor's view of a window's records, in arrival order.
// Read a record's value with ValueAt.
type Elements interface {
	// Len returns the number of records.
	Len() int
	// Timestamp returns the event timestamp of record i.
	Timestamp(i int) int64
	// Evict marks record i for removal.
	Evict(i int)
	// Evicted reports whether record i is marked.
	Evicted(i int) bool
}

// EvictorContext tells an evictor the time.
type EvictorContext interface {
	CurrentWatermark() int64
	CurrentProcessingTime() int64
}

// valuer is implemented by the operator's Elements.
type valuer[T any] interface {
	valueAt(i int) T
}

// ValueAt returns the value of record i of elems; T must be the operator's
// record type.
func ValueAt[T any](elems Elements, i int) T {
	return elems.(valuer[T]).valueAt(i)
}

// CountEvictor keeps at most n records: it evicts the earliest arrivals
// beyond n before the window function runs.
func CountEvictor(n int64) Evictor { return countEvictor{n: n} }

// CountEvictorAfter is CountEvictor evicting after the window function
// runs.
func CountEvictorAfter(n int64) Evictor { return countEvictor{n: n, after: true} }

type countEvictor struct {
	n     int64
	after bool
}

func (c countEvictor) evict(elems Elements) {
	excess := int64(elems.Len()) - c.n
	for i := 0; excess > 0; i++ {
		elems.Evict(i)
		excess--
	}
}

func (c countEvictor) EvictBefore(elems Elements, _ Window, _ EvictorContext) error {
	if !c.after {
		c.evict(elems)
	}
	return nil
}

func (c countEvictor) EvictAfter(elems Elements, _ Window, _ EvictorContext) error {
	if c.after {
		c.evict(elems)
	}
	return nil
}

func (c countEvictor) Validate() error {
	if c.n < 0 {
		return fmt.Errorf("count evictor of %d records: must not be negative", c.n)
	}
	return nil
}

func (c countEvictor) String() string { return fmt.Sprintf("count-evictor(%d)", c.n) }

// TimeEvictor keeps the records of the last keep of event time: it evicts
// records whose timestamp is at most the latest timestamp in the window
// minus keep, before the window function runs.
func TimeEvictor(keep time.Duration) Evictor { return timeEvictor{keep: millis(keep)} }

// TimeEvictorAfter is TimeEvictor evicting after the window function runs.
func TimeEvictorAfter(keep time.Duration) Evictor {
	return timeEvictor{keep: millis(keep), after: true}
}

type timeEvictor struct {
	keep  int64
	after bool
}

func (t timeEvictor) evict(elems Elements) {
	latest := int64(math.MinInt64)
	for i := range elems.Len() {
		latest = max(latest, elems.Timestamp(i))
	}
	if latest == math.MinInt64 {
		return // records without timestamps
	}
	cutoff := addSat(latest, -t.keep)
	for i := range elems.Len() {
		if elems.Timestamp(i) <= cutoff {
			elems.Evict(i)
		}
	}
}

func (t timeEvictor) EvictBefore(elems Elements, _ Window, _ EvictorContext) error {
	if !t.after {
		t.evict(elems)
	}
	return nil
}

func (t timeEvictor) EvictAfter(elems Elements, _ Window, _ EvictorContext) error {
	if t.after {
		t.evict(elems)
	}
	return nil
}

func (t timeEvictor) Validate() error {
	if t.keep < 0 {
		return fmt.Errorf("time evictor keeping %dms: must not be negative", t.keep)
	}
	return nil
}

func (t timeEvictor) String() string { return fmt.Sprintf("time-evictor(%s)", durationString(t.keep)) }

// elements is the Elements of one window's records during an eviction.
type elements[T any] struct {
	vals    []T
	times   []int64
	evicted []bool
	n       int
}

func (e *elements[T]) Len() int              { return len(e.vals) }
func (e *elements[T]) Timestamp(i int) int64 { return e.times[i] }
func (e *elements[T]) Evicted(i int) bool    { return e.evicted[i] }
func (e *elements[T]) valueAt(i int) T       { return e.vals[i] }

func (e *elements[T]) Evict(i int) {
	if !e.evicted[i] {
		e.evicted[i] = true
		e.n++
	}
}

// reset views vals and times with nothing evicted.
func (e *elements[T]) reset(vals []T, times []int64) {
	e.vals, e.times, e.n = vals, times, 0
	e.evicted = slices.Grow(e.evicted[:0], len(vals))[:len(vals)]
	clear(e.evicted)
}

// compact removes the evicted records in place and returns what is left.
func (e *elements[T]) compact() ([]T, []int64) {
	if e.n == 0 {
		return e.vals, e.times
	}
	k := 0
	for i := range e.vals {
		if !e.evicted[i] {
			e.vals[k], e.times[k] = e.vals[i], e.times[i]
			k++
		}
	}
	clear(e.vals[k:])
	return e.vals[:k], e.times[:k]
}
