package file

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Position encodings of [LineSource]: a kind byte and a version byte, then
// unsigned varints.
//
// Version 1, the split of subtask sub of par: sub, par, the file size, the
// split's start and end, and the offset of the next line. Sources no longer
// write it, but Seek and SeekRescaled still read it, so that checkpoints
// taken before version 2 restore.
//
// Version 2, a list of ranges: sub, par, the file size, the offset of the
// next line, the number n of ranges left to read, then each range's start
// and end. The ranges are non-empty, in order and disjoint, within the
// file; when n > 0 the next line's offset lies in the first one, at the
// start of a line. What is left to read is the lines that start in [next,
// end of the first range) and in the other ranges.
const (
	positionKind      = 'L'
	positionVersion1  = 1
	positionVersion   = 2
	maxPositionRanges = 1 << 20 // far more than any parallelism makes
)

// linePosition is a decoded position of either version.
type linePosition struct {
	version    byte
	sub, par   int64
	size, next int64
	start, end int64       // version 1: the subtask's split
	ranges     []byteRange // version 2: the ranges left
}

// remaining returns the byte ranges whose lines the subtask had left to
// read, in order: the rest of the current range from the next line on,
// then the ranges after it. An empty range is left out.
func (p *linePosition) remaining() []byteRange {
	if p.version == positionVersion1 {
		if p.next < p.end {
			return []byteRange{{p.next, p.end}}
		}
		return nil
	}
	if len(p.ranges) == 0 {
		return nil
	}
	return append([]byteRange{{p.next, p.ranges[0].end}}, p.ranges[1:]...)
}

// Position implements operators.CheckpointedSource: it encodes the byte
// offset of the next line this subtask will read and the byte ranges it
// has left, together with the subtask, the parallelism and the file size,
// so that Seek and SeekRescaled can refuse a position of another subtask
// or of a changed file.
func (s *LineSource) Position() ([]byte, error) {
	if s.f == nil {
		return nil, fmt.Errorf("input %s position: source not open", s.path)
	}
	b := make([]byte, 0, 2+(5+2*len(s.ranges))*binary.MaxVarintLen64)
	b = append(b, positionKind, positionVersion)
	for _, v := range []int64{int64(s.sub), int64(s.par), s.size, s.pos, int64(len(s.ranges))} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	for _, r := range s.ranges {
		b = binary.AppendUvarint(b, uint64(r.start))
		b = binary.AppendUvarint(b, uint64(r.end))
	}
	return b, nil
}

// Seek implements operators.CheckpointedSource: called after Open and
// before the first Poll, it continues at the line a Position of the same
// subtask recorded, so that no line is read twice or skipped. It refuses,
// with an error, a position of another subtask or parallelism, one taken
// when the file had another size, one that is not at the start of a line,
// and bytes that are not a position of this package. A position of
// version 1 must also be of this subtask's split.
func (s *LineSource) Seek(position []byte) error {
	if err := s.checkSeekable(); err != nil {
		return err
	}
	p, err := decodeLinePosition(position)
	if err != nil {
		return fmt.Errorf("seek input %s: %w", s.path, err)
	}
	switch {
	case p.sub != int64(s.sub) || p.par != int64(s.par):
		return fmt.Errorf("seek input %s: position is for subtask %d of %d, this is subtask %d of %d; Seek resumes only at the same parallelism, SeekRescaled at another",
			s.path, p.sub, p.par, s.sub, s.par)
	case p.size != s.size:
		return fmt.Errorf("seek input %s: the file is %d bytes, it was %d at the checkpoint; a file source resumes only on an unchanged file",
			s.path, s.size, p.size)
	}
	if p.version == positionVersion1 {
		if start, end := span(s.size, s.sub, s.par); p.start != start || p.end != end {
			return fmt.Errorf("seek input %s: position is for bytes [%d, %d), this subtask reads [%d, %d)",
				s.path, p.start, p.end, start, end)
		}
	}
	left := p.remaining()
	if err := s.checkLineStart(&p, left); err != nil {
		return fmt.Errorf("seek input %s: %w", s.path, err)
	}
	if len(left) == 0 {
		// The last line of the ranges was read; nothing is left.
		s.ranges, s.pos, s.done = nil, p.next, true
		return nil
	}
	if _, err := s.f.Seek(p.next, io.SeekStart); err != nil {
		return fmt.Errorf("seek input %s: %w", s.path, err)
	}
	if s.r == nil {
		s.r = bufio.NewReaderSize(s.f, s.bufSize)
	} else {
		s.r.Reset(s.f)
	}
	s.ranges, s.pos, s.done = left, p.next, false
	return nil
}

