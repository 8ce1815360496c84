package nexmark

import (
	"container/heap"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// CategoryPrice is a row of q4: the average winning price of the closed
// auctions of a category.
type CategoryPrice struct {
	Category int64
	// Auctions is the number of closed auctions of the category with at
	// least one bid between their start and expiry; Average the mean of
	// their winning prices in cents, truncated to a whole cent.
	Auctions int64
	Average  int64
}

// AppendCanonical implements Row.
func (x CategoryPrice) AppendCanonical(b []byte) []byte {
	return appendInt(appendInt(appendInt(b, x.Category), x.Auctions), x.Average)
}

// q4Auction is what q4 keeps of an auction.
type q4Auction struct {
	ID, Category, DateTime, Expires int64
}

// q4Bid is what q4 keeps of a bid.
type q4Bid struct {
	Auction, Price, DateTime int64
}

// q4Winner is the winning price of a closed auction.
type q4Winner struct {
	Category, Price int64
}

// q4Sum is the running sum and count of the winning prices of a category.
type q4Sum struct {
	Category, Sum, Count int64
}

func (s q4Sum) row() CategoryPrice {
	return CategoryPrice{Category: s.Category, Auctions: s.Count, Average: s.Sum / s.Count}
}

// q4ClosedRetention is how long after its expiry, in event time, the job
// remembers that an auction closed, so that the bids that still name it
// are dropped at once. Later ones wait as bids on an unknown auction
// until the watermark passes them: the retention saves work and state,
// the result does not depend on it.
const q4ClosedRetention = 10 * time.Second

// q4AuctionState is the state of q4 for one auction ID.
type q4AuctionState struct {
	auction q4Auction
	// known tells that the auction arrived, closed that it expired.
	known, closed bool
	// best is the highest price of the bids between the auction's start
	// and expiry, when has is set.
	best int64
	has  bool
	// pending are the bids that arrived before the auction.
	pending []q4Bid
}

// bid counts b if it falls between the auction's start and expiry.
func (s *q4AuctionState) bid(b q4Bid) {
	if b.DateTime >= s.auction.DateTime && b.DateTime <= s.auction.Expires && (!s.has || b.Price > s.best) {
		s.best, s.has = b.Price, true
	}
}

// q4Winners is q4's keyed co-process function: auctions on input 1, bids
// on input 2, both keyed by auction ID. An auction closes when the
// watermark reaches its expiry: every bid at or before the expiry has
// arrived then, as the watermark promises. It emits the highest price
// bid in its time, if any.
//
// A bid may arrive before its auction: the generator names auctions up to
// 10 ahead, and at parallelism above 1 the inputs interleave. Such a bid
// waits, with a timer at its own time: once the watermark passes it, an
// auction that could include it (one that starts no later than the bid)
// would have arrived, so it is dropped.
type q4Winners struct {
	auctions map[int64]*q4AuctionState
}

func (f *q4Winners) state(id int64) *q4AuctionState {
	s := f.auctions[id]
	if s == nil {
		s = &q4AuctionState{}
		f.auctions[id] = s
	}
	return s
}

func (f *q4Winners) ProcessElement1(ctx *operators.KeyedContext[int64], a q4Auction, _ operators.Collector[q4Winner]) error {
	s := f.state(a.ID)
	s.known, s.auction = true, a
	for _, b := range s.pending {
		s.bid(b)
	}
	s.pending = nil
	ctx.TimerService().RegisterEventTimeTimer(a.Expires)
	return nil
}

func (f *q4Winners) ProcessElement2(ctx *operators.KeyedContext[int64], b q4Bid, _ operators.Collector[q4Winner]) error {
	s := f.state(b.Auction)
	switch {
	case s.closed:
	case s.known:
		s.bid(b)
	default:
		s.pending = append(s.pending, b)
		ctx.TimerService().RegisterEventTimeTimer(b.DateTime)
	}
	return nil
}

func (f *q4Winners) OnTimer(ctx *operators.OnTimerContext[int64], ts int64, out operators.Collector[q4Winner]) error {
	id := ctx.Key()
	s := f.auctions[id]
	switch {
	case s == nil:
	case s.closed:
		if ts >= s.auction.Expires+q4ClosedRetention.Milliseconds() {
			delete(f.auctions, id)
		}
	case s.known:
		// Timers of bids that waited for the auction fire before its
		// expiry and do nothing.
		if ts >= s.auction.Expires {
			if s.has {
				out.Collect(q4Winner{Category: s.auction.Category, Price: s.best})
			}
			s.closed = true
			ctx.TimerService().RegisterEventTimeTimer(s.auction.Expires + q4ClosedRetention.Milliseconds())
		}
	default:
		wm := ctx.CurrentWatermark()
		keep := s.pending[:0]
		for _, b := range s.pending {
			if b.DateTime > wm {
				keep = append(keep, b)
			}
		}
		clear(s.pending[len(keep):])
		s.pending = keep
		if len(keep) == 0 {
			delete(f.auctions, id)
		}
	}
	return nil
}

// q4Final keeps the latest running sum of each category and emits it as a
// row when the input ends (the watermark reaches MaxWatermark).
type q4Final struct {
	last map[int64]q4Sum
}

func (f *q4Final) ProcessElement(ctx *operators.KeyedContext[int64], s q4Sum, _ operators.Collector[CategoryPrice]) error {
	f.last[s.Category] = s
	ctx.TimerService().RegisterEventTimeTimer(operators.MaxWatermark)
	return nil
}

func (f *q4Final) OnTimer(ctx *operators.OnTimerContext[int64], _ int64, out operators.Collector[CategoryPrice]) error {
	if s, ok := f.last[ctx.Key()]; ok {
		out.Collect(s.row())
	}
	return nil
}

// q4: average selling price by category. An auction's winning price is
// the highest price bid on it between its start and its expiry (both
// inclusive); the query is the average winning price per category over
// the auctions with at least one such bid. The standard's SQL:
//
//	SELECT Q.category, AVG(Q.final)
//	FROM (SELECT MAX(B.price) AS final, A.category
//	      FROM auction A, bid B
//	      WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//	      GROUP BY A.id, A.category) Q
//	GROUP BY Q.category
//
// As there, an auction wins with any bid: there is no reserve price test.
// The SQL emits every change of the averages; the result rows here are
// the final averages (CategoryPrice: the category, its number of auctions
// and the truncated mean), one per category, so that the digest does not
// depend on the order in which auctions close.
//
// The job: auctions and bids keyed by auction ID into a keyed co-process
// function (q4Winners) that emits an auction's winning price when the
// watermark reaches its expiry (an event-time timer); the winning prices
// keyed by category into a running sum and count (stream.Reduce), and its
// updates into a keyed function that keeps the latest per category and
// emits it at the end of input (a timer at MaxWatermark). Auctions that
// have not expired when the input ends close then.
//
// Checkpoints: the co-process and the final function keep their state in
// their own fields, which Strom does not checkpoint yet; their timers and
// the running sums are checkpointed. Checkpoints complete, but a restored
// job would have lost open auctions: q4 is not exactly-once across
// failures. The bench never restores.
func init() {
	Register(Query{
		Name:        "q4",
		Description: "average selling price by category: mean winning bid of closed auctions per category",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			auctions := stream.Map(stream.Filter(events, "auctions", func(e Event) bool { return e.Kind == KindAuction }),
				"auction", func(e Event) q4Auction {
					a := e.Auction
					return q4Auction{ID: a.ID, Category: a.Category, DateTime: a.DateTime, Expires: a.Expires}
				})
			bids := stream.Map(stream.Filter(events, "bids", Event.IsBid), "bid", func(e Event) q4Bid {
				return q4Bid{Auction: e.Bid.Auction, Price: e.Bid.Price, DateTime: e.Bid.DateTime}
			})
			winners := stream.KeyedCoProcess(stream.ConnectKeyed(
				stream.KeyBy(auctions, func(a q4Auction) int64 { return a.ID }),
				stream.KeyBy(bids, func(b q4Bid) int64 { return b.Auction })),
				"winning-bids", func() stream.KeyedCoProcessFunction[int64, q4Auction, q4Bid, q4Winner] {
					return &q4Winners{auctions: map[int64]*q4AuctionState{}}
				})
			sums := stream.Reduce(stream.KeyBy(stream.Map(winners, "to-sum", func(w q4Winner) q4Sum {
				return q4Sum{Category: w.Category, Sum: w.Price, Count: 1}
			}), func(s q4Sum) int64 { return s.Category }), "average-per-category", func(acc, v q4Sum) (q4Sum, error) {
				acc.Sum += v.Sum
				acc.Count += v.Count
				return acc, nil
			})
			final := stream.KeyedProcess(stream.KeyBy(sums, func(s q4Sum) int64 { return s.Category }), "final-average",
				func() stream.KeyedProcessFunction[int64, q4Sum, CategoryPrice] {
					return &q4Final{last: map[int64]q4Sum{}}
				})
			Blackhole(final, out)
		},
		NewBaseline: func() Baseline {
			return &q4Baseline{open: map[int64]*q4AuctionState{}, sums: map[int64]*q4Sum{}}
		},
	})
}

