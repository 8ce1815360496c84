package stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
)

// The exactly-once checker of exactly_once_test.go, written as a user
// function with keyed state instead of an operator that checkpoints its
// own: the last sequence number of each key is a ValueState and the sum of
// its numbers a ReducingState. Zero violations after failures and restores
// mean that the runtime checkpointed and restored the user's state exactly
// once.

// seqStateCounters are what the checker functions of a test report.
type seqStateCounters struct {
	violations atomic.Int64
	// resumed counts function instances whose first record found the
	// state of its key: they run on restored state.
	resumed atomic.Int64
	finals  sync.Map
}

// seqStateFn checks the sequence numbers of each key with keyed state.
type seqStateFn struct {
	perKey  int64
	c       *seqStateCounters
	last    *ValueState[int64, int64]
	sum     *ReducingState[int64, int64]
	started bool
}

func (f *seqStateFn) Open(ctx *TaskContext) (err error) {
	if f.last, err = NewValueState[int64, int64](ctx, "last"); err != nil {
		return err
	}
	f.sum, err = NewReducingState[int64](ctx, "sum", func(a, b int64) int64 { return a + b })
	return err
}

func (f *seqStateFn) ProcessElement(ctx *KeyedContext[int64], r seqRecord, out Collector[seqRecord]) error {
	last, ok := f.last.Get(ctx)
	if !f.started {
		f.started = true
		if ok {
			f.c.resumed.Add(1)
		}
	}
	if (!ok && r.Seq != 0) || (ok && r.Seq != last+1) {
		f.c.violations.Add(1)
	}
	f.last.Set(ctx, r.Seq)
	f.sum.Add(ctx, r.Seq)
	if r.Seq == f.perKey-1 {
		if sum, _ := f.sum.Get(ctx); sum != f.perKey*(f.perKey-1)/2 {
			f.c.violations.Add(1)
		}
		f.c.finals.Store(ctx.Key(), r.Seq)
	}
	out.Collect(r)
	return nil
}

// check verifies that no number was lost or applied twice and that each of
// keys keys reached perKey-1.
func (c *seqStateCounters) check(t *testing.T, keys, perKey int64) {
	t.Helper()
	if v := c.violations.Load(); v != 0 {
		t.Fatalf("%d sequence violations: user state lost or applied twice", v)
	}
	var n int64
	c.finals.Range(func(k, v any) bool {
		n++
		if v.(int64) != perKey-1 {
			t.Errorf("key %d ended at %d, want %d", k, v, perKey-1)
		}
		return true
	})
	if n != keys {
		t.Fatalf("%d keys reached the end, want %d", n, keys)
	}
}

func TestKeyedStateExactlyOnceAcrossFailures(t *testing.T) {
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			const keys, perKey, rounds = 20, 400, 3
			var roundsLeft atomic.Int64
			roundsLeft.Store(rounds)
			var c seqStateCounters
			env := NewEnvironment(WithParallelism(p), WithLogger(DiscardLogger()),
				WithCheckpointing(t.TempDir(), 20*time.Millisecond),
				WithRestartStrategy(restartNow{}), WithBatchSize(64))
			src := FromSource(env, "seq", func() operators.Source[seqRecord] {
				return &seqSource{keys: keys, perKey: perKey, delay: time.Millisecond}
			}, true)
			failing := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("fail", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
				return &failer{out: o, failAfter: 1500, checkpoints: 2, rounds: &roundsLeft}
			}), src.input())
			checked := KeyedProcess(KeyBy(failing, func(r seqRecord) int64 { return r.Key }), "check",
				func() KeyedProcessFunction[int64, seqRecord, seqRecord] { return &seqStateFn{perKey: perKey, c: &c} })
			SinkTo(checked, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} })

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := env.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			if left := roundsLeft.Load(); left > 0 {
				t.Fatalf("only %d of %d failures happened", rounds-left, rounds)
			}
			if r := c.resumed.Load(); r < rounds {
				t.Fatalf("%d function instances resumed from restored state; want one per restart at least", r)
			}
			c.check(t, keys*int64(p), perKey)
		})
	}
}

// seqStateJob builds the checker job over user state with the checker at
// parallelism keyedP; the sources run at 2.
func seqStateJob(env *Environment, keyedP int, keys, perKey int64, delay time.Duration, c *seqStateCounters) {
	src := FromSource(env, "seq", func() operators.Source[seqRecord] {
		return &seqSource{keys: keys, perKey: perKey, delay: delay}
	}, true).SetParallelism(2)
	checked := KeyedProcess(KeyBy(src, func(r seqRecord) int64 { return r.Key }), "check",
		func() KeyedProcessFunction[int64, seqRecord, seqRecord] { return &seqStateFn{perKey: perKey, c: c} }).SetParallelism(keyedP)
	SinkTo(checked, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} }).SetParallelism(keyedP)
}

