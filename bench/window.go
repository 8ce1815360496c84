package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

// This file holds the event-time workloads: a keyed sliding-window
// aggregation and a tumbling-window join, each against a hand-written
// single-goroutine implementation of the same computation.
//
// Both generate record i of a stream from i alone: a key drawn from
// [0, Keys) by a hash of i, a value, and the event time i/EventsPerMilli
// milliseconds (minus up to OutOfOrder of jitter for the sliding window),
// so that event time advances by 1 ms every 10 records at any parallelism.

// EventsPerMilli is the number of records per millisecond of event time
// each generated stream carries.
const EventsPerMilli = 10

// Defaults of the event-time workloads.
const (
	// DefaultWindowRecords is the input size of an event-time workload
	// whose config leaves Records zero.
	DefaultWindowRecords = 10_000_000
	// DefaultWindowKeys is the number of keys of an event-time workload
	// whose config leaves Keys zero.
	DefaultWindowKeys = 10_000
	// DefaultSlidingSize and DefaultSlidingSlide are the sliding window.
	DefaultSlidingSize  = 10 * time.Second
	DefaultSlidingSlide = 2 * time.Second
	// DefaultOutOfOrder is how far out of timestamp order the window suite
	// generates the sliding workload's records, and the bound of its
	// watermarks.
	DefaultOutOfOrder = 100 * time.Millisecond
	// DefaultJoinSize is the tumbling window of the join.
	DefaultJoinSize = time.Second
)

// keyedEvent is a generated record.
type keyedEvent struct {
	Key, Val int64
}

// Seeds that make the streams differ.
const (
	slidingSeed = 0x243f6a8885a308d3
	jitterSeed  = 0x13198a2e03707344
	leftSeed    = 0xa4093822299f31d0
	rightSeed   = 0x082efa98ec4e6c89
)

// eventAt returns record i of the stream of seed over keys keys: its key
// in [0, keys) and a value below 2^20.
func eventAt(i, keys int64, seed uint64) keyedEvent {
	h := mix(uint64(i) ^ seed)
	return keyedEvent{Key: int64(h % uint64(keys)), Val: int64(h >> 44)}
}

// eventTime returns the event time of record i: i/EventsPerMilli, minus
// a jitter in [0, jitter] milliseconds when jitter is positive.
func eventTime(i, jitter int64) int64 {
	ts := i / EventsPerMilli
	if jitter > 0 {
		ts -= int64(mix(uint64(i)^jitterSeed) % uint64(jitter+1))
	}
	return ts
}

// add4 folds a record of four fields into the digest.
func (d *digest) add4(a, b, c, e int64) {
	h := mix(uint64(a) ^ 0x9e3779b97f4a7c15)
	h = mix(h ^ uint64(b))
	h = mix(h ^ uint64(c))
	d.n++
	d.h += mix(h ^ uint64(e))
}

// floorDiv is a/b rounded towards minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// floorMod is a mod b in [0, b) (b > 0).
func floorMod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

