package file

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Position encoding of [LineSource]: a kind byte, a version byte, then
// unsigned varints subtask, parallelism, file size, the split's start and
// end, and the offset of the next line.
const (
	positionKind    = 'L'
	positionVersion = 1
)

type linePosition struct {
	sub, par               int64
	size, start, end, next int64
}

// Position implements operators.CheckpointedSource: it encodes the byte
// offset of the next line this subtask will read, together with the
// subtask, the parallelism, the file size and the subtask's byte range, so
// that Seek can refuse a position of another split or of a changed file.
func (s *LineSource) Position() ([]byte, error) {
	if s.f == nil {
		return nil, fmt.Errorf("input %s position: source not open", s.path)
	}
	b := make([]byte, 0, 2+6*binary.MaxVarintLen64)
	b = append(b, positionKind, positionVersion)
	for _, v := range []int64{int64(s.sub), int64(s.par), s.size, s.start, s.end, s.pos} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b, nil
}

// Seek implements operators.CheckpointedSource: called after Open and
// before the first Poll, it continues at the line a Position of the same
// subtask recorded, so that no line is read twice or skipped. It refuses,
// with an error, a position of another subtask or parallelism, one taken
// when the file had another size, one that is not at the start of a line,
// and bytes that are not a position of this package.
func (s *LineSource) Seek(position []byte) error {
	if s.f == nil {
		return fmt.Errorf("seek input %s: source not open", s.path)
	}
	if s.polled {
		return fmt.Errorf("seek input %s: source already polled; seek right after Open", s.path)
	}
	p, err := decodeLinePosition(position)
	if err != nil {
		return fmt.Errorf("seek input %s: %w", s.path, err)
	}
	switch {
	case p.sub != int64(s.sub) || p.par != int64(s.par):
		return fmt.Errorf("seek input %s: position is for subtask %d of %d, this is subtask %d of %d; file sources resume only at the same parallelism",
			s.path, p.sub, p.par, s.sub, s.par)
	case p.size != s.size:
		return fmt.Errorf("seek input %s: the file is %d bytes, it was %d at the checkpoint; a file source resumes only on an unchanged file",
			s.path, s.size, p.size)
	case p.start != s.start || p.end != s.end:
		return fmt.Errorf("seek input %s: position is for bytes [%d, %d), this subtask reads [%d, %d)",
			s.path, p.start, p.end, s.start, s.end)
	case p.next < p.start || p.next > p.size:
		return fmt.Errorf("seek input %s: offset %d is outside [%d, %d]", s.path, p.next, p.start, p.size)
	}
	if p.next >= p.end {
		// The last line of the range was read; nothing is left.
		s.pos, s.done = p.next, true
		return nil
	}
	if p.next > 0 {
		var prev [1]byte
		if _, err := s.f.ReadAt(prev[:], p.next-1); err != nil {
			return fmt.Errorf("seek input %s: %w", s.path, err)
		}
		if prev[0] != '\n' {
			return fmt.Errorf("seek input %s: offset %d is not the start of a line; the file changed since the checkpoint", s.path, p.next)
		}
	}
	if _, err := s.f.Seek(p.next, io.SeekStart); err != nil {
		return fmt.Errorf("seek input %s: %w", s.path, err)
	}
	if s.r == nil {
		s.r = bufio.NewReaderSize(s.f, s.bufSize)
	} else {
		s.r.Reset(s.f)
	}
	s.pos, s.done = p.next, false
	return nil
}

func decodeLinePosition(b []byte) (linePosition, error) {
	var p linePosition
	switch {
	case len(b) == 0:
		return p, errors.New("empty position")
	case len(b) < 2 || b[0] != positionKind:
		return p, errors.New("not a file source position")
	case b[1] != positionVersion:
		return p, fmt.Errorf("position version %d, this build reads %d", b[1], positionVersion)
	}
	rest := b[2:]
	for _, f := range []*int64{&p.sub, &p.par, &p.size, &p.start, &p.end, &p.next} {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return p, errors.New("corrupt file source position")
		}
		*f, rest = int64(v), rest[n:]
	}
	if len(rest) != 0 {
		return p, fmt.Errorf("corrupt file source position: %d trailing bytes", len(rest))
	}
	if p.par < 1 || p.sub >= p.par || p.start > p.end || p.end > p.size {
		return p, fmt.Errorf("corrupt file source position: subtask %d of %d, bytes [%d, %d) of %d",
			p.sub, p.par, p.start, p.end, p.size)
	}
	return p, nil
}
