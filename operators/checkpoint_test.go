package operators

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/snapshot"
)

// kv is the record of the Reduce and keyed process tests.
type kv struct {
	K string
	V int64
}

func kvKey(r kv) string { return r.K }

// randomKVSteps returns records of up to keys keys on gates [0, gates),
// out of order by up to disorder, with watermarks and clock moves in
// between, ending with the final watermark and the end of input.
func randomKVSteps(r *rand.Rand, n, keys, gates int, disorder int64) []ckStep[kv] {
	var steps []ckStep[kv]
	var ts, maxTs, now int64
	wm := NoTimestamp
	for i := range n {
		switch r.IntN(6) {
		case 0:
			if w := maxTs - r.Int64N(disorder+1); w > wm {
				wm = w
				steps = append(steps, ckStep[kv]{kind: stepWatermark, t: w})
				continue
			}
		case 1:
			now += r.Int64N(15)
			steps = append(steps, ckStep[kv]{kind: stepClock, t: now})
			continue
		}
		s := ckStep[kv]{kind: stepRecords, gate: r.IntN(gates)}
		for range 1 + r.IntN(4) {
			ts += r.Int64N(5)
			t := ts - r.Int64N(disorder+1)
			maxTs = max(maxTs, t)
			s.vals = append(s.vals, kv{K: fmt.Sprint("k", r.IntN(keys)), V: int64(i*10 + r.IntN(10))})
			s.times = append(s.times, t)
		}
		steps = append(steps, s)
	}
	return append(steps,
		ckStep[kv]{kind: stepClock, t: now + 1000},
		ckStep[kv]{kind: stepWatermark, t: MaxWatermark},
		ckStep[kv]{kind: stepEnd})
}

func reduceCase() ckCase[kv] {
	return ckCase[kv]{
		name: "reduce",
		make: func(out *[]string) ckInstance[kv] {
			op := &Reduce[string, kv]{
				Key: Key[string, kv]{Selector: kvKey},
				Fn:  func(acc, v kv) (kv, error) { acc.V += v.V; return acc, nil },
				Out: lineOut[kv]{out},
			}
			return ckInstance[kv]{op: op, inputs: []Input[kv]{op}}
		},
		keyGroup: keyGroupOf(kvKey),
	}
}

// timerFn is a stateless keyed function whose timers are all its state:
// records register and delete timers, and timers register more.
type timerFn struct{}

func (timerFn) element(ctx *KeyedContext[string], v kv, out Collector[string]) {
	out.Collect(fmt.Sprintf("el %s %d ts=%s", ctx.Key(), v.V, fmtWM(ctx.Timestamp())))
	ts := ctx.TimerService()
	switch v.V % 6 {
	case 0, 1:
		ts.RegisterEventTimeTimer(ctx.Timestamp() + v.V%13)
	case 2:
		ts.RegisterProcessingTimeTimer(ts.CurrentProcessingTime() + v.V%11)
	case 3:
		ts.DeleteEventTimeTimer(ctx.Timestamp() + (v.V/6)%13)
		ts.DeleteProcessingTimeTimer(ts.CurrentProcessingTime() + (v.V/6)%11)
	case 4:
		ts.RegisterEventTimeTimer(ctx.Timestamp() - 3) // maybe behind the watermark
		ts.RegisterProcessingTimeTimer(ts.CurrentProcessingTime() + 5)
		ts.RegisterEventTimeTimer(ctx.Timestamp() - 3)
	case 5:
		ts.RegisterEventTimeTimer(ctx.Timestamp() / 10 * 10) // ties across keys
	}
}

func (timerFn) OnTimer(ctx *OnTimerContext[string], ts int64, out Collector[string]) error {
	out.Collect(fmt.Sprintf("fire %v %s %d", ctx.TimeDomain(), ctx.Key(), ts))
	switch {
	case ctx.TimeDomain() == EventTime && ts%4 == 0:
		ctx.TimerService().RegisterEventTimeTimer(ts + 3)
	case ctx.TimeDomain() == ProcessingTime && ts%3 == 0:
		ctx.TimerService().RegisterProcessingTimeTimer(ts + 2)
	}
	return nil
}

func (f timerFn) ProcessElement(ctx *KeyedContext[string], v kv, out Collector[string]) error {
	f.element(ctx, v, out)
	return nil
}

// coTimerFn is timerFn over two inputs; the second emits differently.
type coTimerFn struct{ timerFn }

func (f coTimerFn) ProcessElement1(ctx *KeyedContext[string], v kv, out Collector[string]) error {
	f.element(ctx, v, out)
	return nil
}

