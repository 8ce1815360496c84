package bench

import (
	"context"
	"fmt"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// PipelineConfig configures the chained map/filter workload.
type PipelineConfig struct {
	// Records is the number of generated input records (default 20M).
	Records int64
	// Parallelism is the parallelism of every operator (default 1: the
	// whole job is one subtask).
	Parallelism int
	// Repeat is the number of runs of each side (default 3).
	Repeat int
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
}

// DefaultRecords is the input size of a workload whose config leaves
// Records zero.
const DefaultRecords = 20_000_000

// DefaultRepeat is the number of runs of a workload whose config leaves
// Repeat zero.
const DefaultRepeat = 3

func (c PipelineConfig) withDefaults() PipelineConfig {
	if c.Records == 0 {
		c.Records = DefaultRecords
	}
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.Repeat == 0 {
		c.Repeat = DefaultRepeat
	}
	return c
}

// The pipeline's functions, shared by the Strom job and the baseline.

func pipeScale(v int64) int64 { return v*3 + 1 }
func pipeKeep(v int64) bool   { return v%4 != 0 }
func pipeMix(v int64) int64   { return (v ^ v>>5) + 11 }

// RunPipeline runs the pipeline workload: see the package documentation.
func RunPipeline(ctx context.Context, cfg PipelineConfig) (Result, error) {
	cfg = cfg.withDefaults()
	r := Result{Workload: "pipeline", Parallelism: cfg.Parallelism, Records: cfg.Records, Repeat: cfg.Repeat}
	if err := check(cfg.Records, cfg.Parallelism, cfg.Repeat, cfg.BatchSize); err != nil {
		return r, fmt.Errorf("pipeline: %w", err)
	}
	err := compare(ctx, &r,
		func() (digest, error) { return pipelineStrom(ctx, cfg) },
		func() (digest, error) { return pipelineBaseline(cfg.Records), nil })
	return r, err
}

// pipelineBaseline is the hand-written loop.
func pipelineBaseline(n int64) digest {
	var d digest
	for i := range n {
		v := pipeScale(i)
		if !pipeKeep(v) {
			continue
		}
		d.add(pipeMix(v))
	}
	return d
}

// pipelineStrom runs the pipeline as a Strom job once.
func pipelineStrom(ctx context.Context, cfg PipelineConfig) (digest, error) {
	env, metrics := newEnv(cfg.Parallelism, cfg.BatchSize)
	env.SetName("bench-pipeline")
	src := stream.FromSource(env, "gen", sequence(cfg.Records), true)
	scaled := stream.Map(src, "scale", pipeScale)
	kept := stream.Filter(scaled, "keep", pipeKeep)
	mixed := stream.Map(kept, "mix", pipeMix)
	var out shared
	stream.SinkTo(mixed, "checksum", func() operators.Sink[int64] { return &valueSink{out: &out} })
	if err := execute(ctx, env, metrics, cfg.Records); err != nil {
		return digest{}, err
	}
	return out.get(), nil
}

// newEnv returns the environment every Strom job of the package runs in.
func newEnv(parallelism, batchSize int) (*stream.Environment, *actors.Metrics) {
	metrics := &actors.Metrics{}
	opts := []stream.Option{
		stream.WithParallelism(parallelism),
		stream.WithMode(stream.Batch),
		stream.WithLogger(stream.DiscardLogger()),
		stream.WithMetrics(metrics),
	}
	if batchSize > 0 {
		opts = append(opts, stream.WithBatchSize(batchSize))
	}
	return stream.NewEnvironment(opts...), metrics
}

// execute runs env and checks that its sources emitted every record.
func execute(ctx context.Context, env *stream.Environment, metrics *actors.Metrics, records int64) error {
	if err := env.Execute(ctx); err != nil {
		return err
	}
	if got := metrics.Snapshot().SourceRecords; got != records {
		return fmt.Errorf("sources emitted %d records, want %d: %w", got, records, ErrMismatch)
	}
	return nil
}

// sequence returns a factory of bounded generators of 0..n-1.
func sequence(n int64) func() operators.Source[int64] {
	return func() operators.Source[int64] { return gen.Sequence(gen.Count(n)) }
}

// valueSink folds the records of one sink subtask into a digest and merges
// it into out when its input ends.
type valueSink struct {
	out *shared
	d   digest
}

func (s *valueSink) Open(*operators.TaskContext) error { s.d = digest{}; return nil }
func (s *valueSink) Close() error                      { return nil }

func (s *valueSink) Write(b *operators.Batch[int64]) error {
	for _, v := range b.Values {
		s.d.add(v)
	}
	return nil
}

func (s *valueSink) Finish() error {
	s.out.merge(s.d)
	return nil
}
