package nexmark

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// countSink adds up the Bids of the BidderCount rows it receives.
type countSink struct {
	total, rows *atomic.Int64
	// windows records the windows' starts.
	windows *sync.Map
}

func (s countSink) Open(*operators.TaskContext) error { return nil }
func (s countSink) Close() error                      { return nil }
func (s countSink) Finish() error                     { return nil }
func (s countSink) Write(b *operators.Batch[BidderCount]) error {
	for _, r := range b.Values {
		if r.End-r.Start != Q12Window.Milliseconds() || r.Start%Q12Window.Milliseconds() != 0 {
			return fmt.Errorf("row %+v: not a window of %v", r, Q12Window)
		}
		s.total.Add(r.Bids)
		s.windows.Store(r.Start, true)
	}
	s.rows.Add(int64(len(b.Values)))
	return nil
}

// TestProcessingTimeQueries checks q12, whose rows depend on processing
// time: the digest cannot be compared with the baseline's, but the counts
// of its rows add up to the number of bids, for the Strom job at
// parallelism 1 and 2 and for the baseline.
func TestProcessingTimeQueries(t *testing.T) {
	const events = 50_000
	cfg := GeneratorConfig{Seed: DefaultSeed}
	evs, _ := generate(t, cfg, events, 0, 1)
	var bids int64
	for _, e := range evs {
		if e.Kind == KindBid {
			bids++
		}
	}
	q, _ := Lookup("q12")
	if !q.ProcessingTime {
		t.Fatal("q12 is not marked ProcessingTime")
	}
	b := q.NewBaseline().(*q12Baseline)
	var h Hasher
	var d Digest
	g := NewGenerator(cfg)
	var ev Event
	for n := range int64(events) {
		b.Process(&ev, g.Event(n, &ev), &h, &d)
	}
	b.Finish(&h, &d)
	if b.emitted != bids || d.Count == 0 {
		t.Errorf("baseline: counts add up to %d in %d rows, want %d bids", b.emitted, d.Count, bids)
	}
	for _, p := range []int{1, 2} {
		var total, rows atomic.Int64
		var windows sync.Map
		// A clock that advances a second per reading makes many windows.
		env := stream.NewEnvironment(stream.WithParallelism(p), stream.WithLogger(stream.DiscardLogger()),
			stream.WithClock(&steppingClock{now: time.Now().UnixMilli()}))
		counts := q12Counts(stream.FromSource(env, "nexmark", Sources(cfg, events), true))
		stream.SinkTo(counts, "sum", func() operators.Sink[BidderCount] { return countSink{&total, &rows, &windows} })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := env.Execute(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		windows.Range(func(any, any) bool { n++; return true })
		if total.Load() != bids || n < 2 {
			t.Errorf("p=%d: counts add up to %d in %d rows of %d windows, want %d bids in several windows", p, total.Load(), rows.Load(), n, bids)
		}
	}
	// The runner runs it too, with a digest of whatever the windows were.
	res, err := Run(context.Background(), Config{Query: "q12", Events: events, Parallelism: 2})
	if err != nil || res.Results == 0 {
		t.Fatalf("run: %+v, %v", res, err)
	}
}

// steppingClock advances by a second every time it is read.
type steppingClock struct{ now int64 }

func (c *steppingClock) NowMillis() int64 { return atomic.AddInt64(&c.now, 1000) }
