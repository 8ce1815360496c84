package window

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
)

type benchEvent struct {
	key int64
	val int64
}

type avgState struct{ sum, n int64 }

var benchAvg = Aggregate[benchEvent, avgState, float64]{
	Create:     func() avgState { return avgState{} },
	Accumulate: func(e benchEvent, a avgState) avgState { return avgState{a.sum + e.val, a.n + 1} },
	Result:     func(a avgState) float64 { return float64(a.sum) / float64(a.n) },
	Combine:    func(a, b avgState) avgState { return avgState{a.sum + b.sum, a.n + b.n} },
}

// BenchmarkSlidingAggregate measures keyed sliding 10s/2s averages over
// 10k keys, with shared panes and on the general path, at 10 and 100
// records per millisecond of event time (about 2 and 20 records per key
// and slide). Records are up to 100ms out of order; the watermark follows
// every batch of 1024 records.
//
// BenchmarkSlidingAggregate runs on the heap backend; with -args
// -bench-pebble also on the Pebble backend (backend=pebble), with the
// default cache and with a cache of 1024 windows (cache=1k), whose
// evictions write to Pebble. A checkpoint flush (SnapshotState and the
// store's commit) follows every 1024 batches (1M records) there.
func BenchmarkSlidingAggregate(b *testing.B) {
	const keys = 10_000
	type variant struct {
		backend string
		cache   int
	}
	variants := []variant{{"heap", 0}}
	if *benchPebble {
		variants = append(variants, variant{"pebble", 0}, variant{"pebble", 1024})
	}
	for _, v := range variants {
		for _, rate := range []int64{10, 100} {
			for _, panes := range []bool{true, false} {
				path := "panes"
				if !panes {
					path = "general"
				}
				name := fmt.Sprintf("rate=%d/%s", rate, path)
				if v.backend != "heap" {
					name = fmt.Sprintf("backend=%s/cache=%s/%s", v.backend, cacheName(v.cache), name)
				}
				b.Run(name, func(b *testing.B) { benchSliding(b, keys, rate, panes, v.backend, v.cache) })
			}
		}
	}
}

var benchPebble = flag.Bool("bench-pebble", false, "run the window benchmarks on the Pebble backend too")

func cacheName(n int) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprintf("%dk", n>>10)
}

// benchSliding runs one variant of BenchmarkSlidingAggregate.
func benchSliding(b *testing.B, keys, rate int64, panes bool, backend string, cache int) {
	cfg := Config[int64, benchEvent]{
		Key:            operators.Key[int64, benchEvent]{Selector: func(e benchEvent) int64 { return e.key }},
		Assigner:       SlidingEventTime(10*time.Second, 2*time.Second),
		DisablePanes:   !panes,
		StateCacheSize: cache,
	}
	op := NewAggregate(cfg, benchAvg, operators.Input[float64](operators.Discard[float64]{}))
	ctx := &operators.TaskContext{Operator: "bench", Clock: &vclock{}}
	if db := newBackend(b, backend); db != nil {
		ctx.Store = db.store()
	}
	if err := op.Open(ctx); err != nil {
		b.Fatal(err)
	}
	if op.UsesPanes() != panes {
		b.Fatal("wrong path")
	}
	r := rand.New(rand.NewPCG(1, 1))
	const n = 1 << 16
	keyOf, lag := make([]int64, n), make([]int64, n)
	for i := range n {
		keyOf[i], lag[i] = r.Int64N(keys), r.Int64N(100)
	}
	batch := operators.NewBatch[benchEvent](1024)
	var i, records int64
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		for range 1024 {
			j := i % n
			batch.Append(benchEvent{key: keyOf[j], val: i}, i/rate-lag[j])
			i++
		}
		records += 1024
		if err := op.ProcessBatch(batch); err != nil {
			b.Fatal(err)
		}
		if ctx.Store != nil && records%(1<<20) == 0 {
			if err := op.SnapshotState(1, operators.NewMemState()); err != nil {
				b.Fatal(err)
			}
			if err := ctx.Store.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		if err := op.ProcessWatermark(i/rate - 100); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
}
