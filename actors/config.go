package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// Config tunes the data path of a job.
type Config struct {
	// BatchSize is the number of records after which a channel's batch is
	// sent.
	BatchSize int
	// BufferTimeout is the longest a record waits in a partly filled batch.
	// Zero sends every record on its own (lowest latency).
	BufferTimeout time.Duration
	// Credits is the number of messages a receiver lets each input channel
	// have in flight: its share of the subtask's bounded input buffer.
	Credits int
	// DeployTimeout bounds how long remote subtasks may take to spawn.
	DeployTimeout time.Duration
	Logger        *slog.Logger
	// Clock tells processing time (default: the wall clock).
	Clock operators.Clock
	// Checkpoint sets how checkpoints are taken; they need Store.
	Checkpoint CheckpointConfig
	// Store holds the job's checkpoints; nil runs without.
	Store *snapshot.Store
	// RestorePath is the checkpoint or savepoint to start from; empty
	// starts empty (Execute fills it with the latest checkpoint of Store
	// when the job did not finish last time).
	RestorePath string
	// SavepointOnStop, when set, makes a job whose context is cancelled
	// take a final checkpoint and keep it as the savepoint of this name
	// before it stops.
	SavepointOnStop string
	// Restart decides whether a failed job restarts from its latest
	// checkpoint (default: no restart).
	Restart RestartStrategy
	// Metrics, when set, receives the job's counters.
	Metrics *Metrics
	// StateBackend is where keyed operators keep their state: BackendHeap
	// (the default, also when empty) or BackendPebble.
	StateBackend string
	// LocalStateDir is the directory under which subtasks keep their
	// working Pebble instances (default os.TempDir()). They are discarded
	// when the subtask stops: checkpoints make state durable.
	LocalStateDir string
}

// State backends of Config.StateBackend.
const (
	BackendHeap   = "heap"
	BackendPebble = "pebble"
)

// DefaultConfig returns the defaults: batches of 1024 records, a 5 ms
// buffer timeout and 8 batches of credit per channel.
func DefaultConfig() Config {
	return Config{
		BatchSize:     1024,
		BufferTimeout: 5 * time.Millisecond,
		Credits:       8,
		DeployTimeout: 10 * time.Second,
		Logger:        slog.Default(),
		Clock:         WallClock{},
		Checkpoint:    DefaultCheckpointConfig(),
		Restart:       NoRestart{},
	}
}

// WallClock is the system clock.
type WallClock struct{}

// NowMillis implements operators.Clock.
func (WallClock) NowMillis() int64 { return time.Now().UnixMilli() }

// Validate checks c, naming the setting at fault.
func (c *Config) Validate() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d: must be at least 1", c.BatchSize)
	case c.BufferTimeout < 0:
		return fmt.Errorf("buffer timeout %v: must not be negative", c.BufferTimeout)
	case c.Credits < 1:
		return fmt.Errorf("credits %d: must be at least 1", c.Credits)
	case c.DeployTimeout <= 0:
		return fmt.Errorf("deploy timeout %v: must be positive", c.DeployTimeout)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = WallClock{}
	}
	if c.Restart == nil {
		c.Restart = NoRestart{}
	}
	if err := c.Checkpoint.Validate(); err != nil {
		return err
	}
	if c.Checkpoint.Interval > 0 && c.Store == nil {
		return fmt.Errorf("checkpoint interval %v: checkpoints need a checkpoint directory", c.Checkpoint.Interval)
	}
	switch c.StateBackend {
	case "", BackendHeap, BackendPebble:
	default:
		return fmt.Errorf("state backend %q: want %s or %s", c.StateBackend, BackendHeap, BackendPebble)
	}
	return nil
}

// batchSize is the effective threshold: a zero buffer timeout flushes every
// record.
func (c *Config) batchSize() int {
	if c.BufferTimeout == 0 {
		return 1
	}
	return c.BatchSize
}
