package actors

import (
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
)

// AgentName is the actor name of the node agent in every actor system that
// hosts subtasks for remote job masters.
const AgentName = "strom-agent"

// Resolver rebuilds the plan of a job from the code registered under its
// name. Every node runs the same binary, so no code is shipped: a node
// builds the same graph from the same name and arguments.
type Resolver func(jobName string, args map[string]string) (*Plan, error)

// NodeAgent spawns subtasks in its actor system on behalf of job masters in
// other systems.
type NodeAgent struct {
	resolve Resolver
	cfg     Config

	mu    sync.Mutex
	plans map[string]*Plan // by job ID
}

// NewNodeAgent returns an agent that resolves jobs with r and runs their
// subtasks with cfg.
func NewNodeAgent(r Resolver, cfg Config) (*NodeAgent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &NodeAgent{resolve: r, cfg: cfg, plans: make(map[string]*Plan)}, nil
}

// Jobs returns the number of jobs whose plans the agent holds.
func (a *NodeAgent) Jobs() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.plans)
}

// Spawn starts the agent actor under AgentName in system.
func (a *NodeAgent) Spawn(system *actor.ActorSystem) (*actor.PID, error) {
	return system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return a }), AgentName)
}

// AgentPID names the agent of the actor system at address.
func AgentPID(address string) *actor.PID { return actor.NewPID(address, AgentName) }

// Receive implements actor.Actor.
func (a *NodeAgent) Receive(c actor.Context) {
	if r, ok := c.Message().(*protos.ReleaseJob); ok {
		a.mu.Lock()
		delete(a.plans, r.JobId)
		a.mu.Unlock()
		return
	}
	m, ok := c.Message().(*protos.DeployTask)
	if !ok {
		return
	}
	reply := &protos.TaskSpawned{Chain: m.Chain, Subtask: m.Subtask}
	pid, err := a.deploy(c, m)
	if err != nil {
		reply.Error = err.Error()
	} else {
		reply.Task = refOf(pid)
	}
	c.Respond(reply)
}

func (a *NodeAgent) deploy(c actor.Context, m *protos.DeployTask) (pid *actor.PID, err error) {
	defer func() {
		if r := recover(); r != nil {
			pid, err = nil, fmt.Errorf("deploy %q: %w: %v", m.JobName, operators.ErrPanic, r)
		}
	}()
	a.mu.Lock()
	p := a.plans[m.JobId]
	a.mu.Unlock()
	if p == nil {
		p, err = a.resolve(m.JobName, m.JobArgs)
		if err != nil {
			return nil, fmt.Errorf("resolve job %q: %w", m.JobName, err)
		}
		a.mu.Lock()
		a.plans[m.JobId] = p
		a.mu.Unlock()
	}
	if int(m.Chain) >= len(p.Chains) || int(m.Subtask) >= p.Chains[m.Chain].Parallelism {
		return nil, fmt.Errorf("job %q has no subtask %d of chain %d", m.JobName, m.Subtask, m.Chain)
	}
	t := newSubtask(p, p.Chains[m.Chain], int(m.Subtask), &a.cfg)
	return c.ActorSystem().Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return t }), fmt.Sprintf("%s-c%d-s%d-", m.JobId, m.Chain, m.Subtask)), nil
}
