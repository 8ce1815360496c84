// Package bench measures Strom's data path against hand-written Go loops
// that do the same work on one goroutine.
//
// Each workload is a configuration struct and a function that runs it:
//
//	res, err := bench.RunPipeline(ctx, bench.PipelineConfig{Records: 20_000_000})
//	res, err := bench.RunShuffle(ctx, bench.ShuffleConfig{Records: 20_000_000, Parallelism: 2})
//
// and [RunMicro] runs the whole micro suite (every workload at parallelism
// 1 and at MicroConfig.Parallelism). The strom command is a thin shell over
// RunMicro:
//
//	strom bench micro [--records N] [--repeat R] [--parallelism P] [--json]
//
// # Workloads
//
// pipeline: gen.Sequence(Count N) → Map(v*3+1) → Filter(v%4 != 0) →
// Map((v ^ v>>5) + 11) → a sink that folds every value into a checksum. All
// operators have the same parallelism, so they chain into one subtask per
// parallel instance and records pass between them by plain calls. The
// baseline is a for loop over i in [0, N) that calls the same three
// functions and folds the same checksum.
//
// shuffle: gen.Sequence(Count N) → KeyBy(v % Keys) → Sum(v) in batch mode →
// a sink that folds the final (key, sum) pairs into a checksum. The key-by
// is a hash partitioning, so the source and the sum run in different
// subtasks and every record crosses a channel between two actors. The
// baseline is a for loop that adds i into a map[int64]int64 under i%Keys
// and folds the same checksum over the map.
//
// Both checksums are order-independent (a wrapping sum of a mixed hash of
// each record), so they do not depend on how subtasks interleave, and a run
// whose Strom checksum or record count differs from the baseline's fails
// with [ErrMismatch]: a benchmark of a wrong answer is no benchmark.
//
// # Measurement
//
// A workload runs its baseline and then its Strom job, Repeat times
// (default 3), after a garbage collection each. Every run measures the wall
// time and the process's CPU time (user + system, getrusage(RUSAGE_SELF))
// around the whole run: for Strom that includes building the plan, starting
// and stopping the actor system, and waiting for the last subtask to
// finish. A [Result] reports the median of each, and the rates derived from
// the medians: records per second (input records / wall seconds) and
// records per CPU-second. Ratio is Strom's records per second over the
// baseline's, both measured in the same process, alternately, so that a
// busy or throttled machine skews both alike. Records per CPU-second
// compares cost independently of how many cores a job occupies.
//
// Strom jobs run with a discarding logger and otherwise the runtime's
// defaults (batches of 1024 records, 8 credits per channel), unless a
// config sets BatchSize.
//
// The same workloads back the go test benchmarks of this package
// (go test -run=XXX -bench=. ./bench/) and a fast test that checks every
// workload's Strom checksum against its baseline on a small input.
// BenchmarkPipelineBreakdown and BenchmarkShuffleBreakdown split the gap
// between Strom and a baseline: the same loop through func values, and
// Strom's operators driven by a plain loop without the actor runtime.
// RESULTS.md records measured figures and profiles.
package bench
