package nexmark

import (
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

// HighestBid is a row of q7: a bid whose price is the highest of its
// tumbling window, with the fields the standard selects.
type HighestBid struct {
	Auction  int64
	Price    int64
	Bidder   int64
	DateTime int64
	Extra    string
}

// AppendCanonical implements Row.
func (x HighestBid) AppendCanonical(b []byte) []byte {
	b = appendInt(b, x.Auction)
	b = appendInt(b, x.Price)
	b = appendInt(b, x.Bidder)
	b = appendInt(b, x.DateTime)
	return appendString(b, x.Extra)
}

// Q7Window is the size of q7's tumbling windows.
const Q7Window = 10 * time.Second

// q7Max is the highest price of a window, keyed by auction in the first
// stage and by window in the second.
type q7Max struct {
	WindowStart int64
	Price       int64
}

var q7MaxPrice = window.Aggregate[int64, int64, int64]{
	Create:     func() int64 { return -1 },
	Accumulate: func(v, acc int64) int64 { return max(v, acc) },
	Result:     func(acc int64) int64 { return acc },
	Combine:    func(a, b int64) int64 { return max(a, b) },
}

var q7MaxOfMax = window.Aggregate[q7Max, int64, int64]{
	Create:     func() int64 { return -1 },
	Accumulate: func(v q7Max, acc int64) int64 { return max(v.Price, acc) },
	Result:     func(acc int64) int64 { return acc },
	Combine:    func(a, b int64) int64 { return max(a, b) },
}

func toHighestBid(e Event) HighestBid {
	return HighestBid{Auction: e.Bid.Auction, Price: e.Bid.Price, Bidder: e.Bid.Bidder, DateTime: e.Bid.DateTime, Extra: e.Bid.Extra}
}

// q7: highest bid. The bids whose price is the highest of their tumbling
// 10 s window of event time. The standard's SQL joins the bids with the
// maximum price of each window:
//
//	SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
//	FROM bid B
//	JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime
//	      FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//	      GROUP BY window_start, window_end) B1
//	ON B.price = B1.maxprice
//	WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime
//
// Here a bid is matched with the maximum of its own window [start, end):
// the SQL's BETWEEN would also match a bid at exactly window_end (which
// belongs to the next window) that has the earlier window's top price.
// Rows: HighestBid, one per bid at the top price (ties give several).
//
// The job: the maximum in two stages (bids keyed by auction into tumbling
// windows, then the per-auction maxima keyed by window start), and a
// tumbling-window join of the bids with the window maxima on price, as
// the SQL's equi-join. Before the join, each subtask drops the bids that
// cannot be at the top of their window: those below a price it already
// saw in the same window (q7Candidates). This is the plan a cost-based
// optimizer would pick, and it changes no row: a bid below another bid of
// its window never equals the window's maximum. Without it the join holds
// every bid of an open window under its own price.
func init() {
	Register(Query{
		Name:        "q7",
		Description: "highest bid: the bids with the top price of each 10s tumbling window",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Map(stream.Filter(events, "bids", Event.IsBid), "bid-row", toHighestBid)
			perAuction := stream.WindowAggregateProcess(
				stream.Window(stream.KeyBy(bids, func(b HighestBid) int64 { return b.Auction }), window.TumblingEventTime(Q7Window)),
				"max-per-auction",
				window.Aggregate[HighestBid, int64, int64]{
					Create:     q7MaxPrice.Create,
					Accumulate: func(b HighestBid, acc int64) int64 { return max(b.Price, acc) },
					Result:     q7MaxPrice.Result,
					Combine:    q7MaxPrice.Combine,
				},
				window.ProcessFunc[int64, int64, q7Max](func(ctx *window.Context[int64], p []int64, out operators.Collector[q7Max]) error {
					out.Collect(q7Max{WindowStart: ctx.Window().Start, Price: p[0]})
					return nil
				}))
			top := stream.WindowAggregateProcess(
				stream.Window(stream.KeyBy(perAuction, func(m q7Max) int64 { return m.WindowStart }), window.TumblingEventTime(Q7Window)),
				"max-price", q7MaxOfMax,
				window.ProcessFunc[int64, int64, q7Max](func(ctx *window.Context[int64], p []int64, out operators.Collector[q7Max]) error {
					out.Collect(q7Max{WindowStart: ctx.Key(), Price: p[0]})
					return nil
				}))
			candidates := stream.ProcessStream(bids, "top-candidates", func() stream.ProcessFunction[HighestBid, HighestBid] { return &q7Candidates{} })
			joined := stream.JoinWindow(candidates, top, "bids-at-max",
				func(b HighestBid) int64 { return b.Price }, func(m q7Max) int64 { return m.Price },
				stream.TumblingJoinWindows(Q7Window),
				func(b HighestBid, _ q7Max) HighestBid { return b })
			Blackhole(joined, out)
		},
		NewBaseline: func() Baseline { return &q7Baseline{start: -1} },
	})
}

// q7Candidates passes on the bids whose price is at least the highest
// price the subtask saw before in the bid's window: the only ones that may
// be the window's top bid. It keeps the highest price of the few latest
// windows (bids are at most WatermarkLag out of order, well under a
// window). The state is a filter, not a result: after a restore it starts
// empty and passes more bids, which changes no row, so it is not
// checkpointed.
type q7Candidates struct {
	// starts and best are the latest windows' starts and highest prices,
	// newest last.
	starts, best [q7CandidateWindows]int64
	n            int
}

// q7CandidateWindows is how many windows q7Candidates remembers.
const q7CandidateWindows = 4

func (f *q7Candidates) ProcessElement(ctx *operators.ProcessContext, b HighestBid, out operators.Collector[HighestBid]) error {
	s := window.StartOf(ctx.Timestamp(), 0, Q7Window.Milliseconds())
	for i := f.n - 1; i >= 0; i-- {
		if f.starts[i] == s {
			if b.Price >= f.best[i] {
				f.best[i] = b.Price
				out.Collect(b)
			}
			return nil
		}
	}
	// A window not remembered: pass the bid, and remember the window if
	// it is newer than the oldest remembered.
	out.Collect(b)
	if f.n == q7CandidateWindows {
		if s < f.starts[0] {
			return nil
		}
		copy(f.starts[:], f.starts[1:])
		copy(f.best[:], f.best[1:])
		f.n--
	}
	i := f.n
	for i > 0 && f.starts[i-1] > s {
		f.starts[i], f.best[i] = f.starts[i-1], f.best[i-1]
		i--
	}
	f.starts[i], f.best[i] = s, b.Price
	f.n++
	return nil
}

// q7Baseline keeps the top price of the current window and the bids that
// have it, and emits them when event time leaves the window.
type q7Baseline struct {
	start int64
	price int64
	top   []HighestBid
}

func (b *q7Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	if s := window.StartOf(ts, 0, Q7Window.Milliseconds()); s != b.start {
		b.Finish(h, d)
		b.start, b.price, b.top = s, -1, b.top[:0]
	}
	switch p := ev.Bid.Price; {
	case p > b.price:
		b.price, b.top = p, append(b.top[:0], toHighestBid(*ev))
	case p == b.price:
		b.top = append(b.top, toHighestBid(*ev))
	}
}

func (b *q7Baseline) Finish(h *Hasher, d *Digest) {
	for _, r := range b.top {
		Add(h, d, r)
	}
	b.top = b.top[:0]
}
