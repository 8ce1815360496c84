package stream_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/internal/testutil"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// eventTimeSink collects records with their timestamps and the watermarks
// that reach it, in arrival order; it implements operators.WatermarkSink.
type eventTimeSink struct {
	mu sync.Mutex
	// events interleaves records (rec set) and watermarks in order.
	events []sinkEvent
	// wm is the highest watermark seen, readable by sources.
	wm atomic.Int64
}

// sinkEvent is a record (rec set, with value v) or a watermark (ts).
type sinkEvent struct {
	rec   bool
	v, ts int64
}

func newEventTimeSink() *eventTimeSink {
	s := &eventTimeSink{}
	s.wm.Store(operators.NoTimestamp)
	return s
}

func (s *eventTimeSink) Sink() operators.Sink[int64] { return (*eventTimeSubtask)(s) }

func (s *eventTimeSink) Events() []sinkEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkEvent(nil), s.events...)
}

// eventTimeSubtask is one sink subtask of an eventTimeSink.
type eventTimeSubtask eventTimeSink

func (s *eventTimeSubtask) Open(*operators.TaskContext) error { return nil }
func (s *eventTimeSubtask) Finish() error                     { return nil }
func (s *eventTimeSubtask) Close() error                      { return nil }

func (s *eventTimeSubtask) Write(b *operators.Batch[int64]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range b.Values {
		s.events = append(s.events, sinkEvent{rec: true, v: v, ts: b.Times[i]})
	}
	return nil
}

func (s *eventTimeSubtask) ProcessWatermark(wm int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, sinkEvent{ts: wm})
	s.wm.Store(wm)
	return nil
}

var _ operators.WatermarkSink = (*eventTimeSubtask)(nil)

// checkEventTime verifies that watermarks rose strictly and ended with
// MaxWatermark, and that no record with a timestamp came at or below a
// watermark already seen. It returns the watermarks.
func checkEventTime(t *testing.T, events []sinkEvent) []int64 {
	t.Helper()
	var wms []int64
	wm := operators.NoTimestamp
	for _, e := range events {
		if e.rec {
			if e.ts != operators.NoTimestamp && e.ts <= wm {
				t.Fatalf("record %d with timestamp %d came after watermark %d", e.v, e.ts, wm)
			}
			continue
		}
		if e.ts <= wm {
			t.Fatalf("watermark %d after %d: it went back", e.ts, wm)
		}
		wm = e.ts
		wms = append(wms, wm)
	}
	if wm != operators.MaxWatermark {
		t.Fatalf("last watermark %d, want MaxWatermark", wm)
	}
	return wms
}

// quietSource is a source of two subtasks: subtask 0 emits record i with
// timestamp 10*i, one per poll, until subtask 1 is done; subtask 1 has no
// data until the sink has seen event time reach 1000 (or until release
// passes), then emits 5 records far ahead in event time and ends.
type quietSource struct {
	sink    *eventTimeSink
	release time.Duration
	shared  *quietShared
	sub     int
	i       int64
	start   time.Time
}

type quietShared struct {
	// lateDone is set when subtask 1 emitted its records; wmAtRelease is
	// the sink's watermark at that moment.
	lateDone    atomic.Bool
	wmAtRelease atomic.Int64
}

func (s *quietSource) Open(ctx *operators.TaskContext) error {
	s.sub, s.start = ctx.Subtask, time.Now()
	return nil
}

func (s *quietSource) Close() error { return nil }

func (s *quietSource) Poll(b *operators.Batch[int64], _ int) (operators.PollResult, error) {
	if s.sub == 0 {
		if s.shared.lateDone.Load() && s.i >= 200 {
			return operators.PollResult{Done: true}, nil
		}
		b.Append(s.i, 10*s.i)
		s.i++
		return operators.PollResult{Wait: time.Millisecond}, nil
	}
	if wm := s.sink.wm.Load(); wm < 1000 && time.Since(s.start) < s.release {
		return operators.PollResult{Wait: 5 * time.Millisecond}, nil
	}
	s.shared.wmAtRelease.Store(s.sink.wm.Load())
	for k := range int64(5) {
		b.Append(1_000_000+k, 1_000_000+k)
	}
	s.shared.lateDone.Store(true)
	return operators.PollResult{Done: true}, nil
}

