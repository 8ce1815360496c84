package actors

import (
	"errors"
	"testing"
	"time"
)

func kinds(acts []coordAction) []coordActionKind {
	var out []coordActionKind
	for _, a := range acts {
		out = append(out, a.kind)
	}
	return out
}

func TestCoordinatorTriggersCompletesAndPauses(t *testing.T) {
	cfg := CheckpointConfig{Interval: 100 * time.Millisecond, Timeout: time.Second, MinPause: 50 * time.Millisecond, MaxConcurrent: 1, Retain: 1}
	c := newCoordinator(cfg, 2, 7)
	t0 := time.Unix(0, 0)
	acts := c.tick(t0)
	if len(acts) != 1 || acts[0].kind != actTrigger || acts[0].id != 7 {
		t.Fatalf("first tick: %+v", acts)
	}
	if acts := c.tick(t0.Add(200 * time.Millisecond)); len(acts) != 0 {
		t.Fatalf("triggered beyond max concurrent: %+v", acts)
	}
	if acts := c.ack(7, taskKey{0, 0}, "a"); len(acts) != 0 {
		t.Fatalf("completed with one of two acks: %+v", acts)
	}
	c.ack(7, taskKey{0, 0}, "a") // a duplicate ack counts once
	acts = c.ack(7, taskKey{1, 0}, "b")
	if len(acts) != 1 || acts[0].kind != actComplete || len(acts[0].acks) != 2 {
		t.Fatalf("second ack: %+v", acts)
	}
	c.committed(7, t0.Add(210*time.Millisecond), nil)
	if c.Completed != 1 {
		t.Fatalf("completed %d", c.Completed)
	}
	// Min pause after completion holds the next trigger back.
	if acts := c.tick(t0.Add(230 * time.Millisecond)); len(acts) != 0 {
		t.Fatalf("triggered within the min pause: %+v", acts)
	}
	if acts := c.tick(t0.Add(260 * time.Millisecond)); len(acts) != 1 || acts[0].id != 8 {
		t.Fatalf("no trigger after the pause: %+v", acts)
	}
}

func TestCoordinatorAbortsOnTimeoutDeclineAndFailedCommit(t *testing.T) {
	cfg := CheckpointConfig{Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond, MaxConcurrent: 1, Retain: 1}
	c := newCoordinator(cfg, 1, 1)
	t0 := time.Unix(0, 0)
	c.tick(t0)
	if acts := c.tick(t0.Add(100 * time.Millisecond)); len(acts) != 2 || acts[0].kind != actAbort || acts[1].kind != actTrigger {
		t.Fatalf("timeout: %v", kinds(acts))
	}
	if c.Expired != 1 {
		t.Fatalf("expired %d", c.Expired)
	}
	if acts := c.ack(1, taskKey{0, 0}, nil); len(acts) != 0 {
		t.Fatal("a late ack of an expired checkpoint completed it")
	}
	if acts := c.decline(2, taskKey{0, 0}, "busy"); len(acts) != 1 || acts[0].kind != actAbort {
		t.Fatalf("decline: %v", kinds(acts))
	}
	c.tick(t0.Add(200 * time.Millisecond))
	c.ack(3, taskKey{0, 0}, nil)
	if acts := c.committed(3, t0.Add(210*time.Millisecond), errors.New("disk full")); len(acts) != 1 || acts[0].kind != actAbort {
		t.Fatalf("failed commit: %v", kinds(acts))
	}
	if c.Aborted != 2 || c.Completed != 0 {
		t.Fatalf("aborted %d completed %d", c.Aborted, c.Completed)
	}
	c.tick(t0.Add(300 * time.Millisecond))
	if acts := c.stop("done"); len(acts) != 1 || acts[0].kind != actAbort {
		t.Fatalf("stop: %v", kinds(acts))
	}
	if acts := c.tick(t0.Add(time.Hour)); len(acts) != 0 {
		t.Fatal("a stopped coordinator triggered")
	}
}

func TestParseRestartStrategy(t *testing.T) {
	good := map[string]RestartStrategy{
		"none":                    NoRestart{},
		"fixed:3,1s":              FixedDelay{Attempts: 3, Delay: time.Second},
		"failure-rate:5,1m,100ms": FailureRate{MaxFailures: 5, Interval: time.Minute, Delay: 100 * time.Millisecond},
	}
	for in, want := range good {
		got, err := ParseRestartStrategy(in)
		if err != nil || got != want {
			t.Errorf("%q: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fixed", "fixed:x,1s", "fixed:3", "exponential:1s", "exponential:2s,1s", "failure-rate:1,1m", "sometimes"} {
		if _, err := ParseRestartStrategy(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	e := ExponentialBackoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2}
	now := time.Unix(0, 0)
	var fails []time.Time
	var delays []time.Duration
	for i := 0; i < 4; i++ {
		fails = append(fails, now)
		d, _ := e.Restart(fails)
		delays = append(delays, d)
	}
	if delays[0] != 10*time.Millisecond || delays[1] != 20*time.Millisecond || delays[2] != 40*time.Millisecond || delays[3] != 50*time.Millisecond {
		t.Fatalf("backoff delays %v", delays)
	}
	if _, ok := (FixedDelay{Attempts: 1}).Restart([]time.Time{now, now}); ok {
		t.Fatal("fixed delay restarted past its attempts")
	}
}
