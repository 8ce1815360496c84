package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/stream/cli"
)

// nexmarkJSON runs strom bench nexmark with args and --json and returns the
// object on the last line of stdout.
func nexmarkJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var o, e bytes.Buffer
	if err := runBench(append([]string{"nexmark", "--json", "--progress", "0"}, args...), &o, &e); err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}
	lines := strings.Split(strings.TrimRight(o.String(), "\n"), "\n")
	var v map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &v); err != nil {
		t.Fatalf("last line of stdout is not a JSON object: %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"query", "events", "parallelism", "wall_seconds", "cpu_seconds", "events_per_second",
		"events_per_cpu_second", "result_digest", "checkpoints"} {
		if _, ok := v[k]; !ok {
			t.Errorf("JSON has no %q: %v", k, v)
		}
	}
	if !strings.Contains(e.String(), "events/CPU-second") {
		t.Errorf("no summary on stderr: %q", e.String())
	}
	return v
}

func TestBenchNexmarkJSONContract(t *testing.T) {
	for _, q := range []string{"q0", "q1", "q2"} {
		t.Run(q, func(t *testing.T) {
			base := nexmarkJSON(t, "--query", q, "--events", "20000", "--baseline", "--parallelism", "2")
			p2 := nexmarkJSON(t, "--query", q, "--events", "20000", "--parallelism", "2", "--checkpoint-interval", "1s", "--state-backend", "heap")
			if base["parallelism"] != 1.0 || p2["parallelism"] != 2.0 {
				t.Errorf("parallelism: baseline %v, strom %v", base["parallelism"], p2["parallelism"])
			}
			if n, ok := p2["checkpoints"].(float64); base["query"] != q || base["events"] != 20000.0 || !ok || n < 0 {
				t.Errorf("baseline %v, strom %v", base, p2)
			}
			if d, _ := base["result_digest"].(string); d == "" || d != p2["result_digest"] {
				t.Errorf("digests: baseline %v, strom p=2 %v", base["result_digest"], p2["result_digest"])
			}
		})
	}
}

func TestBenchNexmarkRepeat(t *testing.T) {
	v := nexmarkJSON(t, "--query", "q5", "--events", "30000", "--repeat", "3", "--parallelism", "2")
	runs, _ := v["runs"].([]any)
	if v["repeat"] != 3.0 || len(runs) != 3 {
		t.Fatalf("repeat %v, %d runs: %v", v["repeat"], len(runs), v)
	}
	var rates []float64
	for _, r := range runs {
		m := r.(map[string]any)
		if m["result_digest"] != v["result_digest"] {
			t.Errorf("run digest %v, summary %v", m["result_digest"], v["result_digest"])
		}
		rates = append(rates, m["events_per_cpu_second"].(float64))
	}
	slices.Sort(rates)
	if v["events_per_cpu_second"] != rates[1] {
		t.Errorf("events_per_cpu_second %v, want the median of %v", v["events_per_cpu_second"], rates)
	}
	one := nexmarkJSON(t, "--query", "q0", "--events", "1000", "--baseline")
	if _, ok := one["runs"]; ok || one["repeat"] != 1.0 {
		t.Errorf("one run: %v", one)
	}
	var o, e bytes.Buffer
	if err := runBench([]string{"nexmark", "--query", "q1", "--events", "2000", "--repeat", "2", "--progress", "0"}, &o, &e); err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}
	for _, want := range []string{"run 1 of 2: ", "run 2 of 2: ", "median of 2 runs"} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, o.String())
		}
	}
}

func TestBenchNexmarkTextSummary(t *testing.T) {
	var o, e bytes.Buffer
	if err := runBench([]string{"nexmark", "--query", "q1", "--events", "5000", "--checkpoint-interval", "10s"}, &o, &e); err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}
	for _, want := range []string{"nexmark q1 (strom, parallelism 1): 5000 events", "events/CPU-second", "checkpoints          0 completed (every 10s)"} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, o.String())
		}
	}
}

func TestBenchNexmarkRefusesBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"nexmark"}, "name a query"},
		{[]string{"nexmark", "--query", "q99"}, `--query "q99"`},
		{[]string{"nexmark", "--query", "q0", "--events", "0"}, "--events 0"},
		{[]string{"nexmark", "--query", "q0", "--parallelism", "0"}, "--parallelism 0"},
		{[]string{"nexmark", "--query", "q0", "--checkpoint-interval", "-1s"}, "--checkpoint-interval -1s"},
		{[]string{"nexmark", "--query", "q0", "--checkpoint-interval", "soon"}, "checkpoint-interval"},
		{[]string{"nexmark", "--query", "q0", "--state-backend", "rocksdb"}, `--state-backend "rocksdb"`},
		{[]string{"nexmark", "--query", "q0", "--rate", "0"}, "--rate 0"},
		{[]string{"nexmark", "--query", "q0", "--repeat", "0"}, "--repeat 0"},
		{[]string{"nexmark", "--query", "q0", "extra"}, `unexpected argument "extra"`},
		{[]string{"nexmark", "--wat"}, "-wat"},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		err := runBench(c.args, &o, &e)
		var ue cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error()+e.String(), c.want) {
			t.Errorf("bench %v: got %v (stderr %q), want a usage error naming %q", c.args, err, e.String(), c.want)
		}
		if o.Len() > 0 {
			t.Errorf("bench %v wrote to stdout: %q", c.args, o.String())
		}
	}
}