// TestIdleSubtaskDoesNotHoldEventTime runs a source of 2 subtasks where
// subtask 1 has no data for a while. With idleness, the sink downstream
// sees event time advance on subtask 0's watermarks alone; without, event
// time stands still until subtask 1 brings data.
func TestIdleSubtaskDoesNotHoldEventTime(t *testing.T) {
	for _, idle := range []bool{true, false} {
		name := "idleness"
		if !idle {
			name = "no idleness"
		}
		t.Run(name, func(t *testing.T) {
			env := newEnv(2)
			sink := newEventTimeSink()
			shared := &quietShared{}
			strategy := stream.ForMonotonousTimestamps[int64]()
			release := 10 * time.Second
			if idle {
				strategy = strategy.WithIdleness(20 * time.Millisecond)
			} else {
				release = 300 * time.Millisecond
			}
			src := stream.FromSource(env, "quiet", func() operators.Source[int64] {
				return &quietSource{sink: sink, release: release, shared: shared}
			}, true, stream.WithWatermarks(strategy))
			stream.SinkTo(src, "event-time", sink.Sink).SetParallelism(1)
			run(t, env)

			events := sink.Events()
			wms := checkEventTime(t, events)
			at := shared.wmAtRelease.Load()
			if idle && at < 1000 {
				t.Fatalf("event time at the sink was %d when the quiet subtask gave up waiting: the idle subtask held it", at)
			}
			if !idle && at != operators.NoTimestamp {
				t.Fatalf("event time reached %d while a subtask without idleness had no data", at)
			}
			recs := 0
			for _, e := range events {
				if e.rec {
					recs++
				}
			}
			if recs < 205 {
				t.Fatalf("%d records reached the sink, want at least 205", recs)
			}
			t.Logf("%d records, %d watermarks, event time %d at release", recs, len(wms), at)
		})
	}
}

// TestAssignTimestampsAndWatermarksMidStream replaces the source's event
// time (timestamps 1000*i) by the value itself, after a map.
func TestAssignTimestampsAndWatermarksMidStream(t *testing.T) {
	const n = 2000
	env := newEnv(2)
	sink := newEventTimeSink()
	src := stream.FromSource(env, "seq", func() operators.Source[int64] {
		return gen.Sequence(gen.Count(n), gen.Rate(40_000), gen.Timestamps(func(i int64) int64 { return 1000 * i }))
	}, true, stream.WithWatermarks(stream.ForMonotonousTimestamps[int64]()))
	doubled := stream.Map(src, "double", func(v int64) int64 { return 2 * v })
	stamped := stream.AssignTimestampsAndWatermarks(doubled, "stamp",
		stream.ForBoundedOutOfOrderness[int64](time.Millisecond).
			WithTimestampAssigner(func(v, _ int64) int64 { return v }).
			WithEmitInterval(10*time.Millisecond))
	stream.SinkTo(stamped, "event-time", sink.Sink).SetParallelism(1)
	run(t, env)

	events := sink.Events()
	wms := checkEventTime(t, events)
	recs := 0
	for _, e := range events {
		if e.rec {
			recs++
			if e.ts != e.v {
				t.Fatalf("record %d has timestamp %d", e.v, e.ts)
			}
		}
	}
	if recs != n {
		t.Fatalf("%d records, want %d", recs, n)
	}
	for _, wm := range wms[:len(wms)-1] {
		if wm >= 2*n {
			t.Fatalf("watermark %d passed from upstream", wm)
		}
	}
	t.Logf("%d watermarks", len(wms))
}

