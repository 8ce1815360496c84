package operators

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stromhq/strom/codec"
)

// openFunc is a keyed function whose Open is given; it processes nothing.
type openFunc[K comparable] struct {
	open func(ctx *TaskContext) error
}

func (f *openFunc[K]) Open(ctx *TaskContext) error { return f.open(ctx) }

func (f *openFunc[K]) ProcessElement(*KeyedContext[K], int, Collector[int]) error { return nil }

// stateOp opens a KeyedProcess keyed by K whose function's Open is open,
// in a task with clock.
func stateOp[K comparable](t *testing.T, clock Clock, open func(ctx *TaskContext) error) *KeyedProcess[K, int, int] {
	t.Helper()
	op := &KeyedProcess[K, int, int]{
		Key: Key[K, int]{Selector: func(int) K { var k K; return k }},
		Fn:  &openFunc[K]{open: open},
		Out: lineOut[int]{new([]string)},
	}
	if err := op.Open(opTask("state", clock)); err != nil {
		t.Fatal(err)
	}
	return op
}

// at returns the context of key k in op, as a record of k would see it.
func at[K comparable](op *KeyedProcess[K, int, int], k K) *KeyedContext[K] {
	return op.core.element(k, 0)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestValueState(t *testing.T) {
	var s *ValueState[string, int64]
	op := stateOp[string](t, nil, func(ctx *TaskContext) (err error) {
		s, err = NewValueState[string, int64](ctx, "count")
		return err
	})
	// at returns the operator's one context, set to a key: a context is
	// valid for the call it is handed to, until the next.
	if v, ok := s.Get(at(op, "a")); ok || v != 0 {
		t.Fatalf("empty state: %d %v", v, ok)
	}
	s.Set(at(op, "a"), 3)
	s.Set(at(op, "b"), 4)
	if v, ok := s.Get(at(op, "a")); !ok || v != 3 {
		t.Fatalf("a: %d %v", v, ok)
	}
	s.Set(at(op, "a"), 0) // a zero value is a value
	if v, ok := s.Get(at(op, "a")); !ok || v != 0 {
		t.Fatalf("a set to zero: %d %v", v, ok)
	}
	s.Clear(at(op, "a"))
	if _, ok := s.Get(at(op, "a")); ok {
		t.Fatal("a after Clear")
	}
	if v, ok := s.Get(at(op, "b")); !ok || v != 4 {
		t.Fatalf("b: %d %v", v, ok)
	}
}

func TestListState(t *testing.T) {
	var s *ListState[int, string]
	op := stateOp[int](t, nil, func(ctx *TaskContext) (err error) {
		s, err = NewListState[int, string](ctx, "names")
		return err
	})
	if got := s.Get(at(op, 1)); got != nil {
		t.Fatalf("empty list: %q", got)
	}
	s.Add(at(op, 1), "x")
	s.AddAll(at(op, 1), []string{"y", "z"})
	s.AddAll(at(op, 1), nil)
	s.Add(at(op, 2), "other")
	got := s.Get(at(op, 1))
	if !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("list %q", got)
	}
	got[0] = "changed" // Get returns a copy
	if got := s.Get(at(op, 1)); got[0] != "x" {
		t.Fatalf("Get shares its slice: %q", got)
	}
	in := []string{"u", "v"}
	s.Update(at(op, 1), in)
	in[0] = "changed" // Update copies
	if got := s.Get(at(op, 1)); !slices.Equal(got, []string{"u", "v"}) {
		t.Fatalf("after Update %q", got)
	}
	s.Update(at(op, 1), nil)
	if got := s.Get(at(op, 1)); got != nil {
		t.Fatalf("after Update(nil) %q", got)
	}
	s.Clear(at(op, 2))
	if got := s.Get(at(op, 2)); got != nil {
		t.Fatalf("after Clear %q", got)
	}
	if len(s.m.m) != 0 {
		t.Fatalf("%d lists held after clearing all", len(s.m.m))
	}
}

// point is a user key without a natural order.
type point struct{ X, Y int32 }

