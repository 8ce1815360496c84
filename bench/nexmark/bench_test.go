package nexmark

import (
	"context"
	"fmt"
	"testing"

	"github.com/stromhq/strom/operators"
)

// benchEvents is the number of events of each iteration of the query
// benchmarks.
const benchEvents = 1_000_000

func reportEvents(b *testing.B, events int64) {
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(events)*float64(b.N)), "ns/event")
}

// BenchmarkGenerator measures the source alone: one Poll of 1024 events
// per iteration.
func BenchmarkGenerator(b *testing.B) {
	const max = 1024
	src := NewSource(GeneratorConfig{Seed: DefaultSeed}, 0)
	if err := src.Open(nil); err != nil {
		b.Fatal(err)
	}
	batch := operators.NewBatch[Event](max)
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		if _, err := src.Poll(batch, max); err != nil {
			b.Fatal(err)
		}
	}
	reportEvents(b, max)
}

// BenchmarkQuery runs every query on benchEvents events: the baseline, and
// the Strom job at parallelism 1 and 2.
func BenchmarkQuery(b *testing.B) {
	ctx := context.Background()
	for _, q := range Queries() {
		b.Run(q.Name+"/baseline", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RunBaseline(ctx, q, GeneratorConfig{Seed: DefaultSeed}, benchEvents, nil); err != nil {
					b.Fatal(err)
				}
			}
			reportEvents(b, benchEvents)
		})
		for _, p := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/strom-p%d", q.Name, p), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					cfg := Config{Query: q.Name, Events: benchEvents, Parallelism: p, Generator: GeneratorConfig{Seed: DefaultSeed}}
					if _, err := Run(ctx, cfg); err != nil {
						b.Fatal(err)
					}
				}
				reportEvents(b, benchEvents)
			})
		}
	}
}
