package window

import (
	"fmt"
	"time"
)

// EventTimeTrigger fires a window once the watermark passes its end, the
// default trigger of event-time assigners. A record that arrives for a
// window the watermark has already passed (within the allowed lateness)
// fires it again at once, with the updated contents.
func EventTimeTrigger() Trigger { return eventTimeTrigger{} }

type eventTimeTrigger struct{}

func (eventTimeTrigger) OnElement(_ int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	if w.MaxTimestamp() <= ctx.CurrentWatermark() {
		return Fire, nil
	}
	ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	return Continue, nil
}

func (eventTimeTrigger) OnEventTime(t int64, w Window, _ TriggerContext) (TriggerResult, error) {
	if t == w.MaxTimestamp() {
		return Fire, nil
	}
	return Continue, nil
}

func (eventTimeTrigger) OnProcessingTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (eventTimeTrigger) CanMerge() bool { return true }

func (eventTimeTrigger) OnMerge(w Window, ctx OnMergeContext) error {
	if w.MaxTimestamp() > ctx.CurrentWatermark() {
		ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	}
	return nil
}

func (eventTimeTrigger) Clear(w Window, ctx TriggerContext) error {
	ctx.DeleteEventTimeTimer(w.MaxTimestamp())
	return nil
}

func (eventTimeTrigger) String() string { return "event-time" }

// ProcessingTimeTrigger fires a window once the clock passes its end, the
// default trigger of processing-time assigners.
func ProcessingTimeTrigger() Trigger { return processingTimeTrigger{} }

type processingTimeTrigger struct{}

func (processingTimeTrigger) OnElement(_ int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	ctx.RegisterProcessingTimeTimer(w.MaxTimestamp())
	return Continue, nil
}

func (processingTimeTrigger) OnEventTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (processingTimeTrigger) OnProcessingTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Fire, nil
}

func (processingTimeTrigger) CanMerge() bool { return true }

func (processingTimeTrigger) OnMerge(w Window, ctx OnMergeContext) error {
	if w.MaxTimestamp() > ctx.CurrentProcessingTime() {
		ctx.RegisterProcessingTimeTimer(w.MaxTimestamp())
	}
	return nil
}

func (processingTimeTrigger) Clear(w Window, ctx TriggerContext) error {
	ctx.DeleteProcessingTimeTimer(w.MaxTimestamp())
	return nil
}

func (processingTimeTrigger) String() string { return "processing-time" }

// CountTrigger fires a window every n records; it keeps the count in the
// window's trigger state, and merged windows add their counts up.
func CountTrigger(n int64) Trigger { return countTrigger{n: n} }

type countTrigger struct{ n int64 }

const countState = "count"

func (c countTrigger) OnElement(_ int64, _ Window, ctx TriggerContext) (TriggerResult, error) {
	count, _ := ctx.State(countState)
	count++
	if count >= c.n {
		ctx.ClearState(countState)
		return Fire, nil
	}
	ctx.SetState(countState, count)
	return Continue, nil
}

func (countTrigger) OnEventTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (countTrigger) OnProcessingTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (countTrigger) CanMerge() bool { return true }

func (countTrigger) OnMerge(_ Window, ctx OnMergeContext) error {
	ctx.MergeState(countState, func(a, b int64) int64 { return a + b })
	return nil
}

func (countTrigger) Clear(_ Window, ctx TriggerContext) error {
	ctx.ClearState(countState)
	return nil
}

func (c countTrigger) Validate() error {
	if c.n < 1 {
		return fmt.Errorf("count trigger of %d records: must be at least 1", c.n)
	}
	return nil
}

func (c countTrigger) String() string { return fmt.Sprintf("count(%d)", c.n) }

// NeverTrigger never fires, the default trigger of GlobalWindows.
func NeverTrigger() Trigger { return neverTrigger{} }

type neverTrigger struct{}

func (neverTrigger) OnElement(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (neverTrigger) OnEventTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (neverTrigger) OnProcessingTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (neverTrigger) CanMerge() bool                       { return true }
func (neverTrigger) OnMerge(Window, OnMergeContext) error { return nil }
func (neverTrigger) Clear(Window, TriggerContext) error   { return nil }
func (neverTrigger) String() string                       { return "never" }

// PurgingTrigger turns every Fire of inner into FireAndPurge, so that each
// firing starts the window afresh.
func PurgingTrigger(inner Trigger) Trigger { return purgingTrigger{inner: inner} }

type purgingTrigger struct{ inner Trigger }

func purging(r TriggerResult, err error) (TriggerResult, error) {
	if r.IsFire() {
		return FireAndPurge, err
	}
	return r, err
}

func (p purgingTrigger) OnElement(ts int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	return purging(p.inner.OnElement(ts, w, ctx))
}

func (p purgingTrigger) OnEventTime(t int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	return purging(p.inner.OnEventTime(t, w, ctx))
}

func (p purgingTrigger) OnProcessingTime(t int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	return purging(p.inner.OnProcessingTime(t, w, ctx))
}

func (p purgingTrigger) CanMerge() bool                             { return p.inner.CanMerge() }
func (p purgingTrigger) OnMerge(w Window, ctx OnMergeContext) error { return p.inner.OnMerge(w, ctx) }
func (p purgingTrigger) Clear(w Window, ctx TriggerContext) error   { return p.inner.Clear(w, ctx) }

func (p purgingTrigger) Validate() error {
	if p.inner == nil {
		return fmt.Errorf("purging trigger: no trigger to wrap")
	}
	return validate(p.inner)
}

func (p purgingTrigger) String() string { return fmt.Sprintf("purging(%v)", p.inner) }

// validate checks v when it can be checked.
func validate(v any) error {
	if val, ok := v.(Validator); ok {
		return val.Validate()
	}
	return nil
}

func durationString(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }
