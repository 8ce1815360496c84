package stream_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// slowSink takes a fixed time per batch, like a sink writing to a slow
// store.
type slowSink struct {
	delay time.Duration
	got   *atomic.Int64
}

func (s *slowSink) Open(*operators.TaskContext) error { return nil }
func (s *slowSink) Finish() error                     { return nil }
func (s *slowSink) Close() error                      { return nil }
func (s *slowSink) Write(b *operators.Batch[int64]) error {
	time.Sleep(s.delay)
	s.got.Add(int64(b.Len()))
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestBackpressureSlowsTheSource(t *testing.T) {
	const batchSize, credits = 256, 4
	metrics := &actors.Metrics{}
	env := newEnv(1, stream.WithBatchSize(batchSize), stream.WithCredits(credits), stream.WithMetrics(metrics))
	var got atomic.Int64
	src := stream.FromSource(env, "fast", func() operators.Source[int64] { return gen.Sequence() }, false)
	doubled := stream.Map(src, "double", func(v int64) int64 { return 2 * v })
	stream.SinkTo(doubled.Rebalance(), "slow", func() operators.Sink[int64] {
		return &slowSink{delay: 2 * time.Millisecond, got: &got}
	}).SetParallelism(1)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx) }()

	// Let the pipeline fill, then measure a steady stretch.
	time.Sleep(300 * time.Millisecond)
	cpu0, wall0 := cpuTime(), time.Now()
	var maxLag int64
	for i := 0; i < 40; i++ {
		time.Sleep(20 * time.Millisecond)
		lag := metrics.Snapshot().SourceRecords - got.Load()
		maxLag = max(maxLag, lag)
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	t.Logf("max lag %d records, %.3f cores, source backpressured %v", maxLag, (cpu.Seconds() / wall.Seconds()), metrics.Snapshot().SourceBackpressure)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("unbounded job ended by itself")
	}

	// In flight at most: the channel's credits, the batch being filled and
	// the output of one source poll (a batch).
	bound := int64((credits + 2) * batchSize)
	if maxLag > bound {
		t.Errorf("source ran %d records ahead of the slow sink; bound %d", maxLag, bound)
	}
	emitted := metrics.Snapshot().SourceRecords
	if emitted > 2*got.Load()+bound {
		t.Errorf("source emitted %d records, sink took %d: the source was not slowed", emitted, got.Load())
	}
	if s := metrics.Snapshot(); s.SourceBackpressure < 100*time.Millisecond {
		t.Errorf("source backpressured only %v", s.SourceBackpressure)
	}
	// Waiting for credit must not spin: the process is mostly idle.
	if ratio := cpu.Seconds() / wall.Seconds(); ratio > 0.5 {
		t.Errorf("process used %.2f cores while the source waited for a slow sink", ratio)
	}
}