// SeekRescaled implements operators.RescalableSource: called after Open
// and before the first Poll, instead of Seek, when the job resumes at
// another parallelism, with the positions of all the old subtasks. The
// ranges they had left are put in file order, and their bytes are divided
// evenly among the new subtasks: this subtask reads the lines that start
// in its share, a list of ranges cut anywhere. Every line left is thus
// read exactly once by the new subtasks together.
//
// It refuses a missing or undecodable position, positions of another
// parallelism than their number or out of order, of another file size, at
// an offset that is not the start of a line, and positions whose ranges
// overlap.
func (s *LineSource) SeekRescaled(positions [][]byte) error {
	if err := s.checkSeekable(); err != nil {
		return err
	}
	if len(positions) == 0 {
		return fmt.Errorf("rescale input %s: no positions", s.path)
	}
	var left []byteRange
	for k, b := range positions {
		if len(b) == 0 {
			return fmt.Errorf("rescale input %s: no position for old subtask %d of %d", s.path, k, len(positions))
		}
		p, err := decodeLinePosition(b)
		if err != nil {
			return fmt.Errorf("rescale input %s: old subtask %d: %w", s.path, k, err)
		}
		switch {
		case p.sub != int64(k) || p.par != int64(len(positions)):
			return fmt.Errorf("rescale input %s: position %d of %d is for subtask %d of %d",
				s.path, k, len(positions), p.sub, p.par)
		case p.size != s.size:
			return fmt.Errorf("rescale input %s: the file is %d bytes, it was %d at the checkpoint; a file source resumes only on an unchanged file",
				s.path, s.size, p.size)
		}
		if p.version == positionVersion1 {
			if start, end := span(p.size, int(p.sub), int(p.par)); p.start != start || p.end != end {
				return fmt.Errorf("rescale input %s: position of old subtask %d is for bytes [%d, %d), its split is [%d, %d)",
					s.path, k, p.start, p.end, start, end)
			}
		}
		rest := p.remaining()
		if err := s.checkLineStart(&p, rest); err != nil {
			return fmt.Errorf("rescale input %s: old subtask %d: %w", s.path, k, err)
		}
		left = append(left, rest...)
	}
	left, err := mergeRanges(left)
	if err != nil {
		return fmt.Errorf("rescale input %s: %w", s.path, err)
	}
	s.ranges = share(left, s.sub, s.par)
	// Whatever Open read does not count: seek to the first range.
	return s.enter(false)
}

func (s *LineSource) checkSeekable() error {
	switch {
	case s.f == nil:
		return fmt.Errorf("seek input %s: source not open", s.path)
	case s.polled:
		return fmt.Errorf("seek input %s: source already polled; seek right after Open", s.path)
	}
	return nil
}

// checkLineStart verifies that the next offset of p is at the start of a
// line when there is something left to read: the byte before it is a
// newline. Any other offset means that the file changed.
func (s *LineSource) checkLineStart(p *linePosition, left []byteRange) error {
	if len(left) == 0 || p.next == 0 {
		return nil
	}
	var prev [1]byte
	if _, err := s.f.ReadAt(prev[:], p.next-1); err != nil {
		return fmt.Errorf("read at offset %d: %w", p.next-1, err)
	}
	if prev[0] != '\n' {
		return fmt.Errorf("offset %d is not the start of a line; the file changed since the checkpoint", p.next)
	}
	return nil
}