// TestKeyedStateRestoresAtAnotherParallelism stops a job with a savepoint
// and resumes it with the keyed function at another parallelism: each
// key's state follows its key group to its new subtask.
func TestKeyedStateRestoresAtAnotherParallelism(t *testing.T) {
	for _, to := range []int{1, 3} {
		t.Run(fmt.Sprintf("2->%d", to), func(t *testing.T) {
			const keys, perKey = 30, 300
			dir := t.TempDir()
			var c seqStateCounters
			first := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()),
				WithCheckpointing(dir, 20*time.Millisecond), WithSavepointOnStop("sp"), WithBatchSize(32))
			seqStateJob(first, 2, keys, perKey, 2*time.Millisecond, &c)
			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			err := first.Execute(ctx)
			cancel()
			if err == nil {
				t.Fatal("the first run finished before it was stopped; slow it down")
			}
			sp := filepath.Join(dir, "savepoints", "sp")
			if _, statErr := os.Stat(filepath.Join(sp, "_manifest")); statErr != nil {
				t.Fatalf("no savepoint after stop: %v (job: %v)", statErr, err)
			}

			second := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithRestore(sp), WithBatchSize(32))
			seqStateJob(second, to, keys, perKey, 0, &c)
			ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := second.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			if r := c.resumed.Load(); r == 0 {
				t.Fatal("no subtask resumed from restored state")
			}
			c.check(t, keys*2, perKey)
		})
	}
}

// coSeqStateFn checks the numbers of two connected streams, the second
// carrying the negated numbers of other keys, in one MapState per key: user
// key 0 for the first stream, 1 for the second.
type coSeqStateFn struct {
	perKey int64
	c      *seqStateCounters
	last   *MapState[int64, int, int64]
}

func (f *coSeqStateFn) Open(ctx *TaskContext) (err error) {
	f.last, err = NewMapState[int64, int, int64](ctx, "last")
	return err
}

func (f *coSeqStateFn) check(ctx *KeyedContext[int64], input int, seq int64) {
	last, ok := f.last.Get(ctx, input)
	if (!ok && seq != 0) || (ok && seq != last+1) {
		f.c.violations.Add(1)
	}
	f.last.Put(ctx, input, seq)
	if seq == f.perKey-1 {
		f.c.finals.Store(fmt.Sprint(ctx.Key(), "/", input), seq)
	}
}

func (f *coSeqStateFn) ProcessElement1(ctx *KeyedContext[int64], r seqRecord, _ Collector[seqRecord]) error {
	f.check(ctx, 0, r.Seq)
	return nil
}

func (f *coSeqStateFn) ProcessElement2(ctx *KeyedContext[int64], r seqRecord, _ Collector[seqRecord]) error {
	f.check(ctx, 1, -r.Seq)
	return nil
}

// TestKeyedCoProcessStateExactlyOnce checks the state of a keyed
// co-process function across failures: both inputs share it.
func TestKeyedCoProcessStateExactlyOnce(t *testing.T) {
	const keys, perKey, rounds = 20, 400, 2
	var roundsLeft atomic.Int64
	roundsLeft.Store(rounds)
	var c seqStateCounters
	env := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()),
		WithCheckpointing(t.TempDir(), 20*time.Millisecond),
		WithRestartStrategy(restartNow{}), WithBatchSize(64))
	seqs := func(name string) *DataStream[seqRecord] {
		return FromSource(env, name, func() operators.Source[seqRecord] {
			return &seqSource{keys: keys, perKey: perKey, delay: time.Millisecond}
		}, true)
	}
	first := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("fail", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
		return &failer{out: o, failAfter: 1000, checkpoints: 2, rounds: &roundsLeft}
	}), seqs("first").input())
	second := Map(seqs("second"), "negate", func(r seqRecord) seqRecord { return seqRecord{Key: r.Key, Seq: -r.Seq} })
	byKey := func(r seqRecord) int64 { return r.Key }
	out := KeyedCoProcess(ConnectKeyed(KeyBy(first, byKey), KeyBy(second, byKey)), "check",
		func() KeyedCoProcessFunction[int64, seqRecord, seqRecord, seqRecord] {
			return &coSeqStateFn{perKey: perKey, c: &c}
		})
	SinkTo(out, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	if left := roundsLeft.Load(); left > 0 {
		t.Fatalf("only %d of %d failures happened", rounds-left, rounds)
	}
	c.check(t, 2*keys*2, perKey)
}
