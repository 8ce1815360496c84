package nexmark

import "github.com/stromhq/strom/stream"

// EuroBid is a row of q1: a bid with its price in euro cents.
type EuroBid struct {
	Auction int64
	Bidder  int64
	// Price is in euro cents: ToEuroCents of the bid's price.
	Price    int64
	DateTime int64
	Extra    string
}

// AppendCanonical implements Row.
func (x EuroBid) AppendCanonical(b []byte) []byte {
	b = appendInt(b, x.Auction)
	b = appendInt(b, x.Bidder)
	b = appendInt(b, x.Price)
	b = appendInt(b, x.DateTime)
	return appendString(b, x.Extra)
}

// ToEuroCents converts a price in dollar cents to euro cents at the
// standard's rate of 0.908, rounding halves up: (cents·908 + 500) / 1000
// in integer arithmetic, for cents ≥ 0.
func ToEuroCents(cents int64) int64 { return (cents*908 + 500) / 1000 }

func toEuroBid(e Event) EuroBid {
	return EuroBid{Auction: e.Bid.Auction, Bidder: e.Bid.Bidder, Price: ToEuroCents(e.Bid.Price), DateTime: e.Bid.DateTime, Extra: e.Bid.Extra}
}

// q1: currency conversion, a map over bids. The standard's SQL:
//
//	SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid
//
// The price stays in integer cents (rows: EuroBid).
func init() {
	Register(Query{
		Name:        "q1",
		Description: "currency conversion: every bid with its price in euros",
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Filter(events, "bids", Event.IsBid)
			Blackhole(stream.Map(bids, "to-euro", toEuroBid), out)
		},
		NewBaseline: func() Baseline {
			return statelessBaseline(func(ev *Event, _ int64, h *Hasher, d *Digest) {
				if ev.Kind == KindBid {
					Add(h, d, EuroBid{Auction: ev.Bid.Auction, Bidder: ev.Bid.Bidder, Price: ToEuroCents(ev.Bid.Price), DateTime: ev.Bid.DateTime, Extra: ev.Bid.Extra})
				}
			})
		},
	})
}
