// Package ratelimit paces the connectors' sources with a token bucket that
// never blocks: a source asks for as many tokens as it could emit, emits
// that many records, and when it gets none returns the wait to the runtime
// as operators.PollResult.Wait.
package ratelimit

import (
	"math"
	"time"
)

// Bucket is a token bucket refilled at a fixed rate. It holds at most one
// poll's worth of tokens (the want of the current Take, at least one), so a
// source that was not polled for a while (backpressure) catches up by at
// most one batch rather than by a burst of the whole backlog. It starts
// with one token, so the first record needs no wait.
//
// A Bucket is not safe for concurrent use; each source subtask owns one.
type Bucket struct {
	rate   float64 // tokens per second
	tokens float64
	last   time.Time
	clock  func() time.Time
}

// epsilon absorbs float rounding so that a token due now is not reported
// as a nanosecond away.
const epsilon = 1e-9

// New returns a bucket refilled at perSecond tokens per second, which must
// be positive, reading time from clock (time.Now when nil).
func New(perSecond float64, clock func() time.Time) *Bucket {
	if clock == nil {
		clock = time.Now
	}
	return &Bucket{rate: perSecond, tokens: 1, last: clock(), clock: clock}
}

// Rate returns the refill rate in tokens per second.
func (b *Bucket) Rate() float64 { return b.rate }

// Take removes up to want whole tokens and returns how many it took. When
// it takes none, wait is how long until the next token is due (at least
// one nanosecond); otherwise wait is zero. A clock that steps back adds no
// tokens and only loses the step.
func (b *Bucket) Take(want int) (n int, wait time.Duration) {
	now := b.clock()
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens += dt.Seconds() * b.rate
	}
	b.last = now
	b.tokens = min(b.tokens, max(float64(want), 1))
	avail := math.Floor(b.tokens + epsilon)
	if avail < 1 {
		secs := (1 - b.tokens) / b.rate
		return 0, max(time.Duration(math.Ceil(secs*float64(time.Second))), 1)
	}
	if want <= 0 {
		return 0, 0
	}
	n = int(min(avail, float64(want)))
	b.tokens = max(b.tokens-float64(n), 0)
	return n, 0
}

// PerSubtask splits a total rate evenly among parallelism subtasks.
func PerSubtask(total float64, parallelism int) float64 {
	return total / float64(max(parallelism, 1))
}
