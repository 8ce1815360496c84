package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
)

type taskState int

const (
	taskCreated   taskState = iota
	taskRunning             // consuming input
	taskFinishing           // input ended; waiting for credit to flush the rest
	taskFinished            // reported finished; idle until stopped
	taskFailed
)

// subtask is the actor of one parallel instance of a chain. It is a thin
// shell: it turns messages into calls on the chain's operators, and keeps
// the channel bookkeeping (credits, watermarks, end of input).
//
// It never blocks: input that arrives while its outputs lack credit waits
// in the input gate (bounded by the credits it granted), and a source is
// simply not polled until credit returns.
type subtask struct {
	plan    *Plan
	chain   *Chain
	index   int
	cfg     *Config
	log     *slog.Logger
	system  *actor.ActorSystem
	self    *actor.PID
	master  *actor.PID
	local   bool // master lives in this actor system
	metrics *TaskMetrics

	state   taskState
	ops     []operators.Operator
	sinks   []interface{ Written() int64 }
	timers  []operators.ProcessingTimer
	opened  int
	source  operators.SourceTask
	writers []RecordWriter
	in      *inputGate
	out     *outputGate
	// early holds channel messages that arrived before StartTask.
	early []any

	// attempt is the deployment attempt, echoed in reports to the master.
	attempt int
	// align is the barrier alignment in progress; lastCheckpoint the
	// newest checkpoint this subtask took.
	align          *alignment
	lastCheckpoint int64
	atLeastOnce    bool
	// persisting counts snapshots still being written.
	persisting sync.WaitGroup
	// store is the chain's Pebble instance with the Pebble state backend.
	store *keyedStore

	// idle is true while this subtask told downstream it is idle.
	idle bool
	// timerAt is the processing time the timer is armed for.
	timerAt     int64
	timer       *time.Timer
	pollQueued  bool
	pollTimer   *time.Timer
	flushArmed  bool
	flushTimer  *time.Timer
	blockedFrom time.Time
}

func newSubtask(plan *Plan, chain *Chain, index int, cfg *Config) *subtask {
	m := &TaskMetrics{Chain: chain.Name(), Subtask: index}
	m.Source = chain.Vertices[0].NewSource != nil
	cfg.Metrics.register(m)
	return &subtask{
		plan: plan, chain: chain, index: index, cfg: cfg, metrics: m,
		log: cfg.Logger.With("chain", chain.Name(), "subtask", index),
	}
}

// Receive implements actor.Actor.
func (t *subtask) Receive(c actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			t.fail(fmt.Errorf("subtask %q %d: %w: %v\n%s", t.chain.Name(), t.index, operators.ErrPanic, r, debug.Stack()))
		}
	}()
	switch m := c.Message().(type) {
	case *actor.Started:
		t.system, t.self = c.ActorSystem(), c.Self()
		return
	case *protos.StartTask:
		if err := t.start(m.Deployment); err != nil {
			t.fail(err)
			return
		}
	case *localBatch, *protos.RecordBatch, *protos.Watermark, *protos.WatermarkStatus, *protos.EndOfInput, *protos.Barrier:
		if t.state == taskCreated {
			t.early = append(t.early, m)
			return
		}
		t.accept(m)
	case *protos.TriggerCheckpoint:
		t.onTrigger(m)
	case *protos.NotifyCheckpointComplete:
		if t.state == taskRunning || t.state == taskFinishing || t.state == taskFinished {
			if err := t.onCheckpointComplete(m.CheckpointId); err != nil {
				t.fail(err)
				return
			}
		}
	case *protos.CreditGrant:
		if t.out != nil {
			t.out.grant(int(m.Output), int(m.Credits))
		}
	case pollSource:
		t.pollQueued = false
	case processingTime:
		t.timerAt = 0
		if t.state == taskRunning {
			if err := t.fireProcessingTimers(); err != nil {
				t.fail(err)
				return
			}
		}
	case flushTimeout:
		t.flushArmed = false
		if t.state == taskRunning {
			t.flushWriters()
		}
	case *protos.CancelTask:
		c.Stop(t.self)
		return
	case *actor.Stopping:
		t.shutdown()
		return
	default:
		return
	}
	t.drive()
}

