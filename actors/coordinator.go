package actors

import (
	"fmt"
	"time"
)

// CheckpointConfig sets how a job takes checkpoints.
type CheckpointConfig struct {
	// Interval between checkpoint triggers; zero disables checkpoints.
	Interval time.Duration
	// Timeout aborts a checkpoint that is not complete after this long.
	Timeout time.Duration
	// MinPause is the least time between the completion of one checkpoint
	// and the trigger of the next.
	MinPause time.Duration
	// MaxConcurrent is how many checkpoints may be in progress at once.
	MaxConcurrent int
	// AtLeastOnce skips barrier alignment: lower latency, but records may
	// be counted twice after a restore.
	AtLeastOnce bool
	// Retain is how many completed checkpoints are kept.
	Retain int
}

// DefaultCheckpointConfig has checkpoints disabled and Flink-like limits.
func DefaultCheckpointConfig() CheckpointConfig {
	return CheckpointConfig{Timeout: time.Minute, MaxConcurrent: 1, Retain: 3}
}

// Validate checks c, naming the setting at fault.
func (c *CheckpointConfig) Validate() error {
	switch {
	case c.Interval < 0:
		return fmt.Errorf("checkpoint interval %v: must not be negative", c.Interval)
	case c.Interval > 0 && c.Timeout <= 0:
		return fmt.Errorf("checkpoint timeout %v: must be positive", c.Timeout)
	case c.MinPause < 0:
		return fmt.Errorf("checkpoint min pause %v: must not be negative", c.MinPause)
	case c.Interval > 0 && c.MaxConcurrent < 1:
		return fmt.Errorf("max concurrent checkpoints %d: must be at least 1", c.MaxConcurrent)
	case c.Interval > 0 && c.Retain < 1:
		return fmt.Errorf("retained checkpoints %d: must be at least 1", c.Retain)
	}
	return nil
}

// coordinator is the checkpoint coordinator: a deterministic state machine
// that the job master feeds with time (tick) and with the subtasks' acks and
// declines, and that answers with what to do. It performs no I/O and keeps
// no clock of its own, so tests drive it step by step.
type coordinator struct {
	cfg CheckpointConfig
	// tasks is the number of subtasks that must acknowledge a checkpoint.
	tasks int
	// nextID is the ID of the next checkpoint.
	nextID int64
	// pending checkpoints by ID.
	pending map[int64]*pendingCheckpoint
	// lastTrigger and lastComplete are the times of the latest trigger and
	// completion; zero before the first.
	lastTrigger, lastComplete time.Time
	// stopped is set when the job stops taking checkpoints.
	stopped bool

	Completed, Aborted, Expired int64
}

type pendingCheckpoint struct {
	id        int64
	started   time.Time
	acked     map[taskKey]any
	completed bool
}

type taskKey struct{ chain, subtask int }

// coordAction is what the coordinator asks the master to do.
type coordAction struct {
	kind coordActionKind
	id   int64
	// acks holds the subtasks' acknowledgements, for actComplete.
	acks   map[taskKey]any
	reason string
}

type coordActionKind int

const (
	actTrigger coordActionKind = iota + 1
	actComplete
	actAbort
)

func newCoordinator(cfg CheckpointConfig, tasks int, firstID int64) *coordinator {
	return &coordinator{cfg: cfg, tasks: tasks, nextID: firstID, pending: make(map[int64]*pendingCheckpoint)}
}

// tick advances time: it expires checkpoints past their timeout and
// triggers the next one when due.
func (c *coordinator) tick(now time.Time) []coordAction {
	var out []coordAction
	for id, p := range c.pending {
		if !p.completed && now.Sub(p.started) >= c.cfg.Timeout {
			delete(c.pending, id)
			c.Expired++
			out = append(out, coordAction{kind: actAbort, id: id, reason: fmt.Sprintf("expired after %v", c.cfg.Timeout)})
		}
	}
	if c.stopped || c.cfg.Interval <= 0 || c.inFlight() >= c.cfg.MaxConcurrent {
		return out
	}
	if !c.lastTrigger.IsZero() && now.Sub(c.lastTrigger) < c.cfg.Interval {
		return out
	}
	if !c.lastComplete.IsZero() && now.Sub(c.lastComplete) < c.cfg.MinPause {
		return out
	}
	id := c.nextID
	c.nextID++
	c.lastTrigger = now
	c.pending[id] = &pendingCheckpoint{id: id, started: now, acked: make(map[taskKey]any)}
	return append(out, coordAction{kind: actTrigger, id: id})
}

// inFlight counts checkpoints triggered and not yet acknowledged by all.
func (c *coordinator) inFlight() int {
	n := 0
	for _, p := range c.pending {
		if !p.completed {
			n++
		}
	}
	return n
}

// ack records a subtask's acknowledgement; when it is the last one the
// checkpoint is complete and the master writes its manifest.
func (c *coordinator) ack(id int64, t taskKey, ack any) []coordAction {
	p := c.pending[id]
	if p == nil || p.completed {
		return nil // aborted, expired or unknown: the ack is stale
	}
	p.acked[t] = ack
	if len(p.acked) < c.tasks {
		return nil
	}
	p.completed = true
	return []coordAction{{kind: actComplete, id: id, acks: p.acked}}
}

// committed records that the manifest of id is durable (err nil) or could
// not be written.
func (c *coordinator) committed(id int64, now time.Time, err error) []coordAction {
	if _, ok := c.pending[id]; !ok {
		return nil
	}
	delete(c.pending, id)
	if err != nil {
		c.Aborted++
		return []coordAction{{kind: actAbort, id: id, reason: err.Error()}}
	}
	c.Completed++
	c.lastComplete = now
	// Older checkpoints still pending are subsumed.
	var out []coordAction
	for old, p := range c.pending {
		if old < id && !p.completed {
			delete(c.pending, old)
			c.Aborted++
			out = append(out, coordAction{kind: actAbort, id: old, reason: fmt.Sprintf("subsumed by checkpoint %d", id)})
		}
	}
	return out
}

// decline aborts checkpoint id because a subtask could not take it.
func (c *coordinator) decline(id int64, t taskKey, reason string) []coordAction {
	p := c.pending[id]
	if p == nil || p.completed {
		return nil
	}
	delete(c.pending, id)
	c.Aborted++
	return []coordAction{{kind: actAbort, id: id, reason: fmt.Sprintf("chain %d subtask %d declined: %s", t.chain, t.subtask, reason)}}
}

// stop aborts every pending checkpoint and triggers no more (the job is
// finishing, failing or restarting).
func (c *coordinator) stop(reason string) []coordAction {
	c.stopped = true
	var out []coordAction
	for id, p := range c.pending {
		if !p.completed {
			delete(c.pending, id)
			c.Aborted++
			out = append(out, coordAction{kind: actAbort, id: id, reason: reason})
		}
	}
	return out
}
