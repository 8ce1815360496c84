// Package stream is Strom's user API: typed builders that describe a job as
// a graph of operators, and Execute, which runs it.
//
// A job reads from sources, transforms records with typed functions and
// writes to sinks:
//
//	env := stream.NewEnvironment(stream.WithParallelism(2), stream.WithMode(stream.Batch))
//	lines := stream.FromSource(env, "lines", func() operators.Source[string] { return file.Lines("in.txt") }, true)
//	words := stream.FlatMap(lines, "split", splitWords)
//	counts := stream.Sum(stream.KeyBy(words, identity), "count", one)
//	stream.SinkTo(counts, "out", func() operators.Sink[stream.KV[string, int64]] { return file.NewSink("out.txt", format) })
//	err := env.Execute(ctx)
//
// Functions are generic in their record types, so a stream of T carries
// plain T values; the runtime moves them in batches and asserts a batch's
// type once. Every operator has a name and a stable ID (by default its
// name) that identifies its state across runs.
//
// Builders are not safe for concurrent use; build a job on one goroutine.
// A mistake found while building (a bad parallelism, an unsupported key
// type) is kept and returned by Execute.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// RuntimeMode selects between streaming and batch execution.
type RuntimeMode int

const (
	// Streaming emits results continuously: a keyed reduction emits every
	// update.
	Streaming RuntimeMode = iota
	// Batch runs bounded input and emits each keyed reduction's final value
	// once, at the end.
	Batch
	// Automatic is Batch when every source is bounded, else Streaming.
	Automatic
)

// ParseMode parses "streaming", "batch" or "auto".
func ParseMode(s string) (RuntimeMode, error) {
	switch s {
	case "streaming":
		return Streaming, nil
	case "batch":
		return Batch, nil
	case "auto", "automatic":
		return Automatic, nil
	}
	return 0, fmt.Errorf("mode %q: want streaming, batch or auto", s)
}

