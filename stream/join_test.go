package stream

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/internal/testutil"
	"github.com/stromhq/strom/operators"
)

// joined is what the end-to-end joins emit: the ids of both records.
type joined struct{ L, R int64 }

func eventKey(e event) int64 { return e.Key }

func joinIDs(l, r event) joined { return joined{l.ID, r.ID} }

// runJoin runs a join of left and right at parallelism p and returns what
// it emitted.
func runJoin(t *testing.T, p int, left, right []timedValue[event], join func(a, b *DataStream[event]) *DataStream[joined]) []timedValue[joined] {
	t.Helper()
	env := testEnv(p)
	var out stampedSink[joined]
	a := withLagWatermarks(fromTimed(env, "left", left), "left-watermarks", lag)
	b := withLagWatermarks(fromTimed(env, "right", right), "right-watermarks", lag)
	SinkTo(join(a, b), "out", out.newSink).SetParallelism(1)
	execute(t, env)
	return sorted(out.values())
}

// windowJoinReference joins by brute force: every pair of one key in one
// window, stamped with the window's last millisecond.
func windowJoinReference(left, right []timedValue[event], w JoinWindows) []timedValue[joined] {
	slide := w.Slide
	if slide == 0 {
		slide = w.Size
	}
	starts := func(ts int64) []int64 {
		var s []int64
		for start := ts - w.Size - slide; start <= ts; start++ {
			if ((start-w.Offset)%slide+slide)%slide == 0 && ts < start+w.Size {
				s = append(s, start)
			}
		}
		return s
	}
	var want []timedValue[joined]
	for _, l := range left {
		for _, r := range right {
			if l.V.Key != r.V.Key {
				continue
			}
			for _, s := range starts(l.TS) {
				if slices.Contains(starts(r.TS), s) {
					want = append(want, timedValue[joined]{joined{l.V.ID, r.V.ID}, s + w.Size - 1})
				}
			}
		}
	}
	return sorted(want)
}

func TestWindowJoinEndToEnd(t *testing.T) {
	left, right := events(1500, 50, 7), events(1200, 50, 8)
	cases := []struct {
		name string
		win  JoinWindows
	}{
		{"tumbling", TumblingJoinWindows(100 * time.Millisecond)},
		{"sliding", SlidingJoinWindows(100*time.Millisecond, 30*time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := windowJoinReference(left, right, tc.win)
			if len(want) == 0 {
				t.Fatal("test input joins nothing")
			}
			var results [][]timedValue[joined]
			for _, p := range []int{1, 2} {
				got := runJoin(t, p, left, right, func(a, b *DataStream[event]) *DataStream[joined] {
					return JoinWindow(a, b, "window-join", eventKey, eventKey, tc.win, joinIDs)
				})
				if !slices.Equal(got, want) {
					t.Fatalf("p=%d: %d pairs, want %d", p, len(got), len(want))
				}
				results = append(results, got)
			}
			if !slices.Equal(results[0], results[1]) {
				t.Fatal("parallelism 1 and 2 disagree")
			}
		})
	}
}

func TestIntervalJoinEndToEnd(t *testing.T) {
	left, right := events(1500, 50, 9), events(1200, 50, 10)
	bounds := []struct{ lower, upper time.Duration }{
		{-20 * time.Millisecond, 30 * time.Millisecond},
		{-60 * time.Millisecond, -10 * time.Millisecond},
		{0, 0},
	}
	for _, bd := range bounds {
		t.Run(bd.lower.String()+","+bd.upper.String(), func(t *testing.T) {
			lo, hi := bd.lower.Milliseconds(), bd.upper.Milliseconds()
			var want []timedValue[joined]
			for _, l := range left {
				for _, r := range right {
					if l.V.Key == r.V.Key && r.TS >= l.TS+lo && r.TS <= l.TS+hi {
						want = append(want, timedValue[joined]{joined{l.V.ID, r.V.ID}, max(l.TS, r.TS)})
					}
				}
			}
			want = sorted(want)
			if len(want) == 0 {
				t.Fatal("test input joins nothing")
			}
			for _, p := range []int{1, 2} {
				got := runJoin(t, p, left, right, func(a, b *DataStream[event]) *DataStream[joined] {
					return IntervalJoin(a, b, "interval-join", eventKey, eventKey, bd.lower, bd.upper, joinIDs)
				})
				if !slices.Equal(got, want) {
					t.Fatalf("p=%d: %d pairs, want %d", p, len(got), len(want))
				}
			}
		})
	}
}

func TestJoinBuildErrors(t *testing.T) {
	cases := []struct {
		name string
		join func(a, b *DataStream[event]) *DataStream[joined]
		want string
	}{
		{"window size", func(a, b *DataStream[event]) *DataStream[joined] {
			return JoinWindow(a, b, "wj", eventKey, eventKey, TumblingJoinWindows(0), joinIDs)
		}, `window join "wj": join windows: size 0ms must be positive`},
		{"interval bounds", func(a, b *DataStream[event]) *DataStream[joined] {
			return IntervalJoin(a, b, "ij", eventKey, eventKey, time.Second, 0, joinIDs)
		}, `interval join "ij": lower bound 1s above upper bound 0s`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(1)
			a, b := fromTimed(env, "a", events(1, 1, 1)), fromTimed(env, "b", events(1, 1, 2))
			SinkTo(tc.join(a, b), "drop", func() operators.Sink[joined] { return testutil.NullSink[joined]{} })
			err := env.Execute(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestJoinFailsOnRecordsWithoutTimestamps(t *testing.T) {
	env := testEnv(1)
	a := Map(fromTimed(env, "a", events(10, 1, 1)), "strip", func(e event) event { return e })
	plain := FromSource(env, "plain", func() operators.Source[event] {
		return &sliceSource[event]{all: []timedValue[event]{{event{}, operators.NoTimestamp}}}
	}, true)
	j := IntervalJoin(a, plain, "ij", eventKey, eventKey, 0, time.Second, joinIDs)
	SinkTo(j, "drop", func() operators.Sink[joined] { return testutil.NullSink[joined]{} })
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), `operator "ij"`) || !strings.Contains(err.Error(), "right record has no event timestamp") {
		t.Fatalf("got %v", err)
	}
}
