package nexmark

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/stream"
	"github.com/stromhq/strom/stream/cli"
)

// ErrMismatch is returned when a run's sources did not emit every event.
var ErrMismatch = errors.New("nexmark: event count mismatch")

// State backends Config.StateBackend accepts.
const (
	BackendHeap   = "heap"
	BackendPebble = "pebble"
)

// DefaultEvents is the number of events of the strom bench nexmark
// command.
const DefaultEvents = 10_000_000

// Config configures one run of a query.
type Config struct {
	// Query is the name of the query, e.g. "q0".
	Query string
	// Events is the number of events to generate, at least 1.
	Events int64
	// Parallelism is the parallelism of every operator of the job
	// (default 1). It is ignored by the baseline, which runs on one
	// goroutine.
	Parallelism int
	// Baseline runs the query's hand-written baseline instead of the
	// Strom job.
	Baseline bool
	// CheckpointInterval is the interval of the Strom job's checkpoints,
	// taken into a fresh temporary directory that is removed after the
	// run; 0 means no checkpoints. The baseline ignores it.
	CheckpointInterval time.Duration
	// StateBackend is BackendHeap (the default) or BackendPebble, passed
	// to the stream package as --state-backend is; a backend it refuses
	// (pebble, in this build) fails the run with a cli.UsageError.
	StateBackend string
	// Generator configures the events.
	Generator GeneratorConfig
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
	// Progress, when set, is called every ProgressInterval (default 1s)
	// while the query runs, from a goroutine of its own.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Progress is the state of a running query.
type Progress struct {
	Elapsed time.Duration
	// Events is the number of events generated so far, EventsPerSecond
	// the rate since the previous report.
	Events          int64
	EventsPerSecond float64
}

// Result is the outcome of a run. Its JSON form is what strom bench
// nexmark --json prints.
type Result struct {
	Query string `json:"query"`
	// Engine is "strom" or "baseline".
	Engine      string `json:"engine"`
	Events      int64  `json:"events"`
	Parallelism int    `json:"parallelism"`
	// WallSeconds is the wall time of the whole run: for Strom from
	// building the job to the end of Execute.
	WallSeconds float64 `json:"wall_seconds"`
	// CPUSeconds is the user and system CPU time of the process over the
	// run (getrusage), 0 where it cannot be read.
	CPUSeconds float64 `json:"cpu_seconds"`
	// EventsPerSecond is Events / WallSeconds; EventsPerCPUSecond, the
	// headline figure, Events / CPUSeconds.
	EventsPerSecond    float64 `json:"events_per_second"`
	EventsPerCPUSecond float64 `json:"events_per_cpu_second"`
	// ResultDigest is Digest.String of the result rows, Results their
	// number: equal for a query at any parallelism and its baseline.
	ResultDigest string `json:"result_digest"`
	Results      int64  `json:"results"`
	// Checkpoints is the number of checkpoints the Strom job completed
	// (the job-wide counter "checkpoints"); 0 without checkpoints and for
	// the baseline.
	Checkpoints int `json:"checkpoints"`
	// CheckpointSyncMaxMillis is the longest synchronous part of a
	// checkpoint in any subtask (the counter "checkpoint sync max µs"):
	// the time a subtask processed no record to take its snapshot.
	CheckpointSyncMaxMillis float64 `json:"checkpoint_sync_max_ms"`
	// CheckpointStoreSyncMaxMillis is the part of it spent on the Pebble
	// store (committing, flushing and linking), 0 with the heap backend.
	CheckpointStoreSyncMaxMillis float64 `json:"checkpoint_store_sync_max_ms"`
	// CheckpointIntervalSeconds is the interval asked for (0: none).
	CheckpointIntervalSeconds float64 `json:"checkpoint_interval_seconds"`
	StateBackend              string  `json:"state_backend"`
	Seed                      uint64  `json:"seed"`
	// Rate is the rate of event time, in events per second.
	Rate       int64  `json:"rate"`
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// Validate checks cfg and fills in its defaults.
func (c *Config) Validate() error {
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.StateBackend == "" {
		c.StateBackend = BackendHeap
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if _, ok := Lookup(c.Query); !ok {
		return fmt.Errorf("no query %q (have %s)", c.Query, strings.Join(QueryNames(), ", "))
	}
	switch {
	case c.Events < 1:
		return fmt.Errorf("events %d: must be at least 1", c.Events)
	case c.Parallelism < 1:
		return fmt.Errorf("parallelism %d: must be at least 1", c.Parallelism)
	case c.CheckpointInterval < 0:
		return fmt.Errorf("checkpoint interval %v: must not be negative", c.CheckpointInterval)
	case c.StateBackend != BackendHeap && c.StateBackend != BackendPebble:
		return fmt.Errorf("state backend %q: want %s or %s", c.StateBackend, BackendHeap, BackendPebble)
	case c.BatchSize < 0:
		return fmt.Errorf("batch size %d: must not be negative", c.BatchSize)
	}
	if err := c.Generator.Validate(); err != nil {
		return err
	}
	c.Generator = c.Generator.withDefaults()
	return nil
}

// Run runs cfg's query once, on Strom or as its baseline, and measures it.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, cli.UsageError{Err: fmt.Errorf("nexmark: %w", err)}
	}
	q, _ := Lookup(cfg.Query)
	res := Result{
		Query: q.Name, Engine: "strom", Events: cfg.Events, Parallelism: cfg.Parallelism,
		CheckpointIntervalSeconds: cfg.CheckpointInterval.Seconds(), StateBackend: cfg.StateBackend,
		Seed: cfg.Generator.Seed, Rate: cfg.Generator.Rate,
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	var events func() int64
	var run func() (Digest, error)
	checkpoints := func() int { return 0 }
	syncMax, storeSyncMax := func() float64 { return 0 }, func() float64 { return 0 }
	if cfg.Baseline {
		res.Engine, res.Parallelism = "baseline", 1
		var done atomic.Int64
		events = done.Load
		run = func() (Digest, error) { return RunBaseline(ctx, q, cfg.Generator, cfg.Events, &done) }
	} else {
		metrics := &actors.Metrics{}
		dir := ""
		if cfg.CheckpointInterval > 0 {
			d, err := os.MkdirTemp("", "strom-nexmark-"+q.Name+"-")
			if err != nil {
				return res, fmt.Errorf("nexmark %s: checkpoint directory: %w", q.Name, err)
			}
			defer os.RemoveAll(d)
			dir = d
		}
		events = func() int64 { return metrics.Snapshot().SourceRecords }
		run = func() (Digest, error) { return runStrom(ctx, q, cfg, dir, metrics) }
		checkpoints = func() int { return int(metrics.Counters()["checkpoints"]) }
		syncMax = func() float64 { return float64(metrics.Counters()["checkpoint sync max µs"]) / 1000 }
		storeSyncMax = func() float64 { return float64(metrics.Counters()["checkpoint store sync max µs"]) / 1000 }
	}

	runtime.GC()
	stop := startProgress(cfg, events)
	cpu0, t0 := cpuTime(), time.Now()
	d, err := run()
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	stop()
	if err != nil {
		return res, fmt.Errorf("nexmark %s (%s): %w", q.Name, res.Engine, err)
	}
	res.WallSeconds, res.CPUSeconds = wall.Seconds(), cpu.Seconds()
	res.EventsPerSecond = ratio(float64(cfg.Events), res.WallSeconds)
	res.EventsPerCPUSecond = ratio(float64(cfg.Events), res.CPUSeconds)
	res.ResultDigest, res.Results = d.String(), d.Count
	res.Checkpoints = checkpoints()
	res.CheckpointSyncMaxMillis = syncMax()
	res.CheckpointStoreSyncMaxMillis = storeSyncMax()
	return res, nil
}

// runStrom builds the query's job and runs it, with checkpoints into dir
// every cfg.CheckpointInterval when dir is not empty. The environment is
// configured by the runtime arguments of stream.NewJobEnvironment, as
// strom run configures a registered job: streaming mode, no restarts.
func runStrom(ctx context.Context, q Query, cfg Config, dir string, metrics *actors.Metrics) (Digest, error) {
	args := stream.Args{
		"parallelism":      strconv.Itoa(cfg.Parallelism),
		"mode":             stream.Streaming.String(),
		"state-backend":    cfg.StateBackend,
		"restart-strategy": "none",
	}
	if cfg.BatchSize > 0 {
		args["batch-size"] = strconv.Itoa(cfg.BatchSize)
	}
	if dir != "" {
		args["checkpoint-dir"], args["checkpoint-interval"] = dir, cfg.CheckpointInterval.String()
	}
	var out Results
	job := &stream.Job{Name: "nexmark-" + q.Name, Build: func(env *stream.Environment, _ stream.Args) error {
		var opts []stream.SourceOption[Event]
		if q.EventTime {
			opts = append(opts, stream.WithWatermarks(stream.ForBoundedOutOfOrderness[Event](WatermarkLag)))
		}
		q.Build(stream.FromSource(env, "nexmark", Sources(cfg.Generator, cfg.Events), true, opts...), &out)
		return nil
	}}
	env, err := stream.NewJobEnvironment(job, args, stream.WithLogger(stream.DiscardLogger()), stream.WithMetrics(metrics))
	if err != nil {
		// Only the runtime arguments can fail here: a usage error, such
		// as a state backend the stream package refuses.
		return Digest{}, cli.UsageError{Err: err}
	}
	if err := env.Execute(ctx); err != nil {
		return Digest{}, err
	}
	if got := metrics.Snapshot().SourceRecords; got != cfg.Events {
		return Digest{}, fmt.Errorf("sources emitted %d events, want %d: %w", got, cfg.Events, ErrMismatch)
	}
	return out.Digest(), nil
}

// RunBaseline feeds events [0, events) of gc to q's baseline on the
// calling goroutine and returns the digest of its rows. When done is not
// nil it counts the events handed over so far, in steps of 4096.
func RunBaseline(ctx context.Context, q Query, gc GeneratorConfig, events int64, done *atomic.Int64) (Digest, error) {
	g := NewGenerator(gc)
	b := q.NewBaseline()
	var (
		ev Event
		h  Hasher
		d  Digest
	)
	const step = 4096
	for lo := int64(0); lo < events; lo += step {
		if lo%(64*step) == 0 {
			if err := ctx.Err(); err != nil {
				return d, err
			}
		}
		for n := lo; n < min(lo+step, events); n++ {
			ts := g.Event(n, &ev)
			b.Process(&ev, ts, &h, &d)
		}
		if done != nil {
			done.Store(min(lo+step, events))
		}
	}
	b.Finish(&h, &d)
	return d, nil
}

// startProgress calls cfg.Progress every cfg.ProgressInterval with the
// count events returns, until the returned function is called.
func startProgress(cfg Config, events func() int64) (stop func()) {
	if cfg.Progress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(cfg.ProgressInterval)
		defer t.Stop()
		start := time.Now()
		last, lastAt := int64(0), start
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				n := events()
				cfg.Progress(Progress{Elapsed: now.Sub(start), Events: n, EventsPerSecond: ratio(float64(n-last), now.Sub(lastAt).Seconds())})
				last, lastAt = n, now
			}
		}
	}()
	return func() { close(quit); <-done }
}

// ratio returns a/b, or 0 when b is not positive (JSON has no infinity).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
