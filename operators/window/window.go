package window

import (
	"fmt"
	"math"
	"time"
)

// Window is the time window [Start, End) in milliseconds. Records with
// timestamps Start <= ts < End belong to it; its results carry the
// timestamp MaxTimestamp, End-1.
type Window struct {
	Start, End int64
}

// GlobalWindow is the one window of GlobalWindows. It spans all time and
// its MaxTimestamp is math.MaxInt64, so it never ends before the input
// does.
var GlobalWindow = Window{Start: math.MinInt64, End: math.MaxInt64}

// MaxTimestamp returns the largest timestamp in w, End-1; for a window
// that ends at math.MaxInt64 (GlobalWindow) it is math.MaxInt64.
func (w Window) MaxTimestamp() int64 {
	if w.End == math.MaxInt64 {
		return math.MaxInt64
	}
	return w.End - 1
}

// Intersects reports whether w and o overlap or touch, as Flink's
// TimeWindow.intersects: session windows that touch are merged.
func (w Window) Intersects(o Window) bool { return w.Start <= o.End && w.End >= o.Start }

// Cover returns the smallest window that contains both w and o.
func (w Window) Cover(o Window) Window {
	return Window{Start: min(w.Start, o.Start), End: max(w.End, o.End)}
}

// String formats w as [Start,End).
func (w Window) String() string {
	if w == GlobalWindow {
		return "global"
	}
	return fmt.Sprintf("[%d,%d)", w.Start, w.End)
}

// StartOf returns the start of the window of length size, aligned to
// offset, that contains ts: the largest start <= ts with
// start ≡ offset (mod size).
func StartOf(ts, offset, size int64) int64 {
	return ts - floorMod(ts-offset, size)
}

// floorMod is the remainder of a/b with the sign of b (b > 0).
func floorMod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// addSat adds two times, saturating at math.MaxInt64 and math.MinInt64.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// millis converts a duration to whole milliseconds.
func millis(d time.Duration) int64 { return d.Milliseconds() }
