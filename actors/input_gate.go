package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/operators"
)

// inputChannel is the receiving end of one channel.
type inputChannel struct {
	sender *actor.PID
	// output is the sender's index of this channel, named in credit grants.
	output int32
	feed   func(b any) error
	st     StreamType
	// watermark is the highest watermark received on this channel.
	watermark int64
	ended     bool
	idle      bool
	// blocked channels delivered the barrier of the checkpoint being
	// aligned: what they send next waits in held.
	blocked bool
	// consumed counts messages taken since credit was last returned.
	consumed int32
}

// arrival is a message waiting in the input gate, in arrival order.
type arrival struct {
	input int32
	msg   any
}

// inputGate queues what a subtask's channels deliver until the subtask
// takes it, and combines their watermarks. The queue is bounded by the
// credits the subtask granted: a sender never has more messages in flight
// than credits.
type inputGate struct {
	channels []*inputChannel
	queue    []arrival
	head     int
	// watermark is the minimum over the channels that have not ended.
	watermark int64
	open      int
	// held keeps, in arrival order, what blocked channels delivered after
	// their barrier; it goes back to the front of the queue on unblock.
	held []arrival
}

func newInputGate(channels []*inputChannel) *inputGate {
	for _, ch := range channels {
		ch.watermark = operators.NoTimestamp
	}
	return &inputGate{channels: channels, watermark: operators.NoTimestamp, open: len(channels)}
}

func (g *inputGate) push(input int32, msg any) {
	g.queue = append(g.queue, arrival{input: input, msg: msg})
}

// pop returns the oldest arrival of an unblocked channel and counts it for
// credit return. Arrivals of blocked channels are set aside uncounted, so
// their senders run out of credit and alignment holds at most their
// credits' worth.
func (g *inputGate) pop() (arrival, bool) {
	for g.head < len(g.queue) {
		a := g.queue[g.head]
		g.queue[g.head] = arrival{}
		g.head++
		if g.head == len(g.queue) {
			g.queue, g.head = g.queue[:0], 0
		} else if g.head >= 1024 && g.head*2 >= len(g.queue) {
			n := copy(g.queue, g.queue[g.head:])
			g.queue, g.head = g.queue[:n], 0
		}
		ch := g.channels[a.input]
		if ch.blocked {
			g.held = append(g.held, a)
			continue
		}
		ch.consumed++
		return a, true
	}
	return arrival{}, false
}

// unblockAll ends an alignment: every channel flows again, and what was
// held goes first, in the order it arrived.
func (g *inputGate) unblockAll() {
	for _, ch := range g.channels {
		ch.blocked = false
	}
	if len(g.held) == 0 {
		return
	}
	rest := g.queue[g.head:]
	q := make([]arrival, 0, len(g.held)+len(rest))
	q = append(q, g.held...)
	q = append(q, rest...)
	g.queue, g.head, g.held = q, 0, nil
}

func (g *inputGate) len() int { return len(g.queue) - g.head }

// advance records watermark wm on channel i and returns the combined
// watermark if it rose.
func (g *inputGate) advance(i int32, wm int64) (int64, bool) {
	ch := g.channels[i]
	if wm <= ch.watermark {
		return 0, false
	}
	ch.watermark = wm
	return g.recombine()
}

// end marks channel i ended; it no longer holds the watermark back.
func (g *inputGate) end(i int32) (int64, bool) {
	ch := g.channels[i]
	if ch.ended {
		return 0, false
	}
	ch.ended = true
	g.open--
	return g.recombine()
}

// setIdle marks channel i idle or active; an idle channel does not hold the
// watermark back.
func (g *inputGate) setIdle(i int32, idle bool) (int64, bool) {
	ch := g.channels[i]
	if ch.idle == idle {
		return 0, false
	}
	ch.idle = idle
	return g.recombine()
}

// allIdle reports whether every open channel is idle.
func (g *inputGate) allIdle() bool {
	for _, ch := range g.channels {
		if !ch.ended && !ch.idle {
			return false
		}
	}
	return g.open > 0
}

func (g *inputGate) recombine() (int64, bool) {
	lo, active := operators.MaxWatermark, false
	for _, ch := range g.channels {
		if !ch.ended && !ch.idle {
			active = true
			lo = min(lo, ch.watermark)
		}
	}
	// With every open channel idle, event time stands still; a channel
	// that turns active with a lower watermark never moves it back.
	if g.open == 0 || !active || lo <= g.watermark {
		return 0, false
	}
	g.watermark = lo
	return lo, true
}
