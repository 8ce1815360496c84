package operators

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/snapshot"
)

// listFn keeps every record in an even-split list and, per record, the
// subtask that saw it in a union list.
type listFn struct {
	opts    []StateOption
	skip    bool // register nothing
	discard bool // discard "seen" and "by" instead
	union   bool // register "seen" as a union list
	seen    *OperatorListState[int]
	by      *OperatorListState[string]
}

func (f *listFn) Open(ctx *TaskContext) (err error) {
	switch {
	case f.skip:
		return nil
	case f.discard:
		return errors.Join(DiscardOperatorState(ctx, "seen"), DiscardOperatorState(ctx, "by"))
	case f.union:
		f.seen, err = NewUnionListState[int](ctx, "seen", f.opts...)
	default:
		f.seen, err = NewOperatorListState[int](ctx, "seen", f.opts...)
	}
	if err != nil {
		return err
	}
	f.by, err = NewUnionListState[string](ctx, "by")
	return err
}

func (f *listFn) ProcessElement(ctx *ProcessContext, v int, out Collector[int]) error {
	f.seen.Add(v)
	f.by.Add(fmt.Sprintf("%d@%d", v, ctx.Task().Subtask))
	out.Collect(v)
	return nil
}

func subtaskTask(name string, subtask, parallelism int) *TaskContext {
	return &TaskContext{Operator: name, OperatorID: name, Subtask: subtask, Parallelism: parallelism, MaxParallelism: testMaxParallelism}
}

// openProcess opens a Process running fn as subtask of parallelism.
func openProcess(t *testing.T, fn ProcessFunction[int, int], subtask, parallelism int) (*Process[int, int], error) {
	t.Helper()
	p := &Process[int, int]{Fn: fn, Out: &outRecorder[int]{}}
	return p, p.Open(subtaskTask("list", subtask, parallelism))
}

func feedInts(t *testing.T, in Input[int], vs ...int) {
	t.Helper()
	var b Batch[int]
	for _, v := range vs {
		b.Append(v, NoTimestamp)
	}
	if err := in.ProcessBatch(&b); err != nil {
		t.Fatal(err)
	}
}

