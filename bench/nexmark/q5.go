package nexmark

import (
	"slices"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

// HotItem is a row of q5: an auction with the most bids of a sliding
// window, and their number.
type HotItem struct {
	// WindowStart is the start of the window [WindowStart,
	// WindowStart+Q5Size), Unix milliseconds.
	WindowStart int64
	Auction     int64
	Bids        int64
}

// AppendCanonical implements Row.
func (x HotItem) AppendCanonical(b []byte) []byte {
	return appendInt(appendInt(appendInt(b, x.WindowStart), x.Auction), x.Bids)
}

// The sliding windows of q5.
const (
	Q5Size  = 10 * time.Second
	Q5Slide = 2 * time.Second
)

// q5Count is the number of bids on one auction in one window.
type q5Count struct {
	WindowStart int64
	Auction     int64
	Bids        int64
}

// q5Max is the largest count of a window and the auctions that have it.
type q5Max struct {
	Bids     int64
	Auctions []int64
}

// q5Top keeps the auctions with the largest count. It never modifies the
// slices of its arguments in place (slices.Clip makes append copy), so
// accumulators may be shared as AggregateFunction asks.
var q5Top = window.Aggregate[q5Count, q5Max, q5Max]{
	Create: func() q5Max { return q5Max{} },
	Accumulate: func(v q5Count, acc q5Max) q5Max {
		switch {
		case v.Bids > acc.Bids:
			return q5Max{Bids: v.Bids, Auctions: []int64{v.Auction}}
		case v.Bids == acc.Bids:
			acc.Auctions = append(slices.Clip(acc.Auctions), v.Auction)
		}
		return acc
	},
	Result: func(acc q5Max) q5Max { return acc },
	Combine: func(a, b q5Max) q5Max {
		switch {
		case b.Bids > a.Bids:
			return q5Max{Bids: b.Bids, Auctions: slices.Clone(b.Auctions)}
		case b.Bids == a.Bids:
			a.Auctions = append(slices.Clip(a.Auctions), b.Auctions...)
		}
		return a
	},
}

var q5CountBids = window.Aggregate[int64, int64, int64]{
	Create:     func() int64 { return 0 },
	Accumulate: func(_ int64, n int64) int64 { return n + 1 },
	Result:     func(n int64) int64 { return n },
	Combine:    func(a, b int64) int64 { return a + b },
}

// q5: hot items. Every 2 seconds, the auctions with the most bids over the
// last 10 seconds of event time. The standard's SQL counts the bids per
// auction in HOP windows (slide 2 s, size 10 s) and joins the counts with
// the maximum count of their window:
//
//	SELECT AuctionBids.auction, AuctionBids.num
//	FROM (SELECT auction, count(*) AS num, window_start AS starttime, ...
//	      FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//	      GROUP BY auction, window_start, window_end) AS AuctionBids
//	JOIN (SELECT max(CountBids.num) AS maxn, CountBids.starttime, ...
//	      FROM (...the same counts...) AS CountBids
//	      GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids
//	ON AuctionBids.starttime = MaxBids.starttime AND ... AND AuctionBids.num >= MaxBids.maxn
//
// Rows (HotItem) also name the window's start; ties give a row each.
//
// The job: bids keyed by auction into sliding windows, counted
// incrementally (panes); each count, stamped with its window's last
// millisecond, goes keyed by window start into a tumbling 2 s window,
// which holds exactly that sliding window's counts and keeps the largest
// and the auctions that have it.
func init() {
	Register(Query{
		Name:        "q5",
		Description: "hot items: the auctions with the most bids in each 10s window sliding by 2s",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Filter(events, "bids", Event.IsBid)
			auctions := stream.Map(bids, "bid-auction", func(e Event) int64 { return e.Bid.Auction })
			counts := stream.WindowAggregateProcess(
				stream.Window(stream.KeyBy(auctions, func(a int64) int64 { return a }), window.SlidingEventTime(Q5Size, Q5Slide)),
				"count-bids", q5CountBids,
				window.ProcessFunc[int64, int64, q5Count](func(ctx *window.Context[int64], n []int64, out operators.Collector[q5Count]) error {
					out.Collect(q5Count{WindowStart: ctx.Window().Start, Auction: ctx.Key(), Bids: n[0]})
					return nil
				}))
			top := stream.WindowAggregateProcess(
				stream.Window(stream.KeyBy(counts, func(c q5Count) int64 { return c.WindowStart }), window.TumblingEventTime(Q5Slide)),
				"max-count", q5Top,
				window.ProcessFunc[int64, q5Max, HotItem](func(ctx *window.Context[int64], m []q5Max, out operators.Collector[HotItem]) error {
					for _, a := range m[0].Auctions {
						out.Collect(HotItem{WindowStart: ctx.Key(), Auction: a, Bids: m[0].Bids})
					}
					return nil
				}))
			Blackhole(top, out)
		},
		NewBaseline: func() Baseline { return &q5Baseline{panes: map[int64]map[int64]int64{}} },
	})
}

// q5Baseline counts bids per auction in panes of one slide and, once
// event time has passed a window, adds up its panes.
type q5Baseline struct {
	// panes holds the counts per auction of each pane (start / slide)
	// that a window still to emit covers.
	panes map[int64]map[int64]int64
	// cur is the pane of the latest bid, next the first pane of the next
	// window to emit.
	cur, next int64
	started   bool
	sum       map[int64]int64
	top       []int64
}

const (
	q5Slide = int64(Q5Slide / time.Millisecond)
	q5Panes = int64(Q5Size / Q5Slide)
)

func (b *q5Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	p := window.StartOf(ts, 0, q5Slide) / q5Slide
	if !b.started {
		b.started, b.cur, b.next = true, p, p-q5Panes+1
	}
	if p > b.cur {
		// Windows ending at or before pane p's start are complete.
		b.emit(p-q5Panes, h, d)
		b.cur = p
	}
	c := b.panes[p]
	if c == nil {
		c = map[int64]int64{}
		b.panes[p] = c
	}
	c[ev.Bid.Auction]++
}

// emit emits the windows whose first pane is b.next .. last.
func (b *q5Baseline) emit(last int64, h *Hasher, d *Digest) {
	if b.sum == nil {
		b.sum = map[int64]int64{}
	}
	for w := b.next; w <= last; w++ {
		clear(b.sum)
		for p := w; p < w+q5Panes; p++ {
			for a, n := range b.panes[p] {
				b.sum[a] += n
			}
		}
		var most int64
		b.top = b.top[:0]
		for a, n := range b.sum {
			switch {
			case n > most:
				most, b.top = n, append(b.top[:0], a)
			case n == most:
				b.top = append(b.top, a)
			}
		}
		for _, a := range b.top {
			Add(h, d, HotItem{WindowStart: w * q5Slide, Auction: a, Bids: most})
		}
		delete(b.panes, w)
	}
	b.next = max(b.next, last+1)
}

func (b *q5Baseline) Finish(h *Hasher, d *Digest) {
	if b.started {
		b.emit(b.cur, h, d)
	}
}
