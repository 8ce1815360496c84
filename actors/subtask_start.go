package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
	"github.com/stromhq/strom/snapshot"
)

func pidOf(r *protos.ActorRef) *actor.PID {
	if r == nil {
		return nil
	}
	return actor.NewPID(r.Address, r.Id)
}

func refOf(p *actor.PID) *protos.ActorRef {
	return &protos.ActorRef{Address: p.Address, Id: p.Id}
}

// start builds the chain's operators, wires its channels from the
// deployment and opens the operators.
func (t *subtask) start(d *protos.TaskDeployment) error {
	if t.state != taskCreated {
		return fmt.Errorf("subtask %q %d: started twice", t.chain.Name(), t.index)
	}
	t.master = pidOf(d.Master)
	t.attempt = int(d.Attempt)
	t.atLeastOnce = d.AtLeastOnce
	t.local = t.master != nil && t.master.Address == t.system.Address()
	g := t.plan.Graph

	// Output channels, and per network edge the consumer subtask → channel map.
	t.out = &outputGate{send: func(pid *actor.PID, m any) { t.system.Root.Send(pid, m) }}
	senders := make(map[int]*edgeSender)
	for i, oc := range d.Outputs {
		a := oc.Address
		if int(a.Edge) >= len(g.Edges) {
			return fmt.Errorf("subtask %q %d: deployment names unknown edge %d", t.chain.Name(), t.index, a.Edge)
		}
		e := g.Edges[a.Edge]
		t.out.channels = append(t.out.channels, &outputChannel{
			receiver: pidOf(oc.Receiver), input: oc.Input, local: oc.Local,
			credits: int(oc.InitialCredits), st: e.Type(),
		})
		s := senders[e.ID]
		if s == nil {
			s = &edgeSender{gate: t.out, byDst: make([]int, e.Target.Parallelism)}
			for j := range s.byDst {
				s.byDst[j] = -1
			}
			senders[e.ID] = s
		}
		s.byDst[a.DstSubtask] = i
	}

	// Operators, built from the tail so that each gets its downstream.
	inChain := make(map[int]bool, len(t.chain.Vertices))
	for _, v := range t.chain.Vertices {
		inChain[v.ID] = true
	}
	inputsOf := make(map[int][]any)
	t.ops = make([]operators.Operator, len(t.chain.Vertices))
	wcfg := WriterConfig{BatchSize: t.cfg.batchSize(), Subtask: t.index, MaxParallelism: g.MaxParallelism}
	for i := len(t.chain.Vertices) - 1; i >= 0; i-- {
		v := t.chain.Vertices[i]
		// One list of consumers per output: main, then side outputs.
		outs := make([][]any, 1+len(v.SideOutputs))
		for _, e := range v.Outputs {
			if inChain[e.Target.ID] {
				outs[e.Output] = append(outs[e.Output], inputsOf[e.Target.ID][e.Gate])
				continue
			}
			s := senders[e.ID]
			if s == nil {
				return fmt.Errorf("subtask %q %d: no channels for edge %q -> %q", t.chain.Name(), t.index, e.Source.Name, e.Target.Name)
			}
			w := e.Type().NewWriter(e, wcfg, s)
			t.writers = append(t.writers, w)
			outs[e.Output] = append(outs[e.Output], w.Input())
		}
		combined := make([]any, len(outs))
		for o := range outs {
			if st := v.OutputType(o); st != nil {
				combined[o] = st.Fanout(outs[o])
			}
		}
		if v.NewSource != nil {
			src, err := v.NewSource(combined[0])
			if err != nil {
				return fmt.Errorf("build source %q: %w", v.Name, err)
			}
			t.ops[i], t.source = src, src
			continue
		}
		op, ins, err := v.NewOperator(combined)
		if err != nil {
			return fmt.Errorf("build operator %q: %w", v.Name, err)
		}
		t.ops[i], inputsOf[v.ID] = op, ins
		if w, ok := op.(interface{ Written() int64 }); ok {
			t.sinks = append(t.sinks, w)
		}
	}

	// Input channels feed the head's inputs.
	head := t.chain.Vertices[0]
	channels := make([]*inputChannel, len(d.Inputs))
	for i, ic := range d.Inputs {
		a := ic.Address
		if int(a.Edge) >= len(g.Edges) {
			return fmt.Errorf("subtask %q %d: deployment names unknown edge %d", t.chain.Name(), t.index, a.Edge)
		}
		e := g.Edges[a.Edge]
		ins := inputsOf[head.ID]
		if int(ic.Gate) >= len(ins) {
			return fmt.Errorf("subtask %q %d: operator %q has no input %d", t.chain.Name(), t.index, head.Name, ic.Gate)
		}
		channels[i] = &inputChannel{
			sender: pidOf(ic.Sender), output: ic.Output, st: e.Type(),
			feed: e.Type().Feed(ins[ic.Gate]),
		}
	}
	t.in = newInputGate(channels)

	var restoreFrom *snapshot.Manifest
	if d.RestorePath != "" {
		m, err := snapshot.OpenManifest(snapshot.OSFS(), d.RestorePath)
		if err != nil {
			return fmt.Errorf("restore from %s: %w", d.RestorePath, err)
		}
		restoreFrom = m
	}
	var ownStore string
	if d.StateBackend == BackendPebble && chainIsKeyed(t.chain) {
		ownStore = t.ownKeyedStore(restoreFrom)
		if err := t.openKeyedStore(restoreFrom, ownStore); err != nil {
			return fmt.Errorf("subtask %q %d: %w", t.chain.Name(), t.index, err)
		}
	}

	for i, v := range t.chain.Vertices {
		ctx := &operators.TaskContext{
			Operator: v.Name, OperatorID: v.UID, Subtask: t.index, Parallelism: v.Parallelism,
			MaxParallelism: g.MaxParallelism, BatchMode: g.BatchMode,
			Logger: t.log.With("operator", v.Name),
			Clock:  t.cfg.Clock, MarkIdle: t.markIdle, Counter: t.cfg.Metrics.Counter,
			Store: t.storeFor(v.UID),
		}
		if pt, ok := t.ops[i].(operators.ProcessingTimer); ok {
			t.timers = append(t.timers, pt)
		}
		if err := t.ops[i].Open(ctx); err != nil {
			return err
		}
		t.opened = i + 1
	}
	if restoreFrom != nil {
		if err := t.restore(restoreFrom, ownStore != ""); err != nil {
			return err
		}
	}
	t.state = taskRunning
	for _, m := range t.early {
		t.accept(m)
	}
	t.early = nil
	if t.source == nil && len(channels) == 0 {
		return t.endInput()
	}
	return nil
}
