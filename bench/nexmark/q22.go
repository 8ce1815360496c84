package nexmark

import (
	"strings"

	"github.com/stromhq/strom/stream"
)

// URLDirs is a row of q22: a bid with the first three path segments of its
// URL.
type URLDirs struct {
	Auction int64
	Bidder  int64
	Price   int64
	Channel string
	// Dir1, Dir2 and Dir3 are SplitIndex(url, '/', 3), 4 and 5.
	Dir1, Dir2, Dir3 string
}

// AppendCanonical implements Row.
func (x URLDirs) AppendCanonical(b []byte) []byte {
	b = appendInt(b, x.Auction)
	b = appendInt(b, x.Bidder)
	b = appendInt(b, x.Price)
	b = appendString(b, x.Channel)
	b = appendString(b, x.Dir1)
	b = appendString(b, x.Dir2)
	return appendString(b, x.Dir3)
}

// SplitIndex returns the field of s at index i (from 0) when split at
// every sep, as SQL's SPLIT_INDEX; "" (SQL's NULL) when s has fewer
// fields. It does not allocate.
func SplitIndex(s string, sep byte, i int) string {
	for ; i > 0; i-- {
		j := strings.IndexByte(s, sep)
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, sep); j >= 0 {
		return s[:j]
	}
	return s
}

func toURLDirs(b *Bid) URLDirs {
	// "https://host/a/b/c": fields 0 "https:", 1 "", 2 host, 3.. the path.
	rest := b.URL
	for range 3 {
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[j+1:]
		} else {
			rest = ""
			break
		}
	}
	// rest now starts at field 3 (or is empty when there is none).
	return URLDirs{
		Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel,
		Dir1: SplitIndex(rest, '/', 0), Dir2: SplitIndex(rest, '/', 1), Dir3: SplitIndex(rest, '/', 2),
	}
}

// q22: get URL directories. Every bid with the first three segments of its
// URL's path. The standard's SQL:
//
//	SELECT auction, bidder, price, channel,
//	       SPLIT_INDEX(url, '/', 3) AS dir1, SPLIT_INDEX(url, '/', 4) AS dir2,
//	       SPLIT_INDEX(url, '/', 5) AS dir3
//	FROM bid
//
// (rows: URLDirs). A missing segment, NULL in SQL, is "" here. The segments
// are substrings of the URL: splitting allocates nothing. The third
// segment of the generator's cold channels keeps the URL's query
// ("abc?ch=12"), as SPLIT_INDEX does.
func init() {
	Register(Query{
		Name:        "q22",
		Description: "get URL directories: every bid with the first three path segments of its URL",
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Filter(events, "bids", Event.IsBid)
			Blackhole(stream.Map(bids, "split-url", func(e Event) URLDirs { return toURLDirs(&e.Bid) }), out)
		},
		NewBaseline: func() Baseline {
			return statelessBaseline(func(ev *Event, _ int64, h *Hasher, d *Digest) {
				if ev.Kind == KindBid {
					Add(h, d, toURLDirs(&ev.Bid))
				}
			})
		},
	})
}
