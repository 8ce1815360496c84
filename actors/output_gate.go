package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/protos"
)

// outputChannel is the sending end of one channel. It sends only with
// credit: a message (record batch or control event) costs one credit, and
// what cannot be sent waits in pending, in order, until the receiver grants
// more. The subtask takes no input while any channel has pending messages,
// so pending holds at most the output of one input batch plus a few
// control events.
type outputChannel struct {
	receiver *actor.PID
	input    int32
	local    bool
	credits  int
	pending  []any
	st       StreamType
}

// outputGate holds a subtask's output channels and sends on them.
type outputGate struct {
	send     func(pid *actor.PID, msg any)
	channels []*outputChannel
	// backlog counts channels with pending messages.
	backlog int
	// sent counts record batches sent.
	sent int64
}

// edgeSender adapts the channels of one edge to the BatchSender of the
// edge's writer: dst is the consumer subtask.
type edgeSender struct {
	gate *outputGate
	// byDst maps a consumer subtask to its output channel index, -1 if
	// this producer has no channel to it.
	byDst []int
}

func (s *edgeSender) SendBatch(dst int, b any) {
	s.gate.offer(s.byDst[dst], b)
}

func (s *edgeSender) SendWatermark(wm int64) {
	for _, i := range s.byDst {
		if i >= 0 {
			s.gate.offer(i, &protos.Watermark{Timestamp: wm})
		}
	}
}

// offer sends m on channel i, or queues it when the channel lacks credit.
// m is a record batch (a Go batch value) or a control message.
func (g *outputGate) offer(i int, m any) {
	ch := g.channels[i]
	if ch.credits > 0 && len(ch.pending) == 0 {
		g.transmit(ch, m)
		return
	}
	if len(ch.pending) == 0 {
		g.backlog++
	} else if wm, ok := m.(*protos.Watermark); ok {
		// A newer watermark makes a queued one redundant.
		if last, ok := ch.pending[len(ch.pending)-1].(*protos.Watermark); ok {
			last.Timestamp = wm.Timestamp
			return
		}
	}
	ch.pending = append(ch.pending, m)
}

// transmit sends m, spending one credit.
func (g *outputGate) transmit(ch *outputChannel, m any) {
	ch.credits--
	switch m := m.(type) {
	case *protos.Watermark:
		m.Input = ch.input
		g.send(ch.receiver, m)
	case *protos.EndOfInput:
		m.Input = ch.input
		g.send(ch.receiver, m)
	case *protos.Barrier:
		m.Input = ch.input
		g.send(ch.receiver, m)
	case *protos.WatermarkStatus:
		m.Input = ch.input
		g.send(ch.receiver, m)
	default:
		g.sent++
		if ch.local {
			g.send(ch.receiver, &localBatch{input: ch.input, batch: m})
			return
		}
		rb := &protos.RecordBatch{Input: ch.input}
		ch.st.Encode(m, rb)
		g.send(ch.receiver, rb)
	}
}

// grant adds credits to channel i and sends what they allow.
func (g *outputGate) grant(i int, n int) {
	if i < 0 || i >= len(g.channels) {
		return
	}
	ch := g.channels[i]
	ch.credits += n
	if len(ch.pending) == 0 {
		return
	}
	k := 0
	for k < len(ch.pending) && ch.credits > 0 {
		g.transmit(ch, ch.pending[k])
		ch.pending[k] = nil
		k++
	}
	ch.pending = ch.pending[k:]
	if len(ch.pending) == 0 {
		ch.pending = nil
		g.backlog--
	}
}

// broadcast offers a control message to every channel; each gets its own
// copy because transmit stamps the receiver's input index.
func (g *outputGate) broadcast(mk func() any) {
	for i := range g.channels {
		g.offer(i, mk())
	}
}

// backlogged reports whether some channel waits for credit.
func (g *outputGate) backlogged() bool { return g.backlog > 0 }
