package gen

import (
	"math"
	"time"
)

// bucket is a token bucket refilled at rate tokens per second. It holds at
// most one poll's worth of tokens, so a source that was not polled for a
// while (backpressure) catches up by at most one batch rather than by a
// burst of the whole backlog.
type bucket struct {
	rate   float64 // tokens per second
	tokens float64
	last   time.Time
	clock  func() time.Time
}

// epsilon absorbs float rounding so that a token due now is not reported
// as a nanosecond away.
const epsilon = 1e-9

func newBucket(rate float64, clock func() time.Time) bucket {
	// Start with one token so the first record needs no wait.
	return bucket{rate: rate, tokens: 1, last: clock(), clock: clock}
}

// take removes up to want whole tokens and returns how many it took. When
// it takes none, wait is how long until the next token.
func (b *bucket) take(want int) (n int, wait time.Duration) {
	now := b.clock()
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens += dt.Seconds() * b.rate
	}
	b.last = now // a clock that steps back only loses the step
	b.tokens = min(b.tokens, max(float64(want), 1))
	avail := math.Floor(b.tokens + epsilon)
	if avail < 1 {
		secs := (1 - b.tokens) / b.rate
		return 0, max(time.Duration(math.Ceil(secs*float64(time.Second))), 1)
	}
	n = int(min(avail, float64(want)))
	b.tokens = max(b.tokens-float64(n), 0)
	return n, 0
}