// mergeRanges sorts ranges by start, refuses overlapping ones and joins
// adjacent ones.
func mergeRanges(ranges []byteRange) ([]byteRange, error) {
	slices.SortFunc(ranges, func(a, b byteRange) int { return cmp.Compare(a.start, b.start) })
	out := ranges[:0]
	for _, r := range ranges {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if r.start < last.end {
				return nil, fmt.Errorf("the positions overlap: bytes [%d, %d) and [%d, %d)", last.start, last.end, r.start, r.end)
			}
			if r.start == last.end {
				last.end = r.end
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// share returns the ranges of subtask i of p when the bytes of ranges,
// taken in order, are divided into p pieces of equal size; the lines that
// start in a piece are its.
func share(ranges []byteRange, i, p int) []byteRange {
	var total int64
	for _, r := range ranges {
		total += r.end - r.start
	}
	lo, hi := splitPoint(total, i, p), splitPoint(total, i+1, p)
	var out []byteRange
	var at int64 // bytes of the ranges before r
	for _, r := range ranges {
		n := r.end - r.start
		if from, to := max(lo, at), min(hi, at+n); from < to {
			out = append(out, byteRange{r.start + from - at, r.start + to - at})
		}
		at += n
	}
	return out
}

func decodeLinePosition(b []byte) (linePosition, error) {
	var p linePosition
	switch {
	case len(b) == 0:
		return p, errors.New("empty position")
	case len(b) < 2 || b[0] != positionKind:
		return p, errors.New("not a file source position")
	case b[1] != positionVersion1 && b[1] != positionVersion:
		return p, fmt.Errorf("position version %d, this build reads %d and %d", b[1], positionVersion1, positionVersion)
	}
	p.version = b[1]
	rest := b[2:]
	next := func() (int64, bool) {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return 0, false
		}
		rest = rest[n:]
		return int64(v), true
	}
	corrupt := errors.New("corrupt file source position")
	if p.version == positionVersion1 {
		for _, f := range []*int64{&p.sub, &p.par, &p.size, &p.start, &p.end, &p.next} {
			v, ok := next()
			if !ok {
				return p, corrupt
			}
			*f = v
		}
	} else {
		var n int64
		for _, f := range []*int64{&p.sub, &p.par, &p.size, &p.next, &n} {
			v, ok := next()
			if !ok {
				return p, corrupt
			}
			*f = v
		}
		if n > maxPositionRanges || n > int64(len(rest)/2) {
			return p, fmt.Errorf("corrupt file source position: %d ranges in %d bytes", n, len(rest))
		}
		p.ranges = make([]byteRange, n)
		for i := range p.ranges {
			r := &p.ranges[i]
			var ok1, ok2 bool
			r.start, ok1 = next()
			r.end, ok2 = next()
			if !ok1 || !ok2 {
				return p, corrupt
			}
		}
	}
	if len(rest) != 0 {
		return p, fmt.Errorf("corrupt file source position: %d trailing bytes", len(rest))
	}
	if p.par < 1 || p.sub >= p.par {
		return p, fmt.Errorf("corrupt file source position: subtask %d of %d", p.sub, p.par)
	}
	if p.version == positionVersion1 {
		if p.start > p.end || p.end > p.size {
			return p, fmt.Errorf("corrupt file source position: bytes [%d, %d) of %d", p.start, p.end, p.size)
		}
		if p.next < p.start || p.next > p.size {
			return p, fmt.Errorf("corrupt file source position: offset %d is outside [%d, %d]", p.next, p.start, p.size)
		}
		return p, nil
	}
	if p.next > p.size {
		return p, fmt.Errorf("corrupt file source position: offset %d is outside [0, %d]", p.next, p.size)
	}
	var prevEnd int64
	for i, r := range p.ranges {
		if r.start >= r.end || r.end > p.size || (i > 0 && r.start < prevEnd) {
			return p, fmt.Errorf("corrupt file source position: range %d, bytes [%d, %d) of %d, is empty, out of order or past the end", i, r.start, r.end, p.size)
		}
		prevEnd = r.end
	}
	if len(p.ranges) > 0 && (p.next < p.ranges[0].start || p.next >= p.ranges[0].end) {
		return p, fmt.Errorf("corrupt file source position: offset %d is outside [%d, %d)", p.next, p.ranges[0].start, p.ranges[0].end)
	}
	return p, nil
}
