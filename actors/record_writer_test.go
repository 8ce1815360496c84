package actors

import (
	"reflect"
	"testing"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// sentBatch is what a recording sender got.
type sentBatch struct {
	dst    int
	values []int64
}

type recordingSender struct {
	got        []sentBatch
	watermarks []int64
}

func (r *recordingSender) SendWatermark(wm int64) { r.watermarks = append(r.watermarks, wm) }

func (r *recordingSender) SendBatch(dst int, b any) {
	batch := b.(*operators.Batch[int64])
	r.got = append(r.got, sentBatch{dst: dst, values: append([]int64(nil), batch.Values...)})
}

func newTestWriter(p Partitioning, consumers, batchSize, subtask int) (*recordWriter[int64], *recordingSender) {
	st := NewStreamType[int64](nil).(*streamType[int64])
	h, _ := snapshot.HasherFor[int64]()
	e := &Edge{Partitioning: p, Target: &Vertex{Parallelism: consumers}, KeyHash: h}
	s := &recordingSender{}
	w := st.NewWriter(e, WriterConfig{BatchSize: batchSize, Subtask: subtask, MaxParallelism: 128}, s).(*recordWriter[int64])
	return w, s
}

func batchOf(vs ...int64) *operators.Batch[int64] {
	b := operators.NewBatch[int64](len(vs))
	for _, v := range vs {
		b.Append(v, v*10)
	}
	return b
}

func TestRecordWriterPartitioning(t *testing.T) {
	h, _ := snapshot.HasherFor[int64]()
	hashDst := func(v int64) int { return snapshot.SubtaskFor(snapshot.KeyGroupFor(h(v), 128), 128, 3) }
	cases := []struct {
		name    string
		p       Partitioning
		subtask int
		in      []int64
		want    map[int][]int64
	}{
		{"forward keeps subtask", Forward, 2, []int64{1, 2, 3}, map[int][]int64{2: {1, 2, 3}}},
		{"rebalance deals round robin from the subtask's offset", Rebalance, 1, []int64{1, 2, 3, 4}, map[int][]int64{1: {1, 4}, 2: {2}, 0: {3}}},
		{"broadcast copies to all", Broadcast, 0, []int64{7, 8}, map[int][]int64{0: {7, 8}, 1: {7, 8}, 2: {7, 8}}},
	}
	hashWant := map[int][]int64{}
	for v := int64(0); v < 50; v++ {
		hashWant[hashDst(v)] = append(hashWant[hashDst(v)], v)
	}
	var all []int64
	for v := int64(0); v < 50; v++ {
		all = append(all, v)
	}
	cases = append(cases, struct {
		name    string
		p       Partitioning
		subtask int
		in      []int64
		want    map[int][]int64
	}{"hash routes by key group", Hash, 0, all, hashWant})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, s := newTestWriter(c.p, 3, 1000, c.subtask)
			if err := w.ProcessBatch(batchOf(c.in...)); err != nil {
				t.Fatal(err)
			}
			if len(s.got) != 0 {
				t.Fatalf("sent %d batches before the size threshold", len(s.got))
			}
			if !w.Buffered() {
				t.Fatal("writer reports nothing buffered")
			}
			w.Flush()
			if w.Buffered() {
				t.Fatal("writer buffered after flush")
			}
			got := map[int][]int64{}
			for _, b := range s.got {
				got[b.dst] = append(got[b.dst], b.values...)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestRecordWriterBatchSizeThreshold(t *testing.T) {
	w, s := newTestWriter(Forward, 1, 4, 0)
	if err := w.ProcessBatch(batchOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)); err != nil {
		t.Fatal(err)
	}
	want := []sentBatch{{0, []int64{1, 2, 3, 4}}, {0, []int64{5, 6, 7, 8}}}
	if !reflect.DeepEqual(s.got, want) {
		t.Fatalf("full batches: got %v, want %v", s.got, want)
	}
	w.Flush()
	if got := s.got[len(s.got)-1]; !reflect.DeepEqual(got, sentBatch{0, []int64{9, 10}}) {
		t.Fatalf("flush sent %v", got)
	}
	w.Flush()
	if len(s.got) != 3 {
		t.Fatalf("an empty flush sent a batch: %v", s.got)
	}
}

func TestRecordWriterKeepsTimestamps(t *testing.T) {
	st := NewStreamType[int64](nil).(*streamType[int64])
	var got *operators.Batch[int64]
	w := st.NewWriter(&Edge{Partitioning: Rebalance, Target: &Vertex{Parallelism: 1}}, WriterConfig{BatchSize: 2}, senderFunc(func(_ int, b any) {
		got = b.(*operators.Batch[int64])
	}))
	w.Input().(operators.Input[int64]).ProcessBatch(batchOf(3, 4))
	if got == nil || !reflect.DeepEqual(got.Times, []int64{30, 40}) {
		t.Fatalf("timestamps not carried: %+v", got)
	}
}

type senderFunc func(int, any)

func (f senderFunc) SendBatch(dst int, b any) { f(dst, b) }
func (f senderFunc) SendWatermark(int64)      {}

func TestRecordWriterFlushesBeforeWatermark(t *testing.T) {
	w, s := newTestWriter(Rebalance, 2, 100, 0)
	w.ProcessBatch(batchOf(1, 2, 3))
	w.ProcessWatermark(77)
	if len(s.got) != 2 || !reflect.DeepEqual(s.watermarks, []int64{77}) {
		t.Fatalf("batches %v, watermarks %v: buffered records must go out before the watermark", s.got, s.watermarks)
	}
}