func snapshotOf(t *testing.T, c Checkpointed) *MemState {
	t.Helper()
	m := NewMemState()
	if err := c.SnapshotState(1, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOperatorListStateRescale checkpoints two subtasks and restores them
// at parallelism 1, 2 and 3: the even-split list is dealt out, every entry
// exactly once, in contiguous chunks; every subtask gets the whole union
// list.
func TestOperatorListStateRescale(t *testing.T) {
	var olds []*MemState
	for sub, vals := range [][]int{{1, 2, 3, 4}, {5, 6, 7}} {
		fn := &listFn{}
		p, err := openProcess(t, fn, sub, 2)
		if err != nil {
			t.Fatal(err)
		}
		feedInts(t, p, vals...)
		olds = append(olds, snapshotOf(t, p))
	}
	allBy := []string{"1@0", "2@0", "3@0", "4@0", "5@1", "6@1", "7@1"}
	for newP, want := range map[int][][]int{
		1: {{1, 2, 3, 4, 5, 6, 7}},
		2: {{1, 2, 3, 4}, {5, 6, 7}},
		3: {{1, 2, 3}, {4, 5}, {6, 7}},
	} {
		for sub := range newP {
			fn := &listFn{}
			p, err := openProcess(t, fn, sub, newP)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.RestoreState(RescaledReader(olds, snapshot.RangeFor(sub, testMaxParallelism, newP), sub, newP)); err != nil {
				t.Fatal(err)
			}
			if got := fn.seen.Get(); !slices.Equal(got, want[sub]) {
				t.Errorf("p=%d subtask %d: even-split list %v, want %v", newP, sub, got, want[sub])
			}
			if got := fn.by.Get(); !slices.Equal(got, allBy) {
				t.Errorf("p=%d subtask %d: union list %v, want %v", newP, sub, got, allBy)
			}
			// The restored list goes on and is checkpointed again.
			feedInts(t, p, 100+sub)
			again := snapshotOf(t, p)
			fn2 := &listFn{}
			p2, err := openProcess(t, fn2, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := p2.RestoreState(again.Reader(snapshot.RangeFor(0, testMaxParallelism, 1))); err != nil {
				t.Fatal(err)
			}
			if got, w := fn2.seen.Get(), append(slices.Clone(want[sub]), 100+sub); !slices.Equal(got, w) {
				t.Errorf("p=%d subtask %d: list after a second checkpoint %v, want %v", newP, sub, got, w)
			}
		}
	}
}

func TestOperatorListStateAPI(t *testing.T) {
	fn := &listFn{}
	if _, err := openProcess(t, fn, 0, 1); err != nil {
		t.Fatal(err)
	}
	s := fn.seen
	s.Add(1)
	s.AddAll(2, 3)
	got := s.Get()
	got[0] = 99 // Get copies
	if !slices.Equal(s.Get(), []int{1, 2, 3}) || s.Len() != 3 {
		t.Fatalf("list %v (len %d), want [1 2 3]", s.Get(), s.Len())
	}
	var sum int
	for i, v := range s.All() {
		sum += i * v
	}
	if sum != 0*1+1*2+2*3 {
		t.Fatalf("All yielded a wrong sequence: weighted sum %d", sum)
	}
	in := []int{7, 8}
	s.Update(in)
	in[0] = 0 // Update copies
	if !slices.Equal(s.Get(), []int{7, 8}) {
		t.Fatalf("after Update: %v", s.Get())
	}
	s.Clear()
	if s.Len() != 0 {
		t.Fatalf("after Clear: %v", s.Get())
	}
}

// TestOperatorStateMismatch checks the registration rules and that a
// restore never drops state silently.
func TestOperatorStateMismatch(t *testing.T) {
	fn := &listFn{}
	p, err := openProcess(t, fn, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	feedInts(t, p, 1, 2)
	saved := snapshotOf(t, p)
	reader := func() StateReader { return saved.Reader(snapshot.RangeFor(0, testMaxParallelism, 1)) }

	// A function that registers nothing cannot take the checkpoint.
	p2, err := openProcess(t, &listFn{skip: true}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = p2.RestoreState(reader())
	if !errors.Is(err, ErrOperatorStateMismatch) || !strings.Contains(err.Error(), `"by"`) || !strings.Contains(err.Error(), "DiscardOperatorState") {
		t.Fatalf("restore into a function without the states: %v", err)
	}
	// Discarding them drops them.
	p3, err := openProcess(t, &listFn{discard: true}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p3.RestoreState(reader()); err != nil {
		t.Fatalf("restore with the states discarded: %v", err)
	}
	if m := snapshotOf(t, p3); len(m.ops) != 0 {
		t.Fatalf("discarded states were checkpointed again: %v", m.names)
	}
	// Another kind: checkpointed as even split, registered as union.
	p4, err := openProcess(t, &listFn{union: true}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p4.RestoreState(reader()); !errors.Is(err, ErrOperatorStateMismatch) || !strings.Contains(err.Error(), "checkpointed as a OperatorListState") {
		t.Fatalf("restore as another kind: %v", err)
	}
	// An empty list is still known to the checkpoint.
	fn5 := &listFn{}
	p5, err := openProcess(t, fn5, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	empty := snapshotOf(t, p5)
	p6, err := openProcess(t, &listFn{skip: true}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p6.RestoreState(empty.Reader(snapshot.RangeFor(0, testMaxParallelism, 1))); !errors.Is(err, ErrOperatorStateMismatch) {
		t.Fatalf("restore of empty lists into a function without them: %v", err)
	}
}

type opOpenFunc func(ctx *TaskContext) error

func (f opOpenFunc) Open(ctx *TaskContext) error { return f(ctx) }

func (opOpenFunc) ProcessElement(*ProcessContext, int, Collector[int]) error { return nil }

func TestOperatorStateRegistration(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		open       func(ctx *TaskContext) error
	}{
		{"twice", "already registered", func(ctx *TaskContext) error {
			_, err1 := NewOperatorListState[int](ctx, "a")
			_, err2 := NewUnionListState[string](ctx, "a")
			return errors.Join(err1, err2)
		}},
		{"empty name", "empty name", func(ctx *TaskContext) error {
			_, err := NewOperatorListState[int](ctx, "")
			return err
		}},
		{"ttl", "no time-to-live", func(ctx *TaskContext) error {
			_, err := NewOperatorListState[int](ctx, "a", WithTTL(time.Minute, OnCreateAndWrite, NeverReturnExpired))
			return err
		}},
		{"unused codec", "holds no", func(ctx *TaskContext) error {
			_, err := NewOperatorListState[int](ctx, "a", WithStateCodec(codec.String()))
			return err
		}},
		{"broadcast outside a broadcast function", "only by the function of a stream connected to a broadcast stream", func(ctx *TaskContext) error {
			_, err := NewBroadcastState[string, int](ctx, "rules")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openProcess(t, opOpenFunc(tc.open), 0, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Outside Open.
	if _, err := NewOperatorListState[int](subtaskTask("x", 0, 1), "late"); err == nil || !strings.Contains(err.Error(), "created in the Open") {
		t.Fatalf("list state created outside Open: %v", err)
	}
}

// TestOperatorListStateWithoutCodec fails the checkpoint, naming the
// state and the type.
func TestOperatorListStateWithoutCodec(t *testing.T) {
	var s *OperatorListState[chan int]
	p, err := openProcess(t, opOpenFunc(func(ctx *TaskContext) (err error) {
		s, err = NewOperatorListState[chan int](ctx, "chans")
		return err
	}), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(make(chan int))
	err = p.SnapshotState(1, NewMemState())
	if err == nil || !strings.Contains(err.Error(), `"chans"`) || !strings.Contains(err.Error(), "chan int") {
		t.Fatalf("snapshot of a type without codec: %v", err)
	}
}

// countingSink counts what it wrote in an even-split list; countingSource
// records its polls in a union list.
type countingSink struct{ n *OperatorListState[int64] }

func (s *countingSink) Open(ctx *TaskContext) (err error) {
	s.n, err = NewOperatorListState[int64](ctx, "written")
	return err
}

func (s *countingSink) Write(b *Batch[int]) error {
	s.n.Update([]int64{int64(s.total() + len(b.Values))})
	return nil
}

func (s *countingSink) total() int {
	t := 0
	for _, v := range s.n.All() {
		t += int(v)
	}
	return t
}

func (*countingSink) Finish() error { return nil }
func (*countingSink) Close() error  { return nil }

type countingSource struct{ polls *OperatorListState[int] }

func (s *countingSource) Open(ctx *TaskContext) (err error) {
	s.polls, err = NewUnionListState[int](ctx, "polls")
	return err
}

func (s *countingSource) Poll(b *Batch[int], _ int) (PollResult, error) {
	s.polls.Add(s.polls.Len())
	b.Append(s.polls.Len(), NoTimestamp)
	return PollResult{}, nil
}

func (*countingSource) Close() error { return nil }

func TestOperatorListStateInSinksAndSources(t *testing.T) {
	sink := &countingSink{}
	so := &SinkOperator[int]{Sink: sink}
	if err := so.Open(subtaskTask("sink", 0, 1)); err != nil {
		t.Fatal(err)
	}
	feedInts(t, so, 1, 2, 3)
	feedInts(t, so, 4)
	m := snapshotOf(t, so)
	sink2 := &countingSink{}
	so2 := &SinkOperator[int]{Sink: sink2}
	if err := so2.Open(subtaskTask("sink", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := so2.RestoreState(m.Reader(snapshot.RangeFor(0, testMaxParallelism, 1))); err != nil {
		t.Fatal(err)
	}
	if sink2.total() != 4 {
		t.Fatalf("restored sink counted %d, want 4", sink2.total())
	}

	src := &countingSource{}
	out := &outRecorder[int]{}
	sop := &SourceOperator[int]{Source: src, Out: out}
	if err := sop.Open(subtaskTask("src", 0, 1)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := sop.PollOnce(10); err != nil {
			t.Fatal(err)
		}
	}
	m = snapshotOf(t, sop)
	src2 := &countingSource{}
	sop2 := &SourceOperator[int]{Source: src2, Out: out}
	if err := sop2.Open(subtaskTask("src", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := sop2.RestoreState(m.Reader(snapshot.RangeFor(0, testMaxParallelism, 1))); err != nil {
		t.Fatal(err)
	}
	if got := src2.polls.Get(); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("restored source list %v, want [0 1 2]", got)
	}
}
