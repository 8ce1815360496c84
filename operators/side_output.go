package operators

// SideOutput collects the records an operator emits to one side output and
// hands them over in batches. Side outputs carry event time like the main
// output: an operator passes every watermark to its side outputs too.
type SideOutput[T any] struct {
	out Input[T]
	buf Batch[T]
	// Emitted counts the records emitted.
	Emitted int64
}

// NewSideOutput returns a side output writing to out.
func NewSideOutput[T any](out Input[T]) *SideOutput[T] { return &SideOutput[T]{out: out} }

// Collect adds one record; it is handed over on the next Flush.
func (s *SideOutput[T]) Collect(v T, ts int64) {
	s.buf.Append(v, ts)
	s.Emitted++
	if len(s.buf.Values) >= 1024 {
		// Keep the buffer bounded when one input batch emits a lot.
		_ = s.Flush()
	}
}

// Flush hands the collected records over.
func (s *SideOutput[T]) Flush() error {
	if len(s.buf.Values) == 0 {
		return nil
	}
	err := s.out.ProcessBatch(&s.buf)
	s.buf.Reset()
	return err
}

// ProcessWatermark flushes and passes the watermark on.
func (s *SideOutput[T]) ProcessWatermark(wm int64) error {
	if err := s.Flush(); err != nil {
		return err
	}
	return s.out.ProcessWatermark(wm)
}

// sideOutput is the type-free view of a SideOutput.
type sideOutput interface {
	Flush() error
	ProcessWatermark(wm int64) error
}

// SideOutputs are the side outputs of one operator instance by tag ID.
// Only side outputs some operator consumes exist; records emitted to
// others are counted in Dropped.
type SideOutputs struct {
	byID    map[string]sideOutput
	order   []sideOutput
	Dropped int64
}

// Add registers the side output for tag id; out is a *SideOutput[T].
func (s *SideOutputs) Add(id string, out any) {
	so := out.(sideOutput)
	if s.byID == nil {
		s.byID = make(map[string]sideOutput)
	}
	s.byID[id] = so
	s.order = append(s.order, so)
}

// Emit sends v with timestamp ts to the side output of tag id. It reports
// false, and counts the record as dropped, when no operator consumes that
// side output.
func Emit[T any](s *SideOutputs, id string, v T, ts int64) bool {
	if s != nil {
		if so, ok := s.byID[id].(*SideOutput[T]); ok {
			so.Collect(v, ts)
			return true
		}
		s.Dropped++
	}
	return false
}

// Has reports whether some operator consumes the side output of tag id.
func (s *SideOutputs) Has(id string) bool {
	if s == nil {
		return false
	}
	_, ok := s.byID[id]
	return ok
}

// Flush hands over what every side output collected.
func (s *SideOutputs) Flush() error {
	if s == nil {
		return nil
	}
	for _, so := range s.order {
		if err := so.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// ProcessWatermark passes a watermark to every side output.
func (s *SideOutputs) ProcessWatermark(wm int64) error {
	if s == nil {
		return nil
	}
	for _, so := range s.order {
		if err := so.ProcessWatermark(wm); err != nil {
			return err
		}
	}
	return nil
}
