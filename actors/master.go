package actors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
	"github.com/stromhq/strom/snapshot"
)

// Deployment says where a job's subtasks run and how the nodes that host
// them rebuild the job.
type Deployment struct {
	// JobName and JobArgs let a remote node agent rebuild the job from the
	// code registered under JobName (see NodeAgent).
	JobName string
	JobArgs map[string]string
	// Agents are the node agents to place subtasks on, round-robin. Empty
	// runs every subtask in the master's own actor system.
	Agents []*actor.PID
}

// ErrCancelled is returned by Execute when the job was stopped before it
// finished; it wraps the context's error.
var ErrCancelled = errors.New("actors: job cancelled")

// Execute runs a plan on system and returns when the job finishes (every
// subtask consumed its input and flushed its output), fails (the error of
// the first failed subtask), or ctx is cancelled. Execute blocks the calling
// goroutine, never an actor.
func Execute(ctx context.Context, system *actor.ActorSystem, plan *Plan, dep Deployment, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("job %q: %w", plan.Graph.Name, err)
	}
	if err := resumePoint(plan, &cfg); err != nil {
		return fmt.Errorf("job %q: %w", plan.Graph.Name, err)
	}
	result := make(chan error, 1)
	m := &master{plan: plan, dep: dep, cfg: &cfg, result: result, jobID: fmt.Sprintf("%s-%d", plan.Graph.Name, time.Now().UnixNano())}
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return m }), "job-"+m.jobID)
	if err != nil {
		return fmt.Errorf("job %q: spawn master: %w", plan.Graph.Name, err)
	}
	var jobErr error
	select {
	case jobErr = <-result:
	case <-ctx.Done():
		system.Root.Send(pid, cancelJob{err: ctx.Err(), savepoint: cfg.SavepointOnStop})
		jobErr = <-result
	}
	// Stopping the master stops its local subtasks first, closing their
	// operators, so that nothing of the job runs after Execute returns.
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		jobErr = errors.Join(jobErr, fmt.Errorf("stop job: %w", err))
	}
	m.bg.Wait()
	if jobErr == nil && cfg.Store != nil {
		if err := markFinished(cfg.Store); err != nil {
			jobErr = fmt.Errorf("job %q: %w", plan.Graph.Name, err)
		}
	}
	return jobErr
}

// finishedMarker names the file that records that the job of a checkpoint
// directory ran to its end.
const finishedMarker = "_finished"

// resumePoint chooses where a job with a checkpoint store starts: from the
// given restore path; else, when the job's last run did not finish, from
// its latest complete checkpoint (so a killed run resumes); else afresh,
// clearing the checkpoints of the finished run.
func resumePoint(plan *Plan, cfg *Config) error {
	st := cfg.Store
	if st == nil || cfg.RestorePath != "" {
		return nil
	}
	marker := filepath.Join(st.Dir(), finishedMarker)
	if _, err := os.Stat(marker); err == nil {
		ids, err := st.CheckpointIDs()
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := os.RemoveAll(st.CheckpointDir(id)); err != nil {
				return fmt.Errorf("clear checkpoints of the finished run: %w", err)
			}
		}
		return os.Remove(marker)
	}
	latest, skipped, err := st.LatestVerified()
	for _, s := range skipped {
		cfg.Logger.Warn("skipping damaged or incomplete checkpoint", "checkpoint", s.ID, "err", s.Err)
	}
	switch {
	case errors.Is(err, snapshot.ErrNoCheckpoint):
		return nil
	case err != nil:
		return fmt.Errorf("find latest checkpoint: %w", err)
	case latest.JobName != plan.Graph.Name:
		return fmt.Errorf("checkpoint directory %s holds checkpoints of job %q", st.Dir(), latest.JobName)
	}
	cfg.Logger.Info("resuming from checkpoint", "checkpoint", latest.CheckpointID, "dir", latest.Dir)
	cfg.RestorePath = latest.Dir
	return nil
}

// markFinished records that the job ran to its end, durably.
func markFinished(st *snapshot.Store) error {
	path := filepath.Join(st.Dir(), finishedMarker)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("mark job finished: %w", err)
	}
	err = errors.Join(f.Sync(), f.Close())
	if err != nil {
		return fmt.Errorf("mark job finished: %w", err)
	}
	d, err := os.Open(st.Dir())
	if err != nil {
		return fmt.Errorf("mark job finished: %w", err)
	}
	return errors.Join(d.Sync(), d.Close())
}

type cancelJob struct {
	err error
	// savepoint, when set, asks for a final checkpoint kept as this
	// savepoint before the job stops.
	savepoint string
}

type deployTimeout struct{ attempt int }

// coordTick wakes the checkpoint coordinator.
type coordTick struct{}

// checkpointCommitted reports the end of a manifest write.
type checkpointCommitted struct {
	id  int64
	err error
}

// restartJob redeploys the job after a failure.
type restartJob struct{ attempt int }

