package window

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/stromhq/strom/operators"
)

// This file parses the scenario commands and builds the operator under
// test (see window_test.go).

// parseBatch parses "KEY VALUE [at TS], ...".
func parseBatch(s string) (*operators.Batch[rec], error) {
	b := operators.NewBatch[rec](4)
	for part := range strings.SplitSeq(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 && (len(f) != 4 || f[2] != "at") {
			return nil, fmt.Errorf("bad record %q: want KEY VALUE [at TS]", part)
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, err
		}
		ts := operators.NoTimestamp
		if len(f) == 4 {
			if ts, err = strconv.ParseInt(f[3], 10, 64); err != nil {
				return nil, err
			}
		}
		b.Append(rec{Key: f[0], Val: v}, ts)
	}
	return b, nil
}

func durations(args []string, n int) ([]time.Duration, error) {
	if len(args) < n {
		return nil, fmt.Errorf("want %d durations in %q", n, args)
	}
	ds := make([]time.Duration, n)
	for i := range n {
		d, err := time.ParseDuration(args[i])
		if err != nil {
			return nil, err
		}
		ds[i] = d
	}
	return ds, nil
}

func parseAssigner(f []string) (Assigner, error) {
	var offset time.Duration
	if i := len(f) - 2; i > 0 && f[i] == "offset" {
		d, err := time.ParseDuration(f[i+1])
		if err != nil {
			return nil, err
		}
		offset, f = d, f[:i]
	}
	need := map[string]int{"tumbling": 1, "tumbling-processing": 1, "sliding": 2, "sliding-processing": 2,
		"session": 1, "session-processing": 1, "global": 0}
	n, ok := need[f[0]]
	if !ok {
		return nil, fmt.Errorf("unknown assigner %q", f[0])
	}
	d, err := durations(f[1:], n)
	if err != nil {
		return nil, err
	}
	switch f[0] {
	case "tumbling":
		return TumblingEventTime(d[0]).WithOffset(offset), nil
	case "tumbling-processing":
		return TumblingProcessingTime(d[0]).WithOffset(offset), nil
	case "sliding":
		return SlidingEventTime(d[0], d[1]).WithOffset(offset), nil
	case "sliding-processing":
		return SlidingProcessingTime(d[0], d[1]).WithOffset(offset), nil
	case "session":
		return EventTimeSession(d[0]), nil
	case "session-processing":
		return ProcessingTimeSession(d[0]), nil
	}
	return GlobalWindows(), nil
}

func parseTrigger(f []string) (Trigger, error) {
	if len(f) == 0 {
		return nil, fmt.Errorf("no trigger")
	}
	switch f[0] {
	case "event":
		return EventTimeTrigger(), nil
	case "processing":
		return ProcessingTimeTrigger(), nil
	case "never":
		return NeverTrigger(), nil
	case "count":
		n, err := strconv.ParseInt(f[1], 10, 64)
		return CountTrigger(n), err
	case "continuous-event", "continuous-processing":
		d, err := durations(f[1:], 1)
		if err != nil {
			return nil, err
		}
		if f[0] == "continuous-event" {
			return ContinuousEventTimeTrigger(d[0]), nil
		}
		return ContinuousProcessingTimeTrigger(d[0]), nil
	case "purging":
		inner, err := parseTrigger(f[1:])
		return PurgingTrigger(inner), err
	}
	return nil, fmt.Errorf("unknown trigger %q", f[0])
}

func parseEvictor(f []string) (Evictor, error) {
	after := len(f) == 3 && f[2] == "after"
	switch f[0] {
	case "count":
		n, err := strconv.ParseInt(f[1], 10, 64)
		if after {
			return CountEvictorAfter(n), err
		}
		return CountEvictor(n), err
	case "time":
		d, err := durations(f[1:], 1)
		if err != nil {
			return nil, err
		}
		if after {
			return TimeEvictorAfter(d[0]), nil
		}
		return TimeEvictor(d[0]), nil
	}
	return nil, fmt.Errorf("unknown evictor %q", f[0])
}

