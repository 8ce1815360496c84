package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/internal/testutil"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

func seq(n int64) func() operators.Source[int64] {
	return func() operators.Source[int64] { return gen.Sequence(gen.Count(n)) }
}

func newEnv(p int, opts ...stream.Option) *stream.Environment {
	return stream.NewEnvironment(append([]stream.Option{stream.WithParallelism(p), stream.WithLogger(stream.DiscardLogger())}, opts...)...)
}

func run(t *testing.T, env *stream.Environment) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestChainedPipelineAtEveryParallelism(t *testing.T) {
	const n = 20_000
	var want []int64
	for i := int64(0); i < n; i++ {
		if v := i * 3; v%2 == 0 {
			want = append(want, v, v+1)
		}
	}
	for _, p := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			env := newEnv(p)
			var out testutil.Collector[int64]
			s := stream.FromSource(env, "seq", seq(n), true)
			tripled := stream.Map(s, "triple", func(v int64) int64 { return v * 3 })
			even := stream.Filter(tripled, "even", func(v int64) bool { return v%2 == 0 })
			both := stream.FlatMap(even, "both", func(v int64, c stream.Collector[int64]) error {
				c.Collect(v)
				c.Collect(v + 1)
				return nil
			})
			stream.SinkTo(both, "collect", out.Sink)
			run(t, env)
			got := out.Values()
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
		})
	}
}

func TestKeyedSumBatchAndStreaming(t *testing.T) {
	const n, keys = 10_000, 37
	for _, mode := range []stream.RuntimeMode{stream.Batch, stream.Streaming} {
		for _, p := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/p=%d", mode, p), func(t *testing.T) {
				env := newEnv(p, stream.WithMode(mode))
				var out testutil.Collector[stream.KV[int64, int64]]
				s := stream.FromSource(env, "seq", seq(n), true)
				sums := stream.Sum(stream.KeyBy(s, func(v int64) int64 { return v % keys }), "sum", func(v int64) int64 { return v })
				stream.SinkTo(sums, "collect", out.Sink).SetParallelism(1)
				run(t, env)
				final := map[int64]int64{}
				for i := int64(0); i < n; i++ {
					final[i%keys] += i
				}
				got := out.Values()
				last := map[int64]int64{}
				for _, kv := range got {
					if kv.Value < last[kv.Key] {
						t.Fatalf("sum of key %d went down: %d after %d", kv.Key, kv.Value, last[kv.Key])
					}
					last[kv.Key] = kv.Value
				}
				wantLen := keys
				if mode == stream.Streaming {
					wantLen = n
				}
				if len(got) != wantLen {
					t.Fatalf("%d results, want %d", len(got), wantLen)
				}
				for k, v := range final {
					if last[k] != v {
						t.Fatalf("key %d: final sum %d, want %d", k, last[k], v)
					}
				}
			})
		}
	}
}

func TestUnionAndRebalance(t *testing.T) {
	env := newEnv(2)
	var out testutil.Collector[int64]
	a := stream.FromSource(env, "a", seq(1000), true)
	b := stream.Map(stream.FromSource(env, "b", seq(500), true).SetParallelism(1), "shift", func(v int64) int64 { return v + 1_000_000 })
	u := stream.Union(a, b.Rebalance())
	stream.SinkTo(stream.Map(u, "id", func(v int64) int64 { return v }).SetParallelism(3), "collect", out.Sink)
	run(t, env)
	if got := out.Len(); got != 1500 {
		t.Fatalf("union delivered %d records, want 1500", got)
	}
}

func TestProcessSeesKey(t *testing.T) {
	env := newEnv(2)
	var out testutil.Collector[string]
	s := stream.FromSource(env, "seq", seq(100), true)
	keyed := stream.KeyBy(s, func(v int64) string { return fmt.Sprint("k", v%5) })
	tagged := stream.Process(keyed, "tag", stream.ProcessFunc[string, int64, string](
		func(ctx *stream.KeyedContext[string], v int64, o stream.Collector[string]) error {
			if ctx.Key() != fmt.Sprint("k", v%5) {
				return fmt.Errorf("record %d under key %s", v, ctx.Key())
			}
			o.Collect(ctx.Key())
			return nil
		}))
	stream.SinkTo(tagged, "collect", out.Sink)
	run(t, env)
	if out.Len() != 100 {
		t.Fatalf("got %d", out.Len())
	}
}

func TestUserPanicFailsJobNamingOperator(t *testing.T) {
	env := newEnv(2)
	s := stream.FromSource(env, "seq", seq(100_000), true)
	m := stream.Map(s, "explode", func(v int64) int64 {
		if v == 5000 {
			panic("boom")
		}
		return v
	})
	stream.SinkTo(m, "drop", func() operators.Sink[int64] { return &testutil.NullSink[int64]{} })
	err := env.Execute(context.Background())
	if err == nil {
		t.Fatal("job with a panicking operator succeeded")
	}
	if !errors.Is(err, operators.ErrPanic) {
		t.Fatalf("error does not wrap ErrPanic: %v", err)
	}
	var oe *operators.OperatorError
	if !errors.As(err, &oe) || oe.Operator != "explode" || oe.Subtask != 0 {
		t.Fatalf("error does not name operator explode subtask 0: %v", err)
	}
}

func TestUserErrorFailsJob(t *testing.T) {
	env := newEnv(1)
	s := stream.FromSource(env, "seq", seq(1000), true)
	f := stream.FlatMap(s, "picky", func(v int64, _ stream.Collector[int64]) error {
		if v == 999 {
			return errors.New("no nines")
		}
		return nil
	})
	stream.SinkTo(f, "drop", func() operators.Sink[int64] { return &testutil.NullSink[int64]{} })
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), `operator "picky" subtask 0: no nines`) {
		t.Fatalf("got %v", err)
	}
}

func TestCancelStopsUnboundedJob(t *testing.T) {
	env := newEnv(2)
	s := stream.FromSource(env, "forever", func() operators.Source[int64] { return gen.Sequence() }, false)
	stream.SinkTo(s, "drop", func() operators.Sink[int64] { return &testutil.NullSink[int64]{} })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := env.Execute(ctx)
	if !errors.Is(err, actors.ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

func TestBuildErrorsAreReported(t *testing.T) {
	env := newEnv(2)
	s := stream.FromSource(env, "seq", seq(10), true).SetParallelism(0)
	stream.SinkTo(s, "drop", func() operators.Sink[int64] { return &testutil.NullSink[int64]{} })
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), `operator "seq"`) || !strings.Contains(err.Error(), "parallelism 0") {
		t.Fatalf("got %v", err)
	}

	env = newEnv(1)
	a := stream.FromSource(env, "x", seq(10), true)
	b := stream.FromSource(env, "x", seq(10), true)
	stream.SinkTo(stream.Union(a, b), "drop", func() operators.Sink[int64] { return &testutil.NullSink[int64]{} })
	if err := env.Execute(context.Background()); err == nil || !strings.Contains(err.Error(), `share the id "x"`) {
		t.Fatalf("duplicate ids: got %v", err)
	}
}
