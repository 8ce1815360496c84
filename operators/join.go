package operators

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// This file holds the keyed event-time joins of two streams: the window
// join and the interval join. Both are two-input operators (see
// coprocess.go) whose inputs are partitioned by key, so that records of
// equal keys meet in one subtask.
//
// Both are deterministic: for the same records arriving in the same order
// with the same watermarks they emit the same records in the same order.
//
// Concurrency: one instance per subtask, driven by the subtask's goroutine
// only; no locks, no goroutines.

// JoinWindows are the event-time windows of a window join, in
// milliseconds: windows [start, start+Size) whose starts are Offset plus a
// multiple of Slide. Slide equal to Size (or 0) makes tumbling windows;
// a smaller Slide makes overlapping sliding windows, so that a record
// belongs to Size/Slide windows.
type JoinWindows struct {
	Size   int64
	Slide  int64
	Offset int64
}

// TumblingJoinWindows returns tumbling windows of the given size.
func TumblingJoinWindows(size time.Duration) JoinWindows {
	return JoinWindows{Size: size.Milliseconds(), Slide: size.Milliseconds()}
}

// SlidingJoinWindows returns windows of the given size starting every
// slide.
func SlidingJoinWindows(size, slide time.Duration) JoinWindows {
	return JoinWindows{Size: size.Milliseconds(), Slide: slide.Milliseconds()}
}

// WithOffset returns w with its window starts shifted by offset.
func (w JoinWindows) WithOffset(offset time.Duration) JoinWindows {
	w.Offset = offset.Milliseconds()
	return w
}

// Validate checks that the windows are well formed.
func (w JoinWindows) Validate() error {
	if w.Size <= 0 {
		return fmt.Errorf("join windows: size %dms must be positive", w.Size)
	}
	if w.Slide < 0 {
		return fmt.Errorf("join windows: slide %dms must not be negative", w.Slide)
	}
	return nil
}

func (w JoinWindows) slide() int64 {
	if w.Slide == 0 {
		return w.Size
	}
	return w.Slide
}

// lastStart returns the start of the latest window that may contain ts.
func (w JoinWindows) lastStart(ts int64) int64 {
	s := w.slide()
	return ts - ((ts-w.Offset)%s+s)%s
}

// errNoTimestamp is wrapped by the error of a join that gets a record
// without an event timestamp.
var errNoTimestamp = errors.New("record has no event timestamp")

// winKey names the window of one key by its start.
type winKey[K comparable] struct {
	key   K
	start int64
}

// joinWindow is one window of one key: its records on the heap backend,
// and its rank, its place among the windows of its start in creation
// order. With the Pebble backend the records are in the store (see
// join_store.go) and left and right stay empty.
type joinWindow[K comparable, L, R any] struct {
	key   K
	rank  uint64
	left  []L
	right []R
	// cached is the window's entry in the store's cache while it is
	// there (Pebble backend): the cache clears it when it evicts the
	// entry.
	cached *joinEntry[winKey[K], windowRecords[L, R]]
}

// WindowJoin joins two keyed streams on event-time windows, as Flink's
// DataStream join: for every key and window it buffers the records of both
// sides, and when the watermark reaches the window's last millisecond
// (end-1) it emits Fn(l, r) for every pair of that key and window, with
// the window's last millisecond as timestamp, and drops the window.
//
// Windows fire in order of their end and, for equal ends, in the order
// they were created; pairs go left-major, each side in arrival order. A
// record whose every window has fired already is late: it is dropped and
// counted (LateDropped).
//
// WindowJoin is Checkpointed: its state is the records of every key and
// open window, and its event time (see SnapshotState). With the Pebble
// state backend (TaskContext.Store) the records are in the store, behind
// a bounded write-back cache (join_store.go).
type WindowJoin[K comparable, L, R, OUT any] struct {
	Base
	KeyLeft  Key[K, L]
	KeyRight Key[K, R]
	Windows  JoinWindows
	Fn       func(L, R) OUT
	Out      Input[OUT]
	// Sides only pass watermarks on; the join emits nothing to them.
	Sides *SideOutputs
	// KeyCodec, LeftCodec and RightCodec encode the state in checkpoints;
	// the zero StateCodec stands for the type's default codec.
	KeyCodec   StateCodec[K]
	LeftCodec  StateCodec[L]
	RightCodec StateCodec[R]
	codecs     joinCodecs[K, L, R]

	out   emitter[OUT]
	clock gateClock
	index map[winKey[K]]*joinWindow[K, L, R]
	// byStart holds the windows of each start in creation order; starts
	// orders the starts.
	byStart map[int64][]*joinWindow[K, L, R]
	starts  *TimerQueue[struct{}]
	// free and freeLists keep fired windows and lists for reuse.
	free      []*joinWindow[K, L, R]
	freeLists [][]*joinWindow[K, L, R]
	buffered  int
	late      int64
	// st holds the records of the windows in the Pebble store when the
	// task has one; nil with the heap backend.
	st *joinCache[winKey[K], windowRecords[L, R]]
}