func TestIngestionAndProcessingTime(t *testing.T) {
	for _, ingestion := range []bool{true, false} {
		env := newEnv(2)
		sink := newEventTimeSink()
		strategy := stream.ForProcessingTime[int64]()
		if ingestion {
			strategy = stream.ForIngestionTime[int64]()
		}
		src := stream.FromSource(env, "seq", func() operators.Source[int64] {
			return gen.Sequence(gen.Count(500), gen.Timestamps(func(i int64) int64 { return i }))
		}, true, stream.WithWatermarks(strategy))
		stream.SinkTo(src, "event-time", sink.Sink).SetParallelism(1)
		start := time.Now().UnixMilli()
		run(t, env)
		end := time.Now().UnixMilli()
		events := sink.Events()
		wms := checkEventTime(t, events)
		for _, e := range events {
			switch {
			case !e.rec:
			case ingestion && (e.ts < start || e.ts > end):
				t.Fatalf("ingestion time %d outside [%d, %d]", e.ts, start, end)
			case !ingestion && e.ts != operators.NoTimestamp:
				t.Fatalf("processing time: record %d has timestamp %d", e.v, e.ts)
			}
		}
		if !ingestion && len(wms) != 1 {
			t.Fatalf("processing time: watermarks %v, want only MaxWatermark", wms)
		}
	}
}

func TestWatermarkStrategyErrors(t *testing.T) {
	drop := func() operators.Sink[int64] { return &testutil.NullSink[int64]{} }
	cases := []struct {
		name string
		add  func(env *stream.Environment) *stream.DataStream[int64]
		want string
	}{
		{"negative idleness", func(env *stream.Environment) *stream.DataStream[int64] {
			return stream.FromSource(env, "src", seq(10), true,
				stream.WithWatermarks(stream.ForMonotonousTimestamps[int64]().WithIdleness(-time.Second)))
		}, `source "src": idleness -1s: must not be negative`},
		{"negative out-of-orderness", func(env *stream.Environment) *stream.DataStream[int64] {
			return stream.FromSource(env, "src", seq(10), true,
				stream.WithWatermarks(stream.ForBoundedOutOfOrderness[int64](-time.Millisecond)))
		}, `source "src": bounded out-of-orderness -1ms: must not be negative`},
		{"nil punctuation", func(env *stream.Environment) *stream.DataStream[int64] {
			return stream.AssignTimestampsAndWatermarks(stream.FromSource(env, "src", seq(10), true), "stamp",
				stream.ForPunctuated[int64](nil))
		}, `operator "stamp": punctuated watermarks: nil function`},
		{"zero interval", func(env *stream.Environment) *stream.DataStream[int64] {
			return stream.AssignTimestampsAndWatermarks(stream.FromSource(env, "src", seq(10), true), "stamp",
				stream.NoWatermarks[int64]().WithEmitInterval(0))
		}, `operator "stamp": watermark emit interval 0s: must be positive`},
		{"nil generator", func(env *stream.Environment) *stream.DataStream[int64] {
			return stream.FromSource(env, "src", seq(10), true, stream.WithWatermarks(stream.ForGenerator[int64](nil)))
		}, `source "src": watermark generator: nil factory`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(1)
			stream.SinkTo(c.add(env), "drop", drop)
			err := env.Execute(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestCustomGenerator runs a ForGenerator strategy: a generator that emits
// a watermark per record, at the record's timestamp minus 100.
func TestCustomGenerator(t *testing.T) {
	const n = 1000
	env := newEnv(1)
	sink := newEventTimeSink()
	src := stream.FromSource(env, "seq", func() operators.Source[int64] {
		return gen.Sequence(gen.Count(n), gen.Rate(20_000), gen.Timestamps(func(i int64) int64 { return i }))
	}, true, stream.WithWatermarks(stream.ForGenerator(func(*operators.TaskContext) stream.WatermarkGenerator[int64] {
		return &laggingGenerator{}
	})))
	stream.SinkTo(src, "event-time", sink.Sink)
	run(t, env)
	wms := checkEventTime(t, sink.Events())
	if len(wms) < 2 {
		t.Fatalf("watermarks %v: want some before the end", wms)
	}
	for _, wm := range wms[:len(wms)-1] {
		if wm > n-1-100 {
			t.Fatalf("watermark %d: more than the last timestamp minus 100", wm)
		}
	}
}

// laggingGenerator emits a watermark 100 ms behind every record.
type laggingGenerator struct{}

func (*laggingGenerator) OnEvent(_, ts int64, out stream.WatermarkOutput) {
	out.EmitWatermark(ts - 100)
}
func (*laggingGenerator) OnPeriodicEmit(stream.WatermarkOutput) {}
