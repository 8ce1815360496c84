package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
)

// The broadcast checker: a rules source (parallelism 1) emits rules 0, 1,
// 2, ... and a broadcast stream takes them to every subtask of a keyed
// broadcast function, which keeps them in broadcast state and checks that
// rule i arrives when the state holds exactly rules 0 to i-1: a rule lost,
// applied twice, or a subtask restored without the broadcast state is a
// violation. The keyed side checks the sequence numbers of seqSource per
// key in keyed state, as the exactly-once checker does, and registers a
// timer at the end of event time that reports, per key, its last number
// and what the broadcast state holds then.

// bcRule is rule ID with its factor.
type bcRule struct {
	ID, Factor int64
}

// ruleSource emits n rules, one per poll, waiting delay between polls.
type ruleSource struct {
	n, next int64
	delay   time.Duration
}

func (s *ruleSource) Open(*operators.TaskContext) error { return nil }

func (s *ruleSource) Poll(b *operators.Batch[bcRule], _ int) (operators.PollResult, error) {
	if s.next < s.n {
		b.Append(bcRule{ID: s.next, Factor: 3*s.next + 1}, operators.NoTimestamp)
		s.next++
	}
	return operators.PollResult{Done: s.next >= s.n, Wait: s.delay}, nil
}

func (s *ruleSource) Close() error { return nil }

func (s *ruleSource) Position() ([]byte, error) { return binary.AppendVarint(nil, s.next), nil }

func (s *ruleSource) Seek(p []byte) error {
	v, n := binary.Varint(p)
	if n <= 0 {
		return errors.New("bad position")
	}
	s.next = v
	return nil
}

// keyResult is what the checker reports of a key at the end.
type keyResult struct {
	Key, Last        int64
	Rules, FactorSum int64
}

// ruleChecker is the keyed broadcast function of the checker.
type ruleChecker struct {
	desc       MapStateDescriptor[int64, int64]
	rules      *BroadcastState[int64, int64]
	last       *ValueState[int64, int64]
	violations *atomic.Int64
	// seenRules is the most rules this instance saw in its state.
	seenRules int
}

func (c *ruleChecker) Open(ctx *TaskContext) (err error) {
	if c.rules, err = c.desc.State(ctx); err != nil {
		return err
	}
	c.last, err = NewValueState[int64, int64](ctx, "last")
	return err
}

func (c *ruleChecker) ProcessBroadcastElement(ctx *BroadcastContext, r bcRule, _ Collector[keyResult]) error {
	if r.ID != int64(c.rules.Len()) {
		c.violations.Add(1)
	}
	c.rules.Put(ctx, r.ID, r.Factor)
	return nil
}

func (c *ruleChecker) ProcessElement(ctx *KeyedContext[int64], r seqRecord, _ Collector[keyResult]) error {
	if n := c.rules.Len(); n < c.seenRules {
		c.violations.Add(1) // broadcast state went back without a restore
	} else {
		c.seenRules = n
	}
	last, ok := c.last.Get(ctx)
	if (!ok && r.Seq != 0) || (ok && r.Seq != last+1) {
		c.violations.Add(1)
	}
	c.last.Set(ctx, r.Seq)
	ctx.TimerService().RegisterEventTimeTimer(operators.MaxWatermark)
	return nil
}

func (c *ruleChecker) OnTimer(ctx *OnTimerContext[int64], _ int64, out Collector[keyResult]) error {
	last, _ := c.last.Get(ctx)
	var sum int64
	for _, f := range c.rules.All() {
		sum += f
	}
	out.Collect(keyResult{Key: ctx.Key(), Last: last, Rules: int64(c.rules.Len()), FactorSum: sum})
	return nil
}

// resultSink keeps the last result per key; a key reported twice (sinks
// are at-least-once) must be reported alike.
type resultSink struct {
	mu       *sync.Mutex
	results  map[int64]keyResult
	mismatch *atomic.Int64
}

func (s resultSink) Open(*operators.TaskContext) error { return nil }
func (s resultSink) Finish() error                     { return nil }
func (s resultSink) Close() error                      { return nil }

func (s resultSink) Write(b *operators.Batch[keyResult]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Values {
		if prev, ok := s.results[r.Key]; ok && prev != r {
			s.mismatch.Add(1)
		}
		s.results[r.Key] = r
	}
	return nil
}

// released is a record that ruleGate let through, with the factor sum of
// the rules at that time.
type released struct {
	R   seqRecord
	Sum int64
}

// ruleGate is a non-keyed broadcast function that holds records back, in
// an even-split operator list, until all rules are there, and then lets
// them through with the factor sum of the rules: its output does not
// depend on when the rules arrive.
type ruleGate struct {
	desc    MapStateDescriptor[int64, int64]
	need    int
	rules   *BroadcastState[int64, int64]
	pending *OperatorListState[seqRecord]
}