// master is the job master actor: it deploys the subtasks, wires their
// channels, runs the checkpoint coordinator, restarts the job from its
// latest checkpoint after a failure when the restart strategy allows, and
// completes the job when all subtasks have finished or one failed for
// good.
type master struct {
	plan   *Plan
	dep    Deployment
	cfg    *Config
	jobID  string
	result chan<- error

	// attempt numbers deployments; reports of older ones are ignored.
	attempt   int
	tasks     [][]*actor.PID
	pending   int
	finished  int
	total     int
	remote    []*actor.PID
	done      bool
	deadline  *time.Timer
	startedAt time.Time
	failures  []time.Time

	coord      *coordinator
	epoch      uint64
	checkpts   map[int64]*snapshot.PendingCheckpoint
	tick       *time.Timer
	restoreDir string
	// stopping is set while the job waits for its final checkpoint.
	stopping *stopWithSavepoint
	// bg tracks checkpoint file work running off the actor.
	bg sync.WaitGroup
}

func (m *master) Receive(c actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			m.complete(c, fmt.Errorf("job %q: master: %w: %v", m.plan.Graph.Name, operators.ErrPanic, r))
		}
	}()
	switch msg := c.Message().(type) {
	case *actor.Started:
		m.restoreDir = m.cfg.RestorePath
		if err := m.startCheckpointing(); err != nil {
			m.complete(c, err)
			return
		}
		m.deploy(c)
	case *protos.TaskSpawned:
		m.spawned(c, msg)
	case *protos.TaskFinished:
		if int(msg.Attempt) != m.attempt {
			return
		}
		m.finished++
		// Finished subtasks still take part in checkpoints (see
		// subtask.onTrigger), so checkpoints go on until the last one.
		if m.finished == m.total {
			m.complete(c, nil)
		}
	case *protos.TaskFailed:
		if int(msg.Attempt) == m.attempt {
			m.failed(c, fmt.Errorf("job %q: %s", m.plan.Graph.Name, msg.Error))
		}
	case *taskFailedLocal:
		if msg.attempt == m.attempt {
			m.failed(c, fmt.Errorf("job %q: %w", m.plan.Graph.Name, msg.err))
		}
	case *protos.AcknowledgeCheckpoint:
		if int(msg.Attempt) == m.attempt && m.coord != nil {
			m.coordActions(c, m.coord.ack(msg.CheckpointId, taskKey{int(msg.Chain), int(msg.Subtask)}, msg))
		}
	case *protos.DeclineCheckpoint:
		if int(msg.Attempt) == m.attempt && m.coord != nil {
			m.coordActions(c, m.coord.decline(msg.CheckpointId, taskKey{int(msg.Chain), int(msg.Subtask)}, msg.Reason))
		}
	case checkpointCommitted:
		m.onCommitted(c, msg)
	case coordTick:
		m.tick = nil
		if m.coord != nil && !m.done {
			m.coordActions(c, m.coord.tick(time.Now()))
			m.armTick(c)
		}
	case restartJob:
		if msg.attempt == m.attempt && !m.done {
			m.restart(c)
		}
	case cancelJob:
		m.cancel(c, msg)
	case savepointTimeout:
		if m.stopping != nil {
			m.complete(c, fmt.Errorf("job %q: stop with savepoint: no checkpoint completed within %v", m.plan.Graph.Name, m.cfg.Checkpoint.Timeout))
		}
	case deployTimeout:
		if msg.attempt == m.attempt && m.pending > 0 {
			m.complete(c, fmt.Errorf("job %q: %d subtasks not deployed within %v", m.plan.Graph.Name, m.pending, m.cfg.DeployTimeout))
		}
	case *actor.Stopping:
		if m.deadline != nil {
			m.deadline.Stop()
		}
		if m.tick != nil {
			m.tick.Stop()
		}
		for _, pid := range m.remote {
			c.Stop(pid)
		}
	}
}

// deploy spawns every subtask, locally or through a node agent.
func (m *master) deploy(c actor.Context) {
	m.startedAt = time.Now()
	m.tasks = make([][]*actor.PID, len(m.plan.Chains))
	m.total, m.finished, m.pending = 0, 0, 0
	n := 0
	for _, ch := range m.plan.Chains {
		m.tasks[ch.Index] = make([]*actor.PID, ch.Parallelism)
		m.total += ch.Parallelism
		for s := 0; s < ch.Parallelism; s++ {
			if len(m.dep.Agents) == 0 {
				t := newSubtask(m.plan, ch, s, m.cfg)
				m.tasks[ch.Index][s] = c.Spawn(actor.PropsFromProducer(func() actor.Actor { return t }))
				continue
			}
			agent := m.dep.Agents[n%len(m.dep.Agents)]
			n++
			m.pending++
			c.Request(agent, &protos.DeployTask{
				JobId: m.jobID, JobName: m.dep.JobName, JobArgs: m.dep.JobArgs,
				Chain: int32(ch.Index), Subtask: int32(s),
			})
		}
	}
	if m.pending == 0 {
		m.start(c)
		return
	}
	self, sys, attempt := c.Self(), c.ActorSystem(), m.attempt
	m.deadline = time.AfterFunc(m.cfg.DeployTimeout, func() { sys.Root.Send(self, deployTimeout{attempt: attempt}) })
}

