package nexmark

import (
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

// BidderCount is a row of q11 and q12: the number of bids of a bidder in
// a window [Start, End) (Unix milliseconds): a session of q11, a
// processing-time window of q12.
type BidderCount struct {
	Bidder     int64
	Bids       int64
	Start, End int64
}

// AppendCanonical implements Row.
func (x BidderCount) AppendCanonical(b []byte) []byte {
	return appendInt(appendInt(appendInt(appendInt(b, x.Bidder), x.Bids), x.Start), x.End)
}

// Q11Gap is the session gap of q11.
const Q11Gap = 10 * time.Second

// countPerWindow emits a BidderCount per window of a keyed count of bids.
var countPerWindow = window.ProcessFunc[int64, int64, BidderCount](func(ctx *window.Context[int64], n []int64, out operators.Collector[BidderCount]) error {
	w := ctx.Window()
	out.Collect(BidderCount{Bidder: ctx.Key(), Bids: n[0], Start: w.Start, End: w.End})
	return nil
})

func bidders(events *stream.DataStream[Event]) *stream.KeyedStream[int64, int64] {
	bids := stream.Filter(events, "bids", Event.IsBid)
	return stream.KeyBy(stream.Map(bids, "bidder", func(e Event) int64 { return e.Bid.Bidder }), func(b int64) int64 { return b })
}

// q11: user sessions. The number of bids of each session of a bidder: a
// session ends when the bidder has not bid for Q11Gap (10 s) of event
// time. The standard's SQL:
//
//	SELECT B.bidder, count(*) AS bid_count,
//	       SESSION_START(B.dateTime, INTERVAL '10' SECOND) AS starttime,
//	       SESSION_END(B.dateTime, INTERVAL '10' SECOND) AS endtime
//	FROM bid B
//	GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)
//
// (rows: BidderCount; End is the last bid's time plus the gap). As in
// Flink, a bid at exactly the end of a session joins it (windows that
// touch merge).
//
// The job: bids keyed by bidder into event-time session windows
// (window.EventTimeSession), counted incrementally; merging sessions
// merge their counts.
func init() {
	Register(Query{
		Name:        "q11",
		Description: "user sessions: bids per bidder session with a 10s gap",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			rows := stream.WindowAggregateProcess(stream.Window(bidders(events), window.EventTimeSession(Q11Gap)),
				"sessions", q5CountBids, countPerWindow)
			Blackhole(rows, out)
		},
		NewBaseline: func() Baseline { return &q11Baseline{sessions: map[int64]*BidderCount{}} },
	})
}

// q11Baseline keeps the latest session of every bidder and emits it when
// the bidder bids after its end, or at the end of input. Events come in
// order of time, so a session can only grow at its end.
type q11Baseline struct {
	sessions map[int64]*BidderCount
}

func (b *q11Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	gap := Q11Gap.Milliseconds()
	s := b.sessions[ev.Bid.Bidder]
	switch {
	case s == nil:
		b.sessions[ev.Bid.Bidder] = &BidderCount{Bidder: ev.Bid.Bidder, Bids: 1, Start: ts, End: ts + gap}
	case ts <= s.End:
		s.Bids++
		s.End = max(s.End, ts+gap)
	default:
		Add(h, d, *s)
		*s = BidderCount{Bidder: ev.Bid.Bidder, Bids: 1, Start: ts, End: ts + gap}
	}
}

func (b *q11Baseline) Finish(h *Hasher, d *Digest) {
	for _, s := range b.sessions {
		Add(h, d, *s)
	}
	clear(b.sessions)
}
