package nexmark

import (
	"slices"
	"sort"
)

// Reference implementations of the stateful queries from q9 on, as in
// reference_test.go: each computes the rows from the query's definition
// over all events at once.

func refQ9(evs []Event) []WinningBid {
	auctions := map[int64]*Auction{}
	for _, e := range evs {
		if e.Kind == KindAuction {
			auctions[e.Auction.ID] = e.Auction
		}
	}
	best := map[int64]Bid{}
	for _, e := range evs {
		if e.Kind != KindBid {
			continue
		}
		a := auctions[e.Bid.Auction]
		if a == nil || e.Bid.DateTime < a.DateTime || e.Bid.DateTime > a.Expires {
			continue
		}
		if b, ok := best[a.ID]; !ok || bidBefore(&e.Bid, &b) {
			best[a.ID] = e.Bid
		}
	}
	var rows []WinningBid
	for id, b := range best {
		rows = append(rows, WinningBid{Auction: *auctions[id], Bid: b})
	}
	return rows
}

func refQ11(evs []Event) []BidderCount {
	times := map[int64][]int64{}
	for _, e := range evs {
		if e.Kind == KindBid {
			times[e.Bid.Bidder] = append(times[e.Bid.Bidder], e.Bid.DateTime)
		}
	}
	gap := Q11Gap.Milliseconds()
	var rows []BidderCount
	for bidder, ts := range times {
		slices.Sort(ts)
		cur := BidderCount{Bidder: bidder, Start: ts[0], End: ts[0] + gap}
		for _, t := range ts {
			if t > cur.End { // windows [t, t+gap) that touch merge
				rows = append(rows, cur)
				cur = BidderCount{Bidder: bidder, Start: t, End: t + gap}
			}
			cur.Bids++
			cur.End = max(cur.End, t+gap)
		}
		rows = append(rows, cur)
	}
	return rows
}

// refRanks counts the bids of a group: all and per rank, and the distinct
// bidders and auctions likewise.
type refRanks struct {
	bids               RankCounts
	bidders, auctions  map[[2]int64]bool // (id, rank 0 for any)
	bidderN, auctionN  RankCounts
	last, min, max, sm int64
}

func (r *refRanks) add(b *Bid) {
	if r.bidders == nil {
		r.bidders, r.auctions = map[[2]int64]bool{}, map[[2]int64]bool{}
		r.min = b.Price
	}
	rank := int64(1)
	switch {
	case b.Price >= 1_000_000:
		rank = 3
	case b.Price >= 10_000:
		rank = 2
	}
	// ofRank is the count of rank in c.
	ofRank := func(c *RankCounts) *int64 { return [...]*int64{&c.Rank1, &c.Rank2, &c.Rank3}[rank-1] }
	r.bids.Total++
	*ofRank(&r.bids)++
	distinct := func(seen map[[2]int64]bool, c *RankCounts, id int64) {
		if !seen[[2]int64{id, 0}] {
			seen[[2]int64{id, 0}] = true
			c.Total++
		}
		if !seen[[2]int64{id, rank}] {
			seen[[2]int64{id, rank}] = true
			*ofRank(c)++
		}
	}
	distinct(r.bidders, &r.bidderN, b.Bidder)
	distinct(r.auctions, &r.auctionN, b.Auction)
	r.last = max(r.last, b.DateTime)
	r.min, r.max, r.sm = min(r.min, b.Price), max(r.max, b.Price), r.sm+b.Price
}

func refDay(ms int64) string { return FormatDay(ms / (24 * 3600 * 1000)) }

func refQ15(evs []Event) []DailyBids {
	days := map[string]*refRanks{}
	for _, e := range evs {
		if e.Kind == KindBid {
			d := refDay(e.Bid.DateTime)
			if days[d] == nil {
				days[d] = &refRanks{}
			}
			days[d].add(&e.Bid)
		}
	}
	var rows []DailyBids
	for d, r := range days {
		rows = append(rows, DailyBids{Day: d, Bids: r.bids, Bidders: r.bidderN, Auctions: r.auctionN})
	}
	return rows
}

func refQ16(evs []Event) []ChannelDailyBids {
	groups := map[[2]string]*refRanks{}
	for _, e := range evs {
		if e.Kind == KindBid {
			k := [2]string{e.Bid.Channel, refDay(e.Bid.DateTime)}
			if groups[k] == nil {
				groups[k] = &refRanks{}
			}
			groups[k].add(&e.Bid)
		}
	}
	var rows []ChannelDailyBids
	for k, r := range groups {
		rows = append(rows, ChannelDailyBids{Channel: k[0], Day: k[1], Minute: FormatMinute(r.last),
			Bids: r.bids, Bidders: r.bidderN, Auctions: r.auctionN})
	}
	return rows
}

func refQ17(evs []Event) []AuctionDailyBids {
	type key struct {
		auction int64
		day     string
	}
	groups := map[key]*refRanks{}
	for _, e := range evs {
		if e.Kind == KindBid {
			k := key{e.Bid.Auction, refDay(e.Bid.DateTime)}
			if groups[k] == nil {
				groups[k] = &refRanks{}
			}
			groups[k].add(&e.Bid)
		}
	}
	var rows []AuctionDailyBids
	for k, r := range groups {
		rows = append(rows, AuctionDailyBids{Auction: k.auction, Day: k.day, Bids: r.bids,
			Min: r.min, Max: r.max, Avg: r.sm / r.bids.Total, Sum: r.sm})
	}
	return rows
}

func refQ18(evs []Event) []Bid {
	latest := map[[2]int64]Bid{}
	for _, e := range evs {
		if e.Kind != KindBid {
			continue
		}
		k := [2]int64{e.Bid.Bidder, e.Bid.Auction}
		if b, ok := latest[k]; !ok || e.Bid.DateTime > b.DateTime || (e.Bid.DateTime == b.DateTime && bidBefore(&e.Bid, &b)) {
			latest[k] = e.Bid
		}
	}
	var rows []Bid
	for _, b := range latest {
		rows = append(rows, b)
	}
	return rows
}

func refQ19(evs []Event) []RankedBid {
	bids := map[int64][]Bid{}
	for _, e := range evs {
		if e.Kind == KindBid {
			bids[e.Bid.Auction] = append(bids[e.Bid.Auction], e.Bid)
		}
	}
	var rows []RankedBid
	for _, bs := range bids {
		sort.Slice(bs, func(i, j int) bool { return bidBefore(&bs[i], &bs[j]) })
		for i, b := range bs[:min(len(bs), 10)] {
			rows = append(rows, RankedBid{Bid: b, Rank: int64(i + 1)})
		}
	}
	return rows
}

func refQ20(evs []Event) []AuctionBid {
	auctions := map[int64]*Auction{}
	for _, e := range evs {
		if e.Kind == KindAuction && e.Auction.Category == 10 {
			auctions[e.Auction.ID] = e.Auction
		}
	}
	var rows []AuctionBid
	for _, e := range evs {
		if e.Kind == KindBid && auctions[e.Bid.Auction] != nil {
			rows = append(rows, AuctionBid{Bid: e.Bid, Auction: *auctions[e.Bid.Auction]})
		}
	}
	return rows
}
