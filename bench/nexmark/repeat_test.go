package nexmark

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	run := func(wall, cpu float64, ckpts int) Result {
		return Result{Query: "q1", Engine: "strom", Events: 100, Parallelism: 2, WallSeconds: wall, CPUSeconds: cpu,
			EventsPerSecond: 100 / wall, EventsPerCPUSecond: 100 / cpu, ResultDigest: "00000000000000ab", Results: 9, Checkpoints: ckpts}
	}
	one, err := Summarize([]Result{run(1, 2, 3)})
	if err != nil || one.Repeat != 1 || one.Runs != nil || one.Result != run(1, 2, 3) {
		t.Fatalf("one run: %+v, %v", one, err)
	}
	slow := run(2, 1, 1)
	slow.CheckpointSyncMaxMillis = 7.5
	s, err := Summarize([]Result{run(1, 4, 5), slow, run(4, 2, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Repeat != 3 || len(s.Runs) != 3 || s.WallSeconds != 2 || s.CPUSeconds != 2 || s.EventsPerSecond != 50 ||
		s.EventsPerCPUSecond != 50 || s.Checkpoints != 2 || s.CheckpointSyncMaxMillis != 7.5 || s.ResultDigest != "00000000000000ab" {
		t.Fatalf("three runs: %+v", s)
	}
	even, _ := Summarize([]Result{run(1, 1, 1), run(1, 4, 4)})
	if even.EventsPerCPUSecond != (100+25)/2.0 || even.Checkpoints != 1 {
		t.Fatalf("two runs: %+v", even)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"query":"q1"`, `"events_per_cpu_second":50`, `"repeat":3`, `"runs":[{`, `"checkpoints":2`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}

	bad := run(1, 1, 1)
	bad.ResultDigest = "00000000000000ac"
	if _, err := Summarize([]Result{run(1, 1, 1), bad}); err == nil {
		t.Error("runs with different digests summarized")
	}
	bad = run(1, 1, 1)
	bad.Parallelism = 1
	if _, err := Summarize([]Result{run(1, 1, 1), bad}); err == nil {
		t.Error("runs of different parallelism summarized")
	}
	// q12's digest depends on processing time.
	a, b12 := run(1, 1, 1), run(1, 1, 1)
	a.Query, b12.Query, b12.ResultDigest = "q12", "q12", "00000000000000ff"
	if _, err := Summarize([]Result{a, b12}); err != nil {
		t.Errorf("q12: %v", err)
	}
	if _, err := Summarize(nil); err == nil {
		t.Error("no runs summarized")
	}
}
