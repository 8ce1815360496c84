package jobs

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/stromhq/strom/connectors/file"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

func init() {
	stream.Register(&stream.Job{
		Name:        "windowagg",
		Description: "event-time window COUNT and SUM per key of CSV lines EVENT_TIME_MS,KEY,VALUE",
		Params: slices.Concat(fileParams, []stream.Param{
			{Name: "output", Usage: "file to write WINDOW_START_MS,WINDOW_END_MS,KEY,COUNT,SUM lines to (required); malformed lines go to OUTPUT.rejected, late records to OUTPUT.late"},
			{Name: "window", Usage: "tumbling:SIZE, sliding:SIZE,SLIDE or session:GAP (required)"},
			{Name: "out-of-orderness", Default: "0s", Usage: "how far behind the highest event time seen the watermark stays"},
			{Name: "allowed-lateness", Default: "0s", Usage: "how long after the watermark passed a window late records still update it"},
		}),
		Build: buildWindowAgg,
	})
}

// WindowResult is one fired window of one key.
type WindowResult struct {
	Start, End int64
	Key        string
	Count, Sum int64
}

// FormatWindowResult formats a result as WINDOW_START_MS,WINDOW_END_MS,KEY,COUNT,SUM.
func FormatWindowResult(r WindowResult) string {
	return strconv.FormatInt(r.Start, 10) + "," + strconv.FormatInt(r.End, 10) + "," + r.Key + "," +
		strconv.FormatInt(r.Count, 10) + "," + strconv.FormatInt(r.Sum, 10)
}

// countSum is the accumulator of a window.
type countSum struct{ Count, Sum int64 }

var (
	rejectedTag = stream.NewOutputTag[string]("rejected")
	lateTag     = stream.NewOutputTag[Event]("late")
)

// Assigner returns the window assigner of a spec.
func (w WindowSpec) Assigner() window.Assigner {
	switch w.Kind {
	case "sliding":
		return window.SlidingEventTime(w.Size, w.Slide)
	case "session":
		return window.EventTimeSession(w.Gap)
	}
	return window.TumblingEventTime(w.Size)
}

func buildWindowAgg(env *stream.Environment, args stream.Args) error {
	lines, out, err := readInput(env, args)
	if err != nil {
		return err
	}
	if args.String("window") == "" {
		return fmt.Errorf("--window is required")
	}
	spec, err := ParseWindowSpec(args.String("window"))
	if err != nil {
		return err
	}
	ooo, err := args.Duration("out-of-orderness")
	if err != nil {
		return err
	}
	lateness, err := args.Duration("allowed-lateness")
	if err != nil {
		return err
	}
	if ooo < 0 {
		return fmt.Errorf("--out-of-orderness %v: must not be negative", ooo)
	}
	if lateness < 0 {
		return fmt.Errorf("--allowed-lateness %v: must not be negative", lateness)
	}

	events := stream.ProcessStream(lines, "parse", func() stream.ProcessFunction[string, Event] {
		return stream.ProcessStreamFunc[string, Event](parseLine)
	})
	stream.SinkTo(stream.SideOutput(events, rejectedTag), "write-rejected", func() operators.Sink[string] {
		return file.NewLineSink(out + ".rejected")
	}).SetParallelism(1)

	// The watermark follows every record (see eagerBounded), so which
	// records are late does not depend on how lines are batched.
	strategy := stream.ForGenerator(func(*operators.TaskContext) stream.WatermarkGenerator[Event] {
		return &eagerBounded{delay: ooo.Milliseconds(), max: operators.NoTimestamp}
	}).WithTimestampAssigner(func(e Event, _ int64) int64 { return e.Time })
	timed := stream.AssignTimestampsAndWatermarks(events, "event-time", strategy)
	windowed := stream.Window(stream.KeyBy(timed, func(e Event) string { return e.Key }), spec.Assigner()).
		AllowedLateness(lateness).
		SideOutputLateData(lateTag)
	results := stream.WindowAggregateProcess(windowed, "aggregate", window.Aggregate[Event, countSum, countSum]{
		Create:     func() countSum { return countSum{} },
		Accumulate: func(e Event, acc countSum) countSum { return countSum{acc.Count + 1, acc.Sum + e.Value} },
		Result:     func(acc countSum) countSum { return acc },
		Combine:    func(a, b countSum) countSum { return countSum{a.Count + b.Count, a.Sum + b.Sum} },
	}, window.ProcessFunc[string, countSum, WindowResult](func(ctx *window.Context[string], in []countSum, out operators.Collector[WindowResult]) error {
		w := ctx.Window()
		for _, cs := range in {
			out.Collect(WindowResult{Start: w.Start, End: w.End, Key: ctx.Key(), Count: cs.Count, Sum: cs.Sum})
		}
		return nil
	}))
	stream.SinkTo(results, "write", func() operators.Sink[WindowResult] {
		return file.NewSink(out, FormatWindowResult)
	}).SetParallelism(1)

	late := stream.ProcessStream(stream.SideOutput(results, lateTag), "count-late", func() stream.ProcessFunction[Event, string] {
		return stream.ProcessStreamFunc[Event, string](func(ctx *operators.ProcessContext, e Event, out stream.Collector[string]) error {
			ctx.Task().Count("late records", 1)
			out.Collect(FormatEvent(e))
			return nil
		})
	})
	stream.SinkTo(late, "write-late", func() operators.Sink[string] { return file.NewLineSink(out + ".late") }).SetParallelism(1)
	return nil
}

// eagerBounded is bounded out-of-orderness evaluated per record: after each
// record the watermark is the highest event time seen minus the delay,
// minus 1 ms (records exactly delay behind the highest are on time). Flink's
// bounded out-of-orderness generator emits the same watermark periodically;
// emitting it with the record makes lateness exact and repeatable, at the
// cost of a watermark per record that raises it.
type eagerBounded struct {
	delay, max int64
}

// OnEvent implements stream.WatermarkGenerator.
func (g *eagerBounded) OnEvent(_ Event, ts int64, out stream.WatermarkOutput) {
	if ts > g.max {
		g.max = ts
		out.EmitWatermark(ts - g.delay - 1)
	}
}

// OnPeriodicEmit implements stream.WatermarkGenerator.
func (g *eagerBounded) OnPeriodicEmit(stream.WatermarkOutput) {}

// parseLine turns a CSV line into an Event; a malformed line goes to the
// rejected side output and is counted. Empty lines are skipped.
func parseLine(ctx *operators.ProcessContext, line string, out stream.Collector[Event]) error {
	if len(line) == 0 || line == "\r" {
		return nil
	}
	e, err := ParseEvent(line)
	if err != nil {
		ctx.Task().Count("rejected records", 1)
		stream.Output(ctx, rejectedTag, line)
		return nil
	}
	out.Collect(e)
	return nil
}
