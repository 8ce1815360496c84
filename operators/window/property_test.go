package window

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
)

// The property tests drive operators with random out-of-order streams
// (records in random batches, watermarks that sometimes lag less than the
// disorder, so that some records are late) and compare what they emit with
// brute-force reference models of Flink's semantics.

// step is one input event: a batch of records, or a watermark.
type step struct {
	batch *operators.Batch[rec]
	wm    int64
}

func randomSteps(r *rand.Rand, keys, n int, spread, disorder, bound int64) []step {
	var steps []step
	var maxTs int64
	lastWm := int64(math.MinInt64)
	base := r.Int64N(100) - 50
	b := operators.NewBatch[rec](8)
	for i := range n {
		base += r.Int64N(spread + 1)
		ts := base - r.Int64N(disorder+1)
		maxTs = max(maxTs, ts)
		b.Append(rec{Key: fmt.Sprint("k", r.IntN(keys)), Val: int64(i + 1)}, ts)
		if r.IntN(4) == 0 || i == n-1 {
			steps = append(steps, step{batch: b})
			b = operators.NewBatch[rec](8)
			if wm := maxTs - bound; r.IntN(2) == 0 && wm > lastWm {
				steps = append(steps, step{wm: wm})
				lastWm = wm
			}
		}
	}
	return append(steps, step{wm: operators.MaxWatermark})
}

// collect runs steps through op and returns the sorted result and late
// lines.
// With db set, the operator keeps its state there. It must leave no state
// once every window has been cleaned up.
func collect(t *testing.T, op harness, sink *[]string, steps []step, db *testDB) []string {
	t.Helper()
	ctx := &operators.TaskContext{Operator: "window", Parallelism: 1, Clock: &vclock{}}
	if db != nil {
		ctx.Store = db.store()
	}
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		var err error
		if s.batch != nil {
			err = op.ProcessBatch(s.batch)
		} else {
			err = op.ProcessWatermark(s.wm)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := op.EndInput(); err != nil {
		t.Fatal(err)
	}
	if m := snapshotFull(t, op.(operators.Checkpointed), ctx.Store); m.Len() != 0 {
		kg := m.KeyGroups()[0]
		t.Fatalf("%d keyed entries left after the end of time, such as %q", m.Len(), m.Entries(kg)[0].Key)
	}
	out := slices.Clone(*sink)
	slices.Sort(out)
	return out
}

// lines is an Input that formats records into a slice.
type lines[T any] struct {
	out    *[]string
	format func(T, int64) string
}

func (l lines[T]) ProcessBatch(b *operators.Batch[T]) error {
	for i, v := range b.Values {
		*l.out = append(*l.out, l.format(v, b.Times[i]))
	}
	return nil
}

func (lines[T]) ProcessWatermark(int64) error { return nil }

// sumCount is an order-insensitive summary of a window's records.
type sumCount struct{ sum, n int64 }

var sumCountAgg = Aggregate[rec, sumCount, sumCount]{
	Create:     func() sumCount { return sumCount{} },
	Accumulate: func(r rec, a sumCount) sumCount { return sumCount{a.sum + r.Val, a.n + 1} },
	Result:     func(a sumCount) sumCount { return a },
	Combine:    func(a, b sumCount) sumCount { return sumCount{a.sum + b.sum, a.n + b.n} },
}

func fmtResult(k string, w Window, sc sumCount, ts int64) string {
	return fmt.Sprintf("%s %v sum=%d n=%d at %d", k, w, sc.sum, sc.n, ts)
}

// runWindows runs the steps through an aggregate-process operator with
// cfg and returns its sorted results and late records.
func runWindows(t *testing.T, cfg Config[string, rec], steps []step, db *testDB) (results []string, usesPanes bool) {
	var out []string
	cfg.Key = operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}
	cfg.LateOutput = operators.NewSideOutput[rec](lines[rec]{&out, func(r rec, ts int64) string {
		return fmt.Sprintf("late %s %d at %d", r.Key, r.Val, ts)
	}})
	op := NewAggregateProcess(cfg, sumCountAgg, ProcessFunc[string, sumCount, string](
		func(ctx *Context[string], rs []sumCount, o operators.Collector[string]) error {
			o.Collect(fmtResult(ctx.Key(), ctx.Window(), rs[0], ctx.Window().MaxTimestamp()))
			return nil
		}), operators.Input[string](lines[string]{&out, func(s string, ts int64) string { return s }}))
	got := collect(t, op, &out, steps, db)
	return got, op.UsesPanes()
}

