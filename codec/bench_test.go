package codec

import (
	"strconv"
	"testing"
)

// benchEvent is a typical small record: a key, a timestamp and a measurement.
type benchEvent struct {
	ID    int64
	Key   string
	TS    int64
	Value float64
}

const benchN = 1024

func benchData() ([]int64, []string, []benchEvent) {
	ints := make([]int64, benchN)
	strs := make([]string, benchN)
	evs := make([]benchEvent, benchN)
	for i := range benchN {
		ints[i] = int64(i) * 1_000_003
		strs[i] = "key-" + strconv.Itoa(i*7919)
		evs[i] = benchEvent{ID: int64(i), Key: strs[i], TS: 1_700_000_000_000 + int64(i), Value: float64(i) / 3}
	}
	return ints, strs, evs
}

func BenchmarkAppendBatch(b *testing.B) {
	ints, strs, evs := benchData()
	ec, err := For[benchEvent]()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("int64", func(b *testing.B) { benchAppend(b, Int64(), ints) })
	b.Run("string", func(b *testing.B) { benchAppend(b, String(), strs) })
	b.Run("struct", func(b *testing.B) { benchAppend(b, ec, evs) })
}

func benchAppend[T any](b *testing.B, c Codec[T], vs []T) {
	buf := AppendBatch(c, nil, vs)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBatch(c, buf[:0], vs)
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	ints, strs, evs := benchData()
	ec, err := For[benchEvent]()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("int64", func(b *testing.B) { benchDecode(b, Int64(), ints) })
	b.Run("string", func(b *testing.B) { benchDecode(b, String(), strs) })
	b.Run("struct", func(b *testing.B) { benchDecode(b, ec, evs) })
}

func benchDecode[T any](b *testing.B, c Codec[T], vs []T) {
	buf := AppendBatch(c, nil, vs)
	out := make([]T, 0, len(vs))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		out, err = DecodeBatch(c, buf, out[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}
