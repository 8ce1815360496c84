package nexmark

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/stromhq/strom/operators"
)

// Source is the operators.Source of the event stream. Subtask s of P
// generates events s, s+P, s+2P, ... (each carrying its event time as the
// record timestamp), so that together the subtasks generate every event
// once, and event n is the same at any parallelism. Within a subtask event
// time never decreases.
type Source struct {
	cfg    GeneratorConfig
	events int64
	g      *Generator
	next   int64
	step   int64
}

var (
	_ operators.Source[Event]      = (*Source)(nil)
	_ operators.CheckpointedSource = (*Source)(nil)
)

// NewSource returns a source of events [0, events) of cfg; events ≤ 0
// means no end.
func NewSource(cfg GeneratorConfig, events int64) *Source {
	return &Source{cfg: cfg, events: events}
}

// Sources returns a factory of sources for stream.FromSource.
func Sources(cfg GeneratorConfig, events int64) func() operators.Source[Event] {
	return func() operators.Source[Event] { return NewSource(cfg, events) }
}

// Open implements operators.Source. A nil ctx reads as subtask 0 of 1.
func (s *Source) Open(ctx *operators.TaskContext) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	sub, par := 0, 1
	if ctx != nil && ctx.Parallelism > 0 {
		sub, par = ctx.Subtask, ctx.Parallelism
	}
	s.g = NewGenerator(s.cfg)
	s.next, s.step = int64(sub), int64(par)
	return nil
}

// Poll implements operators.Source: it appends up to max events, as fast
// as it is called.
func (s *Source) Poll(b *operators.Batch[Event], max int) (operators.PollResult, error) {
	if s.g == nil {
		return operators.PollResult{}, errors.New("nexmark source: poll before open")
	}
	n := int64(max)
	if s.events > 0 {
		n = min(n, (s.events-s.next+s.step-1)/s.step)
	}
	if n <= 0 {
		return operators.PollResult{Done: s.events > 0 && s.next >= s.events}, nil
	}
	l := len(b.Values)
	b.Values = slices.Grow(b.Values, int(n))[:l+int(n)]
	b.Times = slices.Grow(b.Times, int(n))[:l+int(n)]
	vs, ts := b.Values[l:], b.Times[l:]
	for i := range vs {
		ts[i] = s.g.Event(s.next, &vs[i])
		s.next += s.step
	}
	return operators.PollResult{Done: s.events > 0 && s.next >= s.events}, nil
}

// Close implements operators.Source.
func (s *Source) Close() error { return nil }

// Position implements operators.CheckpointedSource: the number of the next
// event the subtask generates, 8 bytes little-endian.
func (s *Source) Position() ([]byte, error) {
	if s.g == nil {
		return nil, errors.New("nexmark source: position before open")
	}
	return binary.LittleEndian.AppendUint64(nil, uint64(s.next)), nil
}

// Seek implements operators.CheckpointedSource: the subtask resumes at the
// event Position recorded, which must be one of its own.
func (s *Source) Seek(pos []byte) error {
	if s.g == nil {
		return errors.New("nexmark source: seek before open")
	}
	if len(pos) != 8 {
		return fmt.Errorf("nexmark source: position of %d bytes, want 8", len(pos))
	}
	next := int64(binary.LittleEndian.Uint64(pos))
	if next < 0 || next%s.step != s.next%s.step {
		return fmt.Errorf("nexmark source: position %d is not an event of subtask %d of %d", next, s.next%s.step, s.step)
	}
	s.next = next
	return nil
}
