package nexmark

import (
	"time"

	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

// Q12Window is the size of q12's processing-time windows.
const Q12Window = 10 * time.Second

// q12Counts is the job of q12 up to its sink: the number of bids per
// bidder in tumbling windows of processing time.
func q12Counts(events *stream.DataStream[Event]) *stream.DataStream[BidderCount] {
	return stream.WindowAggregateProcess(stream.Window(bidders(events), window.TumblingProcessingTime(Q12Window)),
		"bids-per-bidder", q5CountBids, countPerWindow)
}

// q12: processing-time windows. The number of bids of each bidder in
// tumbling 10 s windows of processing time (the clock of the machine when
// the bid is processed). The standard's SQL:
//
//	SELECT B.bidder, count(*) AS bid_count,
//	       TUMBLE_START(B.p_time, INTERVAL '10' SECOND) AS starttime,
//	       TUMBLE_END(B.p_time, INTERVAL '10' SECOND) AS endtime
//	FROM (SELECT *, PROCTIME() AS p_time FROM bid) B
//	GROUP BY B.bidder, TUMBLE(B.p_time, INTERVAL '10' SECOND)
//
// (rows: BidderCount). The rows depend on when each bid is processed, so
// they differ from run to run, between parallelisms and from the
// baseline's: the query is marked ProcessingTime, and its test checks
// that the counts of the rows add up to the number of bids rather than
// comparing digests. Windows still open at the end of input fire then.
//
// The job: bids keyed by bidder into window.TumblingProcessingTime
// windows, counted incrementally. The baseline reads the clock once every
// q12ClockEvery bids, as the window operator reads it once per batch.
func init() {
	Register(Query{
		Name:           "q12",
		Description:    "processing-time windows: bids per bidder in 10s tumbling windows of processing time",
		Stateful:       true,
		ProcessingTime: true,
		Build:          func(events *stream.DataStream[Event], out *Results) { Blackhole(q12Counts(events), out) },
		NewBaseline:    func() Baseline { return &q12Baseline{start: -1, counts: map[int64]int64{}} },
	})
}

// q12ClockEvery is how many bids the baseline handles per reading of the
// clock.
const q12ClockEvery = 1024

// q12Baseline counts the bids per bidder of the current window of
// processing time and emits the counts when the clock leaves it.
type q12Baseline struct {
	start  int64
	n      int
	counts map[int64]int64
	// emitted is the sum of the counts of the rows emitted so far.
	emitted int64
}

func (b *q12Baseline) Process(ev *Event, _ int64, h *Hasher, d *Digest) {
	if ev.Kind != KindBid {
		return
	}
	if b.n%q12ClockEvery == 0 {
		size := Q12Window.Milliseconds()
		if s := window.StartOf(time.Now().UnixMilli(), 0, size); s != b.start {
			b.Finish(h, d)
			b.start = s
		}
	}
	b.n++
	b.counts[ev.Bid.Bidder]++
}

func (b *q12Baseline) Finish(h *Hasher, d *Digest) {
	end := b.start + Q12Window.Milliseconds()
	for bidder, n := range b.counts {
		Add(h, d, BidderCount{Bidder: bidder, Bids: n, Start: b.start, End: end})
		b.emitted += n
	}
	clear(b.counts)
}
