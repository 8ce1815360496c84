package gen

import (
	"math"
	"slices"
	"testing"
)

func TestWordsDeterministic(t *testing.T) {
	a, b, other := Words(7), Words(7), Words(8)
	differ := 0
	for i := range int64(10_000) {
		if a(i) != b(i) {
			t.Fatalf("index %d: %q then %q", i, a(i), b(i))
		}
		if a(i) != other(i) {
			differ++
		}
	}
	if differ < 5_000 {
		t.Fatalf("seeds 7 and 8 differ at only %d of 10000 indices", differ)
	}
	// Fixed output: the generator must not change silently between
	// releases, since demos and benchmarks compare results across runs.
	got := []string{a(0), a(1), a(2), a(1 << 40)}
	if want := []string{"kabana", "vimowa", "rebazu", "tolixe"}; !slices.Equal(got, want) {
		t.Fatalf("Words(7) gives %q, want %q", got, want)
	}
}

func TestWordsIndependentOfParallelism(t *testing.T) {
	fn := Words(1)
	for _, p := range []int{1, 3, 8} {
		for i := range p {
			b := drain(t, New(fn, Count(300)), i, p, 17)
			for k, w := range b.Values {
				if idx := int64(i + k*p); w != fn(idx) {
					t.Fatalf("P=%d: index %d is %q, want %q", p, idx, w, fn(idx))
				}
			}
		}
	}
}

func TestWordsVocabularyAndSkew(t *testing.T) {
	words := vocabulary().words
	distinct := map[string]bool{}
	for _, w := range words {
		distinct[w] = true
	}
	if len(distinct) != vocabularySize {
		t.Fatalf("%d distinct words, want %d", len(distinct), vocabularySize)
	}
	const n = 200_000
	counts := map[string]int{}
	fn := Words(3)
	for i := range int64(n) {
		counts[fn(i)]++
	}
	top := counts[words[0]]
	// Rank 1 has probability 1/H(1000) ≈ 0.134, rank 2 half of that.
	if f := float64(top) / n; f < 0.12 || f > 0.15 {
		t.Fatalf("most frequent word has share %.3f, want about 0.134", f)
	}
	if r := float64(counts[words[1]]) / float64(top); r < 0.45 || r > 0.55 {
		t.Fatalf("rank 2 / rank 1 = %.2f, want about 0.5", r)
	}
	if len(counts) < 900 {
		t.Fatalf("only %d distinct words in %d draws", len(counts), n)
	}
}

// TestAliasTableIsZipf checks the table's implied distribution exactly.
func TestAliasTableIsZipf(t *testing.T) {
	tab := vocabulary()
	var prob [vocabularySize]float64
	for j := range vocabularySize {
		keep := float64(tab.keep[j]) / (1 << 32)
		if keep > 1 {
			t.Fatalf("column %d keeps with probability %g", j, keep)
		}
		prob[j] += keep / vocabularySize
		prob[tab.alias[j]] += (1 - keep) / vocabularySize
	}
	var h float64
	for k := range vocabularySize {
		h += 1 / float64(k+1)
	}
	for k, p := range prob {
		want := 1 / (float64(k+1) * h)
		if math.Abs(p-want) > 1e-9 {
			t.Fatalf("rank %d: probability %g, want %g", k, p, want)
		}
	}
}