// accept queues a channel message in the input gate.
func (t *subtask) accept(m any) {
	var input int32
	switch m := m.(type) {
	case *localBatch:
		input = m.input
	case *protos.RecordBatch:
		input = m.Input
	case *protos.Watermark:
		input = m.Input
	case *protos.WatermarkStatus:
		input = m.Input
	case *protos.EndOfInput:
		input = m.Input
	case *protos.Barrier:
		input = m.Input
	}
	if input < 0 || int(input) >= len(t.in.channels) {
		t.fail(fmt.Errorf("subtask %q %d: message %T for unknown input channel %d", t.chain.Name(), t.index, m, input))
		return
	}
	t.in.push(input, m)
}

// drive does all the work that the current credits and input allow.
func (t *subtask) drive() {
	if t.state == taskRunning {
		t.noteBackpressure(false)
		for t.state == taskRunning && !t.out.backlogged() {
			if t.source != nil {
				t.pollOnce()
				break
			}
			a, ok := t.in.pop()
			if !ok {
				break
			}
			if err := t.process(a); err != nil {
				t.fail(err)
				return
			}
		}
		t.returnCredits()
		t.noteBackpressure(true)
		if len(t.sinks) > 0 {
			var n int64
			for _, s := range t.sinks {
				n += s.Written()
			}
			t.metrics.SinkRecords.Store(n)
		}
		t.armProcessingTimer()
		if t.state == taskRunning && !t.flushArmed && t.anyBuffered() {
			t.flushArmed = true
			self, sys := t.self, t.system
			t.flushTimer = time.AfterFunc(t.cfg.BufferTimeout, func() { sys.Root.Send(self, flushTimeout{}) })
		}
	}
	if t.state == taskFinishing && !t.out.backlogged() {
		t.state = taskFinished
		t.report(&protos.TaskFinished{Chain: int32(t.chain.Index), Subtask: int32(t.index), Attempt: int32(t.attempt)})
	}
}

// noteBackpressure accounts the time the subtask cannot send.
func (t *subtask) noteBackpressure(end bool) {
	blocked := t.out.backlogged()
	switch {
	case end && blocked && t.blockedFrom.IsZero():
		t.blockedFrom = time.Now()
	case !blocked && !t.blockedFrom.IsZero():
		t.metrics.BackpressuredNanos.Add(int64(time.Since(t.blockedFrom)))
		t.blockedFrom = time.Time{}
	}
}

// pollOnce polls the source once and schedules the next poll.
func (t *subtask) pollOnce() {
	if t.pollQueued {
		return
	}
	res, err := t.source.PollOnce(t.cfg.BatchSize)
	t.metrics.RecordsOut.Store(t.source.Emitted())
	if err != nil {
		t.fail(err)
		return
	}
	if res.Done {
		t.endInput()
		return
	}
	t.pollQueued = true
	self, sys := t.self, t.system
	if res.Wait > 0 {
		t.pollTimer = time.AfterFunc(res.Wait, func() { sys.Root.Send(self, pollSource{}) })
		return
	}
	// Yield to the mailbox between polls so credits and cancellation get in.
	sys.Root.Send(self, pollSource{})
}

// process handles one message from the input gate.
func (t *subtask) process(a arrival) error {
	ch := t.in.channels[a.input]
	switch m := a.msg.(type) {
	case *localBatch:
		t.metrics.RecordsIn.Add(int64(ch.st.Len(m.batch)))
		return ch.feed(m.batch)
	case *protos.RecordBatch:
		b, err := ch.st.Decode(m)
		if err != nil {
			return fmt.Errorf("subtask %q %d: input channel %d: %w", t.chain.Name(), t.index, a.input, err)
		}
		t.metrics.RecordsIn.Add(int64(m.Count))
		t.metrics.RemoteBatches.Add(1)
		return ch.feed(b)
	case *protos.Watermark:
		if wm, ok := t.in.advance(a.input, m.Timestamp); ok {
			return t.onWatermark(wm)
		}
	case *protos.WatermarkStatus:
		wm, ok := t.in.setIdle(a.input, m.Idle)
		if ok {
			if err := t.onWatermark(wm); err != nil {
				return err
			}
		}
		t.markIdle(t.in.allIdle())
	case *protos.EndOfInput:
		if wm, ok := t.in.end(a.input); ok {
			if err := t.onWatermark(wm); err != nil {
				return err
			}
		}
		// An ended channel owes no barrier: the alignment in progress
		// may be complete now, and its snapshot comes before the end of
		// input flushes the chain.
		t.checkAligned()
		if t.in.open == 0 {
			return t.endInput()
		}
	case *protos.Barrier:
		t.onBarrier(a.input, m)
	}
	return nil
}

