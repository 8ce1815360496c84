package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// ErrMismatch is returned when Strom's output differs from the baseline's.
var ErrMismatch = errors.New("bench: strom and baseline disagree")

// Result is the outcome of one workload at one parallelism.
type Result struct {
	// Workload is "pipeline" or "shuffle".
	Workload string `json:"workload"`
	// Parallelism is the parallelism of every operator of the Strom job;
	// the baseline always runs on one goroutine.
	Parallelism int `json:"parallelism"`
	// Records is the number of input records of each run.
	Records int64 `json:"records"`
	// Repeat is the number of runs the medians are taken over.
	Repeat   int         `json:"repeat"`
	Strom    Measurement `json:"strom"`
	Baseline Measurement `json:"baseline"`
	// Ratio is Strom.RecordsPerSec / Baseline.RecordsPerSec.
	Ratio float64 `json:"ratio"`
	// CPURatio is Strom.RecordsPerCPUSec / Baseline.RecordsPerCPUSec.
	CPURatio float64 `json:"cpu_ratio"`
	// Outputs is the number of records that reached the sink and Checksum
	// their checksum, equal for Strom and the baseline.
	Outputs  int64  `json:"outputs"`
	Checksum uint64 `json:"checksum"`
}

// Name returns the workload and its parallelism, e.g. "shuffle p=2".
func (r Result) Name() string { return fmt.Sprintf("%s p=%d", r.Workload, r.Parallelism) }

// Measurement is the median over the runs of one side of a workload.
type Measurement struct {
	// WallSeconds and CPUSeconds are medians over the runs.
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	// RecordsPerSec is Records / WallSeconds; RecordsPerCPUSec is
	// Records / CPUSeconds (0 where CPU time cannot be read).
	RecordsPerSec    float64 `json:"records_per_sec"`
	RecordsPerCPUSec float64 `json:"records_per_cpu_sec"`
	// Runs are the individual runs, in order.
	Runs []Sample `json:"runs"`
}

// Sample is one run.
type Sample struct {
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
}

// digest is an order-independent checksum of a multiset of records: their
// number and the wrapping sum of a mixed hash of each.
type digest struct {
	n int64
	h uint64
}

// mix spreads the bits of x (a multiply and two xor-shifts): cheap, and not
// linear, so that a wrong multiset of records is very unlikely to produce
// the same sum.
func mix(x uint64) uint64 {
	x ^= x >> 29
	x *= 0x9e3779b97f4a7c15
	x ^= x >> 32
	return x
}

func (d *digest) add(v int64) {
	d.n++
	d.h += mix(uint64(v))
}

func (d *digest) addKV(k, v int64) {
	d.n++
	d.h += mix(mix(uint64(k)) ^ uint64(v))
}

func (d *digest) merge(o digest) {
	d.n += o.n
	d.h += o.h
}

// shared merges the digests of several sink subtasks.
type shared struct {
	mu sync.Mutex
	d  digest
}

func (s *shared) merge(d digest) {
	s.mu.Lock()
	s.d.merge(d)
	s.mu.Unlock()
}

func (s *shared) get() digest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d
}

// measure runs fn once after a garbage collection and returns its wall
// and CPU time.
func measure(fn func() (digest, error)) (Sample, digest, error) {
	runtime.GC()
	cpu0, t0 := cpuTime(), time.Now()
	d, err := fn()
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	return Sample{WallSeconds: wall.Seconds(), CPUSeconds: cpu.Seconds()}, d, err
}

// compare runs baseline and strom alternately repeat times, checks that
// every Strom run agrees with the baseline, and summarises the runs.
func compare(ctx context.Context, r *Result, strom, baseline func() (digest, error)) error {
	var ss, bs []Sample
	var want digest
	for i := range r.Repeat {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, bd, err := measure(baseline)
		if err != nil {
			return fmt.Errorf("%s baseline: %w", r.Name(), err)
		}
		if i == 0 {
			want = bd
		} else if bd != want {
			return fmt.Errorf("%s baseline run %d: %d records with checksum %#x, first run %d with %#x: %w", r.Name(), i+1, bd.n, bd.h, want.n, want.h, ErrMismatch)
		}
		s, sd, err := measure(strom)
		if err != nil {
			return fmt.Errorf("%s strom: %w", r.Name(), err)
		}
		if sd != want {
			return fmt.Errorf("%s strom run %d: %d records with checksum %#x, baseline %d with %#x: %w", r.Name(), i+1, sd.n, sd.h, want.n, want.h, ErrMismatch)
		}
		bs, ss = append(bs, b), append(ss, s)
	}
	r.Strom, r.Baseline = summarise(ss, r.Records), summarise(bs, r.Records)
	r.Ratio = ratio(r.Strom.RecordsPerSec, r.Baseline.RecordsPerSec)
	r.CPURatio = ratio(r.Strom.RecordsPerCPUSec, r.Baseline.RecordsPerCPUSec)
	r.Outputs, r.Checksum = want.n, want.h
	return nil
}

func summarise(runs []Sample, records int64) Measurement {
	walls := make([]float64, len(runs))
	cpus := make([]float64, len(runs))
	for i, s := range runs {
		walls[i], cpus[i] = s.WallSeconds, s.CPUSeconds
	}
	m := Measurement{WallSeconds: median(walls), CPUSeconds: median(cpus), Runs: runs}
	m.RecordsPerSec = ratio(float64(records), m.WallSeconds)
	m.RecordsPerCPUSec = ratio(float64(records), m.CPUSeconds)
	return m
}

// median returns the middle value of xs (the mean of the two middle
// values for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// ratio returns a/b, or 0 when b is not positive (JSON has no infinity).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// check validates the settings shared by the workloads.
func check(records int64, parallelism, repeat, batchSize int) error {
	switch {
	case records < 1:
		return fmt.Errorf("records %d: must be at least 1", records)
	case parallelism < 1:
		return fmt.Errorf("parallelism %d: must be at least 1", parallelism)
	case repeat < 1:
		return fmt.Errorf("repeat %d: must be at least 1", repeat)
	case batchSize < 0:
		return fmt.Errorf("batch size %d: must not be negative", batchSize)
	}
	return nil
}