func gcd64(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// newEventEnv returns the environment of the event-time jobs: streaming
// mode, otherwise as newEnv.
func newEventEnv(parallelism, batchSize int) (*stream.Environment, *actors.Metrics) {
	metrics := &actors.Metrics{}
	opts := []stream.Option{
		stream.WithParallelism(parallelism),
		stream.WithMode(stream.Streaming),
		stream.WithLogger(stream.DiscardLogger()),
		stream.WithMetrics(metrics),
	}
	if batchSize > 0 {
		opts = append(opts, stream.WithBatchSize(batchSize))
	}
	return stream.NewEnvironment(opts...), metrics
}

// ---- sliding window aggregation ----

// SlidingConfig configures the keyed sliding-window aggregation.
type SlidingConfig struct {
	// Records is the number of generated input records (default 10M).
	Records int64
	// Keys is the number of distinct keys (default 10,000).
	Keys int64
	// Size and Slide are the sliding window (default 10s every 2s); both
	// whole milliseconds.
	Size, Slide time.Duration
	// OutOfOrder is how far behind i/EventsPerMilli a record's timestamp
	// may be (a jitter in [0, OutOfOrder]), and the bound of the
	// watermarks. Zero, the default here, generates records in timestamp
	// order; RunWindow uses DefaultOutOfOrder.
	OutOfOrder time.Duration
	// Parallelism is the parallelism of every operator (default 1).
	Parallelism int
	// Repeat is the number of runs of each side (default 3).
	Repeat int
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
}

func (c SlidingConfig) withDefaults() SlidingConfig {
	if c.Records == 0 {
		c.Records = DefaultWindowRecords
	}
	if c.Keys == 0 {
		c.Keys = DefaultWindowKeys
	}
	if c.Size == 0 {
		c.Size = DefaultSlidingSize
	}
	if c.Slide == 0 {
		c.Slide = DefaultSlidingSlide
	}
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.Repeat == 0 {
		c.Repeat = DefaultRepeat
	}
	return c
}

func (c SlidingConfig) check() error {
	if err := check(c.Records, c.Parallelism, c.Repeat, c.BatchSize); err != nil {
		return err
	}
	switch {
	case c.Keys < 1:
		return fmt.Errorf("keys %d: must be at least 1", c.Keys)
	case c.Size.Milliseconds() < 1 || c.Size%time.Millisecond != 0:
		return fmt.Errorf("window size %v: must be a positive whole number of milliseconds", c.Size)
	case c.Slide.Milliseconds() < 1 || c.Slide%time.Millisecond != 0:
		return fmt.Errorf("window slide %v: must be a positive whole number of milliseconds", c.Slide)
	case c.Slide > c.Size:
		return fmt.Errorf("window slide %v: must not exceed the size %v", c.Slide, c.Size)
	case c.OutOfOrder < 0 || c.OutOfOrder%time.Millisecond != 0:
		return fmt.Errorf("out-of-orderness %v: must be a whole number of milliseconds, not negative", c.OutOfOrder)
	}
	return nil
}

// RunSlidingWindow runs the sliding-window workload: records (key, value)
// with steadily advancing event time, watermarks of bounded
// out-of-orderness, a count and a sum per key and sliding window, folded
// with each window's end into an order-independent checksum. Strom runs it
// as stream.Window(keyed, window.SlidingEventTime(Size, Slide)) with
// WindowAggregate; the baseline is slidingBaseline.
func RunSlidingWindow(ctx context.Context, cfg SlidingConfig) (Result, error) {
	cfg = cfg.withDefaults()
	r := Result{Workload: "sliding", Parallelism: cfg.Parallelism, Records: cfg.Records, Repeat: cfg.Repeat}
	if err := cfg.check(); err != nil {
		return r, fmt.Errorf("sliding: %w", err)
	}
	err := compare(ctx, &r,
		func() (digest, error) { return slidingStrom(ctx, cfg) },
		func() (digest, error) { return slidingBaseline(cfg) })
	return r, err
}

// winAcc is the accumulator and the result of the sliding aggregation: the
// key (the aggregate function does not see it otherwise), the number of
// records and the sum of their values.
type winAcc struct {
	Key, Count, Sum int64
}

// slidingAgg counts and sums the values of a window.
var slidingAgg = window.Aggregate[keyedEvent, winAcc, winAcc]{
	Create: func() winAcc { return winAcc{} },
	Accumulate: func(e keyedEvent, a winAcc) winAcc {
		return winAcc{Key: e.Key, Count: a.Count + 1, Sum: a.Sum + e.Val}
	},
	Result: func(a winAcc) winAcc { return a },
	Combine: func(a, b winAcc) winAcc {
		if a.Count == 0 {
			a.Key = b.Key
		}
		a.Count += b.Count
		a.Sum += b.Sum
		return a
	},
}

// slidingSource returns the factory of the generator of the sliding
// workload.
func slidingSource(cfg SlidingConfig) func() operators.Source[keyedEvent] {
	keys, jitter := cfg.Keys, cfg.OutOfOrder.Milliseconds()
	return func() operators.Source[keyedEvent] {
		return gen.New(func(i int64) keyedEvent { return eventAt(i, keys, slidingSeed) },
			gen.Count(cfg.Records), gen.Timestamps(func(i int64) int64 { return eventTime(i, jitter) }))
	}
}

// slidingJob builds the Strom job of the sliding workload into env; the
// results are in out once it ran.
func slidingJob(env *stream.Environment, cfg SlidingConfig, out *shared) {
	env.SetName("bench-sliding")
	src := stream.FromSource(env, "gen", slidingSource(cfg), true,
		stream.WithWatermarks(stream.ForBoundedOutOfOrderness[keyedEvent](cfg.OutOfOrder)))
	keyed := stream.KeyBy(src, func(e keyedEvent) int64 { return e.Key })
	aggs := stream.WindowAggregate(stream.Window(keyed, window.SlidingEventTime(cfg.Size, cfg.Slide)), "count-sum", slidingAgg)
	stream.SinkTo(aggs, "checksum", func() operators.Sink[winAcc] { return &winSink{out: out} })
}

// slidingStrom runs the sliding workload as a Strom job once.
func slidingStrom(ctx context.Context, cfg SlidingConfig) (digest, error) {
	env, metrics := newEventEnv(cfg.Parallelism, cfg.BatchSize)
	var out shared
	slidingJob(env, cfg, &out)
	if err := execute(ctx, env, metrics, cfg.Records); err != nil {
		return digest{}, err
	}
	return out.get(), nil
}

// winSink folds (key, window end, count, sum) into a digest; the window
// end is the result's timestamp (its window's last millisecond) plus one.
type winSink struct {
	out *shared
	d   digest
}

func (s *winSink) Open(*operators.TaskContext) error { s.d = digest{}; return nil }
func (s *winSink) Close() error                      { return nil }

func (s *winSink) Write(b *operators.Batch[winAcc]) error {
	for i, a := range b.Values {
		s.d.add4(a.Key, b.Times[i]+1, a.Count, a.Sum)
	}
	return nil
}

func (s *winSink) Finish() error {
	s.out.merge(s.d)
	return nil
}

// slidingPane is one pane of one key in the baseline: the records with
// timestamps in [id*pane, (id+1)*pane).
type slidingPane struct {
	id, n, sum int64
}

// slidingBaseline is the hand-written implementation: one pass over the
// records on one goroutine, with per-key ring buffers of panes.
//
// A pane is gcd(Size, Slide) long; a window is Size/pane consecutive
// panes. Keys map to dense slots (a map from key to slot: the baseline
// does not assume keys are small integers), and slot s owns ring entries
// [s*ring, (s+1)*ring) of one flat slice, entry id mod ring holding pane
// id. A record adds to one pane. The watermark follows the highest
// timestamp seen, as the Strom job's does, and each time it passes a
// window's last millisecond that window fires for every key: the sum of
// its panes, emitted when the key has records in it. The ring is long
// enough (Size + OutOfOrder) that a pane is reused only after every window
// containing it fired.
func slidingBaseline(cfg SlidingConfig) (digest, error) {
	size, slide := cfg.Size.Milliseconds(), cfg.Slide.Milliseconds()
	delay := cfg.OutOfOrder.Milliseconds()
	pane := gcd64(size, slide)
	perWin := size / pane
	ring := (size+delay+pane-1)/pane + 1
	keys, jitter := cfg.Keys, delay

	slots := make(map[int64]int32)
	var slotKeys []int64
	var panes []slidingPane
	var d digest

	fire := func(end int64) {
		first := floorDiv(end-size, pane)
		for s, k := range slotKeys {
			ps := panes[int64(s)*ring : int64(s+1)*ring]
			var n, sum int64
			for id := first; id < first+perWin; id++ {
				if p := &ps[floorMod(id, ring)]; p.id == id {
					n += p.n
					sum += p.sum
				}
			}
			if n > 0 {
				d.add4(k, end, n, sum)
			}
		}
	}

	maxTs, wm := int64(math.MinInt64), int64(math.MinInt64)
	next := int64(math.MaxInt64) // the end of the next window to fire
	for i := range cfg.Records {
		e, ts := eventAt(i, keys, slidingSeed), eventTime(i, jitter)
		if ts <= wm {
			return d, fmt.Errorf("sliding baseline: record %d at %d is behind the watermark %d: %w", i, ts, wm, ErrMismatch)
		}
		if ts > maxTs {
			if maxTs == math.MinInt64 {
				// No record will be earlier than ts - delay: the first
				// window to fire is the first that ends after it.
				next = (floorDiv(ts-delay-size, slide)+1)*slide + size
			}
			maxTs, wm = ts, ts-delay-1
			for next-1 <= wm {
				fire(next)
				next += slide
			}
		}
		s, ok := slots[e.Key]
		if !ok {
			s = int32(len(slotKeys))
			slots[e.Key] = s
			slotKeys = append(slotKeys, e.Key)
			for range ring {
				panes = append(panes, slidingPane{id: math.MinInt64})
			}
		}
		id := floorDiv(ts, pane)
		p := &panes[int64(s)*ring+floorMod(id, ring)]
		if p.id != id {
			*p = slidingPane{id: id}
		}
		p.n++
		p.sum += e.Val
	}
	// End of input: every window holding records fires.
	for maxTs != math.MinInt64 && next-size <= maxTs {
		fire(next)
		next += slide
	}
	return d, nil
}

// ---- window join ----

// JoinConfig configures the tumbling-window join.
type JoinConfig struct {
	// Records is the number of generated records of each side (default
	// 5M: 10M input records in all).
	Records int64
	// Keys is the number of distinct keys of each side (default 10,000).
	Keys int64
	// Size is the tumbling window (default 1s), whole milliseconds.
	Size time.Duration
	// Parallelism is the parallelism of every operator (default 1).
	Parallelism int
	// Repeat is the number of runs of each side (default 3).
	Repeat int
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
}

func (c JoinConfig) withDefaults() JoinConfig {
	if c.Records == 0 {
		c.Records = DefaultWindowRecords / 2
	}
	if c.Keys == 0 {
		c.Keys = DefaultWindowKeys
	}
	if c.Size == 0 {
		c.Size = DefaultJoinSize
	}
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.Repeat == 0 {
		c.Repeat = DefaultRepeat
	}
	return c
}

func (c JoinConfig) check() error {
	if err := check(c.Records, c.Parallelism, c.Repeat, c.BatchSize); err != nil {
		return err
	}
	switch {
	case c.Keys < 1:
		return fmt.Errorf("keys %d: must be at least 1", c.Keys)
	case c.Size.Milliseconds() < 1 || c.Size%time.Millisecond != 0:
		return fmt.Errorf("window size %v: must be a positive whole number of milliseconds", c.Size)
	}
	return nil
}

// RunWindowJoin runs the window join workload: two generated keyed
// streams in timestamp order, joined on equal keys within tumbling
// event-time windows, each pair (key, left value, right value) folded
// with the window's last millisecond into an order-independent checksum.
// Strom runs it as stream.JoinWindow with TumblingJoinWindows; the
// baseline is joinBaseline. The Result counts the records of both sides.
func RunWindowJoin(ctx context.Context, cfg JoinConfig) (Result, error) {
	cfg = cfg.withDefaults()
	r := Result{Workload: "join", Parallelism: cfg.Parallelism, Records: 2 * cfg.Records, Repeat: cfg.Repeat}
	if err := cfg.check(); err != nil {
		return r, fmt.Errorf("join: %w", err)
	}
	err := compare(ctx, &r,
		func() (digest, error) { return joinStrom(ctx, cfg) },
		func() (digest, error) { return joinBaseline(cfg), nil })
	return r, err
}

// joinPair is what the join emits.
type joinPair struct {
	Key, L, R int64
}

func joinFn(l, r keyedEvent) joinPair { return joinPair{Key: l.Key, L: l.Val, R: r.Val} }

// joinSource returns the factory of the generator of one side.
func joinSource(cfg JoinConfig, seed uint64) func() operators.Source[keyedEvent] {
	keys := cfg.Keys
	return func() operators.Source[keyedEvent] {
		return gen.New(func(i int64) keyedEvent { return eventAt(i, keys, seed) },
			gen.Count(cfg.Records), gen.Timestamps(func(i int64) int64 { return eventTime(i, 0) }))
	}
}

// joinJob builds the Strom job of the join workload into env.
func joinJob(env *stream.Environment, cfg JoinConfig, out *shared) {
	env.SetName("bench-join")
	wm := stream.WithWatermarks(stream.ForMonotonousTimestamps[keyedEvent]())
	left := stream.FromSource(env, "left", joinSource(cfg, leftSeed), true, wm)
	right := stream.FromSource(env, "right", joinSource(cfg, rightSeed), true, wm)
	key := func(e keyedEvent) int64 { return e.Key }
	pairs := stream.JoinWindow(left, right, "join", key, key, stream.TumblingJoinWindows(cfg.Size), joinFn)
	stream.SinkTo(pairs, "checksum", func() operators.Sink[joinPair] { return &pairSink{out: out} })
}

// joinStrom runs the join workload as a Strom job once.
func joinStrom(ctx context.Context, cfg JoinConfig) (digest, error) {
	env, metrics := newEventEnv(cfg.Parallelism, cfg.BatchSize)
	var out shared
	joinJob(env, cfg, &out)
	if err := execute(ctx, env, metrics, 2*cfg.Records); err != nil {
		return digest{}, err
	}
	return out.get(), nil
}

// pairSink folds (key, left, right, window's last millisecond) into a
// digest.
type pairSink struct {
	out *shared
	d   digest
}

func (s *pairSink) Open(*operators.TaskContext) error { s.d = digest{}; return nil }
func (s *pairSink) Close() error                      { return nil }

func (s *pairSink) Write(b *operators.Batch[joinPair]) error {
	for i, p := range b.Values {
		s.d.add4(p.Key, p.L, p.R, b.Times[i])
	}
	return nil
}

func (s *pairSink) Finish() error {
	s.out.merge(s.d)
	return nil
}

// joinBaseline is the hand-written implementation: one pass over both
// sides in timestamp order on one goroutine, with a hash join per window.
// While a window is open its left records are chained per key (a map from
// key to the last left record of that key, each record linking to the
// previous one) and its right records are listed; when event time leaves
// the window, every right record probes the left chains of its key and
// each pair is emitted. The buffers are reused from window to window.
func joinBaseline(cfg JoinConfig) digest {
	size := cfg.Size.Milliseconds()
	keys := cfg.Keys
	var d digest
	heads := make(map[int64]int32)
	var lvals []int64
	var lnext []int32
	var right []keyedEvent
	closeWindow := func(start int64) {
		last := start + size - 1
		for _, r := range right {
			h, ok := heads[r.Key]
			if !ok {
				continue
			}
			for j := h; j >= 0; j = lnext[j] {
				d.add4(r.Key, lvals[j], r.Val, last)
			}
		}
		clear(heads)
		lvals, lnext, right = lvals[:0], lnext[:0], right[:0]
	}
	cur := int64(math.MinInt64)
	for i := range cfg.Records {
		ts := eventTime(i, 0)
		if w := floorDiv(ts, size) * size; w != cur {
			if cur != math.MinInt64 {
				closeWindow(cur)
			}
			cur = w
		}
		l := eventAt(i, keys, leftSeed)
		prev, ok := heads[l.Key]
		if !ok {
			prev = -1
		}
		heads[l.Key] = int32(len(lvals))
		lvals = append(lvals, l.Val)
		lnext = append(lnext, prev)
		right = append(right, eventAt(i, keys, rightSeed))
	}
	if cur != math.MinInt64 {
		closeWindow(cur)
	}
	return d
}

// ---- the suite ----

// WindowConfig configures the window suite.
type WindowConfig struct {
	// Records is the number of input records of each workload (default
	// 10M): the sliding window reads Records records, the join Records/2
	// per side.
	Records int64
	// Repeat is the number of runs of each side (default 3).
	Repeat int
	// Parallelism is the parallelism of the parallel variants (default 2).
	// Every workload runs at parallelism 1 and, when this is above 1, at
	// this parallelism too.
	Parallelism int
	// Keys is the number of keys of both workloads (default 10,000).
	Keys int64
	// OutOfOrder is the out-of-orderness of the sliding workload (default
	// DefaultOutOfOrder; negative for records in timestamp order).
	OutOfOrder time.Duration
	// BatchSize, when positive, sets the runtime's records per batch.
	BatchSize int
	// Progress, when set, is called with each result as soon as it is
	// measured, from the goroutine that called RunWindow.
	Progress func(Result)
}

// RunWindow runs the window suite: the sliding-window aggregation (10s
// windows every 2s) and the tumbling-window join (1s), each at parallelism
// 1 and at cfg.Parallelism. It returns the results measured so far with
// the first error.
func RunWindow(ctx context.Context, cfg WindowConfig) ([]Result, error) {
	if cfg.Parallelism == 0 {
		cfg.Parallelism = DefaultParallelism
	}
	if cfg.Records == 0 {
		cfg.Records = DefaultWindowRecords
	}
	if cfg.Repeat == 0 {
		cfg.Repeat = DefaultRepeat
	}
	if cfg.Keys == 0 {
		cfg.Keys = DefaultWindowKeys
	}
	switch {
	case cfg.OutOfOrder == 0:
		cfg.OutOfOrder = DefaultOutOfOrder
	case cfg.OutOfOrder < 0:
		cfg.OutOfOrder = 0
	}
	if err := check(cfg.Records, cfg.Parallelism, cfg.Repeat, cfg.BatchSize); err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	if cfg.Keys < 1 {
		return nil, fmt.Errorf("window: keys %d: must be at least 1", cfg.Keys)
	}
	if cfg.Records < 2 {
		return nil, fmt.Errorf("window: records %d: the join needs at least 2", cfg.Records)
	}
	pars := []int{1}
	if cfg.Parallelism > 1 {
		pars = append(pars, cfg.Parallelism)
	}
	var runs []func() (Result, error)
	for _, p := range pars {
		runs = append(runs, func() (Result, error) {
			return RunSlidingWindow(ctx, SlidingConfig{
				Records: cfg.Records, Keys: cfg.Keys, OutOfOrder: cfg.OutOfOrder,
				Parallelism: p, Repeat: cfg.Repeat, BatchSize: cfg.BatchSize,
			})
		})
	}
	for _, p := range pars {
		runs = append(runs, func() (Result, error) {
			return RunWindowJoin(ctx, JoinConfig{
				Records: cfg.Records / 2, Keys: cfg.Keys,
				Parallelism: p, Repeat: cfg.Repeat, BatchSize: cfg.BatchSize,
			})
		})
	}
	var results []Result
	for _, run := range runs {
		r, err := run()
		if err != nil {
			return results, err
		}
		results = append(results, r)
		if cfg.Progress != nil {
			cfg.Progress(r)
		}
	}
	return results, nil
}
