package actors

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/protos"
	"github.com/stromhq/strom/snapshot"
)

// startCheckpointing sets up the coordinator when the job checkpoints: it
// takes a new epoch in the store, so that an older master still running
// cannot commit, and continues the store's checkpoint numbering.
func (m *master) startCheckpointing() error {
	if m.cfg.Store == nil || m.cfg.Checkpoint.Interval <= 0 {
		return nil
	}
	epoch, err := m.cfg.Store.BeginEpoch()
	if err != nil {
		return fmt.Errorf("job %q: begin checkpoint epoch: %w", m.plan.Graph.Name, err)
	}
	next, err := m.cfg.Store.NextCheckpointID()
	if err != nil {
		return fmt.Errorf("job %q: %w", m.plan.Graph.Name, err)
	}
	m.epoch = epoch
	m.checkpts = make(map[int64]*snapshot.PendingCheckpoint)
	m.coord = newCoordinator(m.cfg.Checkpoint, 0, next)
	return nil
}

// armTick schedules the coordinator's next tick.
func (m *master) armTick(c actor.Context) {
	if m.tick != nil {
		return
	}
	every := min(max(m.cfg.Checkpoint.Interval/4, 10*time.Millisecond), time.Second)
	self, sys := c.Self(), c.ActorSystem()
	m.tick = time.AfterFunc(every, func() { sys.Root.Send(self, coordTick{}) })
}

// coordActions carries out what the coordinator asks for.
func (m *master) coordActions(c actor.Context, acts []coordAction) {
	for _, a := range acts {
		switch a.kind {
		case actTrigger:
			m.trigger(c, a.id)
		case actComplete:
			m.commit(c, a)
		case actAbort:
			level := slog.LevelWarn
			if m.coord.stopped {
				level = slog.LevelDebug // the job is ending or restarting
			} else if m.cfg.Metrics != nil {
				m.cfg.Metrics.Counter("checkpoints aborted").Add(1)
			}
			m.cfg.Logger.Log(context.Background(), level, "checkpoint aborted", "job", m.plan.Graph.Name, "checkpoint", a.id, "reason", a.reason)
			if p := m.checkpts[a.id]; p != nil {
				delete(m.checkpts, a.id)
				m.background(func() { _ = p.Abort() })
			}
		}
	}
}

// trigger starts checkpoint id: every subtask gets the trigger (see
// subtask.onTrigger), so that subtasks whose input ended take part too.
func (m *master) trigger(c actor.Context, id int64) {
	p, err := m.cfg.Store.NewCheckpoint(id, m.epoch)
	if err != nil {
		m.coordActions(c, m.coord.decline(id, taskKey{-1, -1}, err.Error()))
		return
	}
	m.checkpts[id] = p
	msg := &protos.TriggerCheckpoint{CheckpointId: id, TimestampMs: time.Now().UnixMilli(), Dir: p.Dir()}
	for _, ch := range m.plan.Chains {
		for _, pid := range m.tasks[ch.Index] {
			c.Send(pid, msg)
		}
	}
}

// commit writes the manifest of a checkpoint every subtask acknowledged,
// off the actor.
func (m *master) commit(c actor.Context, a coordAction) {
	p := m.checkpts[a.id]
	if p == nil {
		return
	}
	man := snapshot.NewManifest(m.plan.Graph.Name, m.plan.Graph.MaxParallelism, time.Now())
	man.CheckpointID, man.Epoch = a.id, m.epoch
	for _, ack := range a.acks {
		ack := ack.(*protos.AcknowledgeCheckpoint)
		for _, o := range ack.Operators {
			if err := man.AddSubtaskState(o.Uid, int(o.Parallelism), int(ack.Subtask), handleFromProto(o.State), o.SourcePositions, o.KeyedStore); err != nil {
				m.coordActions(c, m.coord.committed(a.id, time.Now(), err))
				return
			}
		}
	}
	self, sys := c.Self(), c.ActorSystem()
	m.background(func() { sys.Root.Send(self, checkpointCommitted{id: a.id, err: p.Commit(man)}) })
}

// onCommitted notifies the subtasks of a durable checkpoint and drops old
// ones.
func (m *master) onCommitted(c actor.Context, msg checkpointCommitted) {
	delete(m.checkpts, msg.id)
	if m.coord == nil {
		return
	}
	if msg.err != nil {
		m.coordActions(c, m.coord.committed(msg.id, time.Now(), msg.err))
		return
	}
	m.coordActions(c, m.coord.committed(msg.id, time.Now(), nil))
	if m.stopping != nil && msg.id >= m.stopping.after {
		m.finishStopWithSavepoint(c, msg.id)
		return
	}
	m.cfg.Logger.Debug("checkpoint complete", "job", m.plan.Graph.Name, "checkpoint", msg.id)
	if m.cfg.Metrics != nil {
		m.cfg.Metrics.Counter("checkpoints").Add(1)
	}
	for _, tasks := range m.tasks {
		for _, pid := range tasks {
			c.Send(pid, &protos.NotifyCheckpointComplete{CheckpointId: msg.id})
		}
	}
	store, keep := m.cfg.Store, m.cfg.Checkpoint.Retain
	m.background(func() { _, _ = store.Retain(keep) })
}

// stopWithSavepoint is a stop that waits for a final checkpoint.
type stopWithSavepoint struct {
	name string
	// after is the first checkpoint ID that counts as final.
	after int64
	err   error
}

// cancel stops the job; with a savepoint name it first takes a final
// checkpoint and keeps it as that savepoint.
func (m *master) cancel(c actor.Context, msg cancelJob) {
	cancelled := fmt.Errorf("job %q: %w: %w", m.plan.Graph.Name, ErrCancelled, msg.err)
	if msg.savepoint == "" || m.coord == nil || m.stopping != nil {
		m.complete(c, cancelled)
		return
	}
	m.stopping = &stopWithSavepoint{name: msg.savepoint, after: m.coord.nextID, err: cancelled}
	// Trigger at once: no interval or pause to wait for.
	m.coord.lastTrigger, m.coord.lastComplete = time.Time{}, time.Time{}
	m.coordActions(c, m.coord.tick(time.Now()))
	self, sys := c.Self(), c.ActorSystem()
	time.AfterFunc(m.cfg.Checkpoint.Timeout, func() { sys.Root.Send(self, savepointTimeout{}) })
}

type savepointTimeout struct{}

// finishStopWithSavepoint keeps checkpoint id as the savepoint and ends
// the job.
func (m *master) finishStopWithSavepoint(c actor.Context, id int64) {
	name, cancelled := m.stopping.name, m.stopping.err
	if _, err := m.cfg.Store.Savepoint(name, id); err != nil {
		m.complete(c, fmt.Errorf("job %q: stop with savepoint: %w", m.plan.Graph.Name, err))
		return
	}
	m.cfg.Logger.Info("savepoint taken", "job", m.plan.Graph.Name, "savepoint", m.cfg.Store.SavepointDir(name), "checkpoint", id)
	m.complete(c, cancelled)
}

// background runs checkpoint file work off the actor; Execute waits for
// all of it before it returns, so no file of the job changes afterwards.
func (m *master) background(fn func()) {
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		fn()
	}()
}
