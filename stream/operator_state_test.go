package stream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
)

// collectSink keeps what it is written, with timestamps.
type collectSink[T any] struct {
	mu  *sync.Mutex
	out *[]operators.Batch[T]
}

func (s collectSink[T]) Open(*operators.TaskContext) error { return nil }
func (s collectSink[T]) Finish() error                     { return nil }
func (s collectSink[T]) Close() error                      { return nil }

func (s collectSink[T]) Write(b *operators.Batch[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c operators.Batch[T]
	for i, v := range b.Values {
		c.Append(v, b.Times[i])
	}
	*s.out = append(*s.out, c)
	return nil
}

// seqWindow is the accumulator and result of the window test.
type seqWindow struct {
	Key, N, Sum int64
}

// TestKeyedStateSurvivesFailures runs a rolling sum and event-time windows
// through failures and restores from checkpoints: the last sum of every
// key must be its total, and every window must fire with its full
// contents (sinks are at-least-once, so results may repeat, but never
// differ).
func TestKeyedStateSurvivesFailures(t *testing.T) {
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			const keys, perKey, rounds, size = 10, 1000, 2, 50
			var roundsLeft atomic.Int64
			roundsLeft.Store(rounds)
			env := NewEnvironment(WithParallelism(p), WithLogger(DiscardLogger()),
				WithCheckpointing(t.TempDir(), 20*time.Millisecond),
				WithRestartStrategy(restartNow{}), WithBatchSize(64))
			src := FromSource(env, "seq", func() operators.Source[seqRecord] {
				return &seqSource{keys: keys, perKey: perKey, delay: time.Millisecond}
			}, true, WithWatermarks(ForMonotonousTimestamps[seqRecord]().WithTimestampAssigner(func(v seqRecord, _ int64) int64 { return v.Seq })))
			failing := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("fail", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
				return &failer{out: o, failAfter: 800, checkpoints: 2, rounds: &roundsLeft}
			}), src.input())
			keyed := KeyBy(failing, func(r seqRecord) int64 { return r.Key })

			var mu sync.Mutex
			var sums []operators.Batch[KV[int64, int64]]
			var wins []operators.Batch[seqWindow]
			SinkTo(Sum(keyed, "sum", func(r seqRecord) int64 { return r.Seq }), "sums", func() operators.Sink[KV[int64, int64]] {
				return collectSink[KV[int64, int64]]{&mu, &sums}
			})
			counted := WindowAggregate(Window(keyed, window.TumblingEventTime(size*time.Millisecond)), "count",
				window.Aggregate[seqRecord, seqWindow, seqWindow]{
					Create:     func() seqWindow { return seqWindow{} },
					Accumulate: func(r seqRecord, a seqWindow) seqWindow { return seqWindow{r.Key, a.N + 1, a.Sum + r.Seq} },
					Result:     func(a seqWindow) seqWindow { return a },
					Combine:    func(a, b seqWindow) seqWindow { return seqWindow{max(a.Key, b.Key), a.N + b.N, a.Sum + b.Sum} },
				})
			SinkTo(counted, "windows", func() operators.Sink[seqWindow] { return collectSink[seqWindow]{&mu, &wins} })

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := env.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			if left := roundsLeft.Load(); left > 0 {
				t.Fatalf("only %d of %d failures happened", rounds-left, rounds)
			}

			last := map[int64]int64{}
			for _, b := range sums {
				for _, kv := range b.Values {
					last[kv.Key] = kv.Value
				}
			}
			type win struct{ key, end int64 }
			got := map[win]seqWindow{}
			for _, b := range wins {
				for i, w := range b.Values {
					k := win{w.Key, b.Times[i] + 1}
					if prev, ok := got[k]; ok && prev != w {
						t.Fatalf("window %v fired with %+v and %+v", k, prev, w)
					}
					got[k] = w
				}
			}
			for s := range int64(p) {
				for k := range int64(keys) {
					key := s*1_000_000 + k
					if want := int64(perKey * (perKey - 1) / 2); last[key] != want {
						t.Errorf("key %d: last sum %d, want %d", key, last[key], want)
					}
					for end := int64(size); end < perKey+size; end += size {
						want := seqWindow{Key: key}
						for seq := end - size; seq < min(end, perKey); seq++ {
							want.N++
							want.Sum += seq
						}
						if got[win{key, end}] != want {
							t.Errorf("key %d window ending %d: %+v, want %+v", key, end, got[win{key, end}], want)
						}
					}
				}
			}
		})
	}
}

// unencodable is a record type without a codec.
type unencodable struct {
	Key string
	Fn  func() int
}

// TestStateWithoutCodecFailsOnlyCheckpoints checks that a keyed operator
// whose state type has no codec does not fail the job: it runs, and its
// checkpoints are declined with a reason naming the operator and the type.
func TestStateWithoutCodecFailsOnlyCheckpoints(t *testing.T) {
	var log lockedBuffer
	metrics := &actors.Metrics{}
	env := NewEnvironment(WithParallelism(1), WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
		WithCheckpointing(t.TempDir(), 5*time.Millisecond), WithMetrics(metrics))
	src := FromSource(env, "slow", func() operators.Source[int] { return &slowInts{n: 100} }, true)
	recs := Map(src, "wrap", func(i int) unencodable { return unencodable{Key: fmt.Sprint(i % 3), Fn: func() int { return i }} })
	red := Reduce(KeyBy(recs, func(u unencodable) string { return u.Key }), "count", func(a, b unencodable) (unencodable, error) {
		return unencodable{Key: a.Key, Fn: func() int { return a.Fn() + b.Fn() }}, nil
	})
	SinkTo(red, "drop", func() operators.Sink[unencodable] { return nullSink[unencodable]{} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatalf("the job failed: %v", err)
	}
	if l := log.String(); !strings.Contains(l, `operator \"count\"`) || !strings.Contains(l, "stream.unencodable cannot be checkpointed") {
		t.Fatalf("no declined checkpoint naming the operator and the type in the log:\n%s", l)
	}
	if n := metrics.Counter("checkpoints aborted").Load(); n == 0 || metrics.Counter("checkpoints").Load() != 0 {
		t.Fatalf("%d checkpoints aborted, %d completed; want every one aborted and counted", n, metrics.Counter("checkpoints").Load())
	}
}

// lockedBuffer is a bytes.Buffer for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slowInts emits 0..n-1, one per millisecond.
type slowInts struct{ i, n int }

func (s *slowInts) Open(*operators.TaskContext) error { return nil }
func (s *slowInts) Close() error                      { return nil }

func (s *slowInts) Poll(b *operators.Batch[int], _ int) (operators.PollResult, error) {
	b.Append(s.i, operators.NoTimestamp)
	s.i++
	return operators.PollResult{Done: s.i >= s.n, Wait: time.Millisecond}, nil
}

func (s *slowInts) Position() ([]byte, error) { return []byte{byte(s.i)}, nil }
func (s *slowInts) Seek([]byte) error         { return nil }