// Open implements Operator.
func (j *WindowJoin[K, L, R, OUT]) Open(ctx *TaskContext) error {
	j.Ctx = ctx
	if err := j.Windows.Validate(); err != nil {
		return attribute(ctx, err)
	}
	j.out = emitter[OUT]{out: j.Out}
	j.clock = newGateClock()
	j.index = make(map[winKey[K]]*joinWindow[K, L, R])
	j.byStart = make(map[int64][]*joinWindow[K, L, R])
	j.starts = NewTimerQueue[struct{}]()
	if ctx != nil && ctx.Store != nil {
		if err := j.openStore(ctx.Store); err != nil {
			return attribute(ctx, fmt.Errorf("window join: state in the Pebble store: %w", err))
		}
	}
	return nil
}

// Input1 returns the input of the left side (gate 0).
func (j *WindowJoin[K, L, R, OUT]) Input1() Input[L] {
	return gateInput[L]{batch: j.processLeft, watermark: func(wm int64) error { return j.ProcessWatermark(j.clock.onGate(0, wm)) }}
}

// Input2 returns the input of the right side (gate 1).
func (j *WindowJoin[K, L, R, OUT]) Input2() Input[R] {
	return gateInput[R]{batch: j.processRight, watermark: func(wm int64) error { return j.ProcessWatermark(j.clock.onGate(1, wm)) }}
}

func (j *WindowJoin[K, L, R, OUT]) processLeft(b *Batch[L]) (err error) {
	defer recoverInto(j.Ctx, &err)
	for i, v := range b.Values {
		ts := b.Times[i]
		if ts == NoTimestamp {
			return attribute(j.Ctx, fmt.Errorf("window join: left %w", errNoTimestamp))
		}
		k := j.KeyLeft.Selector(v)
		if j.st != nil {
			if err := j.assignStored(k, ts, func(w *windowRecords[L, R]) { w.left = append(w.left, v) }); err != nil {
				return attribute(j.Ctx, err)
			}
			continue
		}
		j.assign(k, ts, func(w *joinWindow[K, L, R]) { w.left = append(w.left, v) })
	}
	return nil
}

func (j *WindowJoin[K, L, R, OUT]) processRight(b *Batch[R]) (err error) {
	defer recoverInto(j.Ctx, &err)
	for i, v := range b.Values {
		ts := b.Times[i]
		if ts == NoTimestamp {
			return attribute(j.Ctx, fmt.Errorf("window join: right %w", errNoTimestamp))
		}
		k := j.KeyRight.Selector(v)
		if j.st != nil {
			if err := j.assignStored(k, ts, func(w *windowRecords[L, R]) { w.right = append(w.right, v) }); err != nil {
				return attribute(j.Ctx, err)
			}
			continue
		}
		j.assign(k, ts, func(w *joinWindow[K, L, R]) { w.right = append(w.right, v) })
	}
	return nil
}

// assign adds a record of key k at ts to each of its windows that has not
// fired yet.
func (j *WindowJoin[K, L, R, OUT]) assign(k K, ts int64, add func(*joinWindow[K, L, R])) {
	size, slide := j.Windows.Size, j.Windows.slide()
	inWindow, added := false, false
	for s := j.Windows.lastStart(ts); s > ts-size; s -= slide {
		inWindow = true
		if s+size-1 <= j.clock.current {
			continue // this window has fired
		}
		w, _ := j.window(k, s)
		add(w)
		j.buffered++
		added = true
	}
	if inWindow && !added {
		j.late++
	}
}

