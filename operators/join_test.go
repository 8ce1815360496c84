package operators

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot/pebblestate"
)

// jrec is a test record of a join: an id and a key.
type jrec struct {
	ID  int
	Key int
}

// jpair is what the test joins emit: the ids of the left and right record.
type jpair struct{ L, R int }

func pairOf(l, r jrec) jpair { return jpair{l.ID, r.ID} }

func recKey() Key[int, jrec] { return Key[int, jrec]{Selector: func(r jrec) int { return r.Key }} }

func newWindowJoin(w JoinWindows, out Input[jpair]) *WindowJoin[int, jrec, jrec, jpair] {
	return &WindowJoin[int, jrec, jrec, jpair]{KeyLeft: recKey(), KeyRight: recKey(), Windows: w, Fn: pairOf, Out: out}
}

func newIntervalJoin(lower, upper int64, out Input[jpair]) *IntervalJoin[int, jrec, jrec, jpair] {
	return &IntervalJoin[int, jrec, jrec, jpair]{KeyLeft: recKey(), KeyRight: recKey(), Lower: lower, Upper: upper, Fn: pairOf, Out: out}
}

// joinStep is one step of a join test: a record of one side or a
// watermark.
type joinStep struct {
	right bool
	wm    bool
	ts    int64
	r     jrec
}

func lrec(id, key int, ts int64) joinStep { return joinStep{r: jrec{id, key}, ts: ts} }
func rrec(id, key int, ts int64) joinStep { return joinStep{right: true, r: jrec{id, key}, ts: ts} }
func wmark(ts int64) joinStep             { return joinStep{wm: true, ts: ts} }