func (m RuntimeMode) String() string {
	switch m {
	case Streaming:
		return "streaming"
	case Batch:
		return "batch"
	case Automatic:
		return "auto"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Environment holds a job under construction and its settings.
type Environment struct {
	graph       *actors.JobGraph
	parallelism int
	mode        RuntimeMode
	cfg         actors.Config
	errs        []error
	// sides are the side outputs of each operator, in output order.
	sides map[*actors.Vertex][]sideTag
	// checkpointDir is where checkpoints go; empty runs without.
	checkpointDir string
}

// Option configures an Environment.
type Option func(*Environment)

// WithParallelism sets the default parallelism of operators (default 1).
func WithParallelism(n int) Option { return func(e *Environment) { e.parallelism = n } }

// WithMaxParallelism sets the number of key groups (default 128).
func WithMaxParallelism(n int) Option { return func(e *Environment) { e.graph.MaxParallelism = n } }

// WithMode sets the runtime mode (default Streaming).
func WithMode(m RuntimeMode) Option { return func(e *Environment) { e.mode = m } }

// WithBufferTimeout sets how long a record may wait in a partly filled
// batch (default 5ms; 0 sends every record at once).
func WithBufferTimeout(d time.Duration) Option {
	return func(e *Environment) { e.cfg.BufferTimeout = d }
}

// WithBatchSize sets the records per network batch (default 1024).
func WithBatchSize(n int) Option { return func(e *Environment) { e.cfg.BatchSize = n } }

// WithCredits sets the batches each input channel may have in flight.
func WithCredits(n int) Option { return func(e *Environment) { e.cfg.Credits = n } }

// WithClock sets the clock of processing time (default: the wall clock).
func WithClock(c operators.Clock) Option { return func(e *Environment) { e.cfg.Clock = c } }

// WithCheckpointing takes a checkpoint every interval into dir. A job run
// again with the same dir after it was killed resumes from its latest
// complete checkpoint.
func WithCheckpointing(dir string, interval time.Duration) Option {
	return func(e *Environment) {
		e.checkpointDir = dir
		e.cfg.Checkpoint.Interval = interval
	}
}

// WithCheckpointConfig sets the checkpoint timeout, pause, concurrency,
// mode and retention (the interval too; WithCheckpointing sets the
// directory).
func WithCheckpointConfig(c actors.CheckpointConfig) Option {
	return func(e *Environment) { e.cfg.Checkpoint = c }
}

// WithSavepointOnStop makes a job stopped by its context take a final
// checkpoint and keep it as savepoint name before it ends.
func WithSavepointOnStop(name string) Option {
	return func(e *Environment) { e.cfg.SavepointOnStop = name }
}

// WithStateBackend sets where keyed operators keep their state:
// "heap" (the default: Go memory, the fastest) or "pebble" (an LSM store on
// local disk, for state larger than memory; see operators.StateStore).
// localDir is where the working Pebble instances go (default: the system
// temporary directory); they are discarded when the job stops, since
// checkpoints make state durable. Checkpoints and savepoints of either
// backend restore into the other.
func WithStateBackend(backend, localDir string) Option {
	return func(e *Environment) { e.cfg.StateBackend, e.cfg.LocalStateDir = backend, localDir }
}

// WithRestore starts the job from the checkpoint or savepoint at path.
func WithRestore(path string) Option { return func(e *Environment) { e.cfg.RestorePath = path } }

// WithRestartStrategy sets what happens when the job fails (default: it
// fails; with checkpoints, see RuntimeParams).
func WithRestartStrategy(r actors.RestartStrategy) Option {
	return func(e *Environment) { e.cfg.Restart = r }
}

// WithLogger sets the logger of the runtime.
func WithLogger(l *slog.Logger) Option { return func(e *Environment) { e.cfg.Logger = l } }

// WithMetrics collects the job's counters into m.
func WithMetrics(m *actors.Metrics) Option { return func(e *Environment) { e.cfg.Metrics = m } }

// NewEnvironment returns an empty job.
func NewEnvironment(opts ...Option) *Environment {
	e := &Environment{
		graph:       &actors.JobGraph{Name: "job", MaxParallelism: snapshot.DefaultMaxParallelism},
		parallelism: 1,
		cfg:         actors.DefaultConfig(),
		sides:       make(map[*actors.Vertex][]sideTag),
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// SetName names the job.
func (e *Environment) SetName(name string) { e.graph.Name = name }

// Parallelism returns the default parallelism.
func (e *Environment) Parallelism() int { return e.parallelism }

// errorf records a construction error, reported by Execute.
func (e *Environment) errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// Plan checks the job and returns its physical plan.
func (e *Environment) Plan() (*actors.Plan, error) {
	if err := errors.Join(e.errs...); err != nil {
		return nil, fmt.Errorf("job %q: %w", e.graph.Name, err)
	}
	switch e.mode {
	case Batch:
		e.graph.BatchMode = true
	case Automatic:
		bounded := true
		for _, v := range e.graph.Vertices {
			if v.NewSource != nil && !v.Bounded {
				bounded = false
			}
		}
		e.graph.BatchMode = bounded
	default:
		e.graph.BatchMode = false
	}
	p, err := actors.NewPlan(e.graph)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", e.graph.Name, err)
	}
	return p, nil
}

// Execute runs the job in this process and returns when it finishes, when
// an operator fails (with an error naming the operator and subtask), or
// when ctx is cancelled (an error wrapping actors.ErrCancelled and the
// context's error).
func (e *Environment) Execute(ctx context.Context) error {
	p, err := e.Plan()
	if err != nil {
		return err
	}
	cfg, err := e.runtimeConfig()
	if err != nil {
		return err
	}
	system := NewActorSystem(e.cfg.Logger)
	defer system.Shutdown()
	return actors.Execute(ctx, system, p, actors.Deployment{}, cfg)
}

// runtimeConfig opens the checkpoint store, if any.
func (e *Environment) runtimeConfig() (actors.Config, error) {
	cfg := e.cfg
	if e.checkpointDir == "" {
		if cfg.Checkpoint.Interval > 0 {
			return cfg, fmt.Errorf("job %q: checkpoint interval %v without a checkpoint directory", e.graph.Name, cfg.Checkpoint.Interval)
		}
		return cfg, nil
	}
	st, err := snapshot.Open(e.checkpointDir, nil)
	if err != nil {
		return cfg, fmt.Errorf("job %q: checkpoint directory: %w", e.graph.Name, err)
	}
	cfg.Store = st
	return cfg, nil
}

// ExecuteOn runs the job's subtasks on the node agents of dep, with the
// master in system. Every node must know the job by dep.JobName.
func (e *Environment) ExecuteOn(ctx context.Context, system *actor.ActorSystem, dep actors.Deployment) error {
	p, err := e.Plan()
	if err != nil {
		return err
	}
	// Only records that leave a chain may cross nodes.
	for _, c := range p.Chains {
		for _, edge := range c.Outputs {
			if !edge.Type().HasCodec() {
				return fmt.Errorf("job %q: operator %q emits records without a codec; set one with Codec to run on a cluster", p.Graph.Name, edge.Source.Name)
			}
		}
	}
	cfg, err := e.runtimeConfig()
	if err != nil {
		return err
	}
	return actors.Execute(ctx, system, p, dep, cfg)
}

// Config returns the runtime configuration the job runs with.
func (e *Environment) Config() actors.Config { return e.cfg }

// NewActorSystem returns an actor system whose own logging goes to l at
// warning level and above.
func NewActorSystem(l *slog.Logger) *actor.ActorSystem {
	if l == nil {
		l = slog.Default()
	}
	h := l.Handler()
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(levelHandler{h, slog.LevelWarn}).With("component", "actor")
	}))
}

// levelHandler raises a handler's minimum level.
type levelHandler struct {
	slog.Handler
	min slog.Level
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(a), h.min}
}

func (h levelHandler) WithGroup(n string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(n), h.min}
}

// DiscardLogger drops every record.
func DiscardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
