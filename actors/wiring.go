package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/protos"
)

type channelKey struct{ edge, src, dst int }

// wire computes every subtask's deployment: its input channels (ordered by
// input edge, then producer subtask) and output channels (ordered by output
// edge, then consumer subtask), each naming its index at the other end.
func wire(p *Plan, tasks [][]*actor.PID, credits int, master *protos.ActorRef) []*protos.TaskDeployment {
	inIdx := make(map[channelKey]int)
	outIdx := make(map[channelKey]int)
	for _, ch := range p.Chains {
		for s := 0; s < ch.Parallelism; s++ {
			n := 0
			for _, e := range ch.Inputs {
				for u := 0; u < e.Source.Parallelism; u++ {
					if connected(e, u, s) {
						inIdx[channelKey{e.ID, u, s}] = n
						n++
					}
				}
			}
			n = 0
			for _, e := range ch.Outputs {
				for d := 0; d < e.Target.Parallelism; d++ {
					if connected(e, s, d) {
						outIdx[channelKey{e.ID, s, d}] = n
						n++
					}
				}
			}
		}
	}
	var deps []*protos.TaskDeployment
	for _, ch := range p.Chains {
		for s := 0; s < ch.Parallelism; s++ {
			self := tasks[ch.Index][s]
			d := &protos.TaskDeployment{Chain: int32(ch.Index), Subtask: int32(s), Master: master}
			for _, e := range ch.Inputs {
				from := tasks[p.ChainOf(e.Source).Index]
				for u := 0; u < e.Source.Parallelism; u++ {
					if !connected(e, u, s) {
						continue
					}
					k := channelKey{e.ID, u, s}
					d.Inputs = append(d.Inputs, &protos.InputChannel{
						Address: &protos.ChannelAddress{Edge: int32(e.ID), SrcSubtask: int32(u), DstSubtask: int32(s)},
						Sender:  refOf(from[u]), Output: int32(outIdx[k]), Gate: int32(e.Gate),
					})
				}
			}
			for _, e := range ch.Outputs {
				to := tasks[p.ChainOf(e.Target).Index]
				for dst := 0; dst < e.Target.Parallelism; dst++ {
					if !connected(e, s, dst) {
						continue
					}
					k := channelKey{e.ID, s, dst}
					d.Outputs = append(d.Outputs, &protos.OutputChannel{
						Address:  &protos.ChannelAddress{Edge: int32(e.ID), SrcSubtask: int32(s), DstSubtask: int32(dst)},
						Receiver: refOf(to[dst]), Input: int32(inIdx[k]), InitialCredits: int32(credits),
						Local: to[dst].Address == self.Address,
					})
				}
			}
			deps = append(deps, d)
		}
	}
	return deps
}
