package actors

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/protos"
)

// gateLog records what an output gate sends, as readable strings.
type gateLog struct{ sent []string }

func (l *gateLog) send(pid *actor.PID, m any) {
	switch m := m.(type) {
	case *localBatch:
		l.sent = append(l.sent, fmt.Sprintf("%s:batch(%v)", pid.Id, m.batch))
	case *protos.Watermark:
		l.sent = append(l.sent, fmt.Sprintf("%s:wm(%d)", pid.Id, m.Timestamp))
	case *protos.EndOfInput:
		l.sent = append(l.sent, fmt.Sprintf("%s:end", pid.Id))
	}
}

func newTestGate(credits ...int) (*outputGate, *gateLog) {
	l := &gateLog{}
	g := &outputGate{send: l.send}
	for i, c := range credits {
		g.channels = append(g.channels, &outputChannel{receiver: actor.NewPID("local", fmt.Sprint("r", i)), local: true, credits: c})
	}
	return g, l
}

func TestOutputGateSendsOnlyWithCredit(t *testing.T) {
	g, l := newTestGate(2)
	for i := 1; i <= 4; i++ {
		g.offer(0, i)
	}
	if want := []string{"r0:batch(1)", "r0:batch(2)"}; !reflect.DeepEqual(l.sent, want) {
		t.Fatalf("sent %v, want %v", l.sent, want)
	}
	if !g.backlogged() {
		t.Fatal("gate with pending batches is not backlogged")
	}
	g.grant(0, 1)
	if !g.backlogged() || len(l.sent) != 3 {
		t.Fatalf("one credit: sent %v, backlogged %v", l.sent, g.backlogged())
	}
	g.grant(0, 5)
	if g.backlogged() {
		t.Fatal("still backlogged after enough credit")
	}
	if want := []string{"r0:batch(1)", "r0:batch(2)", "r0:batch(3)", "r0:batch(4)"}; !reflect.DeepEqual(l.sent, want) {
		t.Fatalf("order lost: %v", l.sent)
	}
	if ch := g.channels[0]; ch.credits != 4 {
		t.Fatalf("credits left %d, want 4", ch.credits)
	}
}

func TestOutputGateControlEventsQueueBehindBatches(t *testing.T) {
	g, l := newTestGate(0, 1)
	g.offer(0, 1)
	g.broadcast(func() any { return &protos.Watermark{Timestamp: 5} })
	g.broadcast(func() any { return &protos.Watermark{Timestamp: 9} })
	g.broadcast(func() any { return &protos.EndOfInput{} })
	// Channel 1 spent its one credit on the first watermark; the second
	// watermark replaced nothing (nothing of the same kind was last) and
	// waits with end of input.
	if want := []string{"r1:wm(5)"}; !reflect.DeepEqual(l.sent, want) {
		t.Fatalf("sent %v, want %v", l.sent, want)
	}
	if got := len(g.channels[0].pending); got != 3 {
		t.Fatalf("channel 0 pending %d, want batch, one coalesced watermark, end", got)
	}
	g.grant(0, 10)
	g.grant(1, 10)
	want := []string{"r1:wm(5)", "r0:batch(1)", "r0:wm(9)", "r0:end", "r1:wm(9)", "r1:end"}
	if !reflect.DeepEqual(l.sent, want) {
		t.Fatalf("sent %v, want %v", l.sent, want)
	}
	if g.backlogged() {
		t.Fatal("backlogged after draining")
	}
}

func TestOutputGateIgnoresUnknownChannel(t *testing.T) {
	g, _ := newTestGate(1)
	g.grant(7, 3)
	g.grant(-1, 3)
	if g.channels[0].credits != 1 {
		t.Fatal("grant for an unknown channel changed credits")
	}
}

func TestInputGateWatermarkIsMinimumOfOpenChannels(t *testing.T) {
	g := newInputGate([]*inputChannel{{}, {}, {}})
	steps := []struct {
		op      string
		ch      int32
		wm      int64
		want    int64
		advance bool
	}{
		{"wm", 0, 10, 0, false},
		{"wm", 1, 20, 0, false},
		{"wm", 2, 5, 5, true},
		{"wm", 2, 4, 0, false}, // never goes back
		{"wm", 2, 30, 10, true},
		{"end", 0, 0, 20, true},
		{"wm", 1, 25, 25, true},
		{"end", 1, 0, 30, true},
		{"end", 2, 0, 0, false}, // all ended: the subtask ends input itself
	}
	for i, s := range steps {
		var got int64
		var ok bool
		if s.op == "wm" {
			got, ok = g.advance(s.ch, s.wm)
		} else {
			got, ok = g.end(s.ch)
		}
		if ok != s.advance || (ok && got != s.want) {
			t.Fatalf("step %d %s(%d,%d): got (%d,%v), want (%d,%v)", i, s.op, s.ch, s.wm, got, ok, s.want, s.advance)
		}
	}
	if g.open != 0 {
		t.Fatalf("open channels %d", g.open)
	}
}

func TestInputGateCountsConsumedForCredit(t *testing.T) {
	g := newInputGate([]*inputChannel{{}, {}})
	for i := 0; i < 3000; i++ {
		g.push(int32(i%2), i)
	}
	for i := 0; i < 3000; i++ {
		a, ok := g.pop()
		if !ok || a.msg.(int) != i {
			t.Fatalf("pop %d: got %v %v", i, a, ok)
		}
	}
	if _, ok := g.pop(); ok {
		t.Fatal("pop from empty gate")
	}
	if g.channels[0].consumed != 1500 || g.channels[1].consumed != 1500 {
		t.Fatalf("consumed %d/%d", g.channels[0].consumed, g.channels[1].consumed)
	}
}

func TestInputGateIdleChannelsDoNotHoldEventTime(t *testing.T) {
	g := newInputGate([]*inputChannel{{}, {}})
	if _, ok := g.advance(0, 100); ok {
		t.Fatal("advanced with channel 1 at no watermark")
	}
	if wm, ok := g.setIdle(1, true); !ok || wm != 100 {
		t.Fatalf("idle channel 1: got (%d,%v), want 100", wm, ok)
	}
	if g.allIdle() {
		t.Fatal("all idle with channel 0 active")
	}
	if _, ok := g.setIdle(0, true); ok || !g.allIdle() {
		t.Fatal("all channels idle must stop event time")
	}
	// Channel 1 comes back behind: event time does not go back.
	if _, ok := g.setIdle(1, false); ok {
		t.Fatal("active channel behind the watermark moved it")
	}
	if wm, ok := g.advance(1, 150); !ok || wm != 150 {
		t.Fatalf("got (%d,%v), want 150", wm, ok)
	}
}
