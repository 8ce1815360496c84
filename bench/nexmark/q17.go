package nexmark

import (
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// AuctionDailyBids is a row of q17: the bids on an auction in a day, in
// total and per price rank (see Q15Rank2), and their lowest, highest,
// mean (truncated to a whole cent) and total price.
type AuctionDailyBids struct {
	Auction int64
	// Day is the day, yyyy-mm-dd (UTC).
	Day                string
	Bids               RankCounts
	Min, Max, Avg, Sum int64
}

// AppendCanonical implements Row.
func (x AuctionDailyBids) AppendCanonical(b []byte) []byte {
	b = x.Bids.appendCanonical(appendString(appendInt(b, x.Auction), x.Day))
	return appendInt(appendInt(appendInt(appendInt(b, x.Min), x.Max), x.Avg), x.Sum)
}

// auctionDay is the key of q17: an auction and a day (days since the Unix
// epoch).
type auctionDay struct {
	Auction, Day int64
}

// q17Stats are the counts and prices of one auction and day.
type q17Stats struct {
	Bids          RankCounts
	Min, Max, Sum int64
}

func (s *q17Stats) add(price int64) {
	if s.Bids.Total == 0 {
		s.Min, s.Max = price, price
	}
	s.Bids.add(priceRank(price))
	s.Min, s.Max = min(s.Min, price), max(s.Max, price)
	s.Sum += price
}

func (s *q17Stats) row(k auctionDay) AuctionDailyBids {
	return AuctionDailyBids{Auction: k.Auction, Day: FormatDay(k.Day), Bids: s.Bids,
		Min: s.Min, Max: s.Max, Avg: s.Sum / s.Bids.Total, Sum: s.Sum}
}

// q17Bid is what q17 keeps of a bid.
type q17Bid struct {
	Auction, Price, DateTime int64
}

// q17Function keeps the statistics of an auction and day in a keyed
// ValueState and emits them when the watermark passes the end of the day.
type q17Function struct {
	stats *operators.ValueState[auctionDay, q17Stats]
}

func (f *q17Function) Open(ctx *operators.TaskContext) (err error) {
	f.stats, err = operators.NewValueState[auctionDay, q17Stats](ctx, "stats")
	return err
}

func (f *q17Function) ProcessElement(ctx *operators.KeyedContext[auctionDay], b q17Bid, _ operators.Collector[AuctionDailyBids]) error {
	s, ok := f.stats.Get(ctx)
	if !ok {
		ctx.TimerService().RegisterEventTimeTimer(dayEnd(ctx.Key().Day))
	}
	s.add(b.Price)
	f.stats.Set(ctx, s)
	return nil
}

func (f *q17Function) OnTimer(ctx *operators.OnTimerContext[auctionDay], _ int64, out operators.Collector[AuctionDailyBids]) error {
	if s, ok := f.stats.Get(ctx); ok {
		out.Collect(s.row(ctx.Key()))
	}
	f.stats.Clear(ctx)
	return nil
}

// q17: auction statistics report. Per auction and day, the number of bids
// in total and per price rank and the lowest, highest, mean and total
// price. The standard's SQL:
//
//	SELECT auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS day,
//	       count(*) AS total_bids, ... (the rank FILTERs of q15) ...,
//	       min(price) AS min_price, max(price) AS max_price,
//	       avg(price) AS avg_price, sum(price) AS sum_price
//	FROM bid
//	GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd')
//
// (rows: AuctionDailyBids, the final row of every group as in q15; avg of
// integers is truncated, as SQL's AVG of BIGINT). The job: bids keyed by
// auction and day into a keyed process function with the statistics in a
// ValueState and a timer at the end of the day.
func init() {
	Register(Query{
		Name:        "q17",
		Description: "auction statistics: bids and min, max, mean and total price per auction and day",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Map(stream.Filter(events, "bids", Event.IsBid), "bid", func(e Event) q17Bid {
				return q17Bid{Auction: e.Bid.Auction, Price: e.Bid.Price, DateTime: e.Bid.DateTime}
			})
			rows := stream.KeyedProcess(stream.KeyBy(bids, func(b q17Bid) auctionDay { return auctionDay{b.Auction, dayOf(b.DateTime)} }),
				"auction-daily-stats", func() stream.KeyedProcessFunction[auctionDay, q17Bid, AuctionDailyBids] {
					return &q17Function{}
				})
			Blackhole(rows, out)
		},
		NewBaseline: func() Baseline { return &q17Baseline{day: -1, stats: map[int64]*q17Stats{}} },
	})
}

// q17Baseline keeps the statistics of the current day per auction and
// emits them when the next day begins. Events come in order of time.
type q17Baseline struct {
	day   int64
	stats map[int64]*q17Stats
}

func (b *q17Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	if day := dayOf(ts); day != b.day {
		b.Finish(h, d)
		b.day = day
	}
	s := b.stats[ev.Bid.Auction]
	if s == nil {
		s = &q17Stats{}
		b.stats[ev.Bid.Auction] = s
	}
	s.add(ev.Bid.Price)
}

func (b *q17Baseline) Finish(h *Hasher, d *Digest) {
	for a, s := range b.stats {
		Add(h, d, s.row(auctionDay{a, b.day}))
	}
	clear(b.stats)
}