// feed drives a two-input operator through steps, one record per batch.
func feed(t *testing.T, op TwoInputOperator[jrec, jrec], steps []joinStep) {
	t.Helper()
	in1, in2 := op.Input1(), op.Input2()
	for i, s := range steps {
		var err error
		switch {
		case s.wm:
			err = op.ProcessWatermark(s.ts)
		case s.right:
			err = in2.ProcessBatch(&Batch[jrec]{Values: []jrec{s.r}, Times: []int64{s.ts}})
		default:
			err = in1.ProcessBatch(&Batch[jrec]{Values: []jrec{s.r}, Times: []int64{s.ts}})
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func TestWindowJoinTable(t *testing.T) {
	cases := []struct {
		name  string
		win   JoinWindows
		steps []joinStep
		want  []tsRecord[jpair]
		late  int64
	}{
		{
			name: "tumbling fires at end-1, left-major",
			win:  JoinWindows{Size: 10},
			steps: []joinStep{
				lrec(1, 0, 0), rrec(2, 0, 9), lrec(3, 0, 5), rrec(4, 0, 10), rrec(5, 1, 3), lrec(6, 1, 4), lrec(7, 2, 1),
				wmark(8), wmark(9), wmark(19),
			},
			want: []tsRecord[jpair]{{jpair{1, 2}, 9}, {jpair{3, 2}, 9}, {jpair{6, 5}, 9}},
		},
		{
			name: "windows fire in order of end, then of creation",
			win:  JoinWindows{Size: 10},
			steps: []joinStep{
				lrec(1, 1, 15), rrec(2, 1, 12), lrec(3, 0, 3), rrec(4, 0, 4), rrec(5, 2, 5), lrec(6, 2, 6),
				wmark(30),
			},
			want: []tsRecord[jpair]{{jpair{3, 4}, 9}, {jpair{6, 5}, 9}, {jpair{1, 2}, 19}},
		},
		{
			name: "sliding windows emit a jpair per shared window",
			win:  JoinWindows{Size: 10, Slide: 5},
			steps: []joinStep{
				lrec(1, 0, 7), rrec(2, 0, 8), rrec(3, 0, 12),
				wmark(MaxWatermark),
			},
			// 7 and 8 share [0,10) and [5,15); 12 shares [5,15) with 7.
			want: []tsRecord[jpair]{{jpair{1, 2}, 9}, {jpair{1, 2}, 14}, {jpair{1, 3}, 14}},
		},
		{
			name: "late records are dropped per window and counted when all fired",
			win:  JoinWindows{Size: 10, Slide: 5},
			steps: []joinStep{
				lrec(1, 0, 7), wmark(9),
				rrec(2, 0, 8), // [0,10) has fired; [5,15) has not
				rrec(3, 0, 2), // [0,10) and [-5,5) have fired: late
				wmark(20),
			},
			want: []tsRecord[jpair]{{jpair{1, 2}, 14}},
			late: 1,
		},
		{
			name:  "offset and negative times",
			win:   JoinWindows{Size: 10, Offset: 3},
			steps: []joinStep{lrec(1, 0, -4), rrec(2, 0, 2), rrec(3, 0, 3), lrec(4, 0, -7), lrec(5, 0, -8), wmark(MaxWatermark)},
			want:  []tsRecord[jpair]{{jpair{1, 2}, 2}, {jpair{4, 2}, 2}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := &outRecorder[jpair]{}
			op := newWindowJoin(tc.win, out)
			if err := op.Open(opTask("wjoin", nil)); err != nil {
				t.Fatal(err)
			}
			feed(t, op, tc.steps)
			if !slices.Equal(out.records, tc.want) {
				t.Fatalf("got  %v\nwant %v", out.records, tc.want)
			}
			if op.LateDropped() != tc.late {
				t.Fatalf("late %d, want %d", op.LateDropped(), tc.late)
			}
		})
	}
}

func TestJoinWindowConstructors(t *testing.T) {
	cases := []struct {
		got, want JoinWindows
	}{
		{TumblingJoinWindows(time.Second), JoinWindows{Size: 1000, Slide: 1000}},
		{SlidingJoinWindows(time.Minute, 10*time.Second), JoinWindows{Size: 60_000, Slide: 10_000}},
		{TumblingJoinWindows(time.Hour).WithOffset(15 * time.Minute), JoinWindows{Size: 3_600_000, Slide: 3_600_000, Offset: 900_000}},
	}
	for _, tc := range cases {
		if tc.got != tc.want || tc.got.Validate() != nil {
			t.Errorf("got %+v, want %+v", tc.got, tc.want)
		}
	}
	if (JoinWindows{Size: 10, Slide: -1}).Validate() == nil {
		t.Error("negative slide accepted")
	}
}

// TestJoinGateWatermarks drives the joins gate by gate: event time is the
// minimum of the two gates' watermarks.
func TestJoinGateWatermarks(t *testing.T) {
	out := &outRecorder[jpair]{}
	wj := newWindowJoin(JoinWindows{Size: 10}, out)
	if err := wj.Open(opTask("wjoin", nil)); err != nil {
		t.Fatal(err)
	}
	feed(t, wj, []joinStep{lrec(1, 0, 1), rrec(2, 0, 2)})
	steps := []func() error{
		func() error { return wj.Input1().ProcessWatermark(20) },
		func() error { return wj.Input2().ProcessWatermark(5) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.records) != 0 || !slices.Equal(out.wms, []int64{5}) {
		t.Fatalf("window fired early: %v %v", out.records, out.wms)
	}
	if err := wj.Input2().ProcessWatermark(9); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.records, []tsRecord[jpair]{{jpair{1, 2}, 9}}) || !slices.Equal(out.wms, []int64{5, 9}) {
		t.Fatalf("got %v %v", out.records, out.wms)
	}

	iout := &outRecorder[jpair]{}
	ij := newIntervalJoin(0, 0, iout)
	if err := ij.Open(opTask("ijoin", nil)); err != nil {
		t.Fatal(err)
	}
	feed(t, ij, []joinStep{lrec(1, 0, 10)})
	if err := ij.Input2().ProcessWatermark(30); err != nil {
		t.Fatal(err)
	}
	if err := ij.Input1().ProcessWatermark(10); err != nil {
		t.Fatal(err)
	}
	feed(t, ij, []joinStep{rrec(2, 0, 10), rrec(3, 0, 9)})
	if l, r := ij.LateDropped(); !slices.Equal(iout.records, []tsRecord[jpair]{{jpair{1, 2}, 10}}) || l != 0 || r != 1 {
		t.Fatalf("got %v, late %d %d", iout.records, l, r)
	}
	if err := errors.Join(wj.Close(), ij.Close()); err != nil {
		t.Fatal(err)
	}
}

func TestWindowJoinRejectsBadInput(t *testing.T) {
	if err := newWindowJoin(JoinWindows{Size: 0}, &outRecorder[jpair]{}).Open(opTask("w", nil)); err == nil {
		t.Fatal("zero window size accepted")
	}
	op := newWindowJoin(JoinWindows{Size: 5}, &outRecorder[jpair]{})
	if err := op.Open(opTask("w", nil)); err != nil {
		t.Fatal(err)
	}
	err := op.Input2().ProcessBatch(&Batch[jrec]{Values: []jrec{{}}, Times: []int64{NoTimestamp}})
	var oe *OperatorError
	if err == nil || !errors.As(err, &oe) || oe.Operator != "w" {
		t.Fatalf("record without timestamp: %v", err)
	}
}

func TestIntervalJoinTable(t *testing.T) {
	cases := []struct {
		name         string
		lower, upper int64
		steps        []joinStep
		want         []tsRecord[jpair]
		lateL, lateR int64
	}{
		{
			name: "bounds are inclusive, timestamp is the later one",
			// r.ts in [l.ts-2, l.ts+3]
			lower: -2, upper: 3,
			steps: []joinStep{
				lrec(1, 0, 10), rrec(2, 0, 7), rrec(3, 0, 8), rrec(4, 0, 13), rrec(5, 0, 14), rrec(6, 1, 10),
				lrec(7, 0, 11), // meets right records in [9, 14]
			},
			want: []tsRecord[jpair]{{jpair{1, 3}, 10}, {jpair{1, 4}, 13}, {jpair{7, 4}, 13}, {jpair{7, 5}, 14}},
		},
		{
			name:  "buffer is matched in time order",
			lower: 0, upper: 10,
			steps: []joinStep{rrec(1, 0, 9), rrec(2, 0, 3), rrec(3, 0, 5), rrec(4, 0, 3), lrec(5, 0, 0)},
			want:  []tsRecord[jpair]{{jpair{5, 2}, 3}, {jpair{5, 4}, 3}, {jpair{5, 3}, 5}, {jpair{5, 1}, 9}},
		},
		{
			name:  "records below the watermark are late",
			lower: -5, upper: 5,
			steps: []joinStep{
				lrec(1, 0, 10), wmark(10),
				rrec(2, 0, 9),  // late
				rrec(3, 0, 10), // not late: meets 1
				lrec(4, 0, 9),  // late
				wmark(16),      // 1 (kept until the watermark passes 15) and 3 are gone
				rrec(5, 0, 16), lrec(6, 0, 20),
			},
			want:  []tsRecord[jpair]{{jpair{1, 3}, 10}, {jpair{6, 5}, 20}},
			lateL: 1, lateR: 1,
		},
		{
			name:  "negative interval",
			lower: -10, upper: -5,
			steps: []joinStep{rrec(1, 0, 0), lrec(2, 0, 5), lrec(3, 0, 11), wmark(6), lrec(4, 0, 8), rrec(5, 0, 6), lrec(6, 0, 12)},
			// Right 1 is kept while a left record up to 10 may come, so
			// left 4 meets it after watermark 6; left 2 is gone by then.
			want: []tsRecord[jpair]{{jpair{2, 1}, 5}, {jpair{4, 1}, 8}, {jpair{3, 5}, 11}, {jpair{6, 5}, 12}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := &outRecorder[jpair]{}
			op := newIntervalJoin(tc.lower, tc.upper, out)
			if err := op.Open(opTask("ijoin", nil)); err != nil {
				t.Fatal(err)
			}
			feed(t, op, tc.steps)
			if !slices.Equal(out.records, tc.want) {
				t.Fatalf("got  %v\nwant %v", out.records, tc.want)
			}
			if l, r := op.LateDropped(); l != tc.lateL || r != tc.lateR {
				t.Fatalf("late %d %d, want %d %d", l, r, tc.lateL, tc.lateR)
			}
		})
	}
}

func TestIntervalJoinCleansUpAsWatermarkPasses(t *testing.T) {
	out := &outRecorder[jpair]{}
	op := newIntervalJoin(-5, 10, out)
	if err := op.Open(opTask("ijoin", nil)); err != nil {
		t.Fatal(err)
	}
	const keys, n = 20, 1000
	for i := range n {
		ts := int64(i)
		steps := []joinStep{lrec(i, i%keys, ts), rrec(i, i%keys, ts)}
		if i%10 == 9 {
			steps = append(steps, wmark(ts-20))
		}
		feed(t, op, steps)
		// Only what the last 20 ms of event time plus the bounds can
		// still match is held.
		if op.Buffered() > 2*(10+20+10+5+1) || op.PendingTimers() > op.Buffered() {
			t.Fatalf("at %d: %d buffered, %d timers", i, op.Buffered(), op.PendingTimers())
		}
	}
	feed(t, op, []joinStep{wmark(n + 100)})
	if l, r := op.BufferedKeys(); op.Buffered() != 0 || op.PendingTimers() != 0 || l+r != 0 {
		t.Fatalf("after the watermark passed: %d buffered, %d timers", op.Buffered(), op.PendingTimers())
	}
}

func TestWindowJoinCleansUpAsWatermarkPasses(t *testing.T) {
	out := &outRecorder[jpair]{}
	op := newWindowJoin(JoinWindows{Size: 10, Slide: 5}, out)
	if err := op.Open(opTask("wjoin", nil)); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		steps := []joinStep{lrec(i, i%7, int64(i)), rrec(i, i%7, int64(i))}
		if i%10 == 9 {
			steps = append(steps, wmark(int64(i)))
		}
		feed(t, op, steps)
		if op.OpenWindows() > 3*7 || op.Buffered() > 2*2*20 {
			t.Fatalf("at %d: %d windows, %d buffered", i, op.OpenWindows(), op.Buffered())
		}
	}
	feed(t, op, []joinStep{wmark(1010)})
	if op.OpenWindows() != 0 || op.Buffered() != 0 || op.starts.Len() != 0 || len(op.byStart) != 0 {
		t.Fatalf("after the watermark passed: %d windows, %d buffered, %d starts", op.OpenWindows(), op.Buffered(), op.starts.Len())
	}
}

// randomJoinInput returns records of both sides, each side out of order by
// up to 30 ms, interleaved, with watermarks that sometimes overtake
// records, which are then late.
func randomJoinInput(r *rand.Rand) []joinStep {
	var left, right []joinStep
	nl, nr, keys := r.IntN(60), r.IntN(60), 1+r.IntN(4)
	for i := range nl {
		left = append(left, lrec(i, r.IntN(keys), int64(i*2-40+r.IntN(30))))
	}
	for i := range nr {
		right = append(right, rrec(100+i, r.IntN(keys), int64(i*2-40+r.IntN(30))))
	}
	var steps []joinStep
	wm, maxTs := NoTimestamp, NoTimestamp
	for len(left)+len(right) > 0 {
		var s joinStep
		if len(right) == 0 || (len(left) > 0 && r.IntN(2) == 0) {
			s, left = left[0], left[1:]
		} else {
			s, right = right[0], right[1:]
		}
		steps = append(steps, s)
		maxTs = max(maxTs, s.ts)
		if r.IntN(6) == 0 {
			if w := maxTs - int64(r.IntN(40)); w > wm {
				wm = w
				steps = append(steps, wmark(w))
			}
		}
	}
	return append(steps, wmark(MaxWatermark))
}

func sortPairs(s []tsRecord[jpair]) []tsRecord[jpair] {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b tsRecord[jpair]) int {
		return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.V.L, b.V.L), cmp.Compare(a.V.R, b.V.R))
	})
	return s
}

