package bench

import (
	"context"
	"fmt"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// ShuffleConfig configures the keyed shuffle workload.
type ShuffleConfig struct {
	// Records is the number of generated input records (default 20M).
	Records int64
	// Keys is the number of distinct keys, record i having key i % Keys
	// (default 100,000).
	Keys int64
	// Parallelism is the parallelism of the source and of the sum (default
	// 1: one source subtask sends to one sum subtask).
	Parallelism int
	// Repeat is the number of runs of each side (default 3).
	Repeat int
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
}

// DefaultKeys is the number of keys of a shuffle whose config leaves Keys
// zero.
const DefaultKeys = 100_000

func (c ShuffleConfig) withDefaults() ShuffleConfig {
	if c.Records == 0 {
		c.Records = DefaultRecords
	}
	if c.Keys == 0 {
		c.Keys = DefaultKeys
	}
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.Repeat == 0 {
		c.Repeat = DefaultRepeat
	}
	return c
}

// RunShuffle runs the keyed shuffle workload: see the package
// documentation.
func RunShuffle(ctx context.Context, cfg ShuffleConfig) (Result, error) {
	cfg = cfg.withDefaults()
	r := Result{Workload: "shuffle", Parallelism: cfg.Parallelism, Records: cfg.Records, Repeat: cfg.Repeat}
	if err := check(cfg.Records, cfg.Parallelism, cfg.Repeat, cfg.BatchSize); err != nil {
		return r, fmt.Errorf("shuffle: %w", err)
	}
	if cfg.Keys < 1 {
		return r, fmt.Errorf("shuffle: keys %d: must be at least 1", cfg.Keys)
	}
	err := compare(ctx, &r,
		func() (digest, error) { return shuffleStrom(ctx, cfg) },
		func() (digest, error) { return shuffleBaseline(cfg.Records, cfg.Keys), nil })
	return r, err
}

// shuffleBaseline is the hand-written loop: per-key sums in a map.
func shuffleBaseline(n, keys int64) digest {
	sums := make(map[int64]int64)
	for i := range n {
		sums[i%keys] += i
	}
	var d digest
	for k, s := range sums {
		d.addKV(k, s)
	}
	return d
}

// shuffleStrom runs the shuffle as a Strom job once.
func shuffleStrom(ctx context.Context, cfg ShuffleConfig) (digest, error) {
	env, metrics := newEnv(cfg.Parallelism, cfg.BatchSize)
	env.SetName("bench-shuffle")
	keys := cfg.Keys
	src := stream.FromSource(env, "gen", sequence(cfg.Records), true)
	byKey := stream.KeyBy(src, func(v int64) int64 { return v % keys })
	sums := stream.Sum(byKey, "sum", func(v int64) int64 { return v })
	var out shared
	stream.SinkTo(sums, "checksum", func() operators.Sink[stream.KV[int64, int64]] { return &kvSink{out: &out} })
	if err := execute(ctx, env, metrics, cfg.Records); err != nil {
		return digest{}, err
	}
	return out.get(), nil
}

// kvSink folds the (key, sum) pairs of one sink subtask into a digest.
type kvSink struct {
	out *shared
	d   digest
}

func (s *kvSink) Open(*operators.TaskContext) error { s.d = digest{}; return nil }
func (s *kvSink) Close() error                      { return nil }

func (s *kvSink) Write(b *operators.Batch[stream.KV[int64, int64]]) error {
	for _, kv := range b.Values {
		s.d.addKV(kv.Key, kv.Value)
	}
	return nil
}

func (s *kvSink) Finish() error {
	s.out.merge(s.d)
	return nil
}
