package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// The exactly-once checker: each source subtask emits, for keys of its own,
// strictly increasing sequence numbers; a keyed checker holds the last
// number per key in checkpointed state and counts every number that is not
// last+1; an operator fails the job after a number of records once enough
// checkpoints completed, for several rounds. After the job, every key must
// have reached its last number with no violation: nothing lost, nothing
// applied twice.

type seqRecord struct {
	Key int64
	Seq int64
}

// seqSource emits perKey numbers for each of keys keys of its subtask.
type seqSource struct {
	keys, perKey int64
	subtask      int64
	next         int64 // index of the next record: key next%keys, seq next/keys
	delay        time.Duration
}

func (s *seqSource) Open(ctx *operators.TaskContext) error {
	s.subtask = int64(ctx.Subtask)
	return nil
}

func (s *seqSource) Poll(b *operators.Batch[seqRecord], max int) (operators.PollResult, error) {
	total := s.keys * s.perKey
	for n := 0; n < min(max, 50) && s.next < total; n++ {
		b.Append(seqRecord{Key: s.subtask*1_000_000 + s.next%s.keys, Seq: s.next / s.keys}, operators.NoTimestamp)
		s.next++
	}
	// Slow enough that checkpoints complete while the job runs.
	return operators.PollResult{Done: s.next >= total, Wait: s.delay}, nil
}

func (s *seqSource) Close() error { return nil }

func (s *seqSource) Position() ([]byte, error) { return binary.AppendVarint(nil, s.next), nil }

func (s *seqSource) Seek(p []byte) error {
	v, n := binary.Varint(p)
	if n <= 0 {
		return errors.New("bad position")
	}
	s.next = v
	return nil
}

// checker keeps the last sequence number per key as checkpointed state:
// in a map with the heap backend, in its state store with the Pebble
// backend, as the entries
//
//	's' varint(key) → varint(last)
//
// in both, so that each backend restores the other's checkpoints.
type checker struct {
	operators.Base
	out        operators.Input[seqRecord]
	last       map[int64]int64
	violations *atomic.Int64
	finals     *sync.Map
	restored   *atomic.Int64
}

func (c *checker) Open(ctx *operators.TaskContext) error {
	c.Ctx, c.last = ctx, map[int64]int64{}
	return nil
}

const checkerTag = 's'

func (c *checker) ProcessBatch(b *operators.Batch[seqRecord]) error {
	for _, r := range b.Values {
		last, ok, err := c.get(r.Key)
		if err != nil {
			return err
		}
		if (!ok && r.Seq != 0) || (ok && r.Seq != last+1) {
			c.violations.Add(1)
		}
		if err := c.set(r.Key, r.Seq); err != nil {
			return err
		}
	}
	return c.out.ProcessBatch(b)
}

func (c *checker) get(k int64) (int64, bool, error) {
	if c.Ctx.Store == nil {
		v, ok := c.last[k]
		return v, ok, nil
	}
	b, ok, err := c.Ctx.Store.Get(c.Ctx.KeyGroupOf(keyHash(k)), checkerTag, binary.AppendVarint(nil, k))
	if err != nil || !ok {
		return 0, false, err
	}
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, false, errors.New("corrupt checker value in the store")
	}
	return v, true, nil
}

func (c *checker) set(k, v int64) error {
	if c.Ctx.Store == nil {
		c.last[k] = v
		return nil
	}
	return c.Ctx.Store.Put(c.Ctx.KeyGroupOf(keyHash(k)), checkerTag, binary.AppendVarint(nil, k), binary.AppendVarint(nil, v))
}

func (c *checker) ProcessWatermark(wm int64) error { return c.out.ProcessWatermark(wm) }