// window returns the window of key k starting at s, creating it, and
// reports whether it created it.
func (j *WindowJoin[K, L, R, OUT]) window(k K, s int64) (*joinWindow[K, L, R], bool) {
	wk := winKey[K]{key: k, start: s}
	if w, ok := j.index[wk]; ok {
		return w, false
	}
	var w *joinWindow[K, L, R]
	if n := len(j.free); n > 0 {
		w, j.free = j.free[n-1], j.free[:n-1]
	} else {
		w = &joinWindow[K, L, R]{}
	}
	w.key = k
	j.index[wk] = w
	list, ok := j.byStart[s]
	if !ok && len(j.freeLists) > 0 {
		list, j.freeLists = j.freeLists[len(j.freeLists)-1], j.freeLists[:len(j.freeLists)-1]
	}
	w.rank = uint64(len(list))
	j.byStart[s] = append(list, w)
	j.starts.Register(struct{}{}, s)
	return w, true
}

// ProcessWatermark implements Operator: the windows that end at or before
// wm fire, then wm goes on.
func (j *WindowJoin[K, L, R, OUT]) ProcessWatermark(wm int64) (err error) {
	if !j.clock.advance(wm) {
		return nil
	}
	defer recoverInto(j.Ctx, &err)
	size := j.Windows.Size
	for {
		s := j.starts.Next()
		if s == MaxWatermark || s+size-1 > wm {
			break
		}
		j.starts.PopDue(s)
		if err := j.fire(s, s+size-1); err != nil {
			return attribute(j.Ctx, err)
		}
	}
	return attribute(j.Ctx, forwardWatermark(&j.out, j.Sides, wm))
}

// fire emits the pairs of every window starting at s and drops them.
func (j *WindowJoin[K, L, R, OUT]) fire(s, maxTs int64) error {
	list := j.byStart[s]
	for _, w := range list {
		left, right := w.left, w.right
		e := w.cached
		if j.st != nil && e == nil {
			var err error
			if e, err = j.st.load(winKey[K]{key: w.key, start: s}); err != nil {
				return err
			}
		}
		if e != nil {
			left, right = e.Value.left, e.Value.right
		}
		if len(right) > 0 {
			for _, l := range left {
				for _, r := range right {
					j.out.emit(j.Fn(l, r), maxTs)
				}
			}
		}
		j.buffered -= len(left) + len(right)
		if e != nil {
			if err := j.st.drop(e); err != nil {
				return err
			}
		}
		delete(j.index, winKey[K]{key: w.key, start: s})
		j.recycle(w)
	}
	delete(j.byStart, s)
	if len(j.freeLists) < 64 {
		clear(list)
		j.freeLists = append(j.freeLists, list[:0])
	}
	return nil
}

// recycle keeps a fired window's buffers for reuse, unless they grew
// large.
func (j *WindowJoin[K, L, R, OUT]) recycle(w *joinWindow[K, L, R]) {
	const maxKept, maxCap = 1024, 256
	if len(j.free) >= maxKept || cap(w.left) > maxCap || cap(w.right) > maxCap {
		return
	}
	clear(w.left)
	clear(w.right)
	var zero K
	w.key, w.rank, w.left, w.right, w.cached = zero, 0, w.left[:0], w.right[:0], nil
	j.free = append(j.free, w)
}

// Close implements Operator: it logs how many late records were dropped.
func (j *WindowJoin[K, L, R, OUT]) Close() error {
	if j.late > 0 && j.Ctx != nil && j.Ctx.Logger != nil {
		j.Ctx.Logger.Info("window join dropped late records", "records", j.late)
	}
	return nil
}

// Buffered returns the number of records held in open windows (a record
// of sliding windows counts once per window).
func (j *WindowJoin[K, L, R, OUT]) Buffered() int { return j.buffered }