func (m *master) spawned(c actor.Context, msg *protos.TaskSpawned) {
	if m.done {
		return
	}
	if msg.Error != "" {
		m.complete(c, fmt.Errorf("job %q: deploy chain %d subtask %d: %s", m.plan.Graph.Name, msg.Chain, msg.Subtask, msg.Error))
		return
	}
	if int(msg.Chain) >= len(m.tasks) || int(msg.Subtask) >= len(m.tasks[msg.Chain]) || m.tasks[msg.Chain][msg.Subtask] != nil {
		m.complete(c, fmt.Errorf("job %q: unexpected subtask %d/%d from node agent", m.plan.Graph.Name, msg.Chain, msg.Subtask))
		return
	}
	pid := pidOf(msg.Task)
	m.tasks[msg.Chain][msg.Subtask] = pid
	m.remote = append(m.remote, pid)
	if m.pending--; m.pending == 0 {
		m.start(c)
	}
}

// start wires every subtask to its channels.
func (m *master) start(c actor.Context) {
	if m.deadline != nil {
		m.deadline.Stop()
	}
	for _, d := range wire(m.plan, m.tasks, m.cfg.Credits, refOf(c.Self())) {
		d.JobId, d.JobName, d.JobArgs = m.jobID, m.dep.JobName, m.dep.JobArgs
		d.Attempt, d.RestorePath, d.AtLeastOnce = int32(m.attempt), m.restoreDir, m.cfg.Checkpoint.AtLeastOnce
		d.StateBackend = m.cfg.StateBackend
		c.Send(m.tasks[d.Chain][d.Subtask], &protos.StartTask{Deployment: d})
	}
	m.cfg.Logger.Debug("job running", "job", m.plan.Graph.Name, "subtasks", m.total, "attempt", m.attempt,
		"restored_from", m.restoreDir, "deploy", time.Since(m.startedAt).Round(time.Microsecond))
	if m.coord != nil {
		m.coord = newCoordinator(m.cfg.Checkpoint, m.total, m.coord.nextID)
		m.coord.lastTrigger = time.Now()
		m.armTick(c)
	}
}

// failed restarts the job from its latest checkpoint when the restart
// strategy allows, and fails it otherwise.
func (m *master) failed(c actor.Context, err error) {
	if m.done {
		return
	}
	m.failures = append(m.failures, time.Now())
	delay, ok := m.cfg.Restart.Restart(m.failures)
	if !ok {
		m.complete(c, err)
		return
	}
	m.cfg.Logger.Warn("job failed; restarting", "job", m.plan.Graph.Name, "err", err, "delay", delay, "failures", len(m.failures))
	if m.coord != nil {
		m.coordActions(c, m.coord.stop("job restarting"))
	}
	// Stop every subtask of this attempt; their late reports are ignored.
	for _, tasks := range m.tasks {
		for _, pid := range tasks {
			if pid != nil {
				c.Stop(pid)
			}
		}
	}
	m.remote = nil
	m.attempt++
	self, sys, attempt := c.Self(), c.ActorSystem(), m.attempt
	time.AfterFunc(delay, func() { sys.Root.Send(self, restartJob{attempt: attempt}) })
}

// restart redeploys the job from the latest completed checkpoint.
func (m *master) restart(c actor.Context) {
	if m.cfg.Store != nil {
		latest, skipped, err := m.cfg.Store.LatestVerified()
		for _, s := range skipped {
			m.cfg.Logger.Warn("skipping checkpoint", "checkpoint", s.ID, "err", s.Err)
		}
		switch {
		case err == nil && latest != nil:
			m.restoreDir = latest.Dir
		case err != nil && !errors.Is(err, snapshot.ErrNoCheckpoint):
			m.complete(c, fmt.Errorf("job %q: find checkpoint to restart from: %w", m.plan.Graph.Name, err))
			return
		}
	}
	m.cfg.Logger.Info("job restarting", "job", m.plan.Graph.Name, "attempt", m.attempt, "from", m.restoreDir)
	if m.coord != nil {
		m.coord.stopped = false
	}
	m.deploy(c)
}

func (m *master) complete(c actor.Context, err error) {
	if m.done {
		return
	}
	m.done = true
	if m.coord != nil {
		m.coordActions(c, m.coord.stop("job ended"))
	}
	// Agents forget the job's plan; their subtasks are stopped with the
	// master.
	for _, a := range m.dep.Agents {
		c.Send(a, &protos.ReleaseJob{JobId: m.jobID})
	}
	m.result <- err
}
