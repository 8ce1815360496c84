package nexmark

import "github.com/stromhq/strom/stream"

// AuctionPrice is a row of q2: an auction and a price bid on it.
type AuctionPrice struct {
	Auction int64
	Price   int64
}

// AppendCanonical implements Row.
func (x AuctionPrice) AppendCanonical(b []byte) []byte {
	return appendInt(appendInt(b, x.Auction), x.Price)
}

// Q2Modulus selects q2's auctions: those whose ID is a multiple of it.
const Q2Modulus = 123

func q2Keep(e Event) bool { return e.Kind == KindBid && e.Bid.Auction%Q2Modulus == 0 }

// q2: selection, a filter over bids. The original Nexmark query selects a
// fixed list of auction IDs; like the Beam and Flink suites this one keeps
// the bids on every auction whose ID is a multiple of Q2Modulus:
//
//	SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
//
// (rows: AuctionPrice). About 1 bid in 123 passes.
func init() {
	Register(Query{
		Name:        "q2",
		Description: "selection: the bids on auctions whose ID is a multiple of 123",
		Build: func(events *stream.DataStream[Event], out *Results) {
			kept := stream.Filter(events, "auction-mod-123", q2Keep)
			Blackhole(stream.Map(kept, "auction-price", func(e Event) AuctionPrice {
				return AuctionPrice{Auction: e.Bid.Auction, Price: e.Bid.Price}
			}), out)
		},
		NewBaseline: func() Baseline {
			return statelessBaseline(func(ev *Event, _ int64, h *Hasher, d *Digest) {
				if ev.Kind == KindBid && ev.Bid.Auction%Q2Modulus == 0 {
					Add(h, d, AuctionPrice{Auction: ev.Bid.Auction, Price: ev.Bid.Price})
				}
			})
		},
	})
}