// OpenWindows returns the number of (key, window) pairs held.
func (j *WindowJoin[K, L, R, OUT]) OpenWindows() int { return len(j.index) }

// LateDropped returns the number of records dropped because all their
// windows had fired.
func (j *WindowJoin[K, L, R, OUT]) LateDropped() int64 { return j.late }

// timed is a buffered record with its timestamp.
type timed[T any] struct {
	ts int64
	v  T
}

// joinBuffer is one side of an interval join: its records per key, sorted
// by time, and the cleanup timers that drop them. With the Pebble backend
// the records are in the store (st, see join_store.go) and memory keeps
// their number per key (counts); byKey stays empty.
type joinBuffer[K comparable, T any] struct {
	byKey  map[K][]timed[T]
	st     *joinCache[K, []timed[T]]
	counts map[K]int
	timers *TimerQueue[K]
	// bound is how far past a record's time the other side may still
	// match it: a record at ts is dropped once the watermark passes
	// ts+bound.
	bound int64
	// free keeps the emptied buffers of keys for reuse.
	free [][]timed[T]
	n    int
	late int64
}

func newJoinBuffer[K comparable, T any](bound int64) joinBuffer[K, T] {
	return joinBuffer[K, T]{byKey: make(map[K][]timed[T]), timers: NewTimerQueue[K](), bound: bound}
}

// match returns the records of key k with times in [from, to], in time
// order (arrival order for equal times). With the store the slice is valid
// until the cache is trimmed.
func (b *joinBuffer[K, T]) match(k K, from, to int64) ([]timed[T], error) {
	if b.st == nil {
		return within(b.byKey[k], from, to), nil
	}
	if b.counts[k] == 0 {
		return nil, nil
	}
	e, err := b.st.load(k)
	if err != nil {
		return nil, err
	}
	return within(e.Value, from, to), nil
}

// within returns the records of s, sorted by time, with times in [from,
// to].
func within[T any](s []timed[T], from, to int64) []timed[T] {
	i, _ := slices.BinarySearchFunc(s, from, func(e timed[T], t int64) int {
		if e.ts < t {
			return -1
		}
		return 1 // never equal: find the first at or after from
	})
	j := i
	for j < len(s) && s[j].ts <= to {
		j++
	}
	return s[i:j]
}

// add buffers v of key k at ts unless the watermark wm has passed
// ts+bound already.
func (b *joinBuffer[K, T]) add(k K, v T, ts, wm int64) error {
	cleanup := ts + b.bound + 1
	if cleanup <= wm {
		return nil
	}
	e := timed[T]{ts: ts, v: v}
	if b.st != nil {
		var ce *joinEntry[K, []timed[T]]
		if b.counts[k] > 0 {
			var err error
			if ce, err = b.st.load(k); err != nil {
				return err
			}
		} else {
			ce = b.st.add(k)
		}
		ce.Value = insertTimed(ce.Value, e)
		b.st.changed(ce)
		b.counts[k]++
	} else {
		s, ok := b.byKey[k]
		if !ok {
			if n := len(b.free); n > 0 {
				s, b.free = b.free[n-1], b.free[:n-1]
			}
		}
		b.byKey[k] = insertTimed(s, e)
	}
	b.timers.Register(k, cleanup)
	b.n++
	return nil
}

// insertTimed inserts e into s, sorted by time, after the records of equal
// time.
func insertTimed[T any](s []timed[T], e timed[T]) []timed[T] {
	if n := len(s); n == 0 || s[n-1].ts <= e.ts {
		return append(s, e)
	}
	i, _ := slices.BinarySearchFunc(s, e.ts, func(x timed[T], t int64) int {
		if x.ts <= t {
			return -1
		}
		return 1 // after records of equal time
	})
	return slices.Insert(s, i, e)
}