// onWatermark advances event time through the chain, whose operators pass
// it on to each other and, through the writers, downstream.
func (t *subtask) onWatermark(wm int64) error {
	return t.ops[0].ProcessWatermark(wm)
}

// markIdle tells downstream that this subtask is idle or active again.
func (t *subtask) markIdle(idle bool) {
	if idle == t.idle || t.out == nil {
		return
	}
	t.idle = idle
	t.flushWriters()
	t.out.broadcast(func() any { return &protos.WatermarkStatus{Idle: idle} })
}

// armProcessingTimer wakes the subtask when the earliest processing-time
// timer of its operators is due.
func (t *subtask) armProcessingTimer() {
	if len(t.timers) == 0 || t.state != taskRunning {
		return
	}
	next := operators.MaxWatermark
	for _, pt := range t.timers {
		next = min(next, pt.NextProcessingTime())
	}
	if next == operators.MaxWatermark || (t.timerAt != 0 && t.timerAt <= next) {
		return
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timerAt = next
	delay := time.Duration(next-t.cfg.Clock.NowMillis()) * time.Millisecond
	self, sys := t.self, t.system
	t.timer = time.AfterFunc(max(delay, 0), func() { sys.Root.Send(self, processingTime{}) })
}

// fireProcessingTimers calls the operators whose timers are due, in chain
// order.
func (t *subtask) fireProcessingTimers() error {
	now := t.cfg.Clock.NowMillis()
	for _, pt := range t.timers {
		if pt.NextProcessingTime() <= now {
			if err := pt.OnProcessingTime(now); err != nil {
				return err
			}
		}
	}
	return nil
}

// endInput finishes the chain once every input has ended: event time runs
// to its end, operators emit what they held back, and end of input goes
// downstream behind the last records.
func (t *subtask) endInput() error {
	if t.in == nil || t.in.watermark < operators.MaxWatermark {
		if t.in != nil {
			t.in.watermark = operators.MaxWatermark
		}
		if err := t.ops[0].ProcessWatermark(operators.MaxWatermark); err != nil {
			t.fail(err)
			return err
		}
	}
	for _, op := range t.ops {
		if err := op.EndInput(); err != nil {
			t.fail(err)
			return err
		}
	}
	t.flushWriters()
	t.out.broadcast(func() any { return &protos.EndOfInput{} })
	t.state = taskFinishing
	return nil
}

func (t *subtask) flushWriters() {
	for _, w := range t.writers {
		w.Flush()
	}
}

func (t *subtask) anyBuffered() bool {
	for _, w := range t.writers {
		if w.Buffered() {
			return true
		}
	}
	return false
}

// returnCredits grants senders one credit per message taken from them.
func (t *subtask) returnCredits() {
	if t.in == nil {
		return
	}
	for _, ch := range t.in.channels {
		if ch.consumed > 0 {
			if !ch.ended {
				t.system.Root.Send(ch.sender, &protos.CreditGrant{Output: ch.output, Credits: ch.consumed})
			}
			ch.consumed = 0
		}
	}
}

// fail reports err to the master once and stops doing work.
func (t *subtask) fail(err error) {
	if t.state == taskFailed {
		return
	}
	t.state = taskFailed
	t.log.Error("subtask failed", "err", err)
	if t.local {
		t.system.Root.Send(t.master, &taskFailedLocal{chain: t.chain.Index, subtask: t.index, attempt: t.attempt, err: err})
		return
	}
	t.report(&protos.TaskFailed{Chain: int32(t.chain.Index), Subtask: int32(t.index), Error: err.Error(), Attempt: int32(t.attempt)})
}

func (t *subtask) report(m any) {
	if t.master != nil {
		t.system.Root.Send(t.master, m)
	}
}

// shutdown stops timers and closes the operators that were opened.
func (t *subtask) shutdown() {
	if t.pollTimer != nil {
		t.pollTimer.Stop()
	}
	if t.flushTimer != nil {
		t.flushTimer.Stop()
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	var errs []error
	for i := t.opened - 1; i >= 0; i-- {
		if err := t.ops[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	t.opened = 0
	// State files being written belong to a checkpoint that either
	// completes without this subtask's further help or is aborted.
	t.persisting.Wait()
	if err := t.closeKeyedStore(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		t.log.Warn("close operators", "err", err)
	}
}
