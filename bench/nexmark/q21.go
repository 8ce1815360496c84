package nexmark

import (
	"strings"

	"github.com/stromhq/strom/stream"
)

// ChannelBid is a row of q21: a bid with the ID of the channel it came
// through.
type ChannelBid struct {
	Auction   int64
	Bidder    int64
	Price     int64
	Channel   string
	ChannelID string
}

// AppendCanonical implements Row.
func (x ChannelBid) AppendCanonical(b []byte) []byte {
	b = appendInt(b, x.Auction)
	b = appendInt(b, x.Bidder)
	b = appendInt(b, x.Price)
	b = appendString(b, x.Channel)
	return appendString(b, x.ChannelID)
}

// Q21Param is the URL query parameter that holds a channel's ID. The
// generator's URLs carry it as "?ch=N" (the standard's generator writes
// "channel_id=N").
const Q21Param = "ch"

// ChannelID returns the ID of a bid's channel: "0" to "3" for the four
// well-known channels (Apple, Google, Facebook, Baidu, in any case), else
// the value of the URL's Q21Param parameter, the standard's
// REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) on the URL's query. It
// reports false when there is neither.
func ChannelID(channel, url string) (string, bool) {
	for i, name := range [...]string{"apple", "google", "facebook", "baidu"} {
		if strings.EqualFold(channel, name) {
			return "0123"[i : i+1], true
		}
	}
	_, query, ok := strings.Cut(url, "?")
	for ok {
		var param string
		param, query, ok = strings.Cut(query, "&")
		if v, found := strings.CutPrefix(param, Q21Param+"="); found {
			return v, true
		}
	}
	return "", false
}

// q21: add channel ID. The bids whose channel is known or whose URL names
// a channel ID, with that ID. The standard's SQL:
//
//	SELECT auction, bidder, price, channel,
//	       CASE WHEN lower(channel) = 'apple' THEN '0'
//	            WHEN lower(channel) = 'google' THEN '1'
//	            WHEN lower(channel) = 'facebook' THEN '2'
//	            WHEN lower(channel) = 'baidu' THEN '3'
//	            ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) END AS channel_id
//	FROM bid
//	WHERE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) IS NOT NULL
//	   OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')
//
// (rows: ChannelBid). The extraction is ChannelID, a string scan rather
// than a regular expression, on the parameter this generator writes;
// every bid of this generator has a channel ID, so every bid is a row.
func init() {
	Register(Query{
		Name:        "q21",
		Description: "add channel id: bids with the channel ID of their channel name or URL",
		Build: func(events *stream.DataStream[Event], out *Results) {
			rows := stream.FlatMap(events, "channel-id", func(e Event, out stream.Collector[ChannelBid]) error {
				if e.Kind != KindBid {
					return nil
				}
				if id, ok := ChannelID(e.Bid.Channel, e.Bid.URL); ok {
					out.Collect(ChannelBid{Auction: e.Bid.Auction, Bidder: e.Bid.Bidder, Price: e.Bid.Price, Channel: e.Bid.Channel, ChannelID: id})
				}
				return nil
			})
			Blackhole(rows, out)
		},
		NewBaseline: func() Baseline {
			return statelessBaseline(func(ev *Event, _ int64, h *Hasher, d *Digest) {
				if ev.Kind != KindBid {
					return
				}
				if id, ok := ChannelID(ev.Bid.Channel, ev.Bid.URL); ok {
					Add(h, d, ChannelBid{Auction: ev.Bid.Auction, Bidder: ev.Bid.Bidder, Price: ev.Bid.Price, Channel: ev.Bid.Channel, ChannelID: id})
				}
			})
		},
	})
}
