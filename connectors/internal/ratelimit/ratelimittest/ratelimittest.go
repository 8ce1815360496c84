// Package ratelimittest holds the rate-limit checks that every rate-limited
// source of the connectors runs, so that gen and file are held to the same
// behaviour: a settable clock and a driver that polls like the runtime.
package ratelimittest

import (
	"testing"
	"time"
)

// Clock is a settable clock; Now is the function to hand to a source.
type Clock struct{ T time.Time }

// NewClock returns a clock at an arbitrary fixed instant.
func NewClock() *Clock { return &Clock{T: time.Unix(1e9, 0)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) { c.T = c.T.Add(d) }

// Poll polls a source once for at most max records and returns how many it
// appended, the Wait it returned and whether it reported Done.
type Poll func(max int) (n int, wait time.Duration, done bool)

// Case describes one pacing check.
type Case struct {
	Rate     float64 // total records per second of the source
	P        int     // parallelism; the checked subtask gets Rate/P
	Max      int     // records per poll
	Duration time.Duration
}

// CheckRate drives poll like the runtime does — again at once after
// records, after the Wait when there were none — for c.Duration of clock
// time, and checks that the subtask produced one record at once plus
// Rate/P per second, that it never returned records together with a Wait
// or nothing without one, and that it was asked to wait at all. The source
// must be unbounded or hold more records than the duration allows.
func CheckRate(t *testing.T, clock *Clock, c Case, poll Poll) {
	t.Helper()
	end := clock.T.Add(c.Duration)
	total, waits := 0, 0
	for {
		n, wait, done := poll(c.Max)
		if done {
			t.Fatal("source ended during the rate check")
		}
		if n > c.Max {
			t.Fatalf("poll appended %d records, max %d", n, c.Max)
		}
		if n > 0 {
			if wait != 0 {
				t.Fatalf("records and a Wait (%v) in one poll", wait)
			}
			total += n
			continue
		}
		if wait <= 0 {
			t.Fatal("no records and no Wait")
		}
		waits++
		if clock.T.Add(wait).After(end) {
			break
		}
		clock.Advance(wait)
	}
	perSubtask := c.Rate / float64(c.P)
	// One token at the start, then one per 1/perSubtask seconds.
	want := 1 + int(perSubtask*c.Duration.Seconds()+1e-9)
	if total < want-1 || total > want {
		t.Fatalf("%d records over %v at %g/s, want %d", total, c.Duration, perSubtask, want)
	}
	if waits == 0 {
		t.Fatal("never asked to wait")
	}
}

// CheckWaitAndBurst checks the bucket's fine behaviour through a source at
// 100 records per second at parallelism 1 (one token per 10ms): the first
// poll gets the initial token, an empty bucket reports the exact wait, a
// long pause builds up at most one poll's worth, and a clock that steps
// back produces nothing. The source must hold at least 60 records.
func CheckWaitAndBurst(t *testing.T, clock *Clock, poll Poll) {
	t.Helper()
	step := func(what string, max, wantN int, wantWait time.Duration) {
		t.Helper()
		n, wait, done := poll(max)
		if done || n != wantN || (wantN == 0 && wantWait != 0 && wait != wantWait) {
			t.Fatalf("%s: %d records, wait %v, done %v; want %d records, wait %v",
				what, n, wait, done, wantN, wantWait)
		}
	}
	step("first poll", 50, 1, 0)
	step("out of tokens", 50, 0, 10*time.Millisecond)
	clock.Advance(4 * time.Millisecond)
	step("partial token", 50, 0, 6*time.Millisecond)
	clock.Advance(36 * time.Millisecond)
	step("after 40ms", 50, 4, 0)
	clock.Advance(time.Hour)
	step("after a pause", 50, 50, 0)
	step("burst spent", 50, 0, 10*time.Millisecond)
	clock.Advance(-time.Minute)
	step("clock stepped back", 50, 0, 0)
}
