package gen

import (
	"testing"

	"github.com/stromhq/strom/operators"
)

func BenchmarkSequencePoll1024(b *testing.B) {
	benchPoll(b, Sequence())
}

func BenchmarkWordsPoll1024(b *testing.B) {
	benchPoll(b, New(Words(1)))
}

func benchPoll[T any](b *testing.B, src *Source[T]) {
	const max = 1024
	if err := src.Open(nil); err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	batch := operators.NewBatch[T](max)
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		if _, err := src.Poll(batch, max); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*max), "ns/record")
}