func TestMapState(t *testing.T) {
	var ints *MapState[string, int64, string]
	var names *MapState[string, string, int]
	var points *MapState[string, point, bool]
	var chans *MapState[string, chan int, bool]
	type flag bool
	var flags *MapState[string, flag, int]
	op := stateOp[string](t, nil, func(ctx *TaskContext) (err error) {
		ints = must[*MapState[string, int64, string]](t)(NewMapState[string, int64, string](ctx, "ints"))
		names = must[*MapState[string, string, int]](t)(NewMapState[string, string, int](ctx, "names"))
		points = must[*MapState[string, point, bool]](t)(NewMapState[string, point, bool](ctx, "points"))
		chans = must[*MapState[string, chan int, bool]](t)(NewMapState[string, chan int, bool](ctx, "chans"))
		flags, err = NewMapState[string, flag, int](ctx, "flags")
		return err
	})
	if _, ok := ints.Get(at(op, "a"), 1); ok || ints.Contains(at(op, "a"), 1) || ints.Len(at(op, "a")) != 0 {
		t.Fatal("empty map has entries")
	}
	for _, k := range []int64{5, -3, 1 << 40, 0, -1 << 50, 7} {
		ints.Put(at(op, "a"), k, fmt.Sprint("v", k))
	}
	ints.Put(at(op, "b"), 9, "b9")
	ints.Put(at(op, "a"), 7, "seven")
	ints.Remove(at(op, "a"), 5)
	ints.Remove(at(op, "a"), 12345)
	if v, ok := ints.Get(at(op, "a"), 7); !ok || v != "seven" || !ints.Contains(at(op, "a"), 0) || ints.Contains(at(op, "a"), 5) {
		t.Fatalf("get 7: %q %v", v, ok)
	}
	if n := ints.Len(at(op, "a")); n != 5 {
		t.Fatalf("len %d", n)
	}
	rangeAll := func(s interface {
		Range(KeyScope[string], func(int64, string) bool) error
	}, k string) []string {
		var out []string
		if err := s.Range(at(op, k), func(uk int64, uv string) bool {
			out = append(out, fmt.Sprint(uk, "=", uv))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := []string{"-1125899906842624=v-1125899906842624", "-3=v-3", "0=v0", "7=seven", "1099511627776=v1099511627776"}
	if got := rangeAll(ints, "a"); !slices.Equal(got, want) {
		t.Fatalf("range %q, want %q", got, want)
	}
	// Range stops when fn returns false, and fn may modify the state.
	var seen []int64
	if err := ints.Range(at(op, "a"), func(uk int64, _ string) bool {
		seen = append(seen, uk)
		ints.Remove(at(op, "a"), uk)
		ints.Put(at(op, "a"), uk+1000, "new")
		return len(seen) < 2
	}); err != nil || len(seen) != 2 {
		t.Fatalf("range stopped after %v: %v", seen, err)
	}
	if ints.Len(at(op, "a")) != 5 || ints.Contains(at(op, "a"), -3) || !ints.Contains(at(op, "a"), 997) {
		t.Fatal("modifications during Range lost")
	}
	ints.Clear(at(op, "a"))
	if ints.Len(at(op, "a")) != 0 || len(rangeAll(ints, "a")) != 0 || ints.Len(at(op, "b")) != 1 {
		t.Fatal("Clear")
	}

	for _, k := range []string{"pear", "apple", "", "fig"} {
		names.Put(at(op, "a"), k, len(k))
	}
	var ks []string
	_ = names.Range(at(op, "a"), func(k string, _ int) bool { ks = append(ks, k); return true })
	if !slices.Equal(ks, []string{"", "apple", "fig", "pear"}) {
		t.Fatalf("string keys in order %q", ks)
	}

	// Without a natural order, user keys come in the order of their
	// encodings: X first (zigzag varints), then Y.
	for _, p := range []point{{1, 0}, {0, 5}, {-1, 2}, {0, -1}} {
		points.Put(at(op, "a"), p, true)
	}
	var ps []point
	_ = points.Range(at(op, "a"), func(p point, _ bool) bool { ps = append(ps, p); return true })
	if want := []point{{0, -1}, {0, 5}, {-1, 2}, {1, 0}}; !slices.Equal(ps, want) {
		t.Fatalf("struct keys in order %v, want %v", ps, want)
	}

	flags.Put(at(op, "a"), true, 1)
	flags.Put(at(op, "a"), false, 0)
	var fs []flag
	_ = flags.Range(at(op, "a"), func(f flag, _ int) bool { fs = append(fs, f); return true })
	if !slices.Equal(fs, []flag{false, true}) {
		t.Fatalf("bool keys in order %v", fs)
	}

	// Channels have no order and no codec: Range fails with more than one
	// entry, and works with one.
	chans.Put(at(op, "a"), make(chan int), true)
	if err := chans.Range(at(op, "a"), func(chan int, bool) bool { return true }); err != nil {
		t.Fatalf("range of one channel key: %v", err)
	}
	chans.Put(at(op, "a"), make(chan int), true)
	err := chans.Range(at(op, "a"), func(chan int, bool) bool { return true })
	if err == nil || !strings.Contains(err.Error(), `keyed state "chans": Range orders user keys of type chan int by their encoding`) {
		t.Fatalf("range of channel keys: %v", err)
	}
}

func TestReducingState(t *testing.T) {
	var s *ReducingState[string, []int]
	op := stateOp[string](t, nil, func(ctx *TaskContext) (err error) {
		s, err = NewReducingState[string](ctx, "cat", func(acc, v []int) []int { return append(acc, v...) })
		return err
	})
	if _, ok := s.Get(at(op, "a")); ok {
		t.Fatal("empty")
	}
	s.Add(at(op, "a"), []int{1})
	s.Add(at(op, "a"), []int{2, 3})
	s.Add(at(op, "b"), []int{9})
	if v, ok := s.Get(at(op, "a")); !ok || !slices.Equal(v, []int{1, 2, 3}) {
		t.Fatalf("a: %v", v)
	}
	s.Clear(at(op, "a"))
	s.Add(at(op, "a"), []int{4})
	if v, _ := s.Get(at(op, "a")); !slices.Equal(v, []int{4}) {
		t.Fatalf("a after Clear and Add: %v", v)
	}
	if v, _ := s.Get(at(op, "b")); !slices.Equal(v, []int{9}) {
		t.Fatalf("b: %v", v)
	}
}

// avgAcc is the accumulator of the average tests.
type avgAcc struct{ Sum, N int64 }

func avgFunc() AggregateFuncs[int64, avgAcc, string] {
	return AggregateFuncs[int64, avgAcc, string]{
		Create:     func() avgAcc { return avgAcc{} },
		Accumulate: func(v int64, a avgAcc) avgAcc { return avgAcc{a.Sum + v, a.N + 1} },
		Result:     func(a avgAcc) string { return fmt.Sprintf("%.2f", float64(a.Sum)/float64(a.N)) },
	}
}

func TestAggregatingState(t *testing.T) {
	var s *AggregatingState[string, int64, avgAcc, string]
	op := stateOp[string](t, nil, func(ctx *TaskContext) (err error) {
		s, err = NewAggregatingState[string](ctx, "avg", avgFunc())
		return err
	})
	if _, ok := s.Get(at(op, "a")); ok {
		t.Fatal("empty")
	}
	for _, v := range []int64{1, 2, 4} {
		s.Add(at(op, "a"), v)
	}
	if v, ok := s.Get(at(op, "a")); !ok || v != "2.33" {
		t.Fatalf("a: %q", v)
	}
	s.Clear(at(op, "a"))
	if _, ok := s.Get(at(op, "a")); ok {
		t.Fatal("after Clear")
	}
}

// ttlStates are states of every kind with the same TTL.
type ttlStates struct {
	value *ValueState[string, int]
	list  *ListState[string, int]
	m     *MapState[string, int, int]
	red   *ReducingState[string, int]
	agg   *AggregatingState[string, int64, avgAcc, string]
}

func openTTL(t *testing.T, clock Clock, opts ...StateOption) (*KeyedProcess[string, int, int], *ttlStates) {
	s := &ttlStates{}
	op := stateOp[string](t, clock, func(ctx *TaskContext) error {
		s.value = must[*ValueState[string, int]](t)(NewValueState[string, int](ctx, "value", opts...))
		s.list = must[*ListState[string, int]](t)(NewListState[string, int](ctx, "list", opts...))
		s.m = must[*MapState[string, int, int]](t)(NewMapState[string, int, int](ctx, "map", opts...))
		s.red = must[*ReducingState[string, int]](t)(NewReducingState[string](ctx, "red", func(a, b int) int { return a + b }, opts...))
		s.agg = must[*AggregatingState[string, int64, avgAcc, string]](t)(NewAggregatingState[string](ctx, "agg", avgFunc(), opts...))
		return nil
	})
	return op, s
}

func TestStateTTLOnCreateAndWrite(t *testing.T) {
	clock := &virtualMillis{now: 1000}
	op, s := openTTL(t, clock, WithTTL(10*time.Millisecond, OnCreateAndWrite, NeverReturnExpired))
	a := at(op, "a")
	s.value.Set(a, 1)
	s.list.Add(a, 1)
	s.m.Put(a, 1, 1)
	s.red.Add(a, 1)
	s.agg.Add(a, 1)
	clock.now = 1005
	s.list.Add(a, 2)
	s.m.Put(a, 2, 2)
	s.red.Add(a, 2) // a write: renews the sum
	s.agg.Add(a, 3)
	clock.now = 1009 // reads do not renew
	if v, ok := s.value.Get(a); !ok || v != 1 {
		t.Fatalf("value before expiry: %d %v", v, ok)
	}
	if got := s.list.Get(a); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("list before expiry: %v", got)
	}
	if s.m.Len(a) != 2 {
		t.Fatal("map before expiry")
	}
	clock.now = 1010 // 10ms after the first writes
	if _, ok := s.value.Get(a); ok {
		t.Fatal("value visible at its expiry")
	}
	if got := s.list.Get(a); !slices.Equal(got, []int{2}) {
		t.Fatalf("list elements expire one by one: %v", got)
	}
	if _, ok := s.m.Get(a, 1); ok || !s.m.Contains(a, 2) || s.m.Len(a) != 1 {
		t.Fatal("map entries expire one by one")
	}
	if v, ok := s.red.Get(a); !ok || v != 3 {
		t.Fatalf("reduced value renewed by its write: %d %v", v, ok)
	}
	if v, ok := s.agg.Get(a); !ok || v != "2.00" {
		t.Fatalf("accumulator renewed by its write: %q %v", v, ok)
	}
	clock.now = 1015
	if got := s.list.Get(a); got != nil {
		t.Fatalf("list after expiry: %v", got)
	}
	var n int
	if err := s.m.Range(a, func(int, int) bool { n++; return true }); err != nil || n != 0 {
		t.Fatalf("map after expiry: %d entries (%v)", n, err)
	}
	if _, ok := s.red.Get(a); ok {
		t.Fatal("reduced value after expiry")
	}
	s.red.Add(a, 10) // starts afresh
	s.agg.Add(a, 10)
	if v, _ := s.red.Get(a); v != 10 {
		t.Fatalf("reduce after expiry starts afresh: %d", v)
	}
	if v, _ := s.agg.Get(a); v != "10.00" {
		t.Fatalf("aggregate after expiry starts afresh: %s", v)
	}
	// Expired entries were removed when found.
	if len(s.value.m.m) != 0 || len(s.list.m.m) != 0 || len(s.m.m.m) != 0 {
		t.Fatalf("expired entries held: %d values, %d lists, %d maps", len(s.value.m.m), len(s.list.m.m), len(s.m.m.m))
	}
}

func TestStateTTLOnReadAndWrite(t *testing.T) {
	clock := &virtualMillis{}
	op, s := openTTL(t, clock, WithTTL(10*time.Millisecond, OnReadAndWrite, NeverReturnExpired))
	a := at(op, "a")
	s.value.Set(a, 1)
	s.list.AddAll(a, []int{1, 2})
	s.m.Put(a, 1, 1)
	s.m.Put(a, 2, 2)
	s.red.Add(a, 1)
	s.agg.Add(a, 1)
	for _, now := range []int64{9, 18, 27} { // each read renews
		clock.now = now
		if _, ok := s.value.Get(a); !ok {
			t.Fatalf("value at %d", now)
		}
		if len(s.list.Get(a)) != 2 {
			t.Fatalf("list at %d", now)
		}
		if !s.m.Contains(a, 1) {
			t.Fatalf("map entry 1 at %d", now)
		}
		if err := s.m.Range(a, func(int, int) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.red.Get(a); !ok {
			t.Fatalf("reduced at %d", now)
		}
		if _, ok := s.agg.Get(a); !ok {
			t.Fatalf("accumulator at %d", now)
		}
	}
	clock.now = 36
	if !s.m.Contains(a, 1) { // renewed at 27 by Range
		t.Fatal("map entry renewed by Range expired")
	}
	clock.now = 37
	if _, ok := s.value.Get(a); ok {
		t.Fatal("value 10ms after its last read")
	}
	if _, ok := s.m.Get(a, 2); ok {
		t.Fatal("map entry 10ms after its last read")
	}
	if !s.m.Contains(a, 1) {
		t.Fatal("map entry read at 36 expired")
	}
}

func TestStateTTLCleanup(t *testing.T) {
	clock := &virtualMillis{}
	op, s := openTTL(t, clock, WithTTL(10*time.Millisecond, OnCreateAndWrite, NeverReturnExpired))
	const keys = 200
	for i := range keys {
		k := at(op, fmt.Sprint("k", i))
		s.value.Set(k, i)
		s.list.Add(k, i)
		s.m.Put(k, i, i)
	}
	// Writes to one key clean up the expired entries of others.
	clock.now = 100
	w := at(op, "writer")
	for i := range keys {
		s.value.Set(w, i)
		s.list.Add(w, i)
		s.m.Put(w, i, i)
	}
	for name, n := range map[string]int{"value": len(s.value.m.m), "list": len(s.list.m.m), "map": len(s.m.m.m)} {
		if n > keys/2 {
			t.Errorf("%s state holds %d keys after %d writes; expired keys are not cleaned up", name, n, keys)
		}
	}
	// A snapshot drops what expired and writes nothing of it.
	clock.now = 200
	st := NewMemState()
	if err := op.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	if st.Len() != 0 || len(s.value.m.m) != 0 || len(s.list.m.m) != 0 || len(s.m.m.m) != 0 || len(s.red.m.m) != 0 {
		t.Fatalf("snapshot of expired state: %d entries written, %d values held", st.Len(), len(s.value.m.m))
	}
}

func TestStateTTLSurvivesRestore(t *testing.T) {
	clock := &virtualMillis{}
	ttl := WithTTL(10*time.Millisecond, OnCreateAndWrite, NeverReturnExpired)
	op, s := openTTL(t, clock, ttl)
	s.value.Set(at(op, "a"), 1)
	clock.now = 5
	s.value.Set(at(op, "b"), 2)
	st := NewMemState()
	if err := op.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	clock.now = 12 // a expired while the job was down, b did not
	op2, s2 := openTTL(t, clock, ttl)
	if err := op2.RestoreState(st.Reader(allKeyGroups)); err != nil {
		t.Fatal(err)
	}
	if len(s2.value.m.m) != 1 {
		t.Fatalf("restore kept %d values, want the one not expired", len(s2.value.m.m))
	}
	if v, ok := s2.value.Get(at(op2, "b")); !ok || v != 2 {
		t.Fatalf("b after restore: %d %v", v, ok)
	}
	clock.now = 15 // b keeps its stamp of 5
	if _, ok := s2.value.Get(at(op2, "b")); ok {
		t.Fatal("restore renewed the TTL")
	}
}

func TestStateRegistrationErrors(t *testing.T) {
	var got []error
	stateOp[string](t, nil, func(ctx *TaskContext) error {
		_, err := NewValueState[string, int](ctx, "x")
		if err != nil {
			return err
		}
		_, e1 := NewListState[string, int](ctx, "x")
		_, e2 := NewValueState[string, int](ctx, "x")
		_, e3 := NewValueState[int, int](ctx, "y")
		_, e4 := NewValueState[string, int](ctx, "")
		_, e5 := NewValueState[string, int](ctx, "z", WithTTL(time.Microsecond, OnCreateAndWrite, NeverReturnExpired))
		_, e6 := NewValueState[string, int](ctx, "z", WithStateCodec(codec.String()))
		_, e7 := NewReducingState[string, int](ctx, "z", nil)
		_, e8 := NewValueState[string, int](ctx, "z", WithTTL(time.Second, TTLUpdate(7), NeverReturnExpired))
		got = []error{e1, e2, e3, e4, e5, e6, e7, e8}
		return nil
	})
	for i, want := range []string{
		`keyed state mismatch: ListState[string, int] "x" is already registered as ValueState[string, int]; a name is registered once per operator`,
		`keyed state mismatch: ValueState[string, int] "x" is already registered as ValueState[string, int]; a name is registered once per operator`,
		`keyed state mismatch: ValueState[int, int] "y" has key type int, but operator "state" is keyed by string`,
		`keyed state: empty name`,
		`ValueState[string, int] "z": TTL 1µs is less than a millisecond`,
		`ValueState[string, int] "z": WithStateCodec for string: the state holds no string`,
		`ReducingState[string, int] "z": nil reduce function`,
		`ValueState[string, int] "z": unknown TTL update type TTLUpdate(7)`,
	} {
		if got[i] == nil || got[i].Error() != want {
			t.Errorf("error %d: %v, want %s", i+1, got[i], want)
		}
	}
	for _, i := range []int{0, 1, 2} {
		if !errors.Is(got[i], ErrStateMismatch) {
			t.Errorf("error %d does not wrap ErrStateMismatch", i+1)
		}
	}

	// Outside the Open of a keyed function, there is no registry.
	var late *TaskContext
	op := stateOp[string](t, nil, func(ctx *TaskContext) error { late = ctx; return nil })
	if _, err := NewValueState[string, int](late, "late"); err == nil ||
		!strings.Contains(err.Error(), "keyed state is created in the Open of a function that KeyedProcess or KeyedCoProcess runs") {
		t.Fatalf("state created after Open: %v", err)
	}
	if _, err := NewValueState[string, int](op.core.kc.Task(), "late"); err == nil {
		t.Fatal("state created through the keyed context after Open")
	}
	var inProcess error
	p := &Process[int, int]{Fn: &processOpen{open: func(ctx *TaskContext) error {
		_, inProcess = NewValueState[string, int](ctx, "x")
		return nil
	}}, Out: lineOut[int]{new([]string)}}
	if err := p.Open(opTask("p", nil)); err != nil {
		t.Fatal(err)
	}
	if inProcess == nil {
		t.Fatal("a non-keyed function created keyed state")
	}
	if _, err := NewValueState[string, int](nil, "x"); err == nil {
		t.Fatal("nil task context")
	}
	// An error from the function's Open fails the operator's Open.
	failing := &KeyedProcess[string, int, int]{Key: Key[string, int]{Selector: func(int) string { return "" }},
		Fn: &openFunc[string]{open: func(ctx *TaskContext) error {
			_, err := NewValueState[int, int](ctx, "wrong key")
			return err
		}}, Out: lineOut[int]{new([]string)}}
	err := failing.Open(opTask("failing", nil))
	var oe *OperatorError
	if !errors.As(err, &oe) || !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("open with a wrong state: %v", err)
	}
}

// processOpen is a non-keyed process function with an Open.
type processOpen struct{ open func(*TaskContext) error }

func (p *processOpen) Open(ctx *TaskContext) error { return p.open(ctx) }

func (p *processOpen) ProcessElement(*ProcessContext, int, Collector[int]) error { return nil }

// TestStateOpenConcurrently opens keyed operators on many goroutines, as
// the subtasks of a job do: each finds its own registry.
func TestStateOpenConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			var s *ValueState[int, int]
			op := &KeyedProcess[int, int, int]{Key: Key[int, int]{Selector: func(v int) int { return v }},
				Fn: &openFunc[int]{open: func(ctx *TaskContext) (err error) {
					for j := range 50 {
						if _, err := NewListState[int, int](ctx, fmt.Sprint("l", j)); err != nil {
							return err
						}
					}
					s, err = NewValueState[int, int](ctx, "v")
					return err
				}}, Out: lineOut[int]{new([]string)}}
			if err := op.Open(opTask(fmt.Sprint("op", i), nil)); err != nil {
				errs <- err
				return
			}
			s.Set(at(op, i), i)
			if len(op.core.states.states) != 51 {
				errs <- fmt.Errorf("operator %d has %d states", i, len(op.core.states.states))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	openRegistries.Lock()
	defer openRegistries.Unlock()
	if len(openRegistries.m) != 0 {
		t.Fatalf("%d registries left bound after Open", len(openRegistries.m))
	}
}
