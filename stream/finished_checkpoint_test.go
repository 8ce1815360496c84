package stream

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
)

// unevenSource is a seqSource whose subtask 0 has little to emit and
// finishes early, while subtask 1 runs on; finishedAt receives the number
// of completed checkpoints when subtask 0 ends.
type unevenSource struct {
	seqSource
	metrics  *actors.Metrics
	finished *atomic.Int64
}

func (s *unevenSource) Open(ctx *operators.TaskContext) error {
	if ctx.Subtask == 0 {
		s.perKey, s.delay = 10, 0
	}
	return s.seqSource.Open(ctx)
}

func (s *unevenSource) Poll(b *operators.Batch[seqRecord], max int) (operators.PollResult, error) {
	res, err := s.seqSource.Poll(b, max)
	if res.Done && s.subtask == 0 {
		s.finished.CompareAndSwap(-1, s.metrics.Counter("checkpoints").Load())
	}
	return res, err
}

// TestCheckpointsContinueAfterSubtasksFinish runs a job one of whose
// source subtasks finishes long before the other: checkpoints must go on
// being completed, and a run resumed from one taken after the subtask
// finished must neither replay what it emitted nor lose anything.
func TestCheckpointsContinueAfterSubtasksFinish(t *testing.T) {
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) {
			const keys, perKey = 5, 400
			dir := t.TempDir()
			var violations, restored atomic.Int64
			var finals sync.Map
			build := func(env *Environment, metrics *actors.Metrics, finished *atomic.Int64) {
				src := FromSource(env, "seq", func() operators.Source[seqRecord] {
					return &unevenSource{seqSource: seqSource{keys: keys, perKey: perKey, delay: 2 * time.Millisecond}, metrics: metrics, finished: finished}
				}, true).SetParallelism(2)
				keyed := KeyBy(src, func(r seqRecord) int64 { return r.Key })
				checked := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("check", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
					return &checker{out: o, violations: &violations, finals: &finals, restored: &restored}
				}), keyed.stream.input()).SetParallelism(2)
				SinkTo(checked, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} }).SetParallelism(2)
			}

			metrics := &actors.Metrics{}
			var finished atomic.Int64
			finished.Store(-1)
			first := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithMetrics(metrics),
				WithCheckpointing(dir, 20*time.Millisecond), WithBatchSize(32), WithStateBackend(backend, t.TempDir()))
			build(first, metrics, &finished)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- first.Execute(ctx) }()
			for {
				at := finished.Load()
				if at >= 0 && metrics.Counter("checkpoints").Load() >= at+3 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("the job ended (%v) before three checkpoints completed after subtask 0 finished (at %d, %d completed)",
						err, at, metrics.Counter("checkpoints").Load())
				case <-time.After(2 * time.Millisecond):
				}
			}
			cancel()
			if err := <-done; err == nil {
				t.Fatal("the first run finished before it was stopped; slow it down")
			}

			second := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()),
				WithCheckpointing(dir, 20*time.Millisecond), WithBatchSize(32), WithStateBackend(backend, t.TempDir()))
			var unused atomic.Int64
			unused.Store(-1)
			build(second, &actors.Metrics{}, &unused)
			if err := second.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			if r := restored.Load(); r != 2 {
				t.Fatalf("%d checker subtasks restored, want 2", r)
			}
			if v := violations.Load(); v != 0 {
				t.Fatalf("%d sequence violations: the finished subtask's records were replayed or lost", v)
			}
			n := 0
			finals.Range(func(k, v any) bool {
				n++
				want := int64(perKey - 1)
				if k.(int64) < 1_000_000 {
					want = 9 // subtask 0's keys
				}
				if v.(int64) != want {
					t.Errorf("key %d ended at %d, want %d", k, v, want)
				}
				return true
			})
			if n != keys*2 {
				t.Fatalf("%d keys reached the end, want %d", n, keys*2)
			}
		})
	}
}
