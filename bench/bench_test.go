package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestStromAgreesWithBaseline runs every workload on a small input and
// checks Strom's output against the baseline's. It asserts no timings.
func TestStromAgreesWithBaseline(t *testing.T) {
	const n = 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("pipeline/p=", p), func(t *testing.T) {
			got, err := pipelineStrom(ctx, PipelineConfig{Records: n, Parallelism: p})
			if err != nil {
				t.Fatal(err)
			}
			want := pipelineBaseline(n)
			if got != want {
				t.Fatalf("strom: %d records, checksum %#x; baseline: %d, %#x", got.n, got.h, want.n, want.h)
			}
			if want.n != n*3/4 {
				t.Fatalf("baseline kept %d of %d records, want 3/4", want.n, n)
			}
		})
		t.Run(fmt.Sprint("shuffle/p=", p), func(t *testing.T) {
			const keys = 1000
			got, err := shuffleStrom(ctx, ShuffleConfig{Records: n, Keys: keys, Parallelism: p, BatchSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			want := shuffleBaseline(n, keys)
			if got != want {
				t.Fatalf("strom: %d keys, checksum %#x; baseline: %d, %#x", got.n, got.h, want.n, want.h)
			}
			if want.n != keys {
				t.Fatalf("baseline has %d keys, want %d", want.n, keys)
			}
		})
	}
}

// TestDigestDetectsChanges guards the checksum against being trivial.
func TestDigestDetectsChanges(t *testing.T) {
	var a, b, c digest
	for _, v := range []int64{1, 2, 3} {
		a.add(v)
	}
	for _, v := range []int64{3, 1, 2} {
		b.add(v)
	}
	for _, v := range []int64{0, 2, 4} { // same count and sum
		c.add(v)
	}
	if a != b {
		t.Fatal("digest depends on order")
	}
	if a == c {
		t.Fatal("digest of {1,2,3} equals that of {0,2,4}")
	}
	var k1, k2 digest
	k1.addKV(1, 2)
	k2.addKV(2, 1)
	if k1 == k2 {
		t.Fatal("digest does not tell key from value")
	}
}

func TestRunMicroReportsEveryVariant(t *testing.T) {
	var seen []string
	res, err := RunMicro(context.Background(), MicroConfig{
		Records: 5000, Repeat: 1, Parallelism: 2, Keys: 100,
		Progress: func(r Result) { seen = append(seen, r.Name()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pipeline p=1", "pipeline p=2", "shuffle p=1", "shuffle p=2"}
	if fmt.Sprint(seen) != fmt.Sprint(want) || len(res) != len(want) {
		t.Fatalf("reported %v, returned %d results; want %v", seen, len(res), want)
	}
	for _, r := range res {
		if r.Records != 5000 || r.Repeat != 1 || len(r.Strom.Runs) != 1 || len(r.Baseline.Runs) != 1 {
			t.Fatalf("%s: %+v", r.Name(), r)
		}
		if r.Strom.RecordsPerSec <= 0 || r.Baseline.RecordsPerSec <= 0 || r.Ratio <= 0 {
			t.Fatalf("%s: rates not positive: %+v", r.Name(), r)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := RunPipeline(ctx, PipelineConfig{Records: -1}); err == nil {
		t.Error("negative records accepted")
	}
	if _, err := RunShuffle(ctx, ShuffleConfig{Records: 10, Keys: -1}); err == nil {
		t.Error("negative keys accepted")
	}
	if _, err := RunMicro(ctx, MicroConfig{Repeat: -1}); err == nil {
		t.Error("negative repeat accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunPipeline(cancelled, PipelineConfig{Records: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// benchRecords is the input size of each iteration of the go test
// benchmarks.
const benchRecords = 4_000_000

func reportRate(b *testing.B, records int64) {
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(records)*float64(b.N)), "ns/record")
}

func BenchmarkPipeline(b *testing.B) {
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		var d digest
		for b.Loop() {
			d = pipelineBaseline(benchRecords)
		}
		if d.n == 0 {
			b.Fatal("no output")
		}
		reportRate(b, benchRecords)
	})
	for _, p := range []int{1, 2} {
		b.Run(fmt.Sprint("strom/p=", p), func(b *testing.B) {
			want := pipelineBaseline(benchRecords)
			b.ReportAllocs()
			for b.Loop() {
				got, err := pipelineStrom(context.Background(), PipelineConfig{Records: benchRecords, Parallelism: p})
				if err != nil {
					b.Fatal(err)
				}
				if got != want {
					b.Fatalf("checksum %#x, baseline %#x", got.h, want.h)
				}
			}
			reportRate(b, benchRecords)
		})
	}
}

func BenchmarkShuffle(b *testing.B) {
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		var d digest
		for b.Loop() {
			d = shuffleBaseline(benchRecords, DefaultKeys)
		}
		if d.n != DefaultKeys {
			b.Fatalf("%d keys", d.n)
		}
		reportRate(b, benchRecords)
	})
	for _, p := range []int{1, 2} {
		b.Run(fmt.Sprint("strom/p=", p), func(b *testing.B) {
			want := shuffleBaseline(benchRecords, DefaultKeys)
			b.ReportAllocs()
			for b.Loop() {
				got, err := shuffleStrom(context.Background(), ShuffleConfig{Records: benchRecords, Keys: DefaultKeys, Parallelism: p})
				if err != nil {
					b.Fatal(err)
				}
				if got != want {
					b.Fatalf("checksum %#x, baseline %#x", got.h, want.h)
				}
			}
			reportRate(b, benchRecords)
		})
	}
}
