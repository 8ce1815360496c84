package nexmark

import (
	"github.com/stromhq/strom/stream"
)

// ChannelDailyBids is a row of q16: the bids of a channel in a day, with
// the latest minute of them, and their distinct bidders and auctions, in
// total and per price rank (see Q15Rank2).
type ChannelDailyBids struct {
	Channel string
	// Day is the day, yyyy-mm-dd, and Minute the latest hh:mm of the
	// bids (UTC).
	Day, Minute             string
	Bids, Bidders, Auctions RankCounts
}

// AppendCanonical implements Row.
func (x ChannelDailyBids) AppendCanonical(b []byte) []byte {
	b = appendString(appendString(appendString(b, x.Channel), x.Day), x.Minute)
	return x.Auctions.appendCanonical(x.Bidders.appendCanonical(x.Bids.appendCanonical(b)))
}

// channelDay is the key of q16: a channel and a day (days since the Unix
// epoch).
type channelDay struct {
	Channel string
	Day     int64
}

func q16Row(k channelDay, s *dayStats) ChannelDailyBids {
	return ChannelDailyBids{Channel: k.Channel, Day: FormatDay(k.Day), Minute: FormatMinute(s.Last),
		Bids: s.Bids, Bidders: s.Bidders, Auctions: s.Auctions}
}

// q16: channel statistics report. q15 per channel, with the latest minute
// of the channel's bids of the day. The standard's SQL:
//
//	SELECT channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS day,
//	       max(DATE_FORMAT(dateTime, 'HH:mm')) AS minute,
//	       count(*) AS total_bids, ... (as q15) ...
//	FROM bid
//	GROUP BY channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd')
//
// (rows: ChannelDailyBids; the final row of every group, as in q15). The
// latest minute of a day is that of its latest bid.
//
// The job: bids keyed by channel and day into the keyed process function
// of q15 (dailyDistinct). With 10,004 channels the groups spread over the
// subtasks, though the four hot channels have half of the bids.
func init() {
	Register(Query{
		Name:        "q16",
		Description: "channel statistics: bids, distinct bidders and auctions per channel, day and price rank",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			bids := stream.Map(stream.Filter(events, "bids", Event.IsBid), "bid", toChannelBid)
			rows := stream.KeyedProcess(stream.KeyBy(bids, func(b dailyBid) channelDay { return channelDay{b.Channel, dayOf(b.DateTime)} }),
				"channel-daily-stats", func() stream.KeyedProcessFunction[channelDay, dailyBid, ChannelDailyBids] {
					return &dailyDistinct[channelDay, ChannelDailyBids]{day: func(k channelDay) int64 { return k.Day }, row: q16Row}
				})
			Blackhole(rows, out)
		},
		NewBaseline: func() Baseline { return &q16Baseline{day: -1, groups: map[string]*dailyGroup{}} },
	})
}

func toChannelBid(e Event) dailyBid {
	return dailyBid{Channel: e.Bid.Channel, Auction: e.Bid.Auction, Bidder: e.Bid.Bidder, Price: e.Bid.Price, DateTime: e.Bid.DateTime}
}

// q16Baseline counts the bids of the current day per channel and emits
// the rows when the next day begins. Events come in order of time.
type q16Baseline struct {
	day    int64
	groups map[string]*dailyGroup
}

func (b *q16Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	if day := dayOf(ts); day != b.day {
		b.Finish(h, d)
		b.day = day
	}
	g := b.groups[ev.Bid.Channel]
	if g == nil {
		g = &dailyGroup{}
		b.groups[ev.Bid.Channel] = g
	}
	bid := toChannelBid(*ev)
	g.add(&bid)
}

func (b *q16Baseline) Finish(h *Hasher, d *Digest) {
	for ch, g := range b.groups {
		Add(h, d, q16Row(channelDay{ch, b.day}, &g.stats))
	}
	clear(b.groups)
}
