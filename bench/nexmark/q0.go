package nexmark

import "github.com/stromhq/strom/stream"

// q0: pass-through. Every bid goes to the sink unchanged; what the query
// costs is the cost of the runtime moving events. The standard's SQL,
//
//	SELECT auction, bidder, price, dateTime, extra FROM bid
//
// leaves out channel and url; here the whole Bid passes (rows: Bid).
func init() {
	Register(Query{
		Name:        "q0",
		Description: "pass-through: every bid",
		Build: func(events *stream.DataStream[Event], out *Results) {
			Blackhole(Bids(events), out)
		},
		NewBaseline: func() Baseline {
			return statelessBaseline(func(ev *Event, _ int64, h *Hasher, d *Digest) {
				if ev.Kind == KindBid {
					Add(h, d, ev.Bid)
				}
			})
		},
	})
}
