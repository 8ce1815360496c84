package nexmark

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stromhq/strom/stream"
)

// Query is one Nexmark query: a Strom job and a hand-written baseline that
// compute the same rows. Each query lives in a file of its own (q0.go,
// q1.go, ...) that registers it from an init function.
type Query struct {
	// Name is the query's name, "q" and its number.
	Name string
	// Description is a one-line summary.
	Description string
	// Stateful tells whether the query keeps state (and so uses the state
	// backend).
	Stateful bool
	// EventTime makes the source assign watermarks WatermarkLag behind
	// event time (stream.ForBoundedOutOfOrderness), for queries with
	// event-time windows, joins or timers.
	EventTime bool
	// ProcessingTime tells that the rows depend on the processing time
	// at which records are handled (q12): they differ from run to run,
	// between parallelisms and from the baseline's, so digests cannot be
	// compared.
	ProcessingTime bool
	// Build adds the query to the job of events and writes every result
	// row to out, with Blackhole.
	Build func(events *stream.DataStream[Event], out *Results)
	// NewBaseline returns the query as a plain loop body for one
	// goroutine.
	NewBaseline func() Baseline
}

// Baseline is a hand-written single-goroutine implementation of a query:
// it is handed every event in order of n, then Finish once.
type Baseline interface {
	// Process handles event ev with event time ts and adds the rows it
	// produces to d. ev is reused for the next event: what Process keeps
	// it copies.
	Process(ev *Event, ts int64, h *Hasher, d *Digest)
	// Finish adds the rows due at the end of input to d.
	Finish(h *Hasher, d *Digest)
}

var registry = map[string]Query{}

// Register adds a query; it panics when the name is taken or the query is
// incomplete.
func Register(q Query) {
	if q.Name == "" || q.Build == nil || q.NewBaseline == nil {
		panic(fmt.Sprintf("nexmark: incomplete query %q", q.Name))
	}
	if _, dup := registry[q.Name]; dup {
		panic(fmt.Sprintf("nexmark: query %q registered twice", q.Name))
	}
	registry[q.Name] = q
}

// Lookup returns the query of the given name.
func Lookup(name string) (Query, bool) {
	q, ok := registry[name]
	return q, ok
}

// Queries returns the registered queries in order of their number.
func Queries() []Query {
	qs := make([]Query, 0, len(registry))
	for _, q := range registry {
		qs = append(qs, q)
	}
	slices.SortFunc(qs, func(a, b Query) int {
		if c := queryNumber(a.Name) - queryNumber(b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return qs
}

// QueryNames returns the names of the registered queries, in order.
func QueryNames() []string {
	var names []string
	for _, q := range Queries() {
		names = append(names, q.Name)
	}
	return names
}

func queryNumber(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "q"))
	if err != nil {
		return 1 << 30
	}
	return n
}

// statelessBaseline adapts a per-event function to a Baseline.
type statelessBaseline func(ev *Event, ts int64, h *Hasher, d *Digest)

func (f statelessBaseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) { f(ev, ts, h, d) }
func (statelessBaseline) Finish(*Hasher, *Digest)                             {}

// Bids returns the bids of events.
func Bids(events *stream.DataStream[Event]) *stream.DataStream[Bid] {
	bids := stream.Filter(events, "bids", Event.IsBid)
	return stream.Map(bids, "bid", func(e Event) Bid { return e.Bid })
}
