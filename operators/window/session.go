package window

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Session groups the records of a key into sessions: runs of activity
// separated by a gap of at least gap without records. Each record opens
// the window [ts, ts+gap); windows that overlap or touch merge.
type Session struct {
	gap       int64
	eventTime bool
}

// EventTimeSession returns session windows on event time.
func EventTimeSession(gap time.Duration) Session { return Session{gap: millis(gap), eventTime: true} }

// ProcessingTimeSession returns session windows on processing time.
func ProcessingTimeSession(gap time.Duration) Session { return Session{gap: millis(gap)} }

// Gap returns the session gap in milliseconds.
func (s Session) Gap() int64 { return s.gap }

// AssignWindows implements Assigner.
func (s Session) AssignWindows(ts, now int64, buf []Window) []Window {
	if !s.eventTime {
		ts = now
	}
	return append(buf, Window{Start: ts, End: addSat(ts, s.gap)})
}

// IsEventTime implements Assigner.
func (s Session) IsEventTime() bool { return s.eventTime }

// DefaultTrigger implements Assigner.
func (s Session) DefaultTrigger() Trigger { return defaultTrigger(s.eventTime) }

// MergeWindows implements MergingAssigner.
func (s Session) MergeWindows(ws []Window, merge func(group []Window, result Window)) {
	MergeOverlapping(ws, merge)
}

// Validate implements Validator.
func (s Session) Validate() error {
	if s.gap <= 0 {
		return fmt.Errorf("session gap %dms: must be at least 1ms", s.gap)
	}
	return nil
}

// String describes the assigner.
func (s Session) String() string {
	return fmt.Sprintf("session(%v%s)", time.Duration(s.gap)*time.Millisecond, domain(s.eventTime))
}

// MergeOverlapping merges time windows that overlap or touch, for
// MergingAssigner implementations: it sorts a copy of ws by start and calls
// merge for every run of two or more intersecting windows with the window
// that covers the run.
func MergeOverlapping(ws []Window, merge func(group []Window, result Window)) {
	sorted := slices.Clone(ws)
	slices.SortFunc(sorted, func(a, b Window) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	var group []Window
	var cover Window
	flush := func() {
		if len(group) > 1 {
			merge(group, cover)
		}
	}
	for _, w := range sorted {
		if len(group) > 0 && cover.Intersects(w) {
			group = append(group, w)
			cover = cover.Cover(w)
			continue
		}
		flush()
		group, cover = append(group[:0], w), w
	}
	flush()
}
