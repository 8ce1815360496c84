package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
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
		system.Root.Send(pid, cancelJob{err: ctx.Err()})
		jobErr = <-result
	}
	// Stopping the master stops its local subtasks first, closing their
	// operators, so that nothing of the job runs after Execute returns.
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		jobErr = errors.Join(jobErr, fmt.Errorf("stop job: %w", err))
	}
	return jobErr
}

type cancelJob struct{ err error }

type deployTimeout struct{}

// master is the job master actor: it deploys the subtasks, wires their
// channels, and completes the job when all have finished or one failed.
type master struct {
	plan   *Plan
	dep    Deployment
	cfg    *Config
	jobID  string
	result chan<- error

	tasks     [][]*actor.PID
	pending   int
	finished  int
	total     int
	remote    []*actor.PID
	done      bool
	deadline  *time.Timer
	startedAt time.Time
}

func (m *master) Receive(c actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			m.complete(c, fmt.Errorf("job %q: master: %w: %v", m.plan.Graph.Name, operators.ErrPanic, r))
		}
	}()
	switch msg := c.Message().(type) {
	case *actor.Started:
		m.deploy(c)
	case *protos.TaskSpawned:
		m.spawned(c, msg)
	case *protos.TaskFinished:
		m.finished++
		if m.finished == m.total {
			m.complete(c, nil)
		}
	case *protos.TaskFailed:
		m.complete(c, fmt.Errorf("job %q: %s", m.plan.Graph.Name, msg.Error))
	case *taskFailedLocal:
		m.complete(c, fmt.Errorf("job %q: %w", m.plan.Graph.Name, msg.err))
	case cancelJob:
		m.complete(c, fmt.Errorf("job %q: %w: %w", m.plan.Graph.Name, ErrCancelled, msg.err))
	case deployTimeout:
		if m.pending > 0 {
			m.complete(c, fmt.Errorf("job %q: %d subtasks not deployed within %v", m.plan.Graph.Name, m.pending, m.cfg.DeployTimeout))
		}
	case *actor.Stopping:
		if m.deadline != nil {
			m.deadline.Stop()
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
	self, sys := c.Self(), c.ActorSystem()
	m.deadline = time.AfterFunc(m.cfg.DeployTimeout, func() { sys.Root.Send(self, deployTimeout{}) })
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
		c.Send(m.tasks[d.Chain][d.Subtask], &protos.StartTask{Deployment: d})
	}
	m.cfg.Logger.Debug("job running", "job", m.plan.Graph.Name, "subtasks", m.total, "deploy", time.Since(m.startedAt).Round(time.Microsecond))
}

func (m *master) complete(c actor.Context, err error) {
	if m.done {
		return
	}
	m.done = true
	// Agents forget the job's plan; their subtasks are stopped with the
	// master.
	for _, a := range m.dep.Agents {
		c.Send(a, &protos.ReleaseJob{JobId: m.jobID})
	}
	m.result <- err
}
