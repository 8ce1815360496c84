package ratelimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/stromhq/strom/connectors/internal/ratelimit/ratelimittest"
)

// bucketPoll adapts a bucket to the shared checks: a source with endless
// records that emits exactly what the bucket grants.
func bucketPoll(b *Bucket) ratelimittest.Poll {
	return func(max int) (int, time.Duration, bool) {
		n, wait := b.Take(max)
		return n, wait, false
	}
}

func TestRate(t *testing.T) {
	for _, c := range []ratelimittest.Case{
		{Rate: 10, P: 1, Max: 100, Duration: 10 * time.Second},
		{Rate: 1000, P: 1, Max: 64, Duration: 3 * time.Second},
		{Rate: 1000, P: 4, Max: 64, Duration: 3 * time.Second},
		{Rate: 3, P: 2, Max: 1, Duration: 20 * time.Second},
		{Rate: 1e6, P: 3, Max: 1024, Duration: 2 * time.Second},
		{Rate: 0.5, P: 1, Max: 10, Duration: time.Minute},
	} {
		t.Run(fmt.Sprintf("rate=%g/P=%d/max=%d", c.Rate, c.P, c.Max), func(t *testing.T) {
			clock := ratelimittest.NewClock()
			b := New(PerSubtask(c.Rate, c.P), clock.Now)
			ratelimittest.CheckRate(t, clock, c, bucketPoll(b))
		})
	}
}

func TestWaitAndBurst(t *testing.T) {
	clock := ratelimittest.NewClock()
	ratelimittest.CheckWaitAndBurst(t, clock, bucketPoll(New(100, clock.Now)))
}

func TestTakeNothing(t *testing.T) {
	clock := ratelimittest.NewClock()
	b := New(1, clock.Now)
	if n, wait := b.Take(0); n != 0 || wait != 0 {
		t.Fatalf("Take(0) = %d, %v", n, wait)
	}
	// The token is still there.
	if n, _ := b.Take(5); n != 1 {
		t.Fatalf("Take(5) = %d, want the initial token", n)
	}
}

func TestWaitRoundsUp(t *testing.T) {
	clock := ratelimittest.NewClock()
	b := New(3, clock.Now) // a token every 333.33...ms
	b.Take(1)
	_, wait := b.Take(1)
	if wait != 333333334*time.Nanosecond {
		t.Fatalf("wait %v", wait)
	}
	clock.Advance(wait)
	if n, _ := b.Take(1); n != 1 {
		t.Fatal("no token after the reported wait")
	}
}

func TestDefaultsAndPerSubtask(t *testing.T) {
	if b := New(7, nil); b.Rate() != 7 || b.clock == nil {
		t.Fatal("nil clock not defaulted")
	}
	if PerSubtask(10, 4) != 2.5 || PerSubtask(10, 0) != 10 {
		t.Fatal("PerSubtask")
	}
}
