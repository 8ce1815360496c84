package gen

import (
	"time"

	"github.com/stromhq/strom/operators"
)

// config holds what the options set.
type config struct {
	count int64
	rate  float64
	ts    func(i int64) int64
	// timestamps is true when Timestamps set ts.
	timestamps bool
	clock      func() time.Time
}

func defaultConfig() config {
	return config{ts: noTimestamp, clock: time.Now}
}

func noTimestamp(int64) int64 { return operators.NoTimestamp }

// Option configures a [Source].
type Option func(*config)

// Count bounds the source to n records in total across all subtasks,
// indices [0, n). Zero, the default, means unbounded.
func Count(n int64) Option {
	return func(c *config) { c.count = max(n, 0) }
}

// Rate limits the source to perSecond records per second in total; each of
// P subtasks produces perSecond/P. Zero or less, the default, means as
// fast as downstream takes them.
func Rate(perSecond float64) Option {
	return func(c *config) { c.rate = perSecond }
}

// Timestamps sets the event time of record i to fn(i). By default records
// carry operators.NoTimestamp.
func Timestamps(fn func(i int64) int64) Option {
	return func(c *config) {
		c.timestamps = fn != nil
		if fn == nil {
			fn = noTimestamp
		}
		c.ts = fn
	}
}

// WithClock replaces the clock the rate limiter reads (default time.Now),
// for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			now = time.Now
		}
		c.clock = now
	}
}
