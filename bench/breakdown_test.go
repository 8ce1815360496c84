package bench

import (
	"fmt"
	"testing"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// The benchmarks of this file split the gap between Strom and the
// baselines into parts: what calling the user functions through func
// values costs, what Strom's operators cost when driven by a plain loop
// (no actors, no channels, one goroutine), and, by difference with the
// Strom benchmarks, what the actor runtime adds.

// Func values the compiler cannot inline.
var (
	scaleFn = pipeScale
	keepFn  = pipeKeep
	mixFn   = pipeMix
)

// pipelineFuncValues is the baseline loop calling the functions through
// func values, as Strom's operators do.
func pipelineFuncValues(n int64) digest {
	var d digest
	for i := range n {
		v := scaleFn(i)
		if !keepFn(v) {
			continue
		}
		d.add(mixFn(v))
	}
	return d
}

// tsFn stands in for the generator's timestamp function.
var tsFn = func(int64) int64 { return operators.NoTimestamp }

// pipelineBatched does what Strom's chained operators do, batch by batch
// with timestamps and func values, but keeps every slice in a local
// variable: the floor of the batch-at-a-time design.
func pipelineBatched(n int64, size int) digest {
	var d digest
	gv, gt := make([]int64, 0, size), make([]int64, 0, size)
	mv := make([]int64, 0, size)
	fv, ft := make([]int64, 0, size), make([]int64, 0, size)
	for lo := int64(0); lo < n; lo += int64(size) {
		hi := min(lo+int64(size), n)
		gv, gt = gv[:0], gt[:0]
		for i := lo; i < hi; i++ {
			gv = append(gv, i)
			gt = append(gt, tsFn(i))
		}
		mv = mv[:0]
		for _, v := range gv {
			mv = append(mv, scaleFn(v))
		}
		fv, ft = fv[:0], ft[:0]
		for i, v := range mv {
			if keepFn(v) {
				fv = append(fv, v)
				ft = append(ft, gt[i])
			}
		}
		mv = mv[:0]
		for _, v := range fv {
			mv = append(mv, mixFn(v))
		}
		for _, v := range mv {
			d.add(v)
		}
	}
	return d
}

// runDirect runs the operators of a job with parallelism 1 and one output
// per operator on the calling goroutine: chained edges are plain calls, a
// network edge's writer hands each full batch straight to the consumer.
// Every operator is built by the same code the runtime uses, so this
// measures Strom's operators without the actor runtime around them. It
// follows the runtime's wiring (actors/subtask_start.go) and must follow
// it when that changes.
func runDirect(env *stream.Environment) error {
	plan, err := env.Plan()
	if err != nil {
		return err
	}
	g := plan.Graph
	vs := g.Vertices
	ins := make([][]any, len(vs))
	ops := make([]operators.Operator, len(vs))
	var src operators.SourceTask
	var writers []actors.RecordWriter
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.Parallelism != 1 || len(v.Outputs) > 1 || len(v.SideOutputs) > 0 {
			return fmt.Errorf("runDirect: operator %q: only linear jobs of parallelism 1", v.Name)
		}
		var outs []any
		if len(v.Outputs) == 1 {
			e := v.Outputs[0]
			next := ins[e.Target.ID][e.Gate]
			if e.Partitioning == actors.Forward {
				outs = []any{next}
			} else {
				cfg := actors.WriterConfig{BatchSize: env.Config().BatchSize, MaxParallelism: g.MaxParallelism}
				w := e.Type().NewWriter(e, cfg, directSender{feed: e.Type().Feed(next), next: next.(watermarker)})
				writers = append(writers, w)
				outs = []any{w.Input()}
			}
		} else {
			outs = []any{nil} // a sink
		}
		if v.NewSource != nil {
			if src, err = v.NewSource(outs[0]); err != nil {
				return err
			}
			ops[i] = src
			continue
		}
		if ops[i], ins[i], err = v.NewOperator(outs); err != nil {
			return err
		}
	}
	for i, v := range vs {
		ctx := &operators.TaskContext{Operator: v.Name, OperatorID: v.UID, Parallelism: 1, MaxParallelism: g.MaxParallelism, BatchMode: g.BatchMode}
		if err := ops[i].Open(ctx); err != nil {
			return err
		}
		defer ops[i].Close()
	}
	batch := env.Config().BatchSize
	for {
		res, err := src.PollOnce(batch)
		if err != nil {
			return err
		}
		if res.Done {
			break
		}
	}
	// End of input: event time ends, then every operator in order emits
	// what it held back, its output flushed before the next one ends.
	if err := src.ProcessWatermark(operators.MaxWatermark); err != nil {
		return err
	}
	for _, op := range ops {
		if err := op.EndInput(); err != nil {
			return err
		}
		for _, w := range writers {
			w.Flush()
		}
	}
	return nil
}

