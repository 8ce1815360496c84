// Package window is Strom's keyed windowing, with the semantics of Apache
// Flink's window operator: assigners cut each key's records into windows,
// triggers decide when a window emits, evictors trim its contents, and a
// window function turns its contents into results.
//
// # Windows and time
//
// Times are milliseconds. A Window is [Start, End); its results carry the
// timestamp MaxTimestamp = End-1. Assigners:
//
//   - TumblingEventTime(size), SlidingEventTime(size, slide) and
//     EventTimeSession(gap) on event time, with WithOffset for aligned ones;
//   - TumblingProcessingTime, SlidingProcessingTime and
//     ProcessingTimeSession on processing time (TaskContext.Clock);
//   - GlobalWindows, one window per key that never ends, for count
//     windows and custom triggers;
//   - any Assigner; a MergingAssigner's windows merge (sessions).
//
// Event-time windows fire when the watermark reaches their MaxTimestamp
// (EventTimeTrigger) and are cleaned up at MaxTimestamp+AllowedLateness.
// Until then a record for a fired window is added and fires it again with
// the updated contents; after, the record is late: it goes to the late
// side output (Config.LateOutput, or Config.LateTag of Config.SideOutputs)
// or, without one, is dropped; either way it is counted (LateRecords,
// DroppedLateRecords) and a drop is logged once. A record that falls into
// no window at all (between the windows of a sliding assigner whose slide
// exceeds its size) is ignored, as in Flink.
//
// Processing time is read from TaskContext.Clock once per batch, watermark
// or timer callback, so that all records of a batch see the same time.
//
// The final watermark (operators.MaxWatermark, at the end of bounded
// input) fires every pending event-time window. Processing-time windows
// still pending at EndInput fire as if the clock had reached their end:
// unlike Flink 1.x, which drops them, so that bounded jobs lose no data.
// The global window is not flushed at the end, as in Flink: a partial
// count window does not fire.
//
// # Triggers, evictors and functions
//
// Triggers (EventTimeTrigger, ProcessingTimeTrigger, CountTrigger,
// ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger,
// PurgingTrigger, NeverTrigger, or your own Trigger) return Continue,
// Fire, Purge or FireAndPurge. They are immutable values: per-window state
// (timers, small named int64 values such as counts) lives in the
// TriggerContext, which merges it when sessions merge. Custom triggers
// read the record with CurrentElement, custom evictors with ValueAt.
//
// Window functions: NewReduce and NewAggregate (AggregateFunction) keep
// one accumulator per window; NewProcess (ProcessWindowFunction) keeps the
// records and sees them all with the key and window; NewReduceProcess and
// NewAggregateProcess combine both, passing the single incremental result
// to a process function. An evictor (CountEvictor, TimeEvictor, your own)
// makes the window keep its records in any case.
//
// Count windows as Flink's countWindow(n) are GlobalWindows with
// PurgingTrigger(CountTrigger(n)); countWindow(n, s) is GlobalWindows with
// CountTrigger(s) and CountEvictor(n).
//
// # Sliding windows on shared panes
//
// A record of a sliding window of size S and slide L belongs to S/L
// windows. When the windows are event-time, the function incremental (it
// merges accumulators), the trigger the default and there is no evictor,
// the operator keeps one accumulator per pane of gcd(S, L) per key and
// merges the S/gcd panes of a window when it fires, instead of updating
// S/L accumulators per record. Results equal the general path's provided
// the function does not depend on the order of records (it is associative
// and commutative); Config.DisablePanes turns panes off.
//
// # Usage
//
//	cfg := window.Config[string, Sale]{
//		Key:             operators.Key[string, Sale]{Selector: func(s Sale) string { return s.Shop }},
//		Assigner:        window.SlidingEventTime(10*time.Second, 2*time.Second),
//		AllowedLateness: 5 * time.Second,
//		LateOutput:      operators.NewSideOutput[Sale](lateInput),
//	}
//	op := window.NewAggregate(cfg, window.Aggregate[Sale, Avg, float64]{
//		Create:     func() Avg { return Avg{} },
//		Accumulate: func(s Sale, a Avg) Avg { return Avg{a.Sum + s.Amount, a.N + 1} },
//		Result:     func(a Avg) float64 { return a.Sum / float64(a.N) },
//		Combine:    func(a, b Avg) Avg { return Avg{a.Sum + b.Sum, a.N + b.N} },
//	}, out)
//
// The stream package wraps this in Flink's builder style (stream.Window,
// stream.WindowAggregate, stream.CountWindow).
//
// # Concurrency and determinism
//
// An Operator is one instance per subtask, driven by that subtask's
// goroutine only: it takes no locks and starts no goroutines. Assigners,
// triggers and evictors are immutable values that all subtasks share.
// Firing is deterministic: timers fire in time order, ties by window start
// and then by the order keys first arrived in; a record fires its windows
// in the assigner's order. Keyed state lives in Go maps (per key, a slice
// of window states sorted by window).
//
// # Checkpoints
//
// An Operator is operators.Checkpointed: SnapshotState writes, per key and
// in the key's key group, the windows' accumulators or records (or the
// panes of the shared-pane path), the merging window sets of sessions, the
// trigger values, the registered timers in registration order and the
// order keys arrived in, plus the event time as operator state; a restored
// operator, at any parallelism, then emits what the checkpointed one would
// have. Late-record counters are not checkpointed. Config.KeyCodec,
// Config.ValueCodec and WithAccumulatorCodec set the codecs; by default
// the types' codec.For codecs. A type without a codec fails SnapshotState,
// not the job: only checkpointed jobs need codecs. See checkpoint.go for
// the layout.
package window