func (c *checker) EndInput() error {
	for k, v := range c.last {
		c.finals.Store(k, v)
	}
	if c.Ctx.Store == nil {
		return nil
	}
	kgs := snapshot.RangeFor(c.Ctx.Subtask, c.Ctx.MaxParallelism, c.Ctx.Parallelism)
	for kg := kgs.Start; kg < kgs.End; kg++ {
		if err := c.Ctx.Store.Scan(kg, checkerTag, nil, func(key, value []byte) error {
			k, _ := binary.Varint(key)
			v, _ := binary.Varint(value)
			c.finals.Store(k, v)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

var keyHash, _ = snapshot.HasherFor[int64]()

func (c *checker) SnapshotState(_ int64, w operators.StateWriter) error {
	for k, v := range c.last {
		w.Keyed(c.Ctx.KeyGroupOf(keyHash(k)), binary.AppendVarint([]byte{checkerTag}, k), binary.AppendVarint(nil, v))
	}
	return nil
}

func (c *checker) RestoreState(r operators.StateReader) error {
	c.restored.Add(1)
	return r.Keyed(func(kg int, key, value []byte) error {
		if len(key) == 0 || key[0] != checkerTag {
			return errors.New("corrupt checker state: bad tag")
		}
		k, n1 := binary.Varint(key[1:])
		v, n2 := binary.Varint(value)
		if n1 <= 0 || n2 <= 0 || c.Ctx.KeyGroupOf(keyHash(k)) != kg {
			return errors.New("corrupt checker state")
		}
		if c.Ctx.Store != nil {
			return c.Ctx.Store.RestoreEntry(kg, key, value)
		}
		c.last[k] = v
		return nil
	})
}

// failer fails its subtask 0 once it saw failAfter records and at least
// checkpoints completed checkpoints since it started, rounds times in all.
type failer struct {
	operators.Base
	out                   operators.Input[seqRecord]
	failAfter, seen       int
	checkpoints, complete int
	rounds                *atomic.Int64
}

func (f *failer) ProcessBatch(b *operators.Batch[seqRecord]) error {
	f.seen += b.Len()
	if f.Ctx.Subtask == 0 && f.seen >= f.failAfter && f.complete >= f.checkpoints && f.rounds.Add(-1) >= 0 {
		return fmt.Errorf("injected failure after %d records", f.seen)
	}
	return f.out.ProcessBatch(b)
}

func (f *failer) ProcessWatermark(wm int64) error { return f.out.ProcessWatermark(wm) }

func (f *failer) NotifyCheckpointComplete(int64) error {
	f.complete++
	return nil
}

func TestExactlyOnceStateAcrossFailures(t *testing.T) {
	for _, c := range []struct {
		p       int
		backend string
	}{{1, "heap"}, {2, "heap"}, {1, "pebble"}, {2, "pebble"}} {
		p := c.p
		t.Run(fmt.Sprintf("%s/p=%d", c.backend, p), func(t *testing.T) {
			const keys, perKey, rounds = 20, 400, 3
			var violations, roundsLeft, restored atomic.Int64
			roundsLeft.Store(rounds)
			var finals sync.Map
			env := NewEnvironment(WithParallelism(p), WithLogger(DiscardLogger()),
				WithCheckpointing(t.TempDir(), 20*time.Millisecond), WithStateBackend(c.backend, t.TempDir()),
				WithRestartStrategy(restartNow{}), WithBatchSize(64))
			src := FromSource(env, "seq", func() operators.Source[seqRecord] {
				return &seqSource{keys: keys, perKey: perKey, delay: time.Millisecond}
			}, true)
			failing := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("fail", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
				return &failer{out: o, failAfter: 1500, checkpoints: 2, rounds: &roundsLeft}
			}), src.input())
			keyed := KeyBy(failing, func(r seqRecord) int64 { return r.Key })
			checked := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("check", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
				return &checker{out: o, violations: &violations, finals: &finals, restored: &restored}
			}), keyed.stream.input())
			SinkTo(checked, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} })

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := env.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			if left := roundsLeft.Load(); left > 0 {
				t.Fatalf("only %d of %d failures happened", rounds-left, rounds)
			}
			if r := restored.Load(); r < rounds*int64(p) {
				t.Fatalf("checker subtasks restored %d times; want every restart to restore from a checkpoint", r)
			}
			if v := violations.Load(); v != 0 {
				t.Fatalf("%d sequence violations: records lost or applied twice", v)
			}
			n := 0
			finals.Range(func(k, v any) bool {
				n++
				if v.(int64) != perKey-1 {
					t.Errorf("key %d ended at %d, want %d", k, v, perKey-1)
				}
				return true
			})
			if n != keys*p {
				t.Fatalf("%d keys reached the end, want %d", n, keys*p)
			}
		})
	}
}

