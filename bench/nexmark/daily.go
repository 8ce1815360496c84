package nexmark

import (
	"time"

	"github.com/stromhq/strom/operators"
)

// The price ranges of q15, q16 and q17, in cents: rank 1 below
// Q15Rank2, rank 2 from Q15Rank2 below Q15Rank3, rank 3 from Q15Rank3.
const (
	Q15Rank2 = 10_000
	Q15Rank3 = 1_000_000
)

// priceRank returns the rank (1, 2 or 3) of a price in cents.
func priceRank(price int64) int {
	switch {
	case price < Q15Rank2:
		return 1
	case price < Q15Rank3:
		return 2
	}
	return 3
}

// RankCounts is a count in total and per price rank (see Q15Rank2).
type RankCounts struct {
	Total, Rank1, Rank2, Rank3 int64
}

func (c *RankCounts) add(rank int) {
	c.Total++
	switch rank {
	case 1:
		c.Rank1++
	case 2:
		c.Rank2++
	default:
		c.Rank3++
	}
}

func (c RankCounts) appendCanonical(b []byte) []byte {
	return appendInt(appendInt(appendInt(appendInt(b, c.Total), c.Rank1), c.Rank2), c.Rank3)
}

const dayMs = 24 * 60 * 60 * 1000

// dayOf returns the day (days since the Unix epoch, UTC) of a time in Unix
// milliseconds.
func dayOf(ms int64) int64 {
	d := ms / dayMs
	if ms%dayMs < 0 {
		d--
	}
	return d
}

// dayEnd returns the last millisecond of day d: the time of the timer
// that emits the day's rows.
func dayEnd(d int64) int64 { return (d+1)*dayMs - 1 }

// FormatDay formats day d as SQL's DATE_FORMAT(dateTime, 'yyyy-MM-dd'),
// in UTC.
func FormatDay(d int64) string { return time.UnixMilli(d * dayMs).UTC().Format(time.DateOnly) }

// FormatMinute formats a time in Unix milliseconds as SQL's
// DATE_FORMAT(dateTime, 'HH:mm'), in UTC.
func FormatMinute(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04") }

// dailyBid is what q15 and q16 keep of a bid; q15 leaves Channel empty.
type dailyBid struct {
	Channel                          string
	Auction, Bidder, Price, DateTime int64
}

// dayStats are the counts of q15 and q16 for one group (a day, or a
// channel and a day).
type dayStats struct {
	Bids, Bidders, Auctions RankCounts
	// Last is the latest DateTime of the group's bids.
	Last int64
}

// Bits of the marks q15 and q16 keep per distinct bidder and auction of a
// group: seen at all, and seen with a bid of rank r (bit r).
const markSeen = 1

// mark counts a bid of rank r of an ID with mark m (0 when the ID is new)
// into c and returns the new mark.
func mark(c *RankCounts, m uint8, r int) uint8 {
	bit := uint8(1) << r
	if m == 0 {
		c.Total++
	}
	if m&bit == 0 {
		switch r {
		case 1:
			c.Rank1++
		case 2:
			c.Rank2++
		default:
			c.Rank3++
		}
	}
	return m | markSeen | bit
}

// add counts bid b into s, with the marks of its bidder and auction.
func (s *dayStats) add(b *dailyBid, bidder, auction uint8) (uint8, uint8) {
	r := priceRank(b.Price)
	s.Bids.add(r)
	s.Last = max(s.Last, b.DateTime)
	return mark(&s.Bidders, bidder, r), mark(&s.Auctions, auction, r)
}

// dailyDistinct is the keyed process function of q15 and q16: it counts
// a group's bids and distinct bidders and auctions by price rank, and
// emits the group's row when the watermark passes the end of its day
// (an event-time timer), or at the end of input. Its state is keyed: a
// ValueState of the counts and two MapStates of the bidders' and
// auctions' marks, which checkpoints hold with the timers.
type dailyDistinct[K comparable, OUT any] struct {
	day      func(K) int64
	row      func(K, *dayStats) OUT
	stats    *operators.ValueState[K, dayStats]
	bidders  *operators.MapState[K, int64, uint8]
	auctions *operators.MapState[K, int64, uint8]
}

func (f *dailyDistinct[K, OUT]) Open(ctx *operators.TaskContext) (err error) {
	if f.stats, err = operators.NewValueState[K, dayStats](ctx, "stats"); err != nil {
		return err
	}
	if f.bidders, err = operators.NewMapState[K, int64, uint8](ctx, "bidders"); err != nil {
		return err
	}
	f.auctions, err = operators.NewMapState[K, int64, uint8](ctx, "auctions")
	return err
}

func (f *dailyDistinct[K, OUT]) ProcessElement(ctx *operators.KeyedContext[K], b dailyBid, _ operators.Collector[OUT]) error {
	s, ok := f.stats.Get(ctx)
	if !ok {
		ctx.TimerService().RegisterEventTimeTimer(dayEnd(f.day(ctx.Key())))
	}
	bm, _ := f.bidders.Get(ctx, b.Bidder)
	am, _ := f.auctions.Get(ctx, b.Auction)
	nb, na := s.add(&b, bm, am)
	if nb != bm {
		f.bidders.Put(ctx, b.Bidder, nb)
	}
	if na != am {
		f.auctions.Put(ctx, b.Auction, na)
	}
	f.stats.Set(ctx, s)
	return nil
}

func (f *dailyDistinct[K, OUT]) OnTimer(ctx *operators.OnTimerContext[K], _ int64, out operators.Collector[OUT]) error {
	if s, ok := f.stats.Get(ctx); ok {
		out.Collect(f.row(ctx.Key(), &s))
	}
	f.stats.Clear(ctx)
	f.bidders.Clear(ctx)
	f.auctions.Clear(ctx)
	return nil
}

// dailyGroup is the baseline's state of one group of q15 or q16.
type dailyGroup struct {
	stats             dayStats
	bidders, auctions map[int64]uint8
}

func (g *dailyGroup) add(b *dailyBid) {
	if g.bidders == nil {
		g.bidders, g.auctions = map[int64]uint8{}, map[int64]uint8{}
	}
	bm, am := g.bidders[b.Bidder], g.auctions[b.Auction]
	nb, na := g.stats.add(b, bm, am)
	if nb != bm {
		g.bidders[b.Bidder] = nb
	}
	if na != am {
		g.auctions[b.Auction] = na
	}
}
