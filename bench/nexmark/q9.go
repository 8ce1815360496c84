package nexmark

import (
	"cmp"
	"container/heap"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// WinningBid is a row of q9: an auction and its winning bid, the highest
// bid between the auction's start and expiry.
type WinningBid struct {
	Auction Auction
	// Bid is the winning bid; of equal prices the earliest wins (see
	// bidBefore).
	Bid Bid
}

// AppendCanonical implements Row: the auction's fields, then the bid's
// auction, bidder, price, dateTime and extra, as the standard's SELECT.
func (x WinningBid) AppendCanonical(b []byte) []byte {
	b = x.Auction.AppendCanonical(b)
	b = appendInt(b, x.Bid.Auction)
	b = appendInt(b, x.Bid.Bidder)
	b = appendInt(b, x.Bid.Price)
	b = appendInt(b, x.Bid.DateTime)
	return appendString(b, x.Bid.Extra)
}

// bidBefore reports whether bid a ranks before bid b: a higher price, then
// an earlier time (the order of q9's and q19's ROW_NUMBER), then, to make
// the order total so that rows do not depend on arrival order, a lower
// bidder and the channel, URL and extra in byte order.
func bidBefore(a, b *Bid) bool {
	if a.Price != b.Price {
		return a.Price > b.Price
	}
	return cmp.Or(cmp.Compare(a.DateTime, b.DateTime), cmp.Compare(a.Bidder, b.Bidder),
		cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.URL, b.URL), cmp.Compare(a.Extra, b.Extra)) < 0
}

// q9Auction is the state of q9 for an auction that has arrived.
type q9Auction struct {
	Auction Auction
	// Best is the best bid between the auction's start and expiry, when
	// Has is set.
	Best Bid
	Has  bool
	// Closed tells that the auction expired (and its row was emitted).
	Closed bool
}

// bid counts b if it falls between the auction's start and expiry, and
// reports whether it became the best bid.
func (s *q9Auction) bid(b *Bid) bool {
	if b.DateTime >= s.Auction.DateTime && b.DateTime <= s.Auction.Expires && (!s.Has || bidBefore(b, &s.Best)) {
		s.Best, s.Has = *b, true
		return true
	}
	return false
}

// q9Winners is q9's keyed co-process function, auctions on input 1 and
// bids on input 2, keyed by auction ID: q4Winners with the whole auction
// and bid. An auction closes when the watermark reaches its expiry and
// emits its best bid; a bid that arrives before its auction waits for it
// until the watermark passes the bid's time.
type q9Winners struct {
	auctions *operators.ValueState[int64, q9Auction]
	waiting  *operators.ListState[int64, Bid]
}

func (f *q9Winners) Open(ctx *operators.TaskContext) (err error) {
	if f.auctions, err = operators.NewValueState[int64, q9Auction](ctx, "auctions"); err != nil {
		return err
	}
	f.waiting, err = operators.NewListState[int64, Bid](ctx, "waiting")
	return err
}

func (f *q9Winners) ProcessElement1(ctx *operators.KeyedContext[int64], a Auction, _ operators.Collector[WinningBid]) error {
	s := q9Auction{Auction: a}
	if bs := f.waiting.Get(ctx); bs != nil {
		for i := range bs {
			s.bid(&bs[i])
		}
		f.waiting.Clear(ctx)
	}
	f.auctions.Set(ctx, s)
	ctx.TimerService().RegisterEventTimeTimer(a.Expires)
	return nil
}

func (f *q9Winners) ProcessElement2(ctx *operators.KeyedContext[int64], b Bid, _ operators.Collector[WinningBid]) error {
	s, ok := f.auctions.Get(ctx)
	switch {
	case !ok:
		f.waiting.Add(ctx, b)
		ctx.TimerService().RegisterEventTimeTimer(b.DateTime)
	case !s.Closed && s.bid(&b):
		f.auctions.Set(ctx, s)
	}
	return nil
}