// restartNow restarts at once, any number of times.
type restartNow struct{}

func (restartNow) Restart([]time.Time) (time.Duration, bool) { return 0, true }

type nullSink[T any] struct{}

func (nullSink[T]) Open(*operators.TaskContext) error { return nil }
func (nullSink[T]) Write(*operators.Batch[T]) error   { return nil }
func (nullSink[T]) Finish() error                     { return nil }
func (nullSink[T]) Close() error                      { return nil }

// checkerJob builds the checker job with the keyed checker at parallelism
// keyedP; the sources always run at 2.
func checkerJob(env *Environment, keyedP int, keys, perKey int64, delay time.Duration, violations, restored *atomic.Int64, finals *sync.Map) {
	src := FromSource(env, "seq", func() operators.Source[seqRecord] {
		return &seqSource{keys: keys, perKey: perKey, delay: delay}
	}, true).SetParallelism(2)
	keyed := KeyBy(src, func(r seqRecord) int64 { return r.Key })
	checked := addVertex[seqRecord](env, simple[seqRecord, seqRecord]("check", func(o operators.Input[seqRecord]) operators.OneInputOperator[seqRecord] {
		return &checker{out: o, violations: violations, finals: finals, restored: restored}
	}), keyed.stream.input()).SetParallelism(keyedP)
	SinkTo(checked, "drop", func() operators.Sink[seqRecord] { return nullSink[seqRecord]{} }).SetParallelism(keyedP)
}

// TestSavepointRestoresAtAnotherParallelism stops a job with a savepoint and
// restores its keyed state at another parallelism: key groups move between
// subtasks, and no sequence number is lost or applied twice.
func TestSavepointRestoresAtAnotherParallelism(t *testing.T) {
	for _, c := range []struct {
		to       int
		from, in string // the backends of the first and second run
	}{{1, "heap", "heap"}, {3, "heap", "heap"}, {1, "pebble", "pebble"}, {3, "pebble", "pebble"}, {3, "pebble", "heap"}, {1, "heap", "pebble"}} {
		to := c.to
		t.Run(fmt.Sprintf("%s-2->%s-%d", c.from, c.in, to), func(t *testing.T) {
			const keys, perKey = 30, 300
			dir := t.TempDir()
			var violations, restored atomic.Int64
			var finals sync.Map

			first := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()),
				WithCheckpointing(dir, 20*time.Millisecond), WithSavepointOnStop("sp"), WithBatchSize(32), WithStateBackend(c.from, t.TempDir()))
			checkerJob(first, 2, keys, perKey, 2*time.Millisecond, &violations, &restored, &finals)
			err := runUntilCheckpoints(first, 2)
			if err == nil {
				t.Fatal("the first run finished before it was stopped; slow it down")
			}
			sp := filepath.Join(dir, "savepoints", "sp")
			if _, statErr := os.Stat(filepath.Join(sp, "_manifest")); statErr != nil {
				t.Fatalf("no savepoint after stop: %v (job: %v)", statErr, err)
			}

			second := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithRestore(sp), WithBatchSize(32), WithStateBackend(c.in, t.TempDir()))
			checkerJob(second, to, keys, perKey, 0, &violations, &restored, &finals)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := second.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			if r := restored.Load(); r != int64(to) {
				t.Fatalf("%d checker subtasks restored, want %d", r, to)
			}
			if v := violations.Load(); v != 0 {
				t.Fatalf("%d sequence violations after restoring at parallelism %d", v, to)
			}
			n := 0
			finals.Range(func(k, v any) bool {
				n++
				if v.(int64) != perKey-1 {
					t.Errorf("key %d ended at %d, want %d", k, v, perKey-1)
				}
				return true
			})
			if n != keys*2 {
				t.Fatalf("%d keys reached the end, want %d", n, keys*2)
			}
		})
	}
}