func (g *ruleGate) Open(ctx *TaskContext) (err error) {
	if g.rules, err = g.desc.State(ctx); err != nil {
		return err
	}
	g.pending, err = NewOperatorListState[seqRecord](ctx, "pending")
	return err
}

func (g *ruleGate) sum() (s int64) {
	for _, f := range g.rules.All() {
		s += f
	}
	return s
}

func (g *ruleGate) ProcessElement(_ *ProcessContext, r seqRecord, out Collector[released]) error {
	if g.rules.Len() < g.need {
		g.pending.Add(r)
		return nil
	}
	out.Collect(released{r, g.sum()})
	return nil
}

func (g *ruleGate) ProcessBroadcastElement(ctx *BroadcastContext, r bcRule, out Collector[released]) error {
	g.rules.Put(ctx, r.ID, r.Factor)
	if g.rules.Len() == g.need {
		sum := g.sum()
		for _, p := range g.pending.All() {
			out.Collect(released{p, sum})
		}
		g.pending.Clear()
	}
	return nil
}

// releasedSink keeps what ruleGate let through; a record written twice
// (sinks are at-least-once) must carry the same sum.
type releasedSink struct {
	mu       *sync.Mutex
	released map[seqRecord]int64
	mismatch *atomic.Int64
}

func (s releasedSink) Open(*operators.TaskContext) error { return nil }
func (s releasedSink) Finish() error                     { return nil }
func (s releasedSink) Close() error                      { return nil }

func (s releasedSink) Write(b *operators.Batch[released]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Values {
		if prev, ok := s.released[r.R]; ok && prev != r.Sum {
			s.mismatch.Add(1)
		}
		s.released[r.R] = r.Sum
	}
	return nil
}

// ruleJob is a run of the broadcast checker.
type ruleJob struct {
	violations, mismatch, roundsLeft atomic.Int64
	mu                               sync.Mutex
	results                          map[int64]keyResult
	released                         map[seqRecord]int64
}

// build adds the checker to env: events from seqSource at parallelism
// sourceP (through a failer when failAfter > 0), rules at parallelism 1,
// the keyed broadcast function at checkP.
func (j *ruleJob) build(env *Environment, sourceP, checkP int, keys, perKey, rules int64, delay time.Duration, failAfter int) *DataStream[seqRecord] {
	j.results, j.released = map[int64]keyResult{}, map[seqRecord]int64{}
	events := FromSource(env, "seq", func() operators.Source[seqRecord] {
		return &seqSource{keys: keys, perKey: perKey, delay: delay}
	}, true).SetParallelism(sourceP)
	if failAfter > 0 {
		events = addVertex[seqRecord](env, simple[seqRecord, seqRecord]("fail", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
			return &failer{out: o, failAfter: failAfter, checkpoints: 2, rounds: &j.roundsLeft}
		}), events.input()).SetParallelism(sourceP)
	}
	ruleStream := FromSource(env, "rules", func() operators.Source[bcRule] {
		return &ruleSource{n: rules, delay: 4 * delay}
	}, true).SetParallelism(1)
	desc := NewMapStateDescriptor[int64, int64]("rules")
	connected := ConnectKeyedBroadcast(KeyBy(events, func(r seqRecord) int64 { return r.Key }), Broadcast(ruleStream, desc))
	results := KeyedBroadcastProcess(connected, "check", func() KeyedBroadcastProcessFunction[int64, seqRecord, bcRule, keyResult] {
		return &ruleChecker{desc: desc, violations: &j.violations}
	}).SetParallelism(checkP)
	SinkTo(results, "results", func() operators.Sink[keyResult] {
		return resultSink{mu: &j.mu, results: j.results, mismatch: &j.mismatch}
	}).SetParallelism(checkP)

	gated := BroadcastProcess(ConnectBroadcast(events.Rebalance(), Broadcast(ruleStream, desc)), "gate", func() BroadcastProcessFunction[seqRecord, bcRule, released] {
		return &ruleGate{desc: desc, need: int(rules)}
	}).SetParallelism(checkP)
	SinkTo(gated, "released", func() operators.Sink[released] {
		return releasedSink{mu: &j.mu, released: j.released, mismatch: &j.mismatch}
	}).SetParallelism(checkP)
	return events
}

