package actors

import (
	"sync"
	"sync/atomic"
	"time"
)

// Metrics collects the counters of the subtasks of one job in one process.
// Subtasks update their own TaskMetrics with atomics; readers take a
// Snapshot from any goroutine.
type Metrics struct {
	mu       sync.Mutex
	tasks    []*TaskMetrics
	counters map[string]*atomic.Int64
}

// Counter returns the job-wide counter name, creating it at zero.
func (m *Metrics) Counter(name string) *atomic.Int64 {
	if m == nil {
		return new(atomic.Int64)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[name]
	if c == nil {
		if m.counters == nil {
			m.counters = make(map[string]*atomic.Int64)
		}
		c = new(atomic.Int64)
		m.counters[name] = c
	}
	return c
}

// ObserveMax raises the counter name to v if v is larger: a high-water
// mark such as the longest synchronous checkpoint phase.
func (m *Metrics) ObserveMax(name string, v int64) {
	c := m.Counter(name)
	for {
		old := c.Load()
		if v <= old || c.CompareAndSwap(old, v) {
			return
		}
	}
}

// Counters returns the current value of every counter.
func (m *Metrics) Counters() map[string]int64 {
	out := map[string]int64{}
	if m == nil {
		return out
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, c := range m.counters {
		out[name] = c.Load()
	}
	return out
}

// TaskMetrics are the counters of one subtask.
type TaskMetrics struct {
	Chain     string
	Subtask   int
	Source    bool
	RecordsIn atomic.Int64
	// SinkRecords counts records handed to sinks of the chain.
	SinkRecords atomic.Int64
	// RecordsOut counts records a source emitted.
	RecordsOut atomic.Int64
	// RemoteBatches counts record batches that arrived encoded from
	// another actor system.
	RemoteBatches atomic.Int64
	// BackpressuredNanos is the time the subtask spent unable to send.
	BackpressuredNanos atomic.Int64
}

func (m *Metrics) register(t *TaskMetrics) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.tasks = append(m.tasks, t)
	m.mu.Unlock()
}

// Snapshot sums the counters.
type Snapshot struct {
	// SourceRecords counts records emitted by sources; SinkRecords records
	// received by sinks.
	SourceRecords int64
	SinkRecords   int64
	// SourceBackpressure is the total time sources spent waiting for
	// credit.
	SourceBackpressure time.Duration
	Sources            int
	// RemoteBatches counts batches received from other actor systems.
	RemoteBatches int64
}

// Snapshot returns the current totals.
func (m *Metrics) Snapshot() Snapshot {
	var s Snapshot
	if m == nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tasks {
		if t.Source {
			s.Sources++
			s.SourceRecords += t.RecordsOut.Load()
			s.SourceBackpressure += time.Duration(t.BackpressuredNanos.Load())
		}
		s.SinkRecords += t.SinkRecords.Load()
		s.RemoteBatches += t.RemoteBatches.Load()
	}
	return s
}
