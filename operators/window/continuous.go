package window

import (
	"fmt"
	"time"
)

const fireTimeState = "next-fire"

// ContinuousEventTimeTrigger fires a window every interval of event time,
// at interval-aligned times, and once more when the watermark passes its
// end. It keeps the next firing time in the window's trigger state; merged
// windows keep the earliest.
func ContinuousEventTimeTrigger(interval time.Duration) Trigger {
	return continuousEventTime{interval: millis(interval)}
}

type continuousEventTime struct{ interval int64 }

func (c continuousEventTime) OnElement(ts int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	if w.MaxTimestamp() <= ctx.CurrentWatermark() {
		// The window is complete; a late record fires it at once.
		return Fire, nil
	}
	ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	if _, ok := ctx.State(fireTimeState); !ok {
		c.register(ts-floorMod(ts, c.interval), w, ctx, ctx.RegisterEventTimeTimer)
	}
	return Continue, nil
}

// register sets and registers the next firing after time t, at the
// latest at the window's end.
func (c continuousEventTime) register(t int64, w Window, ctx TriggerContext, reg func(int64)) {
	next := min(addSat(t, c.interval), w.MaxTimestamp())
	ctx.SetState(fireTimeState, next)
	reg(next)
}

func (c continuousEventTime) OnEventTime(t int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	if t == w.MaxTimestamp() {
		return Fire, nil
	}
	if next, ok := ctx.State(fireTimeState); ok && next == t {
		ctx.ClearState(fireTimeState)
		c.register(t, w, ctx, ctx.RegisterEventTimeTimer)
		return Fire, nil
	}
	return Continue, nil
}

func (continuousEventTime) OnProcessingTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (continuousEventTime) CanMerge() bool { return true }

func (continuousEventTime) OnMerge(w Window, ctx OnMergeContext) error {
	ctx.MergeState(fireTimeState, func(a, b int64) int64 { return min(a, b) })
	if next, ok := ctx.State(fireTimeState); ok {
		ctx.RegisterEventTimeTimer(next)
	}
	if w.MaxTimestamp() > ctx.CurrentWatermark() {
		ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	}
	return nil
}

func (continuousEventTime) Clear(_ Window, ctx TriggerContext) error {
	if next, ok := ctx.State(fireTimeState); ok {
		ctx.DeleteEventTimeTimer(next)
		ctx.ClearState(fireTimeState)
	}
	return nil
}

func (c continuousEventTime) Validate() error { return validInterval(c.interval) }

func (c continuousEventTime) String() string {
	return fmt.Sprintf("continuous-event-time(%s)", durationString(c.interval))
}

// ContinuousProcessingTimeTrigger fires a window every interval of
// processing time, at interval-aligned times, from the first record on,
// until the window ends.
func ContinuousProcessingTimeTrigger(interval time.Duration) Trigger {
	return continuousProcessingTime{continuousEventTime{interval: millis(interval)}}
}

type continuousProcessingTime struct{ c continuousEventTime }

func (p continuousProcessingTime) OnElement(_ int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	if _, ok := ctx.State(fireTimeState); !ok {
		now := ctx.CurrentProcessingTime()
		p.c.register(now-floorMod(now, p.c.interval), w, ctx, ctx.RegisterProcessingTimeTimer)
	}
	return Continue, nil
}

func (continuousProcessingTime) OnEventTime(int64, Window, TriggerContext) (TriggerResult, error) {
	return Continue, nil
}

func (p continuousProcessingTime) OnProcessingTime(t int64, w Window, ctx TriggerContext) (TriggerResult, error) {
	if next, ok := ctx.State(fireTimeState); ok && next == t {
		ctx.ClearState(fireTimeState)
		if t < w.MaxTimestamp() {
			p.c.register(t, w, ctx, ctx.RegisterProcessingTimeTimer)
		}
		return Fire, nil
	}
	return Continue, nil
}

func (continuousProcessingTime) CanMerge() bool { return true }

func (continuousProcessingTime) OnMerge(_ Window, ctx OnMergeContext) error {
	ctx.MergeState(fireTimeState, func(a, b int64) int64 { return min(a, b) })
	if next, ok := ctx.State(fireTimeState); ok {
		ctx.RegisterProcessingTimeTimer(next)
	}
	return nil
}

func (continuousProcessingTime) Clear(_ Window, ctx TriggerContext) error {
	if next, ok := ctx.State(fireTimeState); ok {
		ctx.DeleteProcessingTimeTimer(next)
		ctx.ClearState(fireTimeState)
	}
	return nil
}

func (p continuousProcessingTime) Validate() error { return validInterval(p.c.interval) }

func (p continuousProcessingTime) String() string {
	return fmt.Sprintf("continuous-processing-time(%s)", durationString(p.c.interval))
}

func validInterval(ms int64) error {
	if ms <= 0 {
		return fmt.Errorf("continuous trigger interval %dms: must be at least 1ms", ms)
	}
	return nil
}