func (f coTimerFn) ProcessElement2(ctx *KeyedContext[string], v kv, out Collector[string]) error {
	out.Collect("second")
	v.V++
	f.element(ctx, v, out)
	return nil
}

func keyedProcessCase() ckCase[kv] {
	return ckCase[kv]{
		name: "keyed-process",
		make: func(out *[]string) ckInstance[kv] {
			op := &KeyedProcess[string, kv, string]{Key: Key[string, kv]{Selector: kvKey}, Fn: timerFn{}, Out: lineOut[string]{out}}
			return ckInstance[kv]{op: op, inputs: []Input[kv]{op}}
		},
		keyGroup: keyGroupOf(kvKey),
	}
}

func keyedCoProcessCase() ckCase[kv] {
	return ckCase[kv]{
		name: "keyed-co-process",
		make: func(out *[]string) ckInstance[kv] {
			op := &KeyedCoProcess[string, kv, kv, string]{
				Key1: Key[string, kv]{Selector: kvKey}, Key2: Key[string, kv]{Selector: kvKey},
				Fn: coTimerFn{}, Out: lineOut[string]{out},
			}
			return ckInstance[kv]{op: op, inputs: []Input[kv]{op.Input1(), op.Input2()}}
		},
		keyGroup: keyGroupOf(kvKey),
	}
}

func TestReduceRestores(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	batch := reduceCase()
	batch.name, batch.batchMode = "batch-reduce", true
	for range 60 {
		checkRestores(t, r, reduceCase(), randomKVSteps(r, 5+r.IntN(40), 1+r.IntN(8), 1, 10))
		checkRestores(t, r, batch, randomKVSteps(r, 5+r.IntN(40), 1+r.IntN(8), 1, 10))
	}
}

func TestKeyedProcessRestoresTimers(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for range 60 {
		checkRestores(t, r, keyedProcessCase(), randomKVSteps(r, 5+r.IntN(50), 1+r.IntN(8), 1, 20))
	}
}

func TestKeyedCoProcessRestoresTimers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 60 {
		checkRestores(t, r, keyedCoProcessCase(), randomKVSteps(r, 5+r.IntN(50), 1+r.IntN(8), 2, 20))
	}
}

func TestKeyedOperatorsRescale(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct {
		c     ckCase[kv]
		gates int
	}{{reduceCase(), 1}, {keyedProcessCase(), 1}, {keyedCoProcessCase(), 2}} {
		for range 20 {
			steps := randomKVSteps(r, 10+r.IntN(50), 4+r.IntN(12), c.gates, 20)
			cut := r.IntN(len(steps) + 1)
			checkRescale(t, c.c, steps, cut, 1)
			checkRescale(t, c.c, steps, cut, 3)
		}
	}
}

func TestKeyedOperatorsRejectCorruptState(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	steps := randomKVSteps(r, 30, 6, 2, 20)
	steps = steps[:len(steps)-3] // keep the timers pending
	checkCorruptionFails(t, reduceCase(), kvOnGate0(steps))
	checkCorruptionFails(t, keyedProcessCase(), kvOnGate0(steps))
	checkCorruptionFails(t, keyedCoProcessCase(), steps)
}

// kvOnGate0 moves all records to the first input.
func kvOnGate0(steps []ckStep[kv]) []ckStep[kv] {
	out := make([]ckStep[kv], len(steps))
	for i, s := range steps {
		s.gate = 0
		out[i] = s
	}
	return out
}

