package nexmark

import (
	"github.com/stromhq/strom/stream"
)

// DailyBids is a row of q15: the bids of a day, and their distinct bidders
// and auctions, in total and per price rank (see Q15Rank2).
type DailyBids struct {
	// Day is the day, yyyy-mm-dd (UTC).
	Day                     string
	Bids, Bidders, Auctions RankCounts
}

// AppendCanonical implements Row.
func (x DailyBids) AppendCanonical(b []byte) []byte {
	b = appendString(b, x.Day)
	return x.Auctions.appendCanonical(x.Bidders.appendCanonical(x.Bids.appendCanonical(b)))
}

func toDailyBid(e Event) dailyBid {
	return dailyBid{Auction: e.Bid.Auction, Bidder: e.Bid.Bidder, Price: e.Bid.Price, DateTime: e.Bid.DateTime}
}

// q15: bidding statistics report. Per day, the number of bids and of
// distinct bidders and auctions, in total and per price rank. The
// standard's SQL:
//
//	SELECT DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS day,
//	       count(*) AS total_bids,
//	       count(*) FILTER (WHERE price < 10000) AS rank1_bids,
//	       count(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
//	       count(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
//	       count(DISTINCT bidder) AS total_bidders, ... the same FILTERs ...,
//	       count(DISTINCT auction) AS total_auctions, ... the same FILTERs ...
//	FROM bid
//	GROUP BY DATE_FORMAT(dateTime, 'yyyy-MM-dd')
//
// (rows: DailyBids). The SQL is an unwindowed aggregation that updates its
// rows with every bid; the rows here are the final ones, one per day,
// emitted when the watermark passes the end of the day (or the input
// ends), so that the digest does not depend on when updates happen.
// Days are of UTC.
//
// The job: bids keyed by day into a keyed process function
// (dailyDistinct) that keeps the counts and a mark per distinct bidder and
// auction (which ranks it was seen in) in keyed state. As in the SQL
// without Flink's split-distinct rewrite, a day is one key, so one subtask
// does the counting at any parallelism (the source and its chain run on
// another). The stream API has no two-phase distinct aggregation. A
// hand-written one, keyed process functions per day and bucket of
// bidders and of auctions emitting partial counts at the day's end and a
// sum per day, gave the same rows but cost 1.6 times the CPU per event
// (every bid then crosses two exchanges) and was no faster at p=2 on two
// cores, so the query keeps one key per day.
func init() {
	Register(Query{
		Name:        "q15",
		Description: "bidding statistics: bids, distinct bidders and auctions per day and price rank",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Map(stream.Filter(events, "bids", Event.IsBid), "bid", toDailyBid)
			rows := stream.KeyedProcess(stream.KeyBy(bids, func(b dailyBid) int64 { return dayOf(b.DateTime) }), "daily-stats",
				func() stream.KeyedProcessFunction[int64, dailyBid, DailyBids] {
					return &dailyDistinct[int64, DailyBids]{day: func(d int64) int64 { return d }, row: q15Row}
				})
			Blackhole(rows, out)
		},
		NewBaseline: func() Baseline { return &q15Baseline{day: -1} },
	})
}

func q15Row(day int64, s *dayStats) DailyBids {
	return DailyBids{Day: FormatDay(day), Bids: s.Bids, Bidders: s.Bidders, Auctions: s.Auctions}
}

// q15Baseline counts the bids of the current day and emits its row when
// the next day begins. Events come in order of time.
type q15Baseline struct {
	day int64
	g   dailyGroup
}

func (b *q15Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	if day := dayOf(ts); day != b.day {
		b.Finish(h, d)
		b.day = day
	}
	bid := toDailyBid(*ev)
	b.g.add(&bid)
}

func (b *q15Baseline) Finish(h *Hasher, d *Digest) {
	if b.g.stats.Bids.Total > 0 {
		Add(h, d, q15Row(b.day, &b.g.stats))
	}
	b.g = dailyGroup{}
}
