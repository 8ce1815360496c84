package nexmark

import (
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// AuctionBid is a row of q20: a bid joined with its auction, of category
// Q20Category.
type AuctionBid struct {
	Bid     Bid
	Auction Auction
}

// AppendCanonical implements Row: the bid's fields, then the auction's
// but its ID (the bid's Auction), as the standard's SELECT.
func (x AuctionBid) AppendCanonical(b []byte) []byte {
	b = x.Bid.AppendCanonical(b)
	a := &x.Auction
	b = appendString(b, a.ItemName)
	b = appendString(b, a.Description)
	b = appendInt(b, a.InitialBid)
	b = appendInt(b, a.Reserve)
	b = appendInt(b, a.DateTime)
	b = appendInt(b, a.Expires)
	b = appendInt(b, a.Seller)
	b = appendInt(b, a.Category)
	return appendString(b, a.Extra)
}

// Q20Category is the category of q20's auctions.
const Q20Category = 10

// q20Join is the state of q20 for one auction ID: the keyed state of the
// Strom job, a map entry of the baseline.
type q20Join struct {
	// Seen tells that the auction has arrived, Match that it is of
	// Q20Category (and then Auction is set).
	Seen, Match bool
	Auction     Auction
	// Pending are the bids that arrived before the auction.
	Pending []Bid
}

// auction records that a arrived and joins the bids that waited for it;
// of an auction of another category only the mark stays.
func (s *q20Join) auction(a *Auction, emit func(AuctionBid)) {
	s.Seen, s.Match = true, a.Category == Q20Category
	if s.Match {
		s.Auction = *a
		for _, b := range s.Pending {
			emit(AuctionBid{Bid: b, Auction: *a})
		}
	}
	s.Pending = nil
}

// bid joins b with the auction, or keeps it until the auction arrives; it
// reports whether s changed.
func (s *q20Join) bid(b *Bid, emit func(AuctionBid)) bool {
	switch {
	case s.Match:
		emit(AuctionBid{Bid: *b, Auction: s.Auction})
	case !s.Seen:
		s.Pending = append(s.Pending, *b)
		return true
	}
	return false
}

// q20Function is the keyed co-process function of q20: auctions on input
// 1, bids on input 2, both keyed by auction ID, with a keyed ValueState
// per auction ID that checkpoints hold.
type q20Function struct {
	joins *operators.ValueState[int64, q20Join]
}

func (f *q20Function) Open(ctx *operators.TaskContext) (err error) {
	f.joins, err = operators.NewValueState[int64, q20Join](ctx, "joins")
	return err
}

func (f *q20Function) ProcessElement1(ctx *operators.KeyedContext[int64], a Auction, out operators.Collector[AuctionBid]) error {
	s, _ := f.joins.Get(ctx)
	s.auction(&a, out.Collect)
	f.joins.Set(ctx, s)
	return nil
}

func (f *q20Function) ProcessElement2(ctx *operators.KeyedContext[int64], b Bid, out operators.Collector[AuctionBid]) error {
	s, _ := f.joins.Get(ctx)
	if s.bid(&b, out.Collect) {
		f.joins.Set(ctx, s)
	}
	return nil
}

// q20: expand bid with auction. Every bid on an auction of category 10,
// with the auction's fields. The standard's SQL:
//
//	SELECT auction, bidder, price, channel, url, B.dateTime, B.extra,
//	       itemName, description, initialBid, reserve, A.dateTime, expires, seller, category, A.extra
//	FROM bid AS B INNER JOIN auction AS A ON B.auction = A.id
//	WHERE A.category = 10
//
// (rows: AuctionBid), an incremental join without windows as q3: a row is
// emitted as soon as a bid and its auction are both there; a bid that
// arrives before its auction (the generator names auctions up to 10
// ahead) waits for it.
//
// The job: auctions and bids keyed by auction ID into a keyed co-process
// function that keeps, per auction ID, whether the auction arrived, the
// auction when it is of category 10, and the bids waiting for it. Other
// auctions are kept as a mark so that their bids are dropped at once; as
// the SQL join keeps every auction, the state grows by an entry per
// auction. Every auction goes to the join, not only those of category 10,
// as the filter is on the joined rows; pushing it below the join would
// leave the bids on other auctions waiting for ever.
func init() {
	Register(Query{
		Name:        "q20",
		Description: "expand bid with auction: bids joined with their auction of category 10",
		Stateful:    true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			auctions := stream.Map(stream.Filter(events, "auctions", func(e Event) bool { return e.Kind == KindAuction }),
				"auction", func(e Event) Auction { return *e.Auction })
			joined := stream.KeyedCoProcess(stream.ConnectKeyed(
				stream.KeyBy(auctions, func(a Auction) int64 { return a.ID }),
				stream.KeyBy(Bids(events), func(b Bid) int64 { return b.Auction })),
				"join-auctions", func() stream.KeyedCoProcessFunction[int64, Auction, Bid, AuctionBid] {
					return &q20Function{}
				})
			Blackhole(joined, out)
		},
		NewBaseline: func() Baseline { return &q20Baseline{joins: map[int64]*q20Join{}} },
	})
}

// q20Baseline keeps the state of every auction ID in a map.
type q20Baseline struct {
	joins map[int64]*q20Join
	h     *Hasher
	d     *Digest
	emit  func(AuctionBid)
}

func (b *q20Baseline) join(id int64) *q20Join {
	s := b.joins[id]
	if s == nil {
		s = &q20Join{}
		b.joins[id] = s
	}
	return s
}

func (b *q20Baseline) Process(ev *Event, _ int64, h *Hasher, d *Digest) {
	if b.emit == nil {
		b.emit = func(r AuctionBid) { Add(b.h, b.d, r) }
	}
	b.h, b.d = h, d
	switch ev.Kind {
	case KindAuction:
		b.join(ev.Auction.ID).auction(ev.Auction, b.emit)
	case KindBid:
		b.join(ev.Bid.Auction).bid(&ev.Bid, b.emit)
	}
}

func (*q20Baseline) Finish(*Hasher, *Digest) {}