// TestKeyedStateLayout pins the entry layout of Reduce and of keyed
// timers.
func TestKeyedStateLayout(t *testing.T) {
	ctx := &TaskContext{Operator: "sum", Parallelism: 1, MaxParallelism: testMaxParallelism, Clock: &virtualMillis{}}
	red := &Reduce[string, kv]{Key: Key[string, kv]{Selector: kvKey}, Fn: func(a, _ kv) (kv, error) { return a, nil }, Out: lineOut[kv]{new([]string)}}
	if err := red.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := red.ProcessBatch(&Batch[kv]{Values: []kv{{"a", 5}}, Times: []int64{-2}}); err != nil {
		t.Fatal(err)
	}
	st := NewMemState()
	if err := red.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	h, _ := KeyHasher[string]()
	kg := snapshot.KeyGroupFor(h("a"), testMaxParallelism)
	want := []MemEntry{{Key: []byte("v\x01a"), Value: []byte("\x01a\x0a\x03")}}
	if got := st.Entries(kg); fmt.Sprint(got) != fmt.Sprint(want) || st.Len() != 1 {
		t.Fatalf("reduce state %q, want %q in key group %d", got, want, kg)
	}

	kp := &KeyedProcess[string, kv, string]{Key: Key[string, kv]{Selector: kvKey}, Fn: KeyedProcessFunc[string, kv, string](
		func(ctx *KeyedContext[string], v kv, _ Collector[string]) error {
			ctx.TimerService().RegisterEventTimeTimer(v.V)
			ctx.TimerService().RegisterProcessingTimeTimer(-v.V)
			return nil
		}), Out: lineOut[string]{new([]string)}}
	if err := kp.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := kp.ProcessBatch(&Batch[kv]{Values: []kv{{"a", 1}, {"a", 2}}, Times: []int64{0, 0}}); err != nil {
		t.Fatal(err)
	}
	st = NewMemState()
	if err := kp.SnapshotState(1, st); err != nil {
		t.Fatal(err)
	}
	time := func(t uint64) string {
		return string([]byte{byte(t >> 56), byte(t >> 48), byte(t >> 40), byte(t >> 32), byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)})
	}
	want = []MemEntry{
		{Key: []byte("e\x01a" + time(1<<63+1)), Value: []byte{0}},
		{Key: []byte("e\x01a" + time(1<<63+2)), Value: []byte{1}},
		{Key: []byte("p\x01a" + time(1<<63-1)), Value: []byte{0}},
		{Key: []byte("p\x01a" + time(1<<63-2)), Value: []byte{1}},
	}
	if got := st.Entries(kg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("timer state %q, want %q", got, want)
	}
}

// noCodec is a state type without a codec.
type noCodec struct {
	K  string
	Fn func()
}

func TestStateWithoutCodecFailsOnlyCheckpoints(t *testing.T) {
	ctx := &TaskContext{Operator: "count", Parallelism: 1, MaxParallelism: testMaxParallelism}
	red := &Reduce[string, noCodec]{
		Key: Key[string, noCodec]{Selector: func(v noCodec) string { return v.K }},
		Fn:  func(a, _ noCodec) (noCodec, error) { return a, nil },
		Out: lineOut[noCodec]{new([]string)}, ValueCodec: CodecFor[noCodec](),
	}
	if err := red.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := red.ProcessBatch(&Batch[noCodec]{Values: []noCodec{{K: "a"}}, Times: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	err := red.SnapshotState(1, NewMemState())
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "count" ||
		!strings.Contains(err.Error(), "state type operators.noCodec cannot be checkpointed") ||
		!strings.Contains(err.Error(), "functions cannot be encoded") {
		t.Fatalf("snapshot: %v", err)
	}
	// Without state to read, a restore needs no codec.
	fresh := &Reduce[string, noCodec]{Key: red.Key, Fn: red.Fn, Out: red.Out, ValueCodec: CodecFor[noCodec]()}
	if err := fresh.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fresh.RestoreState(NewMemState().Reader(snapshot.KeyGroupRange{End: testMaxParallelism})); err != nil {
		t.Fatalf("restore of no state: %v", err)
	}

	// A key type that cannot be encoded fails the snapshot even without
	// timers.
	kp := &KeyedProcess[chanKey, int, int]{
		Key: Key[chanKey, int]{Selector: func(int) chanKey { return chanKey{} }},
		Fn:  KeyedProcessFunc[chanKey, int, int](func(*KeyedContext[chanKey], int, Collector[int]) error { return nil }),
		Out: lineOut[int]{new([]string)}, KeyCodec: CodecFor[chanKey](),
	}
	if err := kp.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := kp.SnapshotState(1, NewMemState()); err == nil || !strings.Contains(err.Error(), "state type operators.chanKey cannot be checkpointed") {
		t.Fatalf("snapshot with a key type without codec: %v", err)
	}

	// A hand-written codec makes a type checkpointable.
	red.ValueCodec = CodecOf[noCodec](noCodecCodec{})
	red.codecs = reduceCodecs[string, noCodec]{}
	st := NewMemState()
	if err := red.SnapshotState(1, st); err != nil || st.Len() != 1 {
		t.Fatalf("snapshot with a hand-written codec: %v, %d entries", err, st.Len())
	}
}

// chanKey is a comparable key type without a codec.
type chanKey struct{ C chan int }

// noCodecCodec encodes noCodec's key only.
type noCodecCodec struct{}

func (noCodecCodec) Append(dst []byte, v noCodec) []byte { return codec.String().Append(dst, v.K) }

func (noCodecCodec) Decode(src []byte) (noCodec, int, error) {
	k, n, err := codec.String().Decode(src)
	return noCodec{K: k}, n, err
}