// TestCorruptCheckpointFallsBackToThePreviousOne damages the newest
// checkpoint of a stopped run; the next run must detect it, resume from the
// one before, and still apply every number exactly once.
func TestCorruptCheckpointFallsBackToThePreviousOne(t *testing.T) {
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) { testCorruptCheckpointFallsBack(t, backend) })
	}
}

func testCorruptCheckpointFallsBack(t *testing.T, backend string) {
	const keys, perKey = 20, 300
	dir := t.TempDir()
	var violations, restored atomic.Int64
	var finals sync.Map
	first := NewEnvironment(WithParallelism(2), WithLogger(DiscardLogger()), WithCheckpointing(dir, 20*time.Millisecond), WithBatchSize(32), WithStateBackend(backend, t.TempDir()))
	checkerJob(first, 2, keys, perKey, 2*time.Millisecond, &violations, &restored, &finals)
	err := runUntilCheckpoints(first, 3)
	if err == nil {
		t.Fatal("the first run finished before it was stopped; slow it down")
	}
	st, err := snapshot.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.CheckpointIDs()
	if err != nil || len(ids) < 2 {
		t.Fatalf("want at least two checkpoints, have %v (%v)", ids, err)
	}
	m, _, err := st.LatestVerified()
	if err != nil {
		t.Fatal(err)
	}
	newest := m.CheckpointID
	damaged := false
	// With Pebble, the keyed entries are in the stores' table files, which
	// consecutive checkpoints share (hard links); damage the newest one's
	// own copy of a store's metadata.
	for _, s := range m.KeyedStores() {
		names, err := filepath.Glob(filepath.Join(st.CheckpointDir(newest), s, "MANIFEST-*"))
		if err != nil || len(names) == 0 {
			t.Fatalf("keyed store %s has no MANIFEST (%v)", s, err)
		}
		data, err := os.ReadFile(names[0])
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x5a
		if err := os.WriteFile(names[0], data, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged = true
		break
	}
	for _, h := range m.Files() {
		if damaged {
			break
		}
		if h.KeyedEntries == 0 {
			continue
		}
		path := filepath.Join(st.CheckpointDir(newest), h.File)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data[24] ^= 0x5a // a flipped byte in the first key group section
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged = true
		break
	}
	if !damaged {
		t.Fatal("the newest checkpoint has no keyed state to damage")
	}

	var logs syncBuffer
	second := NewEnvironment(WithParallelism(2), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithCheckpointing(dir, 20*time.Millisecond), WithBatchSize(32), WithStateBackend(backend, t.TempDir()))
	checkerJob(second, 2, keys, perKey, 0, &violations, &restored, &finals)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := second.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("skipping damaged or incomplete checkpoint\" checkpoint=%d", newest)) {
		t.Fatalf("the damaged checkpoint %d was not reported:\n%s", newest, logs.String())
	}
	if restored.Load() != 2 {
		t.Fatalf("%d checker subtasks restored, want 2", restored.Load())
	}
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d violations: state of a damaged checkpoint was used", v)
	}
	n := 0
	finals.Range(func(_, v any) bool {
		if v.(int64) == perKey-1 {
			n++
		}
		return true
	})
	if n != keys*2 {
		t.Fatalf("%d of %d keys reached the end", n, keys*2)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runUntilCheckpoints runs env until n checkpoints completed, then stops
// it; it returns the job's error (a cancellation, unless it finished).
func runUntilCheckpoints(env *Environment, n int64) error {
	metrics := &actors.Metrics{}
	WithMetrics(metrics)(env)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if metrics.Counter("checkpoints").Load() >= n {
				cancel()
				return <-done
			}
		}
	}
}