// expire drops the records whose cleanup time is at or before wm.
func (b *joinBuffer[K, T]) expire(wm int64) error {
	if wm == MaxWatermark {
		// Event time has ended: nothing can match any more.
		if b.st != nil {
			for k := range b.counts {
				if err := b.st.dropKey(k); err != nil {
					return err
				}
			}
			clear(b.counts)
		}
		clear(b.byKey)
		b.timers = NewTimerQueue[K]()
		b.n = 0
		return nil
	}
	for {
		tm, ok := b.timers.PopDue(wm)
		if !ok {
			return nil
		}
		if b.st != nil {
			if err := b.expireStored(tm); err != nil {
				return err
			}
			continue
		}
		// The records of the key due at tm.Time are a prefix, as they
		// are sorted by time.
		s := b.byKey[tm.Key]
		n := 0
		for n < len(s) && s[n].ts+b.bound < tm.Time {
			n++
		}
		b.n -= n
		switch {
		case n == 0:
		case n == len(s):
			delete(b.byKey, tm.Key)
			const maxKept, maxCap = 1024, 256
			if len(b.free) < maxKept && cap(s) <= maxCap {
				clear(s)
				b.free = append(b.free, s[:0])
			}
		default:
			rest := copy(s, s[n:])
			clear(s[rest:])
			b.byKey[tm.Key] = s[:rest]
		}
	}
}

// IntervalJoin joins two keyed streams on event time, as Flink's interval
// join: it emits Fn(l, r) for every left record l and right record r of
// equal keys with r.ts in [l.ts+Lower, l.ts+Upper] (milliseconds, both
// bounds inclusive), with timestamp max(l.ts, r.ts).
//
// Pairs are emitted when their second record arrives, matched against the
// other side's buffer of that key in timestamp order (arrival order for
// equal timestamps). Each side's records are buffered per key only while
// they may still meet a record of the other side: a left record until the
// watermark passes l.ts+Upper, a right record until it passes r.ts-Lower;
// cleanup timers per key and time remove them as the watermark advances,
// so state stays bounded by the interval. As in Flink, a record with a
// timestamp below the watermark is late: it is dropped and counted
// (LateDropped). This makes the result exactly the pairs of the records
// that are not late, however the input interleaves.
//
// IntervalJoin is Checkpointed: its state is the buffered records of every
// key with their cleanup timers, and its event time (see SnapshotState).
// With the Pebble state backend (TaskContext.Store) the records are in the
// store, behind a bounded write-back cache (join_store.go).
type IntervalJoin[K comparable, L, R, OUT any] struct {
	Base
	KeyLeft  Key[K, L]
	KeyRight Key[K, R]
	// Lower and Upper bound r.ts-l.ts, in milliseconds; Lower <= Upper.
	Lower, Upper int64
	Fn           func(L, R) OUT
	Out          Input[OUT]
	// Sides only pass watermarks on; the join emits nothing to them.
	Sides *SideOutputs
	// KeyCodec, LeftCodec and RightCodec encode the state in checkpoints;
	// the zero StateCodec stands for the type's default codec.
	KeyCodec   StateCodec[K]
	LeftCodec  StateCodec[L]
	RightCodec StateCodec[R]
	codecs     joinCodecs[K, L, R]

	out   emitter[OUT]
	clock gateClock
	left  joinBuffer[K, L]
	right joinBuffer[K, R]
}

// Open implements Operator.
func (j *IntervalJoin[K, L, R, OUT]) Open(ctx *TaskContext) error {
	j.Ctx = ctx
	if j.Lower > j.Upper {
		return attribute(ctx, fmt.Errorf("interval join: lower bound %dms above upper bound %dms", j.Lower, j.Upper))
	}
	j.out = emitter[OUT]{out: j.Out}
	j.clock = newGateClock()
	// A left record may meet right records up to l.ts+Upper, a right
	// record left records up to r.ts-Lower.
	j.left = newJoinBuffer[K, L](j.Upper)
	j.right = newJoinBuffer[K, R](-j.Lower)
	if ctx != nil && ctx.Store != nil {
		if err := j.openStore(ctx.Store); err != nil {
			return attribute(ctx, fmt.Errorf("interval join: state in the Pebble store: %w", err))
		}
	}
	return nil
}

// Input1 returns the input of the left side (gate 0).
func (j *IntervalJoin[K, L, R, OUT]) Input1() Input[L] {
	return gateInput[L]{batch: j.processLeft, watermark: func(wm int64) error { return j.ProcessWatermark(j.clock.onGate(0, wm)) }}
}