func (f *q9Winners) OnTimer(ctx *operators.OnTimerContext[int64], ts int64, out operators.Collector[WinningBid]) error {
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
		if ts >= s.Auction.Expires+q4ClosedRetention.Milliseconds() {
			f.auctions.Clear(ctx)
		}
	case ts >= s.Auction.Expires:
		if s.Has {
			out.Collect(WinningBid{Auction: s.Auction, Bid: s.Best})
		}
		// Keep only the mark that the auction closed.
		f.auctions.Set(ctx, q9Auction{Auction: Auction{Expires: s.Auction.Expires}, Closed: true})
		ctx.TimerService().RegisterEventTimeTimer(s.Auction.Expires + q4ClosedRetention.Milliseconds())
	}
	return nil
}

// q9: winning bids. Every auction with its winning bid: the highest bid
// between its start and expiry, the earliest of equal ones. The
// standard's SQL:
//
//	SELECT id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra,
//	       auction, bidder, price, bid_dateTime, bid_extra
//	FROM (SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
//	             ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum
//	      FROM auction A, bid B
//	      WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires)
//	WHERE rownum <= 1
//
// (rows: WinningBid). The SQL updates an auction's row with every better
// bid; the row here is the final one, emitted when the auction expires
// (the watermark reaches its expiry), so that rows do not depend on
// arrival order, and bids of equal price and time are ordered further by
// bidBefore. Auctions without a bid in their time have no row.
//
// The job: q4's first stage with whole records: auctions and bids keyed
// by auction ID into a keyed co-process function (q9Winners) whose keyed
// state, an auction with its best bid and the bids waiting for their
// auction, checkpoints hold with its timers.
func init() {
	Register(Query{
		Name:        "q9",
		Description: "winning bids: every auction with its highest bid between start and expiry",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			auctions := stream.Map(stream.Filter(events, "auctions", func(e Event) bool { return e.Kind == KindAuction }),
				"auction", func(e Event) Auction { return *e.Auction })
			winners := stream.KeyedCoProcess(stream.ConnectKeyed(
				stream.KeyBy(auctions, func(a Auction) int64 { return a.ID }),
				stream.KeyBy(Bids(events), func(b Bid) int64 { return b.Auction })),
				"winning-bids", func() stream.KeyedCoProcessFunction[int64, Auction, Bid, WinningBid] {
					return &q9Winners{}
				})
			Blackhole(winners, out)
		},
		NewBaseline: func() Baseline { return &q9Baseline{open: map[int64]*q9Auction{}} },
	})
}

// q9Baseline is q4Baseline with whole records: the open auctions with
// their best bid and a heap of their expiries.
type q9Baseline struct {
	open      map[int64]*q9Auction
	expiries  q4Expiries
	pending   []Bid
	pendingTs int64
}

func (b *q9Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	for len(b.expiries) > 0 && b.expiries[0].Expires < ts {
		b.close(heap.Pop(&b.expiries).(q4Auction).ID, h, d)
	}
	if ts > b.pendingTs {
		b.pending, b.pendingTs = b.pending[:0], ts
	}
	switch ev.Kind {
	case KindAuction:
		s := &q9Auction{Auction: *ev.Auction}
		for i := range b.pending {
			if b.pending[i].Auction == s.Auction.ID {
				s.bid(&b.pending[i])
			}
		}
		b.open[s.Auction.ID] = s
		heap.Push(&b.expiries, q4Auction{ID: s.Auction.ID, Expires: s.Auction.Expires})
	case KindBid:
		if s := b.open[ev.Bid.Auction]; s != nil {
			s.bid(&ev.Bid)
		} else {
			b.pending = append(b.pending, ev.Bid)
		}
	}
}

func (b *q9Baseline) close(id int64, h *Hasher, d *Digest) {
	s := b.open[id]
	delete(b.open, id)
	if s.Has {
		Add(h, d, WinningBid{Auction: s.Auction, Bid: s.Best})
	}
}

func (b *q9Baseline) Finish(h *Hasher, d *Digest) {
	for len(b.expiries) > 0 {
		b.close(heap.Pop(&b.expiries).(q4Auction).ID, h, d)
	}
}
