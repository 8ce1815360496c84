package window

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestAssigners(t *testing.T) {
	cases := []struct {
		name     string
		a        Assigner
		ts, now  int64
		want     []Window
		evtTime  bool
		validErr string
	}{
		{name: "tumbling", a: TumblingEventTime(10 * ms), ts: 15, want: []Window{{10, 20}}, evtTime: true},
		{name: "tumbling start", a: TumblingEventTime(10 * ms), ts: 20, want: []Window{{20, 30}}, evtTime: true},
		{name: "tumbling negative", a: TumblingEventTime(10 * ms), ts: -1, want: []Window{{-10, 0}}, evtTime: true},
		{name: "tumbling offset", a: TumblingEventTime(10 * ms).WithOffset(3 * ms), ts: 2, want: []Window{{-7, 3}}, evtTime: true},
		{name: "tumbling negative offset", a: TumblingEventTime(10 * ms).WithOffset(-3 * ms), ts: 7, want: []Window{{7, 17}}, evtTime: true},
		{name: "tumbling day in UTC+8", a: TumblingEventTime(24 * time.Hour).WithOffset(-8 * time.Hour), ts: 0, want: []Window{{-8 * 3600_000, 16 * 3600_000}}, evtTime: true},
		{name: "tumbling processing", a: TumblingProcessingTime(10 * ms), ts: 99, now: 41, want: []Window{{40, 50}}},
		{name: "sliding", a: SlidingEventTime(10*ms, 5*ms), ts: 7, want: []Window{{5, 15}, {0, 10}}, evtTime: true},
		{name: "sliding uneven", a: SlidingEventTime(10*ms, 4*ms), ts: 9, want: []Window{{8, 18}, {4, 14}, {0, 10}}, evtTime: true},
		{name: "sliding offset", a: SlidingEventTime(10*ms, 5*ms).WithOffset(2 * ms), ts: 1, want: []Window{{-3, 7}, {-8, 2}}, evtTime: true},
		{name: "sliding gaps", a: SlidingEventTime(3*ms, 10*ms), ts: 5, want: nil, evtTime: true},
		{name: "sliding processing", a: SlidingProcessingTime(10*ms, 5*ms), now: 5, want: []Window{{5, 15}, {0, 10}}},
		{name: "session", a: EventTimeSession(5 * ms), ts: 3, want: []Window{{3, 8}}, evtTime: true},
		{name: "session processing", a: ProcessingTimeSession(5 * ms), ts: 3, now: 100, want: []Window{{100, 105}}},
		{name: "global", a: GlobalWindows(), ts: 3, want: []Window{GlobalWindow}},
		{name: "bad size", a: TumblingEventTime(0), validErr: "size 0ms"},
		{name: "bad offset", a: TumblingEventTime(10 * ms).WithOffset(10 * ms), validErr: "offset 10ms"},
		{name: "bad slide", a: SlidingEventTime(10*ms, 0), validErr: "slide 0ms"},
		{name: "bad sliding offset", a: SlidingEventTime(10*ms, 5*ms).WithOffset(-5 * ms), validErr: "offset -5ms"},
		{name: "sub-millisecond", a: SlidingEventTime(time.Microsecond, time.Microsecond), validErr: "size 0ms"},
		{name: "bad gap", a: EventTimeSession(-ms), validErr: "gap -1ms"},
	}
	for _, c := range cases {
		err := validate(c.a)
		if c.validErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.validErr) {
				t.Errorf("%s: validation error %v, want %q", c.name, err, c.validErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := c.a.AssignWindows(c.ts, c.now, nil)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: windows %v, want %v", c.name, got, c.want)
		}
		if c.a.IsEventTime() != c.evtTime {
			t.Errorf("%s: IsEventTime %v", c.name, c.a.IsEventTime())
		}
	}
}

func TestDefaultTriggers(t *testing.T) {
	for _, c := range []struct {
		a    Assigner
		want Trigger
	}{
		{TumblingEventTime(ms), EventTimeTrigger()},
		{SlidingProcessingTime(2*ms, ms), ProcessingTimeTrigger()},
		{EventTimeSession(ms), EventTimeTrigger()},
		{GlobalWindows(), NeverTrigger()},
	} {
		if got := c.a.DefaultTrigger(); got != c.want {
			t.Errorf("%v: default trigger %v, want %v", c.a, got, c.want)
		}
	}
}

