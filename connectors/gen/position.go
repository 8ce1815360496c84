package gen

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Position encoding: a kind byte, a version byte, then unsigned varints
// parallelism, subtask, count (0 when unbounded) and the next index.
const (
	positionKind    = 'G'
	positionVersion = 1
)

// Position implements operators.CheckpointedSource: it encodes the next
// index this subtask will generate, with the parallelism, the subtask and
// the count so that Seek can refuse a position of another configuration.
func (s *Source[T]) Position() ([]byte, error) {
	if !s.opened {
		return nil, errors.New("generator position: source not open")
	}
	b := make([]byte, 0, 2+4*binary.MaxVarintLen64)
	b = append(b, positionKind, positionVersion)
	b = binary.AppendUvarint(b, uint64(s.step))
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = binary.AppendUvarint(b, uint64(s.cfg.count))
	b = binary.AppendUvarint(b, uint64(s.next))
	return b, nil
}

// Seek implements operators.CheckpointedSource: after Open and before the
// first Poll it continues at the index a Position of the same subtask
// recorded, so that the indices before it are not generated again. A
// position taken at another parallelism or subtask, with another Count, or
// not made by this package is refused.
func (s *Source[T]) Seek(position []byte) error {
	if !s.opened {
		return errors.New("generator seek: source not open")
	}
	if s.polled {
		return errors.New("generator seek: source already polled; seek right after Open")
	}
	p, err := decodePosition(position)
	if err != nil {
		return fmt.Errorf("generator seek: %w", err)
	}
	switch {
	case p.step != s.step || p.subtask != s.subtask:
		return fmt.Errorf("generator seek: position is for subtask %d of %d, this is subtask %d of %d; generators resume only at the same parallelism",
			p.subtask, p.step, s.subtask, s.step)
	case p.count != s.cfg.count:
		return fmt.Errorf("generator seek: position is for a count of %d records, this source has %d (0 means unbounded)",
			p.count, s.cfg.count)
	case p.next < p.subtask || (p.next-p.subtask)%p.step != 0:
		return fmt.Errorf("generator seek: index %d is not one of subtask %d of %d", p.next, p.subtask, p.step)
	}
	s.next = p.next
	s.done = s.exhausted()
	return nil
}

type position struct {
	step, subtask, count, next int64
}

func decodePosition(b []byte) (position, error) {
	var p position
	switch {
	case len(b) == 0:
		return p, errors.New("empty position")
	case len(b) < 2 || b[0] != positionKind:
		return p, errors.New("not a generator position")
	case b[1] != positionVersion:
		return p, fmt.Errorf("position version %d, this build reads %d", b[1], positionVersion)
	}
	rest := b[2:]
	fields := []*int64{&p.step, &p.subtask, &p.count, &p.next}
	for _, f := range fields {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return p, errors.New("corrupt generator position")
		}
		*f, rest = int64(v), rest[n:]
	}
	if len(rest) != 0 {
		return p, fmt.Errorf("corrupt generator position: %d trailing bytes", len(rest))
	}
	if p.step < 1 || p.subtask >= p.step {
		return p, fmt.Errorf("corrupt generator position: subtask %d of %d", p.subtask, p.step)
	}
	return p, nil
}
