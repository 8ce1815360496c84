package bench

import (
	"context"
	"fmt"
)

// MicroConfig configures the micro suite.
type MicroConfig struct {
	// Records is the input size of every workload (default 20M).
	Records int64
	// Repeat is the number of runs of each side (default 3).
	Repeat int
	// Parallelism is the parallelism of the parallel variants (default 2).
	// Every workload runs at parallelism 1 and, when this is above 1, at
	// this parallelism too.
	Parallelism int
	// Keys is the number of keys of the shuffle (default 100,000).
	Keys int64
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
	// Progress, when set, is called with each result as soon as it is
	// measured, from the goroutine that called RunMicro.
	Progress func(Result)
}

// DefaultParallelism is the parallelism of the micro suite's parallel
// variants when MicroConfig leaves it zero.
const DefaultParallelism = 2

// RunMicro runs the micro suite: the pipeline and the shuffle, each at
// parallelism 1 and at cfg.Parallelism. It returns the results measured so
// far with the first error.
func RunMicro(ctx context.Context, cfg MicroConfig) ([]Result, error) {
	if cfg.Parallelism == 0 {
		cfg.Parallelism = DefaultParallelism
	}
	if cfg.Records == 0 {
		cfg.Records = DefaultRecords
	}
	if cfg.Repeat == 0 {
		cfg.Repeat = DefaultRepeat
	}
	if err := check(cfg.Records, cfg.Parallelism, cfg.Repeat, cfg.BatchSize); err != nil {
		return nil, fmt.Errorf("micro: %w", err)
	}
	if cfg.Keys < 0 {
		return nil, fmt.Errorf("micro: keys %d: must not be negative", cfg.Keys)
	}
	pars := []int{1}
	if cfg.Parallelism > 1 {
		pars = append(pars, cfg.Parallelism)
	}
	var runs []func() (Result, error)
	for _, p := range pars {
		runs = append(runs, func() (Result, error) {
			return RunPipeline(ctx, PipelineConfig{Records: cfg.Records, Parallelism: p, Repeat: cfg.Repeat, BatchSize: cfg.BatchSize})
		})
	}
	for _, p := range pars {
		runs = append(runs, func() (Result, error) {
			return RunShuffle(ctx, ShuffleConfig{Records: cfg.Records, Keys: cfg.Keys, Parallelism: p, Repeat: cfg.Repeat, BatchSize: cfg.BatchSize})
		})
	}
	var results []Result
	for _, run := range runs {
		r, err := run()
		if err != nil {
			return results, err
		}
		results = append(results, r)
		if cfg.Progress != nil {
			cfg.Progress(r)
		}
	}
	return results, nil
}
