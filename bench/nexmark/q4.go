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

// q4AuctionState is the state of q4 for an auction that has arrived.
type q4AuctionState struct {
	Category, DateTime, Expires int64
	// Best is the highest price of the bids between the auction's start
	// and expiry, when Has is set.
	Best int64
	Has  bool
	// Closed tells that the auction expired (and its price was emitted).
	Closed bool
}

// bid counts b if it falls between the auction's start and expiry, and
// reports whether it raised the best price.
func (s *q4AuctionState) bid(b q4Bid) bool {
	if b.DateTime >= s.DateTime && b.DateTime <= s.Expires && (!s.Has || b.Price > s.Best) {
		s.Best, s.Has = b.Price, true
		return true
	}
	return false
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
//
// Its state is keyed, which checkpoints hold with the timers: a small
// ValueState per auction that has arrived, read by every bid, and a
// ListState of the bids that wait for an auction.
type q4Winners struct {
	auctions *operators.ValueState[int64, q4AuctionState]
	waiting  *operators.ListState[int64, q4Bid]
}

func (f *q4Winners) Open(ctx *operators.TaskContext) (err error) {
	if f.auctions, err = operators.NewValueState[int64, q4AuctionState](ctx, "auctions"); err != nil {
		return err
	}
	f.waiting, err = operators.NewListState[int64, q4Bid](ctx, "waiting")
	return err
}

func (f *q4Winners) ProcessElement1(ctx *operators.KeyedContext[int64], a q4Auction, _ operators.Collector[q4Winner]) error {
	s := q4AuctionState{Category: a.Category, DateTime: a.DateTime, Expires: a.Expires}
	if bs := f.waiting.Get(ctx); bs != nil {
		for _, b := range bs {
			s.bid(b)
		}
		f.waiting.Clear(ctx)
	}
	f.auctions.Set(ctx, s)
	ctx.TimerService().RegisterEventTimeTimer(a.Expires)
	return nil
}

func (f *q4Winners) ProcessElement2(ctx *operators.KeyedContext[int64], b q4Bid, _ operators.Collector[q4Winner]) error {
	s, ok := f.auctions.Get(ctx)
	switch {
	case !ok:
		f.waiting.Add(ctx, b)
		ctx.TimerService().RegisterEventTimeTimer(b.DateTime)
	case !s.Closed && s.bid(b):
		f.auctions.Set(ctx, s)
	}
	return nil
}

func (f *q4Winners) OnTimer(ctx *operators.OnTimerContext[int64], ts int64, out operators.Collector[q4Winner]) error {
	s, ok := f.auctions.Get(ctx)
	switch {
	case !ok:
		// Bids that waited for an auction that did not come in time.
		wm := ctx.CurrentWatermark()
		bs := f.waiting.Get(ctx)
		keep := bs[:0]
		for _, b := range bs {
			if b.DateTime > wm {
				keep = append(keep, b)
			}
		}
		f.waiting.Update(ctx, keep)
	case s.Closed:
		if ts >= s.Expires+q4ClosedRetention.Milliseconds() {
			f.auctions.Clear(ctx)
		}
	case ts >= s.Expires:
		// Earlier timers are those of bids that waited for the
		// auction: they do nothing.
		if s.Has {
			out.Collect(q4Winner{Category: s.Category, Price: s.Best})
		}
		s.Closed = true
		f.auctions.Set(ctx, s)
		ctx.TimerService().RegisterEventTimeTimer(s.Expires + q4ClosedRetention.Milliseconds())
	}
	return nil
}

// q4Final keeps the latest running sum of each category and emits it as a
// row when the input ends (the watermark reaches MaxWatermark).
type q4Final struct {
	last *operators.ValueState[int64, q4Sum]
}

func (f *q4Final) Open(ctx *operators.TaskContext) (err error) {
	f.last, err = operators.NewValueState[int64, q4Sum](ctx, "last")
	return err
}

func (f *q4Final) ProcessElement(ctx *operators.KeyedContext[int64], s q4Sum, _ operators.Collector[CategoryPrice]) error {
	f.last.Set(ctx, s)
	ctx.TimerService().RegisterEventTimeTimer(operators.MaxWatermark)
	return nil
}

func (f *q4Final) OnTimer(ctx *operators.OnTimerContext[int64], _ int64, out operators.Collector[CategoryPrice]) error {
	if s, ok := f.last.Get(ctx); ok {
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
// Checkpoints hold all of it: the functions keep their state in keyed
// ValueStates, with their timers, and the running sums are Reduce's.
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
					return &q4Winners{}
				})
			sums := stream.Reduce(stream.KeyBy(stream.Map(winners, "to-sum", func(w q4Winner) q4Sum {
				return q4Sum{Category: w.Category, Sum: w.Price, Count: 1}
			}), func(s q4Sum) int64 { return s.Category }), "average-per-category", func(acc, v q4Sum) (q4Sum, error) {
				acc.Sum += v.Sum
				acc.Count += v.Count
				return acc, nil
			})
			final := stream.KeyedProcess(stream.KeyBy(sums, func(s q4Sum) int64 { return s.Category }), "final-average",
				func() stream.KeyedProcessFunction[int64, q4Sum, CategoryPrice] { return &q4Final{} })
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
		s := &q4AuctionState{Category: a.Category, DateTime: a.DateTime, Expires: a.Expires}
		for _, p := range b.pending {
			if p.Auction == a.ID {
				s.bid(p)
			}
		}
		b.open[a.ID] = s
		heap.Push(&b.expiries, q4Auction{ID: a.ID, Expires: a.Expires})
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
	if !s.Has {
		return
	}
	c := b.sums[s.Category]
	if c == nil {
		c = &q4Sum{Category: s.Category}
		b.sums[s.Category] = c
	}
	c.Sum += s.Best
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
