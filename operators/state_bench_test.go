package operators

import (
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

// The heap backend's accesses against a plain map, the floor of what a
// function keeping state in its fields pays: one read and one write per
// record of 10000 keys.

const benchKeys = 10000

func BenchmarkStateBaselineMap(b *testing.B) {
	m := make(map[int64]int64)
	for i := range b.N {
		k := int64(i % benchKeys)
		n := m[k]
		m[k] = n + 1
	}
}

func benchValueState(b *testing.B, opts ...StateOption) {
	var s *ValueState[int64, int64]
	op := &KeyedProcess[int64, int, int]{Key: Key[int64, int]{Selector: func(int) int64 { return 0 }},
		Fn: &openFunc[int64]{open: func(ctx *TaskContext) (err error) {
			s, err = NewValueState[int64, int64](ctx, "count", opts...)
			return err
		}}, Out: lineOut[int]{new([]string)}}
	if err := op.Open(opTask("bench", &virtualMillis{})); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx := op.core.element(int64(i%benchKeys), 0)
		n, _ := s.Get(ctx)
		s.Set(ctx, n+1)
	}
}

func BenchmarkValueState(b *testing.B) { benchValueState(b) }

func BenchmarkValueStateTTL(b *testing.B) {
	benchValueState(b, WithTTL(time.Hour, OnReadAndWrite, NeverReturnExpired))
}

func BenchmarkMapStatePutGet(b *testing.B) {
	var s *MapState[int64, int64, int64]
	op := &KeyedProcess[int64, int, int]{Key: Key[int64, int]{Selector: func(int) int64 { return 0 }},
		Fn: &openFunc[int64]{open: func(ctx *TaskContext) (err error) {
			s, err = NewMapState[int64, int64, int64](ctx, "m")
			return err
		}}, Out: lineOut[int]{new([]string)}}
	if err := op.Open(opTask("bench", &virtualMillis{})); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx := op.core.element(int64(i%benchKeys), 0)
		uk := int64(i % 7)
		n, _ := s.Get(ctx, uk)
		s.Put(ctx, uk, n+1)
	}
}

func BenchmarkSnapshotValueState(b *testing.B) {
	var s *ValueState[int64, int64]
	op := &KeyedProcess[int64, int, int]{Key: Key[int64, int]{Selector: func(int) int64 { return 0 }},
		Fn: &openFunc[int64]{open: func(ctx *TaskContext) (err error) {
			s, err = NewValueState[int64, int64](ctx, "count")
			return err
		}}, Out: lineOut[int]{new([]string)}}
	if err := op.Open(opTask("bench", &virtualMillis{})); err != nil {
		b.Fatal(err)
	}
	for i := range benchKeys {
		s.Set(op.core.element(int64(i), 0), int64(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := op.SnapshotState(1, discardWriter{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchKeys), "ns/entry")
}

// discardWriter is a StateWriter that keeps nothing.
type discardWriter struct{}

func (discardWriter) Keyed(int, []byte, []byte) {}

func (discardWriter) Operator(string, snapshot.RedistributionMode, []byte) {}