// TestIntervalJoinMatchesNestedLoop checks random inputs against a
// brute-force join of the records that were not late, on both state
// backends.
func TestIntervalJoinMatchesNestedLoop(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testIntervalJoinMatchesNestedLoop(t, newJoinBackend(backend)) })
	}
}

func testIntervalJoinMatchesNestedLoop(t *testing.T, backend *testBackend) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := range 500 {
		lower := int64(r.IntN(30) - 20)
		upper := lower + int64(r.IntN(30))
		steps := randomJoinInput(r)

		out := &outRecorder[jpair]{}
		op := newIntervalJoin(lower, upper, out)
		ctx := joinTask(t, backend, "ijoin")
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		var accL, accR []joinStep
		var lateL, lateR int64
		wm := NoTimestamp
		for i, s := range steps {
			feed(t, op, []joinStep{s})
			switch {
			case s.wm:
				wm = s.ts
			case s.ts < wm && s.right:
				lateR++
			case s.ts < wm:
				lateL++
			case s.right:
				accR = append(accR, s)
			default:
				accL = append(accL, s)
			}
			// The buffers hold exactly the records that may still match.
			held := 0
			if wm != MaxWatermark {
				for _, l := range accL {
					if l.ts+upper+1 > wm {
						held++
					}
				}
				for _, r := range accR {
					if r.ts-lower+1 > wm {
						held++
					}
				}
			}
			if op.Buffered() != held {
				t.Fatalf("round %d step %d: %d buffered, want %d", round, i, op.Buffered(), held)
			}
		}
		var want []tsRecord[jpair]
		for _, l := range accL {
			for _, r := range accR {
				if l.r.Key == r.r.Key && r.ts >= l.ts+lower && r.ts <= l.ts+upper {
					want = append(want, tsRecord[jpair]{jpair{l.r.ID, r.r.ID}, max(l.ts, r.ts)})
				}
			}
		}
		if got := sortPairs(out.records); !slices.Equal(got, sortPairs(want)) {
			t.Fatalf("round %d [%d,%d]: got %d pairs, want %d\ngot  %v\nwant %v", round, lower, upper, len(got), len(want), got, sortPairs(want))
		}
		if gl, gr := op.LateDropped(); gl != lateL || gr != lateR {
			t.Fatalf("round %d: late %d %d, want %d %d", round, gl, gr, lateL, lateR)
		}
		if l, r := op.BufferedKeys(); op.Buffered() != 0 || op.PendingTimers() != 0 || l+r != 0 || joinStoreEntries(t, ctx.Store) != 0 {
			t.Fatalf("round %d: state left at the end: %d, %d timers, %d entries in the store",
				round, op.Buffered(), op.PendingTimers(), joinStoreEntries(t, ctx.Store))
		}
		// Same input, same output, in the same order.
		again := &outRecorder[jpair]{}
		op2 := newIntervalJoin(lower, upper, again)
		if err := op2.Open(joinTask(t, backend, "ijoin")); err != nil {
			t.Fatal(err)
		}
		feed(t, op2, steps)
		if !slices.Equal(again.records, out.records) {
			t.Fatalf("round %d: not deterministic", round)
		}
	}
}

