package nexmark

import (
	"github.com/stromhq/strom/operators"
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
// The job is the SQL with Flink's split-distinct rewrite
// (table.optimizer.distinct-agg.split.enabled), written by hand, so that
// a day is not one key on one subtask. First, two keyed process functions
// (q15Marks) over the bids: one keyed by day and bucket of the bidder
// (the bidder modulo Q15Buckets) counts the bids and the distinct bidders
// of its bucket, the other keyed by day and bucket of the auction counts
// the distinct auctions of its bucket; both keep a mark per ID (the ranks
// it was seen in) in a MapState, and emit their partial counts when the
// watermark passes the end of the day. A bucket holds every bid of its
// IDs, so the distinct counts of the buckets add up. Then the partial
// counts, keyed by day, are summed (q15Sum) and the day's row emitted at
// the end of the day: the partials reach it before the watermark that
// fires its timer, as timers fire before a watermark goes on.
func init() {
	Register(Query{
		Name:        "q15",
		Description: "bidding statistics: bids, distinct bidders and auctions per day and price rank",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Map(stream.Filter(events, "bids", Event.IsBid), "bid", toDailyBid)
			byBidder := stream.KeyedProcess(stream.KeyBy(bids, func(b dailyBid) int64 { return q15Bucket(b.DateTime, b.Bidder) }),
				"distinct-bidders", func() stream.KeyedProcessFunction[int64, dailyBid, q15Partial] { return &q15Marks{bidders: true} })
			byAuction := stream.KeyedProcess(stream.KeyBy(bids, func(b dailyBid) int64 { return q15Bucket(b.DateTime, b.Auction) }),
				"distinct-auctions", func() stream.KeyedProcessFunction[int64, dailyBid, q15Partial] { return &q15Marks{} })
			rows := stream.KeyedProcess(stream.KeyBy(stream.Union(byBidder, byAuction), func(p q15Partial) int64 { return p.Day }),
				"daily-stats", func() stream.KeyedProcessFunction[int64, q15Partial, DailyBids] { return &q15Sum{} })
			Blackhole(rows, out)
		},
		NewBaseline: func() Baseline { return &q15Baseline{day: -1} },
	})
}

// Q15Buckets is the number of buckets per day of q15's first stage.
const Q15Buckets = 256

// q15Bucket returns the key of q15's first stage for a bid at time ms on
// ID id (a bidder or an auction): its day and the ID's bucket.
func q15Bucket(ms, id int64) int64 {
	b := id % Q15Buckets
	if b < 0 {
		b += Q15Buckets
	}
	return dayOf(ms)*Q15Buckets + b
}

// q15Partial are the counts of one bucket of a day, or their sum.
type q15Partial struct {
	Day                     int64
	Bids, Bidders, Auctions RankCounts
}

func (p *q15Partial) add(o *q15Partial) {
	for _, c := range [...][2]*RankCounts{{&p.Bids, &o.Bids}, {&p.Bidders, &o.Bidders}, {&p.Auctions, &o.Auctions}} {
		c[0].Total += c[1].Total
		c[0].Rank1 += c[1].Rank1
		c[0].Rank2 += c[1].Rank2
		c[0].Rank3 += c[1].Rank3
	}
}

// q15Marks is the first stage of q15 for one day and bucket of IDs: of
// bidders (then it counts the bids too) or of auctions. Its keyed state,
// which checkpoints hold with its timer, is the partial counts in a
// ValueState and a mark per ID in a MapState.
type q15Marks struct {
	bidders bool
	counts  *operators.ValueState[int64, q15Partial]
	marks   *operators.MapState[int64, int64, uint8]
}

func (f *q15Marks) Open(ctx *operators.TaskContext) (err error) {
	if f.counts, err = operators.NewValueState[int64, q15Partial](ctx, "counts"); err != nil {
		return err
	}
	f.marks, err = operators.NewMapState[int64, int64, uint8](ctx, "marks")
	return err
}

func (f *q15Marks) ProcessElement(ctx *operators.KeyedContext[int64], b dailyBid, _ operators.Collector[q15Partial]) error {
	p, ok := f.counts.Get(ctx)
	if !ok {
		p.Day = dayOf(b.DateTime)
		ctx.TimerService().RegisterEventTimeTimer(dayEnd(p.Day))
	}
	r := priceRank(b.Price)
	id, counts := b.Auction, &p.Auctions
	if f.bidders {
		p.Bids.add(r)
		id, counts = b.Bidder, &p.Bidders
	}
	m, _ := f.marks.Get(ctx, id)
	if nm := mark(counts, m, r); nm != m {
		f.marks.Put(ctx, id, nm)
	}
	f.counts.Set(ctx, p)
	return nil
}

func (f *q15Marks) OnTimer(ctx *operators.OnTimerContext[int64], _ int64, out operators.Collector[q15Partial]) error {
	if p, ok := f.counts.Get(ctx); ok {
		out.Collect(p)
	}
	f.counts.Clear(ctx)
	f.marks.Clear(ctx)
	return nil
}

// q15Sum is the second stage of q15: it adds up the partial counts of a
// day in a ValueState and emits the day's row at the end of the day.
type q15Sum struct {
	sum *operators.ValueState[int64, q15Partial]
}

func (f *q15Sum) Open(ctx *operators.TaskContext) (err error) {
	f.sum, err = operators.NewValueState[int64, q15Partial](ctx, "sum")
	return err
}

func (f *q15Sum) ProcessElement(ctx *operators.KeyedContext[int64], p q15Partial, _ operators.Collector[DailyBids]) error {
	s, ok := f.sum.Get(ctx)
	if !ok {
		s.Day = p.Day
		ctx.TimerService().RegisterEventTimeTimer(dayEnd(p.Day))
	}
	s.add(&p)
	f.sum.Set(ctx, s)
	return nil
}

func (f *q15Sum) OnTimer(ctx *operators.OnTimerContext[int64], _ int64, out operators.Collector[DailyBids]) error {
	if s, ok := f.sum.Get(ctx); ok {
		out.Collect(DailyBids{Day: FormatDay(s.Day), Bids: s.Bids, Bidders: s.Bidders, Auctions: s.Auctions})
	}
	f.sum.Clear(ctx)
	return nil
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
