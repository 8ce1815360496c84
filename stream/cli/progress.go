package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/stromhq/strom/actors"
)

// progressReporter prints a progress line at an interval while a job runs.
type progressReporter struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(w io.Writer, m *actors.Metrics, every time.Duration) *progressReporter {
	r := &progressReporter{done: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		start := time.Now()
		last, lastAt := m.Snapshot(), start
		for {
			select {
			case <-r.done:
				return
			case now := <-t.C:
				s := m.Snapshot()
				dt := now.Sub(lastAt).Seconds()
				rate := float64(s.SourceRecords-last.SourceRecords) / dt
				bp := 0.0
				if s.Sources > 0 {
					bp = 100 * float64(s.SourceBackpressure-last.SourceBackpressure) / (dt * float64(time.Second) * float64(s.Sources))
				}
				fmt.Fprintf(w, "progress: %6.1fs  %s events/s  %d events  sinks got %d  backpressure %3.0f%%\n",
					now.Sub(start).Seconds(), FormatRate(rate), s.SourceRecords, s.SinkRecords, min(bp, 100))
				last, lastAt = s, now
			}
		}
	}()
	return r
}

func (r *progressReporter) stop() {
	close(r.done)
	r.wg.Wait()
}

// FormatRate formats a rate with a k/M suffix.
func FormatRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