// TestWindowJoinMatchesNestedLoop checks random inputs against a
// brute-force join per key and window of the records that arrived before
// their window fired, on both state backends.
func TestWindowJoinMatchesNestedLoop(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testWindowJoinMatchesNestedLoop(t, newJoinBackend(backend)) })
	}
}

func testWindowJoinMatchesNestedLoop(t *testing.T, backend *testBackend) {
	r := rand.New(rand.NewPCG(3, 5))
	for round := range 500 {
		size := int64(5 + r.IntN(25))
		win := JoinWindows{Size: size}
		if r.IntN(2) == 0 {
			win.Slide = int64(1 + r.IntN(int(size)))
		}
		win.Offset = int64(r.IntN(int(win.slide())))
		steps := randomJoinInput(r)

		out := &outRecorder[jpair]{}
		op := newWindowJoin(win, out)
		ctx := joinTask(t, backend, "wjoin")
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		type member struct {
			s     joinStep
			start int64
		}
		var accepted []member
		var late int64
		wm := NoTimestamp
		for i, s := range steps {
			feed(t, op, []joinStep{s})
			if s.wm {
				wm = s.ts
			} else {
				// Brute force: every start (Offset plus a multiple of the
				// slide) whose window holds s.ts.
				in, ok := false, false
				for start := s.ts - size - win.slide()*2; start <= s.ts; start++ {
					if ((start-win.Offset)%win.slide()+win.slide())%win.slide() != 0 || s.ts >= start+size {
						continue
					}
					in = true
					if start+size-1 > wm {
						accepted = append(accepted, member{s, start})
						ok = true
					}
				}
				if in && !ok {
					late++
				}
			}
			held := 0
			for _, m := range accepted {
				if m.start+size-1 > wm {
					held++
				}
			}
			if op.Buffered() != held {
				t.Fatalf("round %d step %d: %d buffered, want %d", round, i, op.Buffered(), held)
			}
		}
		var want []tsRecord[jpair]
		for _, l := range accepted {
			for _, r := range accepted {
				if !l.s.right && r.s.right && l.start == r.start && l.s.r.Key == r.s.r.Key {
					want = append(want, tsRecord[jpair]{jpair{l.s.r.ID, r.s.r.ID}, l.start + size - 1})
				}
			}
		}
		if got := sortPairs(out.records); !slices.Equal(got, sortPairs(want)) {
			t.Fatalf("round %d %+v: got %d pairs, want %d\ngot  %v\nwant %v", round, win, len(got), len(want), got, sortPairs(want))
		}
		if op.LateDropped() != late {
			t.Fatalf("round %d: late %d, want %d", round, op.LateDropped(), late)
		}
		// Windows fire in order of their end, each when the watermark
		// reaches it and not before.
		for i, jrec := range out.records {
			if i > 0 && jrec.TS < out.records[i-1].TS {
				t.Fatalf("round %d: output out of time order at %d", round, i)
			}
			next := out.wms[out.wmAt[i]]
			if jrec.TS > next || (out.wmAt[i] > 0 && jrec.TS <= out.wms[out.wmAt[i]-1]) {
				t.Fatalf("round %d: window ending %d fired before watermark %d", round, jrec.TS, next)
			}
		}
		if op.Buffered() != 0 || op.OpenWindows() != 0 || joinStoreEntries(t, ctx.Store) != 0 {
			t.Fatalf("round %d: state left at the end: %d records, %d windows, %d entries in the store",
				round, op.Buffered(), op.OpenWindows(), joinStoreEntries(t, ctx.Store))
		}
	}
}

