package window

import (
	"errors"
	"fmt"
	"time"

	"github.com/stromhq/strom/operators"
)

// Config describes a keyed window operator apart from its function.
type Config[K comparable, IN any] struct {
	// Key extracts the key of a record.
	Key operators.Key[K, IN]
	// Assigner puts records into windows.
	Assigner Assigner
	// Trigger decides when windows fire; nil means the assigner's
	// default.
	Trigger Trigger
	// Evictor, when set, removes records from windows around the window
	// function; windows then keep their records.
	Evictor Evictor
	// AllowedLateness keeps event-time windows (their contents and
	// trigger state) this long after the watermark passed their end: a
	// record that arrives meanwhile is added and fires the window again
	// with the updated contents. Records later than that are late.
	AllowedLateness time.Duration
	// LateOutput receives late records when set.
	LateOutput *operators.SideOutput[IN]
	// SideOutputs are the side outputs of the operator instance: the
	// operator forwards watermarks to them and flushes them. When LateTag
	// is set and LateOutput is not, late records go to the side output of
	// that tag.
	SideOutputs *operators.SideOutputs
	LateTag     string
	// DisablePanes turns off the shared-pane evaluation of sliding
	// windows, for functions whose results depend on the order records
	// arrive in.
	DisablePanes bool
	// KeyCodec and ValueCodec encode the operator's state in checkpoints:
	// the keys, and the records of windows that keep records; the zero
	// StateCodec stands for the type's default codec. The accumulators'
	// codec is the operator's (WithAccumulatorCodec).
	KeyCodec   operators.StateCodec[K]
	ValueCodec operators.StateCodec[IN]
	// StateCacheSize bounds the windows (or panes) whose contents the
	// operator caches, decoded, when it keeps its state in the Pebble
	// store (operators.TaskContext.Store); windows that keep records count
	// each record too. Zero means DefaultStateCacheSize. It does not
	// matter with the heap backend.
	StateCacheSize int
}

// Validate checks the configuration.
func (c *Config[K, IN]) Validate() error {
	var errs []error
	if c.Key.Selector == nil {
		errs = append(errs, errors.New("no key selector"))
	}
	if c.Assigner == nil {
		errs = append(errs, errors.New("no window assigner"))
	} else if err := validate(c.Assigner); err != nil {
		errs = append(errs, err)
	}
	if c.Trigger != nil {
		if err := validate(c.Trigger); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Evictor != nil {
		if err := validate(c.Evictor); err != nil {
			errs = append(errs, err)
		}
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, fmt.Errorf("allowed lateness %v: must not be negative", c.AllowedLateness))
	}
	if _, ok := c.Assigner.(MergingAssigner); ok && !c.trigger().CanMerge() {
		errs = append(errs, fmt.Errorf("trigger %v cannot merge windows: a merging assigner (sessions) needs one that can", c.trigger()))
	}
	return errors.Join(errs...)
}

// trigger returns the trigger in effect.
func (c *Config[K, IN]) trigger() Trigger {
	if c.Trigger != nil {
		return c.Trigger
	}
	if c.Assigner == nil {
		return NeverTrigger()
	}
	return c.Assigner.DefaultTrigger()
}
