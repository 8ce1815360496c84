package nexmark

import (
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// bidAfter reports whether bid a is later than bid b: a later time, or of
// equal times the one that ranks first by bidBefore, so that the latest
// bid does not depend on arrival order.
func bidAfter(a, b *Bid) bool {
	if a.DateTime != b.DateTime {
		return a.DateTime > b.DateTime
	}
	return bidBefore(a, b)
}

// q18Function keeps, per bidder, the latest bid on each auction in a
// keyed MapState (auction → bid) and emits them when the input ends (a
// timer at MaxWatermark).
type q18Function struct {
	latest *operators.MapState[int64, int64, Bid]
}

func (f *q18Function) Open(ctx *operators.TaskContext) (err error) {
	f.latest, err = operators.NewMapState[int64, int64, Bid](ctx, "latest")
	return err
}

func (f *q18Function) ProcessElement(ctx *operators.KeyedContext[int64], b Bid, _ operators.Collector[Bid]) error {
	last, ok := f.latest.Get(ctx, b.Auction)
	if !ok && f.latest.Len(ctx) == 0 {
		ctx.TimerService().RegisterEventTimeTimer(operators.MaxWatermark)
	}
	if !ok || bidAfter(&b, &last) {
		f.latest.Put(ctx, b.Auction, b)
	}
	return nil
}

func (f *q18Function) OnTimer(ctx *operators.OnTimerContext[int64], _ int64, out operators.Collector[Bid]) error {
	if err := f.latest.Range(ctx, func(_ int64, b Bid) bool { out.Collect(b); return true }); err != nil {
		return err
	}
	f.latest.Clear(ctx)
	return nil
}

// q18: find last bid. The latest bid of every bidder on every auction. The
// standard's SQL:
//
//	SELECT auction, bidder, price, channel, url, dateTime, extra
//	FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number
//	      FROM bid)
//	WHERE rank_number <= 1
//
// (rows: Bid). The SQL, a deduplication, updates a row with every later
// bid; the rows here are the final ones, emitted at the end of input, and
// bids of the same time are ordered by bidAfter so that the rows do not
// depend on arrival order. The state keeps a bid per bidder and auction
// for ever, as the SQL's does.
//
// The job: bids keyed by bidder into a keyed process function whose
// MapState holds the bidder's latest bid per auction, emitted by a timer
// at MaxWatermark; the stream API has no end-of-input callback for keyed
// functions, so a timer per bidder stands in for one. Keying by bidder
// rather than by (bidder, auction) keeps the timers few. The query needs
// no event time: the last watermark passes without watermarks.
func init() {
	Register(Query{
		Name:        "q18",
		Description: "find last bid: the latest bid of every bidder on every auction",
		Stateful:    true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			last := stream.KeyedProcess(stream.KeyBy(Bids(events), func(b Bid) int64 { return b.Bidder }), "last-bid",
				func() stream.KeyedProcessFunction[int64, Bid, Bid] { return &q18Function{} })
			Blackhole(last, out)
		},
		NewBaseline: func() Baseline { return &q18Baseline{latest: map[[2]int64]Bid{}} },
	})
}

// q18Baseline keeps the latest bid per bidder and auction in a map.
type q18Baseline struct {
	latest map[[2]int64]Bid
}

func (b *q18Baseline) Process(ev *Event, _ int64, _ *Hasher, _ *Digest) {
	if ev.Kind != KindBid {
		return
	}
	k := [2]int64{ev.Bid.Bidder, ev.Bid.Auction}
	if last, ok := b.latest[k]; !ok || bidAfter(&ev.Bid, &last) {
		b.latest[k] = ev.Bid
	}
}

func (b *q18Baseline) Finish(h *Hasher, d *Digest) {
	for _, bid := range b.latest {
		Add(h, d, bid)
	}
	clear(b.latest)
}
