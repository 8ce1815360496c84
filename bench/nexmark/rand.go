package nexmark

import "math/bits"

// golden is SplitMix64's increment: 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// mix64 is SplitMix64's output function, a bijection of uint64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// rng is a SplitMix64 stream: every draw adds golden to the state and
// returns mix64 of it.
type rng struct{ s uint64 }

// eventRand returns the stream of event n under seed: its state starts at
// mix64(seed XOR mix64(n + golden)). It depends on nothing else, so event n
// is the same whichever subtask generates it.
func eventRand(seed uint64, n int64) rng {
	return rng{s: mix64(seed ^ mix64(uint64(n)+golden))}
}

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a number in [0, n) (n > 0), by the high word of a 64×64-bit
// product.
func (r *rng) intn(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// float64 returns a number in [0, 1) with 53 random bits.
func (r *rng) float64() float64 {
	return float64(r.next()>>11) * 0x1p-53
}
