package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one input line of the windowagg job: EVENT_TIME_MS,KEY,VALUE.
type Event struct {
	Time  int64
	Key   string
	Value int64
}

// ParseEvent parses a CSV line `EVENT_TIME_MS,KEY,VALUE`. Surrounding
// spaces of each field are ignored; the key may not be empty or contain a
// comma; VALUE is a 64-bit integer.
func ParseEvent(line string) (Event, error) {
	line = strings.TrimSuffix(line, "\r")
	first := strings.IndexByte(line, ',')
	last := strings.LastIndexByte(line, ',')
	if first < 0 || first == last {
		return Event{}, fmt.Errorf("want EVENT_TIME_MS,KEY,VALUE")
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(line[:first]), 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("event time: %w", err)
	}
	key := strings.TrimSpace(line[first+1 : last])
	if key == "" || strings.IndexByte(key, ',') >= 0 {
		return Event{}, fmt.Errorf("key %q: must be non-empty and without commas", key)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(line[last+1:]), 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("value: %w", err)
	}
	return Event{Time: ts, Key: key, Value: v}, nil
}

// FormatEvent formats an event as its input line.
func FormatEvent(e Event) string {
	return strconv.FormatInt(e.Time, 10) + "," + e.Key + "," + strconv.FormatInt(e.Value, 10)
}

// WindowSpec is a parsed --window value.
type WindowSpec struct {
	Kind        string // tumbling, sliding or session
	Size, Slide time.Duration
	Gap         time.Duration
}

// ParseWindowSpec parses `tumbling:SIZE`, `sliding:SIZE,SLIDE` or
// `session:GAP`, durations in Go syntax.
func ParseWindowSpec(s string) (WindowSpec, error) {
	kind, args, ok := strings.Cut(s, ":")
	if !ok {
		return WindowSpec{}, fmt.Errorf("--window %q: want tumbling:SIZE, sliding:SIZE,SLIDE or session:GAP", s)
	}
	dur := func(what, v string) (time.Duration, error) {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("--window %q: %s %q is not a duration", s, what, v)
		}
		if d < time.Millisecond || d%time.Millisecond != 0 {
			return 0, fmt.Errorf("--window %q: %s %v must be a positive whole number of milliseconds", s, what, d)
		}
		return d, nil
	}
	var w WindowSpec
	var err error
	switch kind {
	case "tumbling":
		w.Kind = kind
		w.Size, err = dur("size", args)
	case "sliding":
		size, slide, ok := strings.Cut(args, ",")
		if !ok {
			return WindowSpec{}, fmt.Errorf("--window %q: want sliding:SIZE,SLIDE", s)
		}
		w.Kind = kind
		if w.Size, err = dur("size", size); err == nil {
			w.Slide, err = dur("slide", slide)
		}
		if err == nil && w.Slide > w.Size {
			err = fmt.Errorf("--window %q: slide %v is larger than size %v", s, w.Slide, w.Size)
		}
	case "session":
		w.Kind = kind
		w.Gap, err = dur("gap", args)
	default:
		return WindowSpec{}, fmt.Errorf("--window %q: unknown window kind %q (tumbling, sliding, session)", s, kind)
	}
	if err != nil {
		return WindowSpec{}, err
	}
	return w, nil
}
