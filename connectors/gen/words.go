package gen

import (
	"math/bits"
	"sync"
)

// vocabularySize is the number of distinct words [Words] draws from.
const vocabularySize = 1000

// Syllables of the pseudo-words: word k is one syllable from each set,
// picked by the decimal digits of a permutation of k. Every syllable is a
// consonant and a vowel, so each word has exactly one spelling and the
// 1,000 words are distinct.
var syllables = [3][10]string{
	{"ka", "lo", "mi", "nu", "re", "sa", "to", "vi", "ze", "po"},
	{"ba", "de", "fi", "go", "hu", "ja", "ke", "li", "mo", "ru"},
	{"na", "pe", "qi", "so", "tu", "wa", "xe", "yo", "zu", "di"},
}

// aliasTable samples ranks in O(1) (Vose's alias method): draw a column j
// uniformly, keep it with probability keep[j]/2^32, else take alias[j].
type aliasTable struct {
	words []string // in rank order, most frequent first
	keep  [vocabularySize]uint64
	alias [vocabularySize]uint16
}

// vocabulary builds the words and a Zipf(s=1) alias table over their
// ranks. It uses integer arithmetic only, so every platform draws the same
// words.
var vocabulary = sync.OnceValue(func() *aliasTable {
	t := &aliasTable{words: make([]string, vocabularySize)}
	for k := range t.words {
		p := k * 7919 % vocabularySize // 7919 is prime, so this permutes
		t.words[k] = syllables[0][p/100] + syllables[1][p/10%10] + syllables[2][p%10]
	}
	// Weight of rank k is 2^40/(k+1); scaled weights are compared with
	// their mean, the total weight.
	var scaled [vocabularySize]uint64
	var total uint64
	for k := range scaled {
		w := uint64(1<<40) / uint64(k+1)
		scaled[k] = w * vocabularySize
		total += w
	}
	var small, large []int
	for k, s := range scaled {
		if s < total {
			small = append(small, k)
		} else {
			large = append(large, k)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small, large = small[:len(small)-1], large[:len(large)-1]
		hi, lo := bits.Mul64(scaled[s], 1<<32)
		t.keep[s], _ = bits.Div64(hi, lo, total)
		t.alias[s] = uint16(l)
		scaled[l] -= total - scaled[s]
		if scaled[l] < total {
			small = append(small, l)
		} else {
			large = append(large, l)
		}
	}
	for _, k := range append(small, large...) {
		t.keep[k] = 1 << 32 // always kept
		t.alias[k] = uint16(k)
	}
	return t
})

// Words returns a generator of pseudo-words for [New]: record i is drawn
// from a fixed vocabulary of 1,000 six-letter words with a Zipf-like skew
// (the word of rank r appears with probability proportional to 1/r, so
// the most frequent word makes up about 13% of the output). The word of
// index i depends only on seed and i, never on parallelism or on which
// other indices were generated, and the function is safe for concurrent
// use.
func Words(seed uint64) func(i int64) string {
	t := vocabulary()
	return func(i int64) string {
		h := splitMix64(seed, uint64(i))
		j := (h >> 32) * vocabularySize >> 32 // uniform column
		if h&(1<<32-1) < t.keep[j] {
			return t.words[j]
		}
		return t.words[t.alias[j]]
	}
}

// splitMix64 returns the i-th output of a SplitMix64 generator seeded with
// seed: a stateless hash of (seed, i).
func splitMix64(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