func sum(a, b rec) rec { return rec{Key: a.Key, Val: a.Val + b.Val} }

// countAgg counts records.
var countAgg = Aggregate[rec, int64, int64]{
	Create:     func() int64 { return 0 },
	Accumulate: func(_ rec, n int64) int64 { return n + 1 },
	Result:     func(n int64) int64 { return n },
	Combine:    func(a, b int64) int64 { return a + b },
}

// avgAcc is the accumulator of the "aggregate" function.
type avgAcc struct {
	key    string
	sum, n int64
}

var avgAgg = Aggregate[rec, avgAcc, string]{
	Create:     func() avgAcc { return avgAcc{} },
	Accumulate: func(r rec, a avgAcc) avgAcc { return avgAcc{key: r.Key, sum: a.sum + r.Val, n: a.n + 1} },
	Result:     func(a avgAcc) string { return fmt.Sprintf("%s %d/%d", a.key, a.sum, a.n) },
	Combine: func(a, b avgAcc) avgAcc {
		return avgAcc{key: max(a.key, b.key), sum: a.sum + b.sum, n: a.n + b.n}
	},
}

// describe is the process function of the scenarios: one line per
// firing.
func describe[IN any](result func([]IN) string) ProcessFunc[string, IN, string] {
	return func(ctx *Context[string], elems []IN, out operators.Collector[string]) error {
		out.Collect(fmt.Sprintf("%s %v %s", ctx.Key(), ctx.Window(), result(elems)))
		return nil
	}
}

func (sc *scenario) build() error {
	if sc.db != nil {
		sc.cfg.StateCacheSize = 1
	}
	fired := &lineSink[string]{sc: sc, wms: true, format: func(v string, ts int64) string { return "fired " + v + " at " + fmtTime(ts) }}
	if sc.lateOut {
		sc.cfg.LateOutput = operators.NewSideOutput[rec](&lineSink[rec]{sc: sc, format: func(r rec, ts int64) string {
			return fmt.Sprintf("late %s %d at %s", r.Key, r.Val, fmtTime(ts))
		}})
	}
	switch sc.fn {
	case "sum":
		sc.op = NewReduceProcess(sc.cfg, sum, describe(func(rs []rec) string { return strconv.FormatInt(rs[0].Val, 10) }), fired)
	case "count":
		sc.op = NewAggregateProcess(sc.cfg, countAgg, describe(func(ns []int64) string { return strconv.FormatInt(ns[0], 10) }), fired)
	case "list":
		sc.op = NewProcess(sc.cfg, describe(func(rs []rec) string {
			vals := make([]string, len(rs))
			for i, r := range rs {
				vals[i] = strconv.FormatInt(r.Val, 10)
			}
			return "[" + strings.Join(vals, " ") + "]"
		}), fired)
	case "reduce":
		sc.op = NewReduce(sc.cfg, sum, &lineSink[rec]{sc: sc, wms: true, format: func(r rec, ts int64) string {
			return fmt.Sprintf("out %s %d at %s", r.Key, r.Val, fmtTime(ts))
		}})
	case "aggregate":
		sc.op = NewAggregate(sc.cfg, avgAgg, &lineSink[string]{sc: sc, wms: true, format: func(s string, ts int64) string {
			return "out " + s + " at " + fmtTime(ts)
		}})
	default:
		return fmt.Errorf("unknown function %q", sc.fn)
	}
	ctx := &operators.TaskContext{Operator: "window", Parallelism: 1, MaxParallelism: 128,
		Clock: &sc.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if sc.db != nil {
		ctx.Store = sc.db.store()
	}
	if err := sc.op.Open(ctx); err != nil {
		op := sc.op
		sc.op = nil
		_ = op.Close()
		return err
	}
	return nil
}