func benchRecords(n, keys int, base int64) *Batch[jrec] {
	b := NewBatch[jrec](n)
	for i := range n {
		b.Append(jrec{ID: i, Key: i % keys}, base+int64(i))
	}
	return b
}

// BenchmarkWindowJoinTumbling joins 1024 records of each side over 64 keys
// per tumbling window of 1024 ms, and fires the window: 16×16 pairs per
// key, 16384 results per op.
func BenchmarkWindowJoinTumbling(b *testing.B) { benchWindowJoin(b, nil) }

// BenchmarkWindowJoinTumblingPebble is BenchmarkWindowJoinTumbling on the
// Pebble backend, with the default cache (every window stays cached) and
// with a cache of 16 records, which writes most windows to the store and
// reads them back.
func BenchmarkWindowJoinTumblingPebble(b *testing.B) {
	for _, cache := range []int{0, 16} {
		b.Run(fmt.Sprint("cache-", cache), func(b *testing.B) { benchWindowJoin(b, benchStore(b, cache)) })
	}
}

// benchStore returns a store in a Pebble instance with default options,
// whose caches hold cache records (0: the default).
func benchStore(b *testing.B, cache int) *StateStore {
	db, err := pebblestate.Open(b.TempDir(), pebblestate.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st := NewStateStore(db, "join")
	st.SetCacheEntries(cache)
	b.Cleanup(func() {
		if err := errors.Join(st.Close(), db.Close()); err != nil {
			b.Error(err)
		}
	})
	return st
}

func benchWindowJoin(b *testing.B, store *StateStore) {
	const n, keys, size = 1024, 64, 1024
	op := newWindowJoin(JoinWindows{Size: size}, Discard[jpair]{})
	ctx := opTask("wjoin", nil)
	ctx.Store = store
	if err := op.Open(ctx); err != nil {
		b.Fatal(err)
	}
	left, right := benchRecords(n, keys, 0), benchRecords(n, keys, 0)
	in1, in2 := op.Input1(), op.Input2()
	b.ReportAllocs()
	var base int64
	for b.Loop() {
		for i := range left.Times {
			left.Times[i] = base + int64(i)
			right.Times[i] = base + int64(n-1-i)
		}
		if err := in1.ProcessBatch(left); err != nil {
			b.Fatal(err)
		}
		if err := in2.ProcessBatch(right); err != nil {
			b.Fatal(err)
		}
		base += size
		if err := op.ProcessWatermark(base - 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkIntervalJoin joins 1024 records of each side over 64 keys with
// bounds [-16, 16] ms per op, then advances the watermark.
func BenchmarkIntervalJoin(b *testing.B) { benchIntervalJoin(b, nil) }

// BenchmarkIntervalJoinPebble is BenchmarkIntervalJoin on the Pebble
// backend, with the default cache and with a cache of 16 records.
func BenchmarkIntervalJoinPebble(b *testing.B) {
	for _, cache := range []int{0, 16} {
		b.Run(fmt.Sprint("cache-", cache), func(b *testing.B) { benchIntervalJoin(b, benchStore(b, cache)) })
	}
}

func benchIntervalJoin(b *testing.B, store *StateStore) {
	const n, keys = 1024, 64
	op := newIntervalJoin(-16, 16, Discard[jpair]{})
	ctx := opTask("ijoin", nil)
	ctx.Store = store
	if err := op.Open(ctx); err != nil {
		b.Fatal(err)
	}
	left, right := benchRecords(n, keys, 0), benchRecords(n, keys, 0)
	in1, in2 := op.Input1(), op.Input2()
	b.ReportAllocs()
	var base int64
	for b.Loop() {
		for i := range left.Times {
			left.Times[i] = base + int64(i)
			right.Times[i] = base + int64(i)
		}
		if err := in1.ProcessBatch(left); err != nil {
			b.Fatal(err)
		}
		if err := in2.ProcessBatch(right); err != nil {
			b.Fatal(err)
		}
		base += n
		if err := op.ProcessWatermark(base - 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
