package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

// fuzzRecord exercises every compiled opcode except protobuf (whose decoder
// accepts non-canonical input, so re-encoding need not reproduce it).
type fuzzRecord struct {
	ID    int64
	U16   uint16
	I8    int8
	F32   float32
	F64   float64
	C     complex64
	OK    bool
	Name  string
	Raw   []byte
	Tags  []string
	Attrs map[string]int32
	Float map[float64]uint8
	When  time.Time
	Hash  [4]byte
	Pair  [2]int16
	Kids  []fuzzLeaf
	Next  *fuzzRecord
	Set   map[fuzzLeaf]struct{}
	_     int
}

type fuzzLeaf struct {
	A uint8
	B string
}

// fuzzBatch asserts that decoding arbitrary bytes never panics, that failures
// wrap ErrCorrupt, and that whatever decodes re-encodes to the same bytes:
// every value has exactly one encoding.
func fuzzBatch[T any](t *testing.T, c Codec[T], data []byte) {
	vs, err := DecodeBatch(c, data, nil)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error does not wrap ErrCorrupt: %v", err)
		}
		if vs != nil {
			t.Fatalf("failed decode returned %d values", len(vs))
		}
	} else if again := AppendBatch(c, nil, vs); !bytes.Equal(again, data) {
		t.Fatalf("decoded batch re-encodes differently:\n in % x\nout % x", data, again)
	}
	// A single value from the front must not panic either.
	if _, n, err := c.Decode(data); err == nil && (n < 0 || n > len(data)) {
		t.Fatalf("Decode consumed %d of %d bytes", n, len(data))
	}
}

func FuzzDecodeInt64Batch(f *testing.F) {
	f.Add(AppendBatch(Int64(), nil, []int64{1, -2, 300}))
	f.Add(AppendBatch(Int64(), nil, []int64{math.MinInt64, math.MaxInt64, 0}))
	f.Add(AppendBatch(Int64(), nil, nil))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{2, 0x80, 0x00, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzBatch(t, Int64(), data)
	})
}

func FuzzDecodeStringBatch(f *testing.F) {
	f.Add(AppendBatch(String(), nil, []string{"", "a", "hello, 世界"}))
	f.Add(AppendBatch(String(), nil, nil))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{3, 1, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzBatch(t, String(), data)
	})
}

func FuzzDecodeStructBatch(f *testing.F) {
	c, err := For[fuzzRecord]()
	if err != nil {
		f.Fatal(err)
	}
	full := fuzzRecord{
		ID: -1, U16: 65535, I8: -128, F32: float32(math.NaN()), F64: math.Inf(1), C: complex(1, 2),
		OK: true, Name: "n", Raw: []byte{1}, Tags: []string{"x", ""},
		Attrs: map[string]int32{"a": 1, "b": -1},
		Float: map[float64]uint8{math.NaN(): 1, math.NaN() + 1: 2, 0: 3},
		When:  time.Date(2025, 5, 6, 7, 8, 9, 10, time.FixedZone("", -3600)),
		Hash:  [4]byte{1, 2, 3, 4}, Pair: [2]int16{-1, 1},
		Kids: []fuzzLeaf{{1, "k"}, {}},
		Next: &fuzzRecord{ID: 2, Next: &fuzzRecord{ID: 3}},
		Set:  map[fuzzLeaf]struct{}{{A: 1}: {}, {B: "z"}: {}},
	}
	f.Add(AppendBatch(c, nil, []fuzzRecord{full, {}}))
	f.Add(AppendBatch(c, nil, []fuzzRecord{{}}))
	f.Add(AppendBatch(c, nil, nil))
	f.Add([]byte{1, 1})
	f.Add([]byte{0xff, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzBatch(t, c, data)
	})
}
