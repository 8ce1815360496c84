package nexmark

import (
	"strings"

	"github.com/stromhq/strom/stream"
)

// BidTime is a row of q14: a bid of a price between Q14Low and Q14High
// euro cents, with its price in euro cents, the part of the day it was
// made in and the number of 'c' characters of its Extra.
type BidTime struct {
	Auction int64
	Bidder  int64
	// Price is ToEuroCents of the bid's price.
	Price int64
	// BidTimeType is "dayTime", "nightTime" or "otherTime" (BidTimeType).
	BidTimeType string
	DateTime    int64
	Extra       string
	// CCounts is the number of 'c' bytes in Extra.
	CCounts int64
}

// AppendCanonical implements Row.
func (x BidTime) AppendCanonical(b []byte) []byte {
	b = appendInt(b, x.Auction)
	b = appendInt(b, x.Bidder)
	b = appendInt(b, x.Price)
	b = appendString(b, x.BidTimeType)
	b = appendInt(b, x.DateTime)
	b = appendString(b, x.Extra)
	return appendInt(b, x.CCounts)
}

// The price range of q14, in euro cents (exclusive at both ends): the
// standard's 0.908·price > 1,000,000 and < 50,000,000.
const (
	Q14Low  = 1_000_000
	Q14High = 50_000_000
)

// q14Selected reports whether 0.908·price lies strictly between Q14Low and
// Q14High, exactly (in integers, before ToEuroCents rounds).
func q14Selected(price int64) bool {
	return price*908 > Q14Low*1000 && price*908 < Q14High*1000
}

// BidTimeType classifies a time (Unix milliseconds) by its hour of the day
// in UTC: "dayTime" from 8 to 18 (the hours 8..18 inclusive), "nightTime"
// up to 6 and from 20, "otherTime" at 7 and 19.
func BidTimeType(ms int64) string {
	const hourMs, dayMs = 3_600_000, 86_400_000
	h := ((ms%dayMs + dayMs) % dayMs) / hourMs
	switch {
	case h >= 8 && h <= 18:
		return "dayTime"
	case h <= 6 || h >= 20:
		return "nightTime"
	}
	return "otherTime"
}

// CountChar returns the number of bytes c in s: the user-defined function
// count_char of the standard's q14.
func CountChar(s string, c byte) int64 { return int64(strings.Count(s, string(c))) }

func toBidTime(b *Bid) BidTime {
	return BidTime{
		Auction: b.Auction, Bidder: b.Bidder, Price: ToEuroCents(b.Price),
		BidTimeType: BidTimeType(b.DateTime), DateTime: b.DateTime, Extra: b.Extra,
		CCounts: CountChar(b.Extra, 'c'),
	}
}

// q14: calculation. The bids whose price in euros lies in a range, with
// their price in euros, the part of the day they were made in and a
// user-defined function of their Extra. The standard's SQL:
//
//	SELECT auction, bidder, 0.908 * price AS price,
//	       CASE WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
//	            WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
//	            ELSE 'otherTime' END AS bidTimeType,
//	       dateTime, extra, count_char(extra, 'c') AS c_counts
//	FROM bid
//	WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000
//
// (rows: BidTime). The range test is exact; the price in the row is
// rounded to whole euro cents as in q1. Hours are of UTC. The user-defined
// function is a plain Go function called from the map, which is how a
// Strom job calls user code.
func init() {
	Register(Query{
		Name:        "q14",
		Description: "calculation: bids in a price range with time-of-day class and a count of 'c' in extra",
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Filter(events, "bids-in-range", func(e Event) bool { return e.Kind == KindBid && q14Selected(e.Bid.Price) })
			Blackhole(stream.Map(bids, "classify", func(e Event) BidTime { return toBidTime(&e.Bid) }), out)
		},
		NewBaseline: func() Baseline {
			return statelessBaseline(func(ev *Event, _ int64, h *Hasher, d *Digest) {
				if ev.Kind == KindBid && q14Selected(ev.Bid.Price) {
					Add(h, d, toBidTime(&ev.Bid))
				}
			})
		},
	})
}
