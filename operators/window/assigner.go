package window

import (
	"errors"
	"fmt"
	"time"
)

// Assigner puts each record into zero or more windows. Assigners are
// immutable values: one assigner is shared by every subtask of an operator.
type Assigner interface {
	// AssignWindows appends to buf the windows of a record with event
	// timestamp ts, arriving at processing time now, and returns buf.
	// Appending to a buffer the operator reuses keeps assignment free of
	// allocations.
	AssignWindows(ts, now int64, buf []Window) []Window
	// IsEventTime reports whether windows are defined on event time (and
	// end with the watermark) rather than on processing time.
	IsEventTime() bool
	// DefaultTrigger returns the trigger used when none is set.
	DefaultTrigger() Trigger
}

// MergingAssigner is an Assigner whose windows merge when they overlap,
// such as sessions. The operator keeps, per key, the set of live windows
// and the window under which each keeps its contents (Flink's
// MergingWindowSet): when windows merge, the contents, the trigger state
// and the timers move to the merged window.
type MergingAssigner interface {
	Assigner
	// MergeWindows finds the windows of ws that must merge and calls merge
	// once per group of two or more with the group and the window that
	// replaces it. It must not keep ws or the groups.
	MergeWindows(ws []Window, merge func(group []Window, result Window))
}

// Validator is implemented by assigners whose parameters can be wrong.
type Validator interface {
	Validate() error
}

// Tumbling assigns each record to one window of a fixed size: windows are
// [offset + k*size, offset + (k+1)*size).
type Tumbling struct {
	size, offset int64
	eventTime    bool
}

// TumblingEventTime returns tumbling windows of the given size on event
// time. Their default trigger fires when the watermark passes the end.
func TumblingEventTime(size time.Duration) Tumbling {
	return Tumbling{size: millis(size), eventTime: true}
}

// TumblingProcessingTime returns tumbling windows of the given size on
// processing time. Their default trigger fires when the clock passes the
// end.
func TumblingProcessingTime(size time.Duration) Tumbling {
	return Tumbling{size: millis(size)}
}

// WithOffset shifts the windows by offset, e.g. -8h for days that start at
// midnight UTC+8. The offset must be shorter than the size.
func (t Tumbling) WithOffset(offset time.Duration) Tumbling {
	t.offset = millis(offset)
	return t
}

// Size returns the window size in milliseconds.
func (t Tumbling) Size() int64 { return t.size }

// AssignWindows implements Assigner.
func (t Tumbling) AssignWindows(ts, now int64, buf []Window) []Window {
	if !t.eventTime {
		ts = now
	}
	start := StartOf(ts, t.offset, t.size)
	return append(buf, Window{Start: start, End: start + t.size})
}

// IsEventTime implements Assigner.
func (t Tumbling) IsEventTime() bool { return t.eventTime }

// DefaultTrigger implements Assigner.
func (t Tumbling) DefaultTrigger() Trigger { return defaultTrigger(t.eventTime) }

// Validate implements Validator.
func (t Tumbling) Validate() error {
	if t.size <= 0 {
		return fmt.Errorf("tumbling window size %dms: must be at least 1ms", t.size)
	}
	if abs(t.offset) >= t.size {
		return fmt.Errorf("tumbling window offset %dms: must be shorter than the size %dms", t.offset, t.size)
	}
	return nil
}

// String describes the assigner.
func (t Tumbling) String() string {
	return fmt.Sprintf("tumbling(%v%s)", time.Duration(t.size)*time.Millisecond, domain(t.eventTime))
}

// Sliding assigns each record to the windows of a fixed size that start
// every slide: windows are [offset + k*slide, offset + k*slide + size). A
// record belongs to about size/slide windows.
type Sliding struct {
	size, slide, offset int64
	eventTime           bool
}

// SlidingEventTime returns sliding windows on event time.
func SlidingEventTime(size, slide time.Duration) Sliding {
	return Sliding{size: millis(size), slide: millis(slide), eventTime: true}
}

// SlidingProcessingTime returns sliding windows on processing time.
func SlidingProcessingTime(size, slide time.Duration) Sliding {
	return Sliding{size: millis(size), slide: millis(slide)}
}

// WithOffset shifts the windows by offset, which must be shorter than the
// slide.
func (s Sliding) WithOffset(offset time.Duration) Sliding {
	s.offset = millis(offset)
	return s
}

// Size returns the window size in milliseconds.
func (s Sliding) Size() int64 { return s.size }

// Slide returns the slide in milliseconds.
func (s Sliding) Slide() int64 { return s.slide }

// AssignWindows implements Assigner. Windows come latest start first, as
// in Flink.
func (s Sliding) AssignWindows(ts, now int64, buf []Window) []Window {
	if !s.eventTime {
		ts = now
	}
	for start := StartOf(ts, s.offset, s.slide); start > ts-s.size; start -= s.slide {
		buf = append(buf, Window{Start: start, End: start + s.size})
	}
	return buf
}

// IsEventTime implements Assigner.
func (s Sliding) IsEventTime() bool { return s.eventTime }

// DefaultTrigger implements Assigner.
func (s Sliding) DefaultTrigger() Trigger { return defaultTrigger(s.eventTime) }

// Validate implements Validator.
func (s Sliding) Validate() error {
	switch {
	case s.size <= 0:
		return fmt.Errorf("sliding window size %dms: must be at least 1ms", s.size)
	case s.slide <= 0:
		return fmt.Errorf("sliding window slide %dms: must be at least 1ms", s.slide)
	case abs(s.offset) >= s.slide:
		return fmt.Errorf("sliding window offset %dms: must be shorter than the slide %dms", s.offset, s.slide)
	}
	return nil
}

// String describes the assigner.
func (s Sliding) String() string {
	return fmt.Sprintf("sliding(%v/%v%s)", time.Duration(s.size)*time.Millisecond,
		time.Duration(s.slide)*time.Millisecond, domain(s.eventTime))
}

// Global puts every record of a key into GlobalWindow. Its default trigger
// never fires: set a trigger (CountTrigger for count windows).
type Global struct{}

// GlobalWindows returns the assigner of the single global window. It is a
// processing-time assigner, as in Flink: its window is never late and is
// never cleaned up.
func GlobalWindows() Global { return Global{} }

// AssignWindows implements Assigner.
func (Global) AssignWindows(_, _ int64, buf []Window) []Window { return append(buf, GlobalWindow) }

// IsEventTime implements Assigner.
func (Global) IsEventTime() bool { return false }

// DefaultTrigger implements Assigner.
func (Global) DefaultTrigger() Trigger { return NeverTrigger() }

// String describes the assigner.
func (Global) String() string { return "global" }

func defaultTrigger(eventTime bool) Trigger {
	if eventTime {
		return EventTimeTrigger()
	}
	return ProcessingTimeTrigger()
}

func domain(eventTime bool) string {
	if eventTime {
		return ""
	}
	return ", processing time"
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

var errNoTimestamp = errors.New("record has no event timestamp: event-time windows need timestamps, assign them at the source")