func TestAlignedWindowsMatchReference(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { testAlignedWindows(t, newBackend(t, backend)) })
	}
}

func testAlignedWindows(t *testing.T, db *testDB) {
	r := rand.New(rand.NewPCG(1, 2))
	panesSeen := 0
	for iter := range 400 {
		size := 2 + r.Int64N(30)
		slide := size
		switch r.IntN(3) {
		case 0:
			slide = 1 + r.Int64N(size) // sliding, maybe aligned badly
		case 1:
			if d := divisors(size); len(d) > 0 {
				slide = d[r.IntN(len(d))]
			}
		}
		offset := r.Int64N(slide)
		lateness := []int64{0, 0, 5, 20}[r.IntN(4)]
		disorder := r.Int64N(20)
		bound := r.Int64N(disorder + 5)
		steps := randomSteps(r, 1+r.IntN(5), 10+r.IntN(150), 4, disorder, bound)
		want := referenceAligned(size, slide, offset, lateness, steps)
		name := fmt.Sprintf("iter %d: size %d slide %d offset %d lateness %d", iter, size, slide, offset, lateness)

		cfg := Config[string, rec]{
			Assigner:        SlidingEventTime(time.Duration(size)*time.Millisecond, time.Duration(slide)*time.Millisecond).WithOffset(time.Duration(offset) * time.Millisecond),
			AllowedLateness: time.Duration(lateness) * time.Millisecond,
			StateCacheSize:  r.IntN(4),
		}
		panes, usesPanes := runWindows(t, cfg, steps, db)
		if usesPanes != (size > slide) {
			t.Fatalf("%s: uses panes %v", name, usesPanes)
		}
		if usesPanes {
			panesSeen++
		}
		cfg.DisablePanes = true
		general, _ := runWindows(t, cfg, steps, db)
		if d := diff(general, want); d != "" {
			t.Fatalf("%s: general path differs from the reference:\n%s", name, d)
		}
		if d := diff(panes, general); d != "" {
			t.Fatalf("%s: pane path differs from the general path:\n%s", name, d)
		}
	}
	if panesSeen < 100 {
		t.Fatalf("only %d runs took the pane path", panesSeen)
	}
}

func divisors(n int64) []int64 {
	var d []int64
	for i := int64(1); i < n; i++ {
		if n%i == 0 {
			d = append(d, i)
		}
	}
	return d
}

// diff describes the difference of two sorted slices, or returns "".
func diff(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
	}
	var b strings.Builder
	for _, k := range slices.Sorted(mapsKeys(count)) {
		switch n := count[k]; {
		case n > 0:
			fmt.Fprintf(&b, "  extra   %s (x%d)\n", k, n)
		case n < 0:
			fmt.Fprintf(&b, "  missing %s (x%d)\n", k, -n)
		}
	}
	return b.String()
}

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestSessionsMatchReference(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { testSessions(t, newBackend(t, backend)) })
	}
}

func testSessions(t *testing.T, db *testDB) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 400 {
		gap := 1 + r.Int64N(15)
		lateness := []int64{0, 0, 5, 30}[r.IntN(4)]
		disorder := r.Int64N(25)
		bound := r.Int64N(disorder + 5)
		steps := randomSteps(r, 1+r.IntN(4), 10+r.IntN(120), 3+r.Int64N(gap+5), disorder, bound)
		want := referenceSessions(gap, lateness, steps)
		cfg := Config[string, rec]{
			Assigner:        EventTimeSession(time.Duration(gap) * time.Millisecond),
			AllowedLateness: time.Duration(lateness) * time.Millisecond,
			StateCacheSize:  r.IntN(4),
		}
		got, _ := runWindows(t, cfg, steps, db)
		if d := diff(got, want); d != "" {
			t.Fatalf("iter %d: gap %d lateness %d: differs from the reference:\n%s", iter, gap, lateness, d)
		}
		// Keeping the records (an evictor that evicts nothing) merges lists
		// instead of accumulators, with the same results.
		cfg.Evictor = CountEvictor(math.MaxInt64)
		got, _ = runWindows(t, cfg, steps, db)
		if d := diff(got, want); d != "" {
			t.Fatalf("iter %d: list state: gap %d lateness %d: differs from the reference:\n%s", iter, gap, lateness, d)
		}
	}
}
