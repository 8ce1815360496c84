package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// slidingReference computes the sliding workload by brute force: every
// record goes into each of its windows' entries in a map.
func slidingReference(cfg SlidingConfig) digest {
	size, slide := cfg.Size.Milliseconds(), cfg.Slide.Milliseconds()
	type win struct{ key, start int64 }
	type agg struct{ n, sum int64 }
	m := make(map[win]agg)
	for i := range cfg.Records {
		e, ts := eventAt(i, cfg.Keys, slidingSeed), eventTime(i, cfg.OutOfOrder.Milliseconds())
		for s := floorDiv(ts, slide) * slide; s > ts-size; s -= slide {
			a := m[win{e.Key, s}]
			m[win{e.Key, s}] = agg{a.n + 1, a.sum + e.Val}
		}
	}
	var d digest
	for w, a := range m {
		d.add4(w.key, w.start+size, a.n, a.sum)
	}
	return d
}

// joinReference computes the join workload by brute force: both sides
// grouped by key and window, then every pair of each group.
func joinReference(cfg JoinConfig) digest {
	size := cfg.Size.Milliseconds()
	type win struct{ key, start int64 }
	left, right := make(map[win][]int64), make(map[win][]int64)
	for i := range cfg.Records {
		s := floorDiv(eventTime(i, 0), size) * size
		l, r := eventAt(i, cfg.Keys, leftSeed), eventAt(i, cfg.Keys, rightSeed)
		left[win{l.Key, s}] = append(left[win{l.Key, s}], l.Val)
		right[win{r.Key, s}] = append(right[win{r.Key, s}], r.Val)
	}
	var d digest
	for w, ls := range left {
		for _, l := range ls {
			for _, r := range right[w] {
				d.add4(w.key, l, r, w.start+size-1)
			}
		}
	}
	return d
}

// TestWindowWorkloadsAgree checks the baselines against brute force and
// Strom against the baselines at parallelism 1 and 2, on small inputs. It
// asserts no timings.
func TestWindowWorkloadsAgree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sliding := []SlidingConfig{
		{Records: 30_000, Keys: 50, Size: 100 * time.Millisecond, Slide: 20 * time.Millisecond, OutOfOrder: 15 * time.Millisecond},
		{Records: 20_000, Keys: 7, Size: 100 * time.Millisecond, Slide: 30 * time.Millisecond, BatchSize: 100},
		{Records: 120_000, Keys: 100, Size: DefaultSlidingSize, Slide: DefaultSlidingSlide, OutOfOrder: DefaultOutOfOrder},
	}
	for _, cfg := range sliding {
		want, err := slidingBaseline(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if ref := slidingReference(cfg); want != ref {
			t.Fatalf("sliding %v/%v: baseline %d results, checksum %#x; brute force %d, %#x", cfg.Size, cfg.Slide, want.n, want.h, ref.n, ref.h)
		}
		if want.n < cfg.Keys {
			t.Fatalf("sliding %v/%v: only %d results", cfg.Size, cfg.Slide, want.n)
		}
		for _, p := range []int{1, 2} {
			t.Run(fmt.Sprintf("sliding/%v/%v/p=%d", cfg.Size, cfg.Slide, p), func(t *testing.T) {
				c := cfg
				c.Parallelism = p
				got, err := slidingStrom(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("strom: %d results, checksum %#x; baseline: %d, %#x", got.n, got.h, want.n, want.h)
				}
			})
		}
	}
	joins := []JoinConfig{
		{Records: 20_000, Keys: 50, Size: 50 * time.Millisecond},
		{Records: 15_000, Keys: 2000, Size: 30 * time.Millisecond, BatchSize: 100},
	}
	for _, cfg := range joins {
		want := joinBaseline(cfg)
		if ref := joinReference(cfg); want != ref {
			t.Fatalf("join %v: baseline %d pairs, checksum %#x; brute force %d, %#x", cfg.Size, want.n, want.h, ref.n, ref.h)
		}
		if want.n < cfg.Records/10 {
			t.Fatalf("join %v: only %d pairs", cfg.Size, want.n)
		}
		for _, p := range []int{1, 2} {
			t.Run(fmt.Sprintf("join/%v/keys=%d/p=%d", cfg.Size, cfg.Keys, p), func(t *testing.T) {
				c := cfg
				c.Parallelism = p
				got, err := joinStrom(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("strom: %d pairs, checksum %#x; baseline: %d, %#x", got.n, got.h, want.n, want.h)
				}
			})
		}
	}
}

