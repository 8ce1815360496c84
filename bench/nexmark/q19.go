package nexmark

import (
	"slices"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// RankedBid is a row of q19: a bid among the Q19Top highest of its
// auction, and its rank (1 is the highest).
type RankedBid struct {
	Bid  Bid
	Rank int64
}

// AppendCanonical implements Row.
func (x RankedBid) AppendCanonical(b []byte) []byte {
	return appendInt(x.Bid.AppendCanonical(b), x.Rank)
}

// Q19Top is the number of bids q19 keeps per auction.
const Q19Top = 10

// topBids adds b to the top bids of an auction, ordered by bidBefore, and
// keeps the first Q19Top; it reports whether top changed.
func topBids(top []Bid, b *Bid) ([]Bid, bool) {
	i := len(top)
	for i > 0 && bidBefore(b, &top[i-1]) {
		i--
	}
	if i >= Q19Top {
		return top, false
	}
	if len(top) == Q19Top {
		top = top[:Q19Top-1]
	}
	return slices.Insert(top, i, *b), true
}

// q19Function keeps the top bids of an auction in a keyed ValueState and
// emits them when the input ends (a timer at MaxWatermark).
type q19Function struct {
	top *operators.ValueState[int64, []Bid]
}

func (f *q19Function) Open(ctx *operators.TaskContext) (err error) {
	f.top, err = operators.NewValueState[int64, []Bid](ctx, "top")
	return err
}

func (f *q19Function) ProcessElement(ctx *operators.KeyedContext[int64], b Bid, _ operators.Collector[RankedBid]) error {
	top, ok := f.top.Get(ctx)
	if !ok {
		ctx.TimerService().RegisterEventTimeTimer(operators.MaxWatermark)
	}
	if top, changed := topBids(top, &b); changed {
		f.top.Set(ctx, top)
	}
	return nil
}

func (f *q19Function) OnTimer(ctx *operators.OnTimerContext[int64], _ int64, out operators.Collector[RankedBid]) error {
	top, _ := f.top.Get(ctx)
	for i, b := range top {
		out.Collect(RankedBid{Bid: b, Rank: int64(i + 1)})
	}
	f.top.Clear(ctx)
	return nil
}

// q19: auction TOP-10 price. The ten highest bids of every auction. The
// standard's SQL:
//
//	SELECT * FROM
//	  (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
//	WHERE rank_number <= 10
//
// (rows: RankedBid). The SQL updates the ranking with every bid that
// enters it; the rows here are the final ranking, emitted at the end of
// input, and bids of equal price are ordered by bidBefore (earlier first)
// so that ranks do not depend on arrival order.
//
// The job: bids keyed by auction into a keyed process function with the
// auction's top bids, sorted, in a ValueState, emitted by a timer at
// MaxWatermark (the stream API has no end-of-input callback for keyed
// functions). The query needs no event time.
func init() {
	Register(Query{
		Name:        "q19",
		Description: "auction top-10 price: the ten highest bids of every auction",
		Stateful:    true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			top := stream.KeyedProcess(stream.KeyBy(Bids(events), func(b Bid) int64 { return b.Auction }), "top-bids",
				func() stream.KeyedProcessFunction[int64, Bid, RankedBid] { return &q19Function{} })
			Blackhole(top, out)
		},
		NewBaseline: func() Baseline { return &q19Baseline{top: map[int64][]Bid{}} },
	})
}

// q19Baseline keeps the top bids per auction in a map.
type q19Baseline struct {
	top map[int64][]Bid
}

func (b *q19Baseline) Process(ev *Event, _ int64, _ *Hasher, _ *Digest) {
	if ev.Kind != KindBid {
		return
	}
	if top, changed := topBids(b.top[ev.Bid.Auction], &ev.Bid); changed {
		b.top[ev.Bid.Auction] = top
	}
}

func (b *q19Baseline) Finish(h *Hasher, d *Digest) {
	for _, top := range b.top {
		for i, bid := range top {
			Add(h, d, RankedBid{Bid: bid, Rank: int64(i + 1)})
		}
	}
	clear(b.top)
}
