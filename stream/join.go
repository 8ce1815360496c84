package stream

import (
	"time"

	"github.com/stromhq/strom/operators"
)

// This file holds the keyed event-time joins of two streams. Both
// partition each input by its key, so that records of equal keys meet in
// one subtask, and both need event time: records with timestamps and
// watermarks.

// JoinWindows are the event-time windows of a window join.
type JoinWindows = operators.JoinWindows

// TumblingJoinWindows returns tumbling event-time windows of the given
// size (whole milliseconds).
func TumblingJoinWindows(size time.Duration) JoinWindows {
	return operators.TumblingJoinWindows(size)
}

// SlidingJoinWindows returns event-time windows of the given size starting
// every slide (whole milliseconds).
func SlidingJoinWindows(size, slide time.Duration) JoinWindows {
	return operators.SlidingJoinWindows(size, slide)
}

// JoinWindow joins a and b on equal keys within event-time windows, as
// Flink's DataStream join: when the watermark reaches a window's last
// millisecond it emits fn(l, r) for every pair of left and right records
// of one key in that window, stamped with that last millisecond. A record
// arriving after all its windows fired is dropped. fn is shared by the
// subtasks. Checkpoints hold the buffered records, encoded with the codecs
// of K, L and R; a type without a codec fails checkpoints, not the job.
func JoinWindow[K comparable, L, R, OUT any](a *DataStream[L], b *DataStream[R], name string, keyA func(L) K, keyB func(R) K, windows JoinWindows, fn func(L, R) OUT) *DataStream[OUT] {
	if err := windows.Validate(); err != nil {
		a.env.errorf("window join %q: %w", name, err)
	}
	if a.env != b.env {
		a.env.errorf("window join %q of streams from different environments", name)
	}
	ka, kb := KeyBy(a, keyA), KeyBy(b, keyB)
	kc, lc, rc := operators.CodecFor[K](), operators.CodecFor[L](), operators.CodecFor[R]()
	return addVertex[OUT](a.env, twoInput[L, R, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[L, R] {
		return &operators.WindowJoin[K, L, R, OUT]{
			KeyLeft: operators.Key[K, L]{Selector: keyA}, KeyRight: operators.Key[K, R]{Selector: keyB},
			Windows: windows, Fn: fn, Out: o, Sides: sides,
			KeyCodec: kc, LeftCodec: lc, RightCodec: rc,
		}
	}), ka.stream.input(), kb.stream.input())
}

// IntervalJoin joins a and b on equal keys and event time, as Flink's
// interval join: it emits fn(l, r) for every left record l and right
// record r with r's timestamp in [l.ts+lower, l.ts+upper] (inclusive),
// stamped max(l.ts, r.ts). Records are buffered only while the watermark
// allows a match; a record with a timestamp below the watermark is late,
// dropped and counted. fn is shared by the subtasks. Checkpoints hold the
// buffered records, encoded with the codecs of K, L and R.
func IntervalJoin[K comparable, L, R, OUT any](a *DataStream[L], b *DataStream[R], name string, keyA func(L) K, keyB func(R) K, lower, upper time.Duration, fn func(L, R) OUT) *DataStream[OUT] {
	lo, hi := lower.Milliseconds(), upper.Milliseconds()
	if lo > hi {
		a.env.errorf("interval join %q: lower bound %v above upper bound %v", name, lower, upper)
	}
	if a.env != b.env {
		a.env.errorf("interval join %q of streams from different environments", name)
	}
	ka, kb := KeyBy(a, keyA), KeyBy(b, keyB)
	kc, lc, rc := operators.CodecFor[K](), operators.CodecFor[L](), operators.CodecFor[R]()
	return addVertex[OUT](a.env, twoInput[L, R, OUT](name, func(o operators.Input[OUT], sides *operators.SideOutputs) operators.TwoInputOperator[L, R] {
		return &operators.IntervalJoin[K, L, R, OUT]{
			KeyLeft: operators.Key[K, L]{Selector: keyA}, KeyRight: operators.Key[K, R]{Selector: keyB},
			Lower: lo, Upper: hi, Fn: fn, Out: o, Sides: sides,
			KeyCodec: kc, LeftCodec: lc, RightCodec: rc,
		}
	}), ka.stream.input(), kb.stream.input())
}