// Input2 returns the input of the right side (gate 1).
func (j *IntervalJoin[K, L, R, OUT]) Input2() Input[R] {
	return gateInput[R]{batch: j.processRight, watermark: func(wm int64) error { return j.ProcessWatermark(j.clock.onGate(1, wm)) }}
}

func (j *IntervalJoin[K, L, R, OUT]) processLeft(b *Batch[L]) (err error) {
	defer recoverInto(j.Ctx, &err)
	wm := j.clock.current
	for i, v := range b.Values {
		ts := b.Times[i]
		if ts == NoTimestamp {
			return attribute(j.Ctx, fmt.Errorf("interval join: left %w", errNoTimestamp))
		}
		if ts < wm {
			j.left.late++
			continue
		}
		k := j.KeyLeft.Selector(v)
		rs, err := j.right.match(k, ts+j.Lower, ts+j.Upper)
		if err != nil {
			return attribute(j.Ctx, err)
		}
		for _, r := range rs {
			j.out.emit(j.Fn(v, r.v), max(ts, r.ts))
		}
		if err := j.left.add(k, v, ts, wm); err != nil {
			return attribute(j.Ctx, err)
		}
		if err := j.trim(); err != nil {
			return attribute(j.Ctx, err)
		}
	}
	return attribute(j.Ctx, j.out.flush())
}

func (j *IntervalJoin[K, L, R, OUT]) processRight(b *Batch[R]) (err error) {
	defer recoverInto(j.Ctx, &err)
	wm := j.clock.current
	for i, v := range b.Values {
		ts := b.Times[i]
		if ts == NoTimestamp {
			return attribute(j.Ctx, fmt.Errorf("interval join: right %w", errNoTimestamp))
		}
		if ts < wm {
			j.right.late++
			continue
		}
		k := j.KeyRight.Selector(v)
		ls, err := j.left.match(k, ts-j.Upper, ts-j.Lower)
		if err != nil {
			return attribute(j.Ctx, err)
		}
		for _, l := range ls {
			j.out.emit(j.Fn(l.v, v), max(ts, l.ts))
		}
		if err := j.right.add(k, v, ts, wm); err != nil {
			return attribute(j.Ctx, err)
		}
		if err := j.trim(); err != nil {
			return attribute(j.Ctx, err)
		}
	}
	return attribute(j.Ctx, j.out.flush())
}

// ProcessWatermark implements Operator: the buffered records that can no
// longer meet a record of the other side are dropped, then wm goes on.
func (j *IntervalJoin[K, L, R, OUT]) ProcessWatermark(wm int64) (err error) {
	if !j.clock.advance(wm) {
		return nil
	}
	defer recoverInto(j.Ctx, &err)
	if err := j.left.expire(wm); err != nil {
		return attribute(j.Ctx, err)
	}
	if err := j.right.expire(wm); err != nil {
		return attribute(j.Ctx, err)
	}
	return attribute(j.Ctx, forwardWatermark(&j.out, j.Sides, wm))
}

// Close implements Operator: it logs how many late records were dropped.
func (j *IntervalJoin[K, L, R, OUT]) Close() error {
	if l, r := j.left.late, j.right.late; l+r > 0 && j.Ctx != nil && j.Ctx.Logger != nil {
		j.Ctx.Logger.Info("interval join dropped late records", "left", l, "right", r)
	}
	return nil
}

// Buffered returns the number of records held in both buffers.
func (j *IntervalJoin[K, L, R, OUT]) Buffered() int { return j.left.n + j.right.n }

// BufferedKeys returns the number of keys with records held, per side.
func (j *IntervalJoin[K, L, R, OUT]) BufferedKeys() (left, right int) {
	return j.left.keys(), j.right.keys()
}

// PendingTimers returns the number of cleanup timers registered.
func (j *IntervalJoin[K, L, R, OUT]) PendingTimers() int {
	return j.left.timers.Len() + j.right.timers.Len()
}

// LateDropped returns the number of late records dropped from each side.
func (j *IntervalJoin[K, L, R, OUT]) LateDropped() (left, right int64) {
	return j.left.late, j.right.late
}