func TestRunWindowReportsEveryVariant(t *testing.T) {
	var seen []string
	res, err := RunWindow(context.Background(), WindowConfig{
		Records: 6000, Repeat: 1, Parallelism: 2, Keys: 20,
		Progress: func(r Result) { seen = append(seen, r.Name()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sliding p=1", "sliding p=2", "join p=1", "join p=2"}
	if fmt.Sprint(seen) != fmt.Sprint(want) || len(res) != len(want) {
		t.Fatalf("reported %v, returned %d results; want %v", seen, len(res), want)
	}
	for _, r := range res {
		if r.Records != 6000 || r.Repeat != 1 || len(r.Strom.Runs) != 1 || len(r.Baseline.Runs) != 1 {
			t.Fatalf("%s: %+v", r.Name(), r)
		}
		if r.Outputs == 0 || r.Strom.RecordsPerSec <= 0 || r.Baseline.RecordsPerSec <= 0 || r.Ratio <= 0 {
			t.Fatalf("%s: no output or rates not positive: %+v", r.Name(), r)
		}
	}
}

func TestWindowConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []SlidingConfig{
		{Records: -1},
		{Records: 10, Keys: -1},
		{Records: 10, Size: time.Second, Slide: 2 * time.Second},
		{Records: 10, Size: 1500 * time.Microsecond},
		{Records: 10, OutOfOrder: -time.Millisecond},
	} {
		if _, err := RunSlidingWindow(ctx, cfg); err == nil {
			t.Errorf("sliding %+v accepted", cfg)
		}
	}
	for _, cfg := range []JoinConfig{{Records: -1}, {Records: 10, Keys: -1}, {Records: 10, Size: -time.Second}} {
		if _, err := RunWindowJoin(ctx, cfg); err == nil {
			t.Errorf("join %+v accepted", cfg)
		}
	}
	if _, err := RunWindow(ctx, WindowConfig{Repeat: -1}); err == nil {
		t.Error("negative repeat accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunSlidingWindow(cancelled, SlidingConfig{Records: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// windowBenchRecords is the input size of each iteration of the window
// benchmarks (the join reads half of it per side).
const windowBenchRecords = 2_000_000

func benchSlidingConfig(p int) SlidingConfig {
	return SlidingConfig{Records: windowBenchRecords, OutOfOrder: DefaultOutOfOrder, Parallelism: p}.withDefaults()
}

func BenchmarkSlidingWindow(b *testing.B) {
	want, err := slidingBaseline(benchSlidingConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d, err := slidingBaseline(benchSlidingConfig(1)); err != nil || d != want {
				b.Fatal(d, err)
			}
		}
		reportRate(b, windowBenchRecords)
	})
	for _, p := range []int{1, 2} {
		b.Run(fmt.Sprint("strom/p=", p), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := slidingStrom(context.Background(), benchSlidingConfig(p))
				if err != nil {
					b.Fatal(err)
				}
				if got != want {
					b.Fatalf("checksum %#x, baseline %#x", got.h, want.h)
				}
			}
			reportRate(b, windowBenchRecords)
		})
	}
}

func BenchmarkWindowJoin(b *testing.B) {
	cfg := func(p int) JoinConfig {
		return JoinConfig{Records: windowBenchRecords / 2, Parallelism: p}.withDefaults()
	}
	want := joinBaseline(cfg(1))
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d := joinBaseline(cfg(1)); d != want {
				b.Fatal(d)
			}
		}
		reportRate(b, windowBenchRecords)
	})
	for _, p := range []int{1, 2} {
		b.Run(fmt.Sprint("strom/p=", p), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := joinStrom(context.Background(), cfg(p))
				if err != nil {
					b.Fatal(err)
				}
				if got != want {
					b.Fatalf("checksum %#x, baseline %#x", got.h, want.h)
				}
			}
			reportRate(b, windowBenchRecords)
		})
	}
}

// slidingDirect runs the sliding job's operators on one goroutine without
// the actor runtime (see runDirect).
func slidingDirect(cfg SlidingConfig) (digest, error) {
	env, _ := newEventEnv(1, cfg.BatchSize)
	var out shared
	slidingJob(env, cfg, &out)
	err := runDirect(env)
	return out.get(), err
}

func TestSlidingDirectAgreesWithBaseline(t *testing.T) {
	cfg := SlidingConfig{Records: 30_000, Keys: 50, Size: 100 * time.Millisecond, Slide: 20 * time.Millisecond, OutOfOrder: 15 * time.Millisecond}
	want, err := slidingBaseline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := slidingDirect(cfg); err != nil || got != want {
		t.Fatalf("direct: %v, %v; baseline %v", got, err, want)
	}
}

// BenchmarkSlidingWindowBreakdown runs Strom's operators of the sliding
// job without the actor runtime, for comparison with
// BenchmarkSlidingWindow/strom/p=1.
func BenchmarkSlidingWindowBreakdown(b *testing.B) {
	cfg := benchSlidingConfig(1)
	want, err := slidingBaseline(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("operators", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d, err := slidingDirect(cfg); err != nil || d != want {
				b.Fatal(d, err)
			}
		}
		reportRate(b, windowBenchRecords)
	})
}