// check verifies the end of a run: no violation, every key at its last
// number, every subtask with every rule.
func (j *ruleJob) check(t *testing.T, keys, perKey, rules int64, sourceP int) {
	t.Helper()
	if v := j.violations.Load(); v != 0 {
		t.Fatalf("%d violations: rules or records lost or applied twice", v)
	}
	if m := j.mismatch.Load(); m != 0 {
		t.Fatalf("%d keys reported twice with different results", m)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.results) != int(keys)*sourceP {
		t.Fatalf("%d keys reported, want %d", len(j.results), keys*int64(sourceP))
	}
	wantSum := 3*rules*(rules-1)/2 + rules
	for k, r := range j.results {
		if r.Last != perKey-1 || r.Rules != rules || r.FactorSum != wantSum {
			t.Fatalf("key %d: %+v, want last %d with %d rules of factor sum %d", k, r, perKey-1, rules, wantSum)
		}
	}
	if len(j.released) != int(keys*perKey)*sourceP {
		t.Fatalf("%d records released, want %d", len(j.released), keys*perKey*int64(sourceP))
	}
	for r, sum := range j.released {
		if sum != wantSum {
			t.Fatalf("record %+v released with factor sum %d, want %d", r, sum, wantSum)
		}
	}
}

// TestBroadcastStateAcrossFailures runs the broadcast checker through
// failures and restores from checkpoints, and compares its results with a
// run without failures.
func TestBroadcastStateAcrossFailures(t *testing.T) {
	for _, c := range []struct {
		p       int
		backend string
	}{{1, "heap"}, {2, "heap"}, {2, "pebble"}} {
		p := c.p
		t.Run(fmt.Sprintf("p=%d/%s", p, c.backend), func(t *testing.T) {
			const keys, perKey, rules, rounds = 20, 400, 60, 3
			run := func(failAfter int) *ruleJob {
				j := &ruleJob{}
				j.roundsLeft.Store(rounds)
				backend := c.backend
				if failAfter == 0 {
					backend = "heap"
				}
				env := NewEnvironment(WithParallelism(p), WithLogger(DiscardLogger()),
					WithCheckpointing(t.TempDir(), 20*time.Millisecond), WithStateBackend(backend, t.TempDir()),
					WithRestartStrategy(restartNow{}), WithBatchSize(64))
				j.build(env, p, p, keys, perKey, rules, time.Millisecond, failAfter)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				if err := env.Execute(ctx); err != nil {
					t.Fatal(err)
				}
				j.check(t, keys, perKey, rules, p)
				return j
			}
			failing := run(1500)
			if left := failing.roundsLeft.Load(); left > 0 {
				t.Fatalf("only %d of %d failures happened", rounds-left, rounds)
			}
			clean := run(0)
			if !maps.Equal(failing.results, clean.results) {
				t.Fatalf("results with failures differ from those without:\n%v\n%v", failing.results, clean.results)
			}
			if !maps.Equal(failing.released, clean.released) {
				t.Fatal("records released with failures differ from those without")
			}
		})
	}
}

// tallyFn is a non-keyed function with operator list states: every record
// goes into the even-split list "records"; the union list "marks" holds
// one mark per subtask and run. Close reports the lists.
type tallyFn struct {
	run     string
	records *OperatorListState[seqRecord]
	marks   *OperatorListState[string]
	marked  bool
	task    *TaskContext
	report  func(subtask int, records []seqRecord, marks []string)
}

func (f *tallyFn) Open(ctx *TaskContext) (err error) {
	f.task = ctx
	if f.records, err = NewOperatorListState[seqRecord](ctx, "records"); err != nil {
		return err
	}
	f.marks, err = NewUnionListState[string](ctx, "marks")
	return err
}

func (f *tallyFn) ProcessElement(_ *ProcessContext, r seqRecord, _ Collector[seqRecord]) error {
	if !f.marked {
		f.marks.Add(fmt.Sprintf("%s-%d", f.run, f.task.Subtask))
		f.marked = true
	}
	f.records.Add(r)
	return nil
}

func (f *tallyFn) Close() error {
	if f.report != nil {
		f.report(f.task.Subtask, f.records.Get(), f.marks.Get())
	}
	return nil
}

