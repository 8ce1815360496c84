package window

import "fmt"

// TriggerResult is what a trigger decides for a window.
type TriggerResult uint8

const (
	// Continue does nothing.
	Continue TriggerResult = iota
	// Fire evaluates the window function on the window's contents and
	// emits the result; the contents stay.
	Fire
	// Purge discards the window's contents without emitting.
	Purge
	// FireAndPurge emits the result, then discards the contents.
	FireAndPurge
)

// IsFire reports whether r emits the window.
func (r TriggerResult) IsFire() bool { return r == Fire || r == FireAndPurge }

// IsPurge reports whether r discards the window's contents.
func (r TriggerResult) IsPurge() bool { return r == Purge || r == FireAndPurge }

// String names the result.
func (r TriggerResult) String() string {
	switch r {
	case Continue:
		return "continue"
	case Fire:
		return "fire"
	case Purge:
		return "purge"
	case FireAndPurge:
		return "fire-and-purge"
	}
	return fmt.Sprintf("trigger-result(%d)", uint8(r))
}

// Trigger decides when a window emits its result, as Flink's Trigger. The
// operator calls it for every record added to a window and for every timer
// the trigger registered. A trigger is an immutable value shared by all
// windows, keys and subtasks: what it must remember per window it keeps in
// the TriggerContext (timers and small named int64 values), which the
// operator scopes to the key and window at hand.
//
// Triggers that need the record itself read it with CurrentElement.
type Trigger interface {
	// OnElement is called for each record added to window w; ts is the
	// record's timestamp.
	OnElement(ts int64, w Window, ctx TriggerContext) (TriggerResult, error)
	// OnEventTime is called when an event-time timer of w registered at
	// time t fires.
	OnEventTime(t int64, w Window, ctx TriggerContext) (TriggerResult, error)
	// OnProcessingTime is called when a processing-time timer of w
	// registered at time t fires.
	OnProcessingTime(t int64, w Window, ctx TriggerContext) (TriggerResult, error)
	// CanMerge reports whether the trigger supports merging windows
	// (sessions).
	CanMerge() bool
	// OnMerge is called when windows merged into w; the trigger merges
	// their state (ctx.MergeState) and registers the timers w needs. The
	// state and timers of the merged windows are cleared (Clear) after.
	OnMerge(w Window, ctx OnMergeContext) error
	// Clear removes the timers and state the trigger keeps for w. It is
	// called when w is cleaned up and for windows merged away.
	Clear(w Window, ctx TriggerContext) error
}

// TriggerContext is what a trigger sees of the operator: the time, the
// timers and the per-window state of the key and window it is called for.
// It is valid only during the call that receives it.
type TriggerContext interface {
	// CurrentWatermark returns the operator's event time.
	CurrentWatermark() int64
	// CurrentProcessingTime returns the subtask's processing time.
	CurrentProcessingTime() int64
	// RegisterEventTimeTimer asks for OnEventTime once the watermark
	// reaches t. A (window, time) timer is registered once however often
	// it is registered.
	RegisterEventTimeTimer(t int64)
	// DeleteEventTimeTimer removes an event-time timer.
	DeleteEventTimeTimer(t int64)
	// RegisterProcessingTimeTimer asks for OnProcessingTime once the clock
	// reaches t.
	RegisterProcessingTimeTimer(t int64)
	// DeleteProcessingTimeTimer removes a processing-time timer.
	DeleteProcessingTimeTimer(t int64)
	// State returns the value named name of this window and whether it is
	// set.
	State(name string) (int64, bool)
	// SetState sets the value named name of this window.
	SetState(name string, v int64)
	// ClearState removes the value named name of this window.
	ClearState(name string)
}

// OnMergeContext is the TriggerContext of OnMerge.
type OnMergeContext interface {
	TriggerContext
	// MergeState combines the values named name of the merged windows and
	// of the window merged into with merge, and stores the result in the
	// window merged into.
	MergeState(name string, merge func(a, b int64) int64)
}

// elementContext is implemented by the operator's TriggerContext.
type elementContext[T any] interface {
	currentElement() (T, bool)
}

// CurrentElement returns the record that OnElement was called for. It
// reports false outside OnElement or when T is not the operator's record
// type.
func CurrentElement[T any](ctx TriggerContext) (T, bool) {
	if ec, ok := ctx.(elementContext[T]); ok {
		return ec.currentElement()
	}
	var zero T
	return zero, false
}