func TestWindowMethods(t *testing.T) {
	w := Window{0, 10}
	if w.MaxTimestamp() != 9 || GlobalWindow.MaxTimestamp() != math.MaxInt64 {
		t.Fatal("max timestamp")
	}
	if !w.Intersects(Window{10, 20}) || w.Intersects(Window{11, 20}) || !w.Intersects(Window{-5, 0}) {
		t.Fatal("intersects: windows that touch merge, as in Flink")
	}
	if w.Cover(Window{5, 30}) != (Window{0, 30}) {
		t.Fatal("cover")
	}
	if w.String() != "[0,10)" || GlobalWindow.String() != "global" {
		t.Fatal("string")
	}
	if StartOf(-1, 0, 10) != -10 || StartOf(9, 0, 10) != 0 || StartOf(3, 3, 10) != 3 || StartOf(2, 3, 10) != -7 {
		t.Fatal("start of")
	}
	if addSat(math.MaxInt64-1, 5) != math.MaxInt64 || addSat(math.MinInt64+1, -5) != math.MinInt64 {
		t.Fatal("saturating add")
	}
}

func TestMergeOverlapping(t *testing.T) {
	var got []string
	MergeOverlapping([]Window{{20, 25}, {1, 6}, {30, 35}, {4, 9}, {9, 12}, {24, 26}}, func(group []Window, result Window) {
		var s []string
		for _, w := range group {
			s = append(s, w.String())
		}
		got = append(got, strings.Join(s, "+")+"="+result.String())
	})
	want := []string{"[1,6)+[4,9)+[9,12)=[1,12)", "[20,25)+[24,26)=[20,26)"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestMergingSet checks Flink's MergingWindowSet rules: the state window
// of a merge is that of the first merged window, the new window has no
// state to merge, and a window inside a live one changes nothing.
func TestMergingSet(t *testing.T) {
	type call struct {
		result, stateResult Window
		merged, mergedState []Window
	}
	var calls []call
	rec := func(result Window, merged []Window, stateResult Window, mergedState []Window) error {
		calls = append(calls, call{result, stateResult, slices.Clone(merged), slices.Clone(mergedState)})
		return nil
	}
	var s mergingSet
	a := EventTimeSession(5 * ms)
	add := func(w Window) Window {
		t.Helper()
		got, err := s.add(a, w, rec)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := add(Window{1, 6}); got != (Window{1, 6}) || len(calls) != 0 {
		t.Fatalf("new window: %v %v", got, calls)
	}
	if got := add(Window{20, 25}); got != (Window{20, 25}) || len(calls) != 0 {
		t.Fatalf("second window: %v %v", got, calls)
	}
	// Inside [1,6): nothing merges.
	if got := add(Window{2, 5}); got != (Window{1, 6}) || len(calls) != 0 {
		t.Fatalf("window inside: %v %v", got, calls)
	}
	// Extends [1,6) to [1,8): state stays in [1,6).
	if got := add(Window{3, 8}); got != (Window{1, 8}) {
		t.Fatalf("extend: %v", got)
	}
	if c := calls[0]; c.result != (Window{1, 8}) || c.stateResult != (Window{1, 6}) || !slices.Equal(c.merged, []Window{{1, 6}}) || len(c.mergedState) != 0 {
		t.Fatalf("extend call %+v", c)
	}
	// Bridges [1,8) and [20,25).
	if got := add(Window{8, 20}); got != (Window{1, 25}) {
		t.Fatalf("bridge: %v", got)
	}
	if c := calls[1]; c.stateResult != (Window{1, 6}) || !slices.Equal(c.merged, []Window{{1, 8}, {20, 25}}) || !slices.Equal(c.mergedState, []Window{{20, 25}}) {
		t.Fatalf("bridge call %+v", c)
	}
	if sw, ok := s.stateWindow(Window{1, 25}); !ok || sw != (Window{1, 6}) || s.len() != 1 {
		t.Fatalf("state window %v %v, %d live", sw, ok, s.len())
	}
	if _, ok := s.retire(Window{1, 25}); !ok || s.len() != 0 {
		t.Fatal("retire")
	}
}

func TestTriggerResults(t *testing.T) {
	for r, want := range map[TriggerResult][2]bool{Continue: {false, false}, Fire: {true, false}, Purge: {false, true}, FireAndPurge: {true, true}} {
		if r.IsFire() != want[0] || r.IsPurge() != want[1] {
			t.Errorf("%v: fire %v purge %v", r, r.IsFire(), r.IsPurge())
		}
	}
}
