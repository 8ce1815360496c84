package nexmark

import (
	"fmt"
	"slices"
)

// Summary is the outcome of several runs of the same configuration: the
// JSON form of strom bench nexmark --repeat N. Its Result holds the
// median figures, so that it keeps the keys of a single run's JSON.
type Summary struct {
	// Result is the first run's, with WallSeconds, CPUSeconds,
	// EventsPerSecond, EventsPerCPUSecond and Checkpoints replaced by
	// their medians over the runs (each its own median; of an even
	// number of runs, the mean of the middle two, and the lower of them
	// for Checkpoints), and CheckpointSyncMaxMillis by its maximum.
	Result
	// Repeat is the number of runs.
	Repeat int `json:"repeat"`
	// Runs are the runs in order; omitted for a single run.
	Runs []Result `json:"runs,omitempty"`
}

// Summarize returns the summary of runs, which must be of the same query
// and configuration. It fails when two runs of a query whose rows do not
// depend on processing time have different digests.
func Summarize(runs []Result) (Summary, error) {
	if len(runs) == 0 {
		return Summary{}, fmt.Errorf("nexmark: no runs to summarize")
	}
	s := Summary{Result: runs[0], Repeat: len(runs)}
	if len(runs) == 1 {
		return s, nil
	}
	s.Runs = slices.Clone(runs)
	q, _ := Lookup(runs[0].Query)
	for i, r := range runs[1:] {
		if r.Query != s.Query || r.Engine != s.Engine || r.Events != s.Events || r.Parallelism != s.Parallelism {
			return s, fmt.Errorf("nexmark: run %d is %s %s p=%d with %d events, run 1 %s %s p=%d with %d events",
				i+2, r.Query, r.Engine, r.Parallelism, r.Events, s.Query, s.Engine, s.Parallelism, s.Events)
		}
		if !q.ProcessingTime && (r.ResultDigest != s.ResultDigest || r.Results != s.Results) {
			return s, fmt.Errorf("nexmark %s: run %d has %d rows, digest %s; run 1 %d rows, digest %s",
				s.Query, i+2, r.Results, r.ResultDigest, s.Results, s.ResultDigest)
		}
	}
	figure := func(f func(Result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	s.WallSeconds = figure(func(r Result) float64 { return r.WallSeconds })
	s.CPUSeconds = figure(func(r Result) float64 { return r.CPUSeconds })
	s.EventsPerSecond = figure(func(r Result) float64 { return r.EventsPerSecond })
	s.EventsPerCPUSecond = figure(func(r Result) float64 { return r.EventsPerCPUSecond })
	cps := make([]int, len(runs))
	for i, r := range runs {
		cps[i] = r.Checkpoints
	}
	slices.Sort(cps)
	s.Checkpoints = cps[(len(cps)-1)/2]
	for _, r := range runs {
		s.CheckpointSyncMaxMillis = max(s.CheckpointSyncMaxMillis, r.CheckpointSyncMaxMillis)
	}
	return s, nil
}

// median returns the median of v (not empty), which it sorts.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