// q4Baseline keeps the open auctions with their best bid and a heap of
// their expiries; an auction closes once event time passes its expiry.
// Events come in order of time, so a bid on an auction not yet seen can
// only match an auction of the same millisecond, and waits only that long.
type q4Baseline struct {
	open      map[int64]*q4AuctionState
	expiries  q4Expiries
	pending   []q4Bid
	pendingTs int64
	sums      map[int64]*q4Sum
}

func (b *q4Baseline) Process(ev *Event, ts int64, _ *Hasher, _ *Digest) {
	for len(b.expiries) > 0 && b.expiries[0].Expires < ts {
		b.close(heap.Pop(&b.expiries).(q4Auction).ID)
	}
	if ts > b.pendingTs {
		b.pending, b.pendingTs = b.pending[:0], ts
	}
	switch ev.Kind {
	case KindAuction:
		a := ev.Auction
		s := &q4AuctionState{auction: q4Auction{ID: a.ID, Category: a.Category, DateTime: a.DateTime, Expires: a.Expires}, known: true}
		for _, p := range b.pending {
			if p.Auction == a.ID {
				s.bid(p)
			}
		}
		b.open[a.ID] = s
		heap.Push(&b.expiries, s.auction)
	case KindBid:
		bid := q4Bid{Auction: ev.Bid.Auction, Price: ev.Bid.Price, DateTime: ev.Bid.DateTime}
		if s := b.open[bid.Auction]; s != nil {
			s.bid(bid)
		} else {
			b.pending = append(b.pending, bid)
		}
	}
}

func (b *q4Baseline) close(id int64) {
	s := b.open[id]
	delete(b.open, id)
	if !s.has {
		return
	}
	c := b.sums[s.auction.Category]
	if c == nil {
		c = &q4Sum{Category: s.auction.Category}
		b.sums[s.auction.Category] = c
	}
	c.Sum += s.best
	c.Count++
}

func (b *q4Baseline) Finish(h *Hasher, d *Digest) {
	for len(b.expiries) > 0 {
		b.close(heap.Pop(&b.expiries).(q4Auction).ID)
	}
	for _, s := range b.sums {
		Add(h, d, s.row())
	}
}

// q4Expiries is a min-heap of auctions by expiry.
type q4Expiries []q4Auction

func (h q4Expiries) Len() int           { return len(h) }
func (h q4Expiries) Less(i, j int) bool { return h[i].Expires < h[j].Expires }
func (h q4Expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *q4Expiries) Push(x any)        { *h = append(*h, x.(q4Auction)) }
func (h *q4Expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