type watermarker interface{ ProcessWatermark(wm int64) error }

// directSender delivers a writer's batches and watermarks at once.
type directSender struct {
	feed func(any) error
	next watermarker
}

func (s directSender) SendBatch(_ int, b any) {
	if err := s.feed(b); err != nil {
		panic(err)
	}
}

func (s directSender) SendWatermark(wm int64) {
	if err := s.next.ProcessWatermark(wm); err != nil {
		panic(err)
	}
}

func pipelineDirect(n int64) (digest, error) {
	env, _ := newEnv(1, 0)
	src := stream.FromSource(env, "gen", sequence(n), true)
	mixed := stream.Map(stream.Filter(stream.Map(src, "scale", pipeScale), "keep", pipeKeep), "mix", pipeMix)
	var out shared
	stream.SinkTo(mixed, "checksum", func() operators.Sink[int64] { return &valueSink{out: &out} })
	err := runDirect(env)
	return out.get(), err
}

func shuffleDirect(n, keys int64) (digest, error) {
	env, _ := newEnv(1, 0)
	src := stream.FromSource(env, "gen", sequence(n), true)
	sums := stream.Sum(stream.KeyBy(src, func(v int64) int64 { return v % keys }), "sum", func(v int64) int64 { return v })
	var out shared
	stream.SinkTo(sums, "checksum", func() operators.Sink[stream.KV[int64, int64]] { return &kvSink{out: &out} })
	err := runDirect(env)
	return out.get(), err
}

func TestDirectAgreesWithBaseline(t *testing.T) {
	const n, keys = 10_000, 1000
	if d, err := pipelineDirect(n); err != nil || d != pipelineBaseline(n) {
		t.Fatalf("pipeline: %v, %v", d, err)
	}
	if d := pipelineBatched(n, 1000); d != pipelineBaseline(n) {
		t.Fatalf("pipeline batched: %v", d)
	}
	if d := pipelineFuncValues(n); d != pipelineBaseline(n) {
		t.Fatalf("pipeline with func values: %v", d)
	}
	if d, err := shuffleDirect(n, keys); err != nil || d != shuffleBaseline(n, keys) {
		t.Fatalf("shuffle: %v, %v", d, err)
	}
}

func BenchmarkPipelineBreakdown(b *testing.B) {
	want := pipelineBaseline(benchRecords)
	b.Run("funcvalues", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pipelineFuncValues(benchRecords) != want {
				b.Fatal("checksum")
			}
		}
		reportRate(b, benchRecords)
	})
	b.Run("batched", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pipelineBatched(benchRecords, 1024) != want {
				b.Fatal("checksum")
			}
		}
		reportRate(b, benchRecords)
	})
	b.Run("operators", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d, err := pipelineDirect(benchRecords); err != nil || d != want {
				b.Fatal(d, err)
			}
		}
		reportRate(b, benchRecords)
	})
}

func BenchmarkShuffleBreakdown(b *testing.B) {
	want := shuffleBaseline(benchRecords, DefaultKeys)
	b.Run("operators", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d, err := shuffleDirect(benchRecords, DefaultKeys); err != nil || d != want {
				b.Fatal(d, err)
			}
		}
		reportRate(b, benchRecords)
	})
}