// TestOperatorAndBroadcastStateRescale stops the broadcast checker and a
// function with operator list states with a savepoint at parallelism 2
// and restores it at 1 and 3: every new subtask has the whole broadcast
// state; every record is in exactly one subtask's even-split list; every
// subtask has the union list of both old subtasks.
func TestOperatorAndBroadcastStateRescale(t *testing.T) {
	for _, to := range []int{1, 3} {
		t.Run(fmt.Sprintf("2->%d", to), func(t *testing.T) {
			const keys, perKey, rules = 30, 300, 80
			dir := t.TempDir()
			var mu sync.Mutex
			type tallyReport struct {
				records []seqRecord
				marks   []string
			}
			reports := map[int]tallyReport{}
			tally := func(env *Environment, events *DataStream[seqRecord], run string, p int, report bool) {
				ds := ProcessStream(events.Rebalance(), "tally", func() ProcessFunction[seqRecord, seqRecord] {
					f := &tallyFn{run: run}
					if report {
						f.report = func(sub int, recs []seqRecord, marks []string) {
							mu.Lock()
							defer mu.Unlock()
							reports[sub] = tallyReport{recs, marks}
						}
					}
					return f
				}).SetParallelism(p)
				SinkTo(ds, "tally-drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} }).SetParallelism(p)
			}

			first := &ruleJob{}
			env1 := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()),
				WithCheckpointing(dir, 20*time.Millisecond), WithSavepointOnStop("sp"), WithBatchSize(32))
			tally(env1, first.build(env1, 2, 2, keys, perKey, rules, 2*time.Millisecond, 0), "first", 2, false)
			err := runUntilCheckpoints(env1, 2)
			if err == nil {
				t.Fatal("the first run finished before it was stopped; slow it down")
			}
			sp := filepath.Join(dir, "savepoints", "sp")
			if _, statErr := os.Stat(filepath.Join(sp, "_manifest")); statErr != nil {
				t.Fatalf("no savepoint after stop: %v (job: %v)", statErr, err)
			}
			if first.violations.Load() != 0 {
				t.Fatalf("%d violations in the first run", first.violations.Load())
			}

			second := &ruleJob{}
			env2 := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithRestore(sp), WithBatchSize(32))
			tally(env2, second.build(env2, 2, to, keys, perKey, rules, 0, 0), "second", to, true)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := env2.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			second.check(t, keys, perKey, rules, 2)

			mu.Lock()
			defer mu.Unlock()
			if len(reports) != to {
				t.Fatalf("%d tally subtasks reported, want %d", len(reports), to)
			}
			seen := map[seqRecord]int{}
			for sub, r := range reports {
				for _, v := range r.records {
					seen[v]++
				}
				marks := map[string]bool{}
				for _, m := range r.marks {
					marks[m] = true
				}
				for _, want := range []string{"first-0", "first-1", fmt.Sprintf("second-%d", sub)} {
					if !marks[want] {
						t.Errorf("subtask %d: union list %v lacks %q", sub, slices.Sorted(maps.Keys(marks)), want)
					}
				}
			}
			if len(seen) != keys*perKey*2 {
				t.Fatalf("the even-split lists hold %d distinct records, want %d", len(seen), keys*perKey*2)
			}
			for r, n := range seen {
				if n != 1 {
					t.Fatalf("record %+v is in %d lists", r, n)
				}
			}
		})
	}
}

// listOnlyFn registers the operator states that open tells it to.
type listOnlyFn struct {
	open func(ctx *TaskContext) error
}

func (f *listOnlyFn) Open(ctx *TaskContext) error { return f.open(ctx) }

func (f *listOnlyFn) ProcessElement(*ProcessContext, seqRecord, Collector[seqRecord]) error {
	return nil
}

// TestOperatorStateMismatchOnRestore restores a savepoint with operator
// list states into jobs whose function does not register them: the
// restore fails, naming the state, unless the function discards it.
func TestOperatorStateMismatchOnRestore(t *testing.T) {
	dir := t.TempDir()
	job := func(env *Environment, open func(ctx *TaskContext) error) {
		src := FromSource(env, "seq", func() operators.Source[seqRecord] {
			return &seqSource{keys: 10, perKey: 300, delay: 2 * time.Millisecond}
		}, true)
		ds := ProcessStream(src, "lists", func() ProcessFunction[seqRecord, seqRecord] { return &listOnlyFn{open: open} })
		SinkTo(ds, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} })
	}
	env1 := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()),
		WithCheckpointing(dir, 20*time.Millisecond), WithSavepointOnStop("sp"), WithBatchSize(32))
	job(env1, func(ctx *TaskContext) error {
		_, err := NewUnionListState[string](ctx, "config")
		return err
	})
	if err := runUntilCheckpoints(env1, 2); err == nil {
		t.Fatal("the first run finished before it was stopped; slow it down")
	}
	sp := filepath.Join(dir, "savepoints", "sp")

	env2 := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithRestore(sp), WithBatchSize(32))
	job(env2, func(*TaskContext) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := env2.Execute(ctx)
	if err == nil || !strings.Contains(err.Error(), "operator state mismatch") || !strings.Contains(err.Error(), `"config"`) {
		t.Fatalf("restore into a function without the state: %v", err)
	}

	env3 := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithRestore(sp), WithBatchSize(32))
	job(env3, func(ctx *TaskContext) error { return DiscardOperatorState(ctx, "config") })
	if err := env3.Execute(ctx); err != nil {
		t.Fatalf("restore with the state discarded: %v", err)
	}
}
