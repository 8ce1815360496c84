package codec

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
)

func TestBatchRoundTrip(t *testing.T) {
	t.Run("int64", batchRT(Int64(), []int64{0, 1, -1, math.MinInt64, math.MaxInt64}))
	t.Run("uint32", batchRT(Uint32(), []uint32{0, math.MaxUint32}))
	t.Run("bool", batchRT(Bool(), []bool{true, false, true}))
	t.Run("float64", batchRT(Float64(), []float64{0, 1.5, math.Inf(-1)}))
	t.Run("float32", batchRT(Float32(), []float32{0, 1.5, -3}))
	t.Run("string", batchRT(String(), []string{"", "a", "hello"}))
	t.Run("bytes", batchRT(Bytes(), [][]byte{nil, {1}, {2, 3}}))
	t.Run("empty", batchRT(Int64(), []int64{}))
	t.Run("struct", batchRT(mustFor[point](t), []point{{1, 2, "a"}, {}, {-1, -2, "b"}}))
	t.Run("record", batchRT(mustFor[record](t), []record{sampleRecord(), {}}))
	t.Run("empty-structs", batchRT(mustFor[struct{}](t), make([]struct{}, 5)))
	t.Run("foreign-codec", batchRT[int64](foreignCodec{}, []int64{1, 2, 3}))
}

// batchRT checks that a batch round-trips and that decoding appends to what
// the destination already holds.
func batchRT[T any](c Codec[T], vs []T) func(*testing.T) {
	return func(t *testing.T) {
		enc := AppendBatch(c, nil, vs)
		got, err := DecodeBatch(c, enc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) == 0 {
			if len(got) != 0 {
				t.Fatalf("got %v, want none", got)
			}
		} else if !reflect.DeepEqual(got, vs) {
			t.Fatalf("got %#v, want %#v", got, vs)
		}
		var zero T
		pre := []T{zero}
		got, err = DecodeBatch(c, enc, pre)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(vs)+1 {
			t.Fatalf("appended: len %d, want %d", len(got), len(vs)+1)
		}
		for i := range len(enc) {
			if _, err := DecodeBatch(c, enc[:i], nil); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("prefix of %d bytes: err = %v, want ErrCorrupt", i, err)
			}
		}
	}
}

// foreignCodec is a Codec from outside the package, so batches take the
// generic path.
type foreignCodec struct{}

func (foreignCodec) Append(dst []byte, v int64) []byte { return Int64().Append(dst, v) }

func (foreignCodec) Decode(src []byte) (int64, int, error) { return Int64().Decode(src) }

func TestDecodeBatchErrors(t *testing.T) {
	valid := AppendBatch(Int64(), nil, []int64{1, 2, 3})
	cases := []struct {
		name  string
		input []byte
	}{
		{"empty", nil},
		{"trailing", append(slices.Clone(valid), 0)},
		{"count too large", []byte{4, 2, 4, 6}},
		{"huge count", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"bad value", []byte{2, 2, 0x80}},
		{"non-minimal count", []byte{0x83, 0x00, 2, 4, 6}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pre := []int64{42}
			got, err := DecodeBatch(Int64(), tc.input, pre)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if len(got) != 1 || got[0] != 42 {
				t.Fatalf("on error got %v, want the input slice unchanged", got)
			}
		})
	}
}

func TestDecodeBatchClearsPartialValues(t *testing.T) {
	c := String()
	enc := AppendBatch(c, nil, []string{"a", "b"})
	enc = append(enc[:len(enc)-2], 5) // second string claims 5 bytes
	buf := make([]string, 0, 4)
	if _, err := DecodeBatch(c, enc, buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	if full := buf[:cap(buf)]; full[0] != "" {
		t.Fatalf("partially decoded value left in spare capacity: %q", full[0])
	}
}

// TestDecodeBatchHugeCountDoesNotAllocate checks that a count the input cannot
// hold is rejected before allocating for it: only the error is allocated.
func TestDecodeBatchHugeCountDoesNotAllocate(t *testing.T) {
	input := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3}
	nested := append([]byte{1}, input...)
	pc := mustFor[point](t)
	sc := mustFor[[]point](t)
	bc := mustFor[[]onlyBlank](t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		for _, err := range []error{
			second(DecodeBatch(Int64(), input, nil)),
			second(DecodeBatch(String(), input, nil)),
			second(DecodeBatch(pc, input, nil)),
			second(DecodeBatch(sc, nested, nil)),
			second(DecodeBatch(bc, nested, nil)),
		} {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("rejecting huge counts allocated %d bytes", got)
	}
}

func second[A, B any](_ A, b B) B { return b }

func TestAppendBatchAllocations(t *testing.T) {
	ints := make([]int64, 1024)
	strs := make([]string, 1024)
	pts := make([]point, 1024)
	for i := range ints {
		ints[i] = int64(i * i * 1000)
		strs[i] = strconv.Itoa(i)
		pts[i] = point{X: int32(i), Tag: strs[i]}
	}
	pc := mustFor[point](t)
	buf := make([]byte, 0, 64<<10)
	allocs := testing.AllocsPerRun(10, func() {
		buf = AppendBatch(Int64(), buf[:0], ints)
		buf = AppendBatch(String(), buf[:0], strs)
		buf = AppendBatch(pc, buf[:0], pts)
		buf = Int64().Append(buf[:0], 5)
		buf = pc.Append(buf[:0], pts[3])
	})
	if allocs > 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
	encInts := AppendBatch(Int64(), nil, ints)
	encPts := AppendBatch(pc, nil, pts)
	out := make([]int64, 0, 1024)
	outPts := make([]point, 0, 1024)
	allocs = testing.AllocsPerRun(10, func() {
		out, _ = DecodeBatch(Int64(), encInts, out[:0])
		outPts, _ = DecodeBatch(pc, encPts, outPts[:0])
		_, _, _ = pc.Decode(encPts[2:])
	})
	// Every point's Tag is a fresh string; one more for the single Decode.
	if allocs > 1024+1 {
		t.Fatalf("%v allocations per run decoding, want at most %d", allocs, 1024+1)
	}
}
