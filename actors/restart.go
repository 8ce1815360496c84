package actors

import (
	"fmt"
	"strings"
	"time"
)

// RestartStrategy decides whether a failed job restarts from its latest
// checkpoint, and after how long. failures holds the times of the job's
// failures so far, the latest last.
type RestartStrategy interface {
	Restart(failures []time.Time) (delay time.Duration, ok bool)
}

// NoRestart fails the job on its first failure.
type NoRestart struct{}

// Restart implements RestartStrategy.
func (NoRestart) Restart([]time.Time) (time.Duration, bool) { return 0, false }

// FixedDelay restarts up to Attempts times, Delay after each failure.
type FixedDelay struct {
	Attempts int
	Delay    time.Duration
}

// Restart implements RestartStrategy.
func (f FixedDelay) Restart(failures []time.Time) (time.Duration, bool) {
	return f.Delay, len(failures) <= f.Attempts
}

// ExponentialBackoff restarts with a delay that starts at Initial and
// grows by Multiplier up to Max; after a quiet period of Reset without
// failures the delay starts over. MaxAttempts bounds the restarts (0: no
// bound).
type ExponentialBackoff struct {
	Initial, Max time.Duration
	Multiplier   float64
	Reset        time.Duration
	MaxAttempts  int
}

// Restart implements RestartStrategy.
func (e ExponentialBackoff) Restart(failures []time.Time) (time.Duration, bool) {
	if e.MaxAttempts > 0 && len(failures) > e.MaxAttempts {
		return 0, false
	}
	// Count the failures since the last quiet period.
	n := 1
	for i := len(failures) - 1; i > 0; i-- {
		if e.Reset > 0 && failures[i].Sub(failures[i-1]) >= e.Reset {
			break
		}
		n++
	}
	d := float64(e.Initial)
	for i := 1; i < n; i++ {
		d *= e.Multiplier
		if time.Duration(d) >= e.Max {
			return e.Max, true
		}
	}
	return min(time.Duration(d), e.Max), true
}

// FailureRate restarts, Delay after each failure, unless more than
// MaxFailures failures happened within Interval.
type FailureRate struct {
	MaxFailures int
	Interval    time.Duration
	Delay       time.Duration
}

// Restart implements RestartStrategy.
func (f FailureRate) Restart(failures []time.Time) (time.Duration, bool) {
	if len(failures) == 0 {
		return f.Delay, true
	}
	last := failures[len(failures)-1]
	n := 0
	for _, t := range failures {
		if last.Sub(t) < f.Interval {
			n++
		}
	}
	return f.Delay, n <= f.MaxFailures
}

// ParseRestartStrategy parses "none", "fixed:ATTEMPTS,DELAY",
// "exponential:INITIAL,MAX" or "failure-rate:MAX,INTERVAL,DELAY".
func ParseRestartStrategy(s string) (RestartStrategy, error) {
	var a, b, c string
	kind, args, _ := strings.Cut(s, ":")
	var parts []string
	if args != "" {
		parts = strings.Split(args, ",")
	}
	bad := func() (RestartStrategy, error) {
		return nil, fmt.Errorf("restart strategy %q: want none, fixed:ATTEMPTS,DELAY, exponential:INITIAL,MAX or failure-rate:MAX,INTERVAL,DELAY", s)
	}
	switch kind {
	case "none":
		return NoRestart{}, nil
	case "fixed":
		if len(parts) != 2 {
			return bad()
		}
		a, b = parts[0], parts[1]
		var n int
		if _, err := fmt.Sscan(a, &n); err != nil || n < 0 {
			return bad()
		}
		d, err := time.ParseDuration(b)
		if err != nil || d < 0 {
			return bad()
		}
		return FixedDelay{Attempts: n, Delay: d}, nil
	case "exponential":
		if len(parts) != 2 {
			return bad()
		}
		i, err1 := time.ParseDuration(parts[0])
		m, err2 := time.ParseDuration(parts[1])
		if err1 != nil || err2 != nil || i <= 0 || m < i {
			return bad()
		}
		return ExponentialBackoff{Initial: i, Max: m, Multiplier: 2, Reset: 10 * m}, nil
	case "failure-rate":
		if len(parts) != 3 {
			return bad()
		}
		a, b, c = parts[0], parts[1], parts[2]
		var n int
		if _, err := fmt.Sscan(a, &n); err != nil || n < 0 {
			return bad()
		}
		iv, err1 := time.ParseDuration(b)
		d, err2 := time.ParseDuration(c)
		if err1 != nil || err2 != nil || iv <= 0 || d < 0 {
			return bad()
		}
		return FailureRate{MaxFailures: n, Interval: iv, Delay: d}, nil
	}
	return bad()
}
