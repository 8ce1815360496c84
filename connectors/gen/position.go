package gen

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// Position encodings: a kind byte and a version byte, then unsigned
// varints.
//
// Version 1: parallelism, subtask, count (0 when unbounded) and the next
// index, which is the subtask's modulo the parallelism. Sources no longer
// write it, but Seek and SeekRescaled still read it, so that checkpoints
// taken before version 2 restore.
//
// Version 2: parallelism, subtask, count, the next index of the tail, the
// number n of pieces, then each piece's next index, stride and end. The
// tail is next, next+parallelism, ... below the count; the pieces, indices
// left over from an earlier parallelism, are disjoint, none empty, and
// end at or below the tail's next index.
const (
	positionKind     = 'G'
	positionVersion1 = 1
	positionVersion  = 2
	// maxPieces bounds the pieces of a position, so that checking that
	// they are disjoint stays cheap; rescaling adds a few per old
	// subtask, and they shrink as the source runs.
	maxPieces = 1 << 12
)

// Position implements operators.CheckpointedSource: it encodes the indices
// this subtask has left, its tail and its pieces, with the parallelism,
// the subtask and the count so that Seek can refuse a position of another
// configuration.
func (s *Source[T]) Position() ([]byte, error) {
	if !s.opened {
		return nil, errors.New("generator position: source not open")
	}
	b := make([]byte, 0, 2+(5+3*len(s.pieces))*binary.MaxVarintLen64)
	b = append(b, positionKind, positionVersion)
	for _, v := range []int64{s.step, s.subtask, s.cfg.count, s.next, int64(len(s.pieces))} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	for _, p := range s.pieces {
		b = binary.AppendUvarint(b, uint64(p.next))
		b = binary.AppendUvarint(b, uint64(p.stride))
		b = binary.AppendUvarint(b, uint64(p.end))
	}
	return b, nil
}

// Seek implements operators.CheckpointedSource: after Open and before the
// first Poll it continues where a Position of the same subtask left off,
// so that the indices it generated are not generated again. A position
// taken at another parallelism or subtask, with another Count, or not made
// by this package is refused.
func (s *Source[T]) Seek(position []byte) error {
	if err := s.checkSeekable(); err != nil {
		return err
	}
	p, err := decodePosition(position)
	if err != nil {
		return fmt.Errorf("generator seek: %w", err)
	}
	switch {
	case p.step != s.step || p.subtask != s.subtask:
		return fmt.Errorf("generator seek: position is for subtask %d of %d, this is subtask %d of %d; Seek resumes only at the same parallelism, SeekRescaled at another",
			p.subtask, p.step, s.subtask, s.step)
	case p.count != s.cfg.count:
		return fmt.Errorf("generator seek: position is for a count of %d records, this source has %d (0 means unbounded)",
			p.count, s.cfg.count)
	}
	if err := checkDisjoint(p.pieces); err != nil {
		return fmt.Errorf("generator seek: %w", err)
	}
	s.pieces, s.next = p.pieces, p.next
	s.done = s.exhausted()
	return nil
}

// SeekRescaled implements operators.RescalableSource: called after Open
// and before the first Poll, instead of Seek, when the job resumes at
// another parallelism, with the positions of all the old subtasks.
//
// What the old subtasks had left is their pieces and their tails. With T
// the highest next index of a tail, every index from T on is left, and
// below T the tails leave finite progressions: old subtask k's indices
// from its next index up to T. Those and the old pieces are sorted, and
// their indices, counted in that order, divided evenly among the new
// subtasks: each gets a run of them as pieces of its own. Subtask j of the
// new parallelism q then continues with the tail T+j, T+j+q, ... Every
// index left is thus generated exactly once by the new subtasks together,
// and since a record depends on its index alone, the output is the same
// as an uninterrupted run's.
//
// It refuses a missing or undecodable position, positions of another
// parallelism than their number or out of order, of another Count, whose
// tails do not cover each residue modulo the parallelism once, and
// overlapping pieces.
func (s *Source[T]) SeekRescaled(positions [][]byte) error {
	if err := s.checkSeekable(); err != nil {
		return err
	}
	q := int64(len(positions))
	if q == 0 {
		return errors.New("generator rescale: no positions")
	}
	old := make([]position, q)
	for k, b := range positions {
		if len(b) == 0 {
			return fmt.Errorf("generator rescale: no position for old subtask %d of %d", k, q)
		}
		p, err := decodePosition(b)
		if err != nil {
			return fmt.Errorf("generator rescale: old subtask %d: %w", k, err)
		}
		switch {
		case p.subtask != int64(k) || p.step != q:
			return fmt.Errorf("generator rescale: position %d of %d is for subtask %d of %d", k, q, p.subtask, p.step)
		case p.count != s.cfg.count:
			return fmt.Errorf("generator rescale: position is for a count of %d records, this source has %d (0 means unbounded)",
				p.count, s.cfg.count)
		}
		old[k] = p
	}
	// The tails must be one per residue class, so that together they
	// leave every index from the highest next index on.
	seen := make([]bool, q)
	minNext, tail := old[0].next, old[0].next
	var pieces []progression
	for k, p := range old {
		r := p.next % q
		if seen[r] {
			return fmt.Errorf("generator rescale: old subtask %d continues at index %d, in the residue class modulo %d of another subtask", k, p.next, q)
		}
		seen[r] = true
		minNext, tail = min(minNext, p.next), max(tail, p.next)
		pieces = append(pieces, p.pieces...)
	}
	if len(pieces) > maxPieces {
		return fmt.Errorf("generator rescale: %d pieces, at most %d", len(pieces), maxPieces)
	}
	for _, p := range pieces {
		if p.end > minNext {
			return fmt.Errorf("generator rescale: piece [%d, %d) step %d reaches past index %d, where a tail continues", p.next, p.end, p.stride, minNext)
		}
	}
	if err := checkDisjoint(pieces); err != nil {
		return fmt.Errorf("generator rescale: %w", err)
	}
	end := tail
	if s.cfg.count > 0 {
		end = min(end, s.cfg.count)
	}
	for _, p := range old {
		if p.next < end {
			pieces = append(pieces, progression{p.next, q, end})
		}
	}
	slices.SortFunc(pieces, func(a, b progression) int {
		return cmp.Or(cmp.Compare(a.next, b.next), cmp.Compare(a.stride, b.stride))
	})
	s.pieces = sharePieces(pieces, s.subtask, s.step)
	s.next = tail + s.subtask
	s.done = s.exhausted()
	return nil
}

func (s *Source[T]) checkSeekable() error {
	switch {
	case !s.opened:
		return errors.New("generator seek: source not open")
	case s.polled:
		return errors.New("generator seek: source already polled; seek right after Open")
	}
	return nil
}

// sharePieces returns the pieces of subtask i of p when the indices of
// pieces, counted in order, are divided into p runs of equal length.
func sharePieces(pieces []progression, i, p int64) []progression {
	var total int64
	for _, pc := range pieces {
		total += pc.len()
	}
	lo, hi := splitPoint(total, i, p), splitPoint(total, i+1, p)
	var out []progression
	var at int64 // indices of the pieces before pc
	for _, pc := range pieces {
		n := pc.len()
		if from, to := max(lo, at), min(hi, at+n); from < to {
			part := progression{pc.next + (from-at)*pc.stride, pc.stride, pc.end}
			if to < at+n {
				part.end = pc.next + (to-at)*pc.stride
			}
			out = append(out, part)
		}
		at += n
	}
	return out
}

// splitPoint returns i*n/p, computed without overflow for n < 2^62 and
// i <= p.
func splitPoint(n, i, p int64) int64 {
	var x big.Int
	x.Mul(big.NewInt(n), big.NewInt(i))
	return x.Quo(&x, big.NewInt(p)).Int64()
}

// checkDisjoint returns an error when two of the pieces share an index.
func checkDisjoint(pieces []progression) error {
	for i, a := range pieces {
		for _, b := range pieces[i+1:] {
			if overlap(a, b) {
				return fmt.Errorf("pieces [%d, %d) step %d and [%d, %d) step %d overlap",
					a.next, a.end, a.stride, b.next, b.end, b.stride)
			}
		}
	}
	return nil
}

// overlap reports whether progressions a and b share an index: whether
// some x in both ranges is congruent to a.next modulo a.stride and to
// b.next modulo b.stride (Chinese remainder theorem).
func overlap(a, b progression) bool {
	lo, hi := max(a.next, b.next), min(a.end, b.end)
	switch {
	case lo >= hi:
		return false
	case a.stride == b.stride:
		return (a.next-b.next)%a.stride == 0
	}
	s, t := big.NewInt(a.stride), big.NewInt(b.stride)
	g := new(big.Int).GCD(nil, nil, s, t)
	d := new(big.Int).Sub(big.NewInt(b.next), big.NewInt(a.next))
	if new(big.Int).Rem(d, g).Sign() != 0 {
		return false
	}
	// x = a.next + a.stride*k with (s/g)*k ≡ d/g (mod t/g).
	tg := new(big.Int).Quo(t, g)
	k := new(big.Int)
	if tg.Cmp(big.NewInt(1)) != 0 {
		inv := new(big.Int).ModInverse(new(big.Int).Quo(s, g), tg)
		k.Mul(new(big.Int).Quo(d, g), inv)
		k.Mod(k, tg)
	}
	x := k.Mul(k, s)
	x.Add(x, big.NewInt(a.next))
	lcm := new(big.Int).Mul(s, tg)
	// The smallest solution at or above lo.
	bigLo := big.NewInt(lo)
	x.Sub(x, bigLo).Mod(x, lcm).Add(x, bigLo)
	return x.Cmp(big.NewInt(hi)) < 0
}

// position is a decoded position of either version; a version 1 position
// has no pieces.
type position struct {
	step, subtask, count, next int64
	pieces                     []progression
}

func decodePosition(b []byte) (position, error) {
	var p position
	switch {
	case len(b) == 0:
		return p, errors.New("empty position")
	case len(b) < 2 || b[0] != positionKind:
		return p, errors.New("not a generator position")
	case b[1] != positionVersion1 && b[1] != positionVersion:
		return p, fmt.Errorf("position version %d, this build reads %d and %d", b[1], positionVersion1, positionVersion)
	}
	version, rest := b[1], b[2:]
	corrupt := errors.New("corrupt generator position")
	read := func(fields ...*int64) error {
		for _, f := range fields {
			v, n := binary.Uvarint(rest)
			if n <= 0 || v > 1<<62 {
				return corrupt
			}
			*f, rest = int64(v), rest[n:]
		}
		return nil
	}
	if err := read(&p.step, &p.subtask, &p.count, &p.next); err != nil {
		return p, err
	}
	if version == positionVersion {
		var n int64
		if err := read(&n); err != nil {
			return p, err
		}
		if n > maxPieces || n > int64(len(rest)/3) {
			return p, fmt.Errorf("corrupt generator position: %d pieces in %d bytes", n, len(rest))
		}
		p.pieces = make([]progression, n)
		for i := range p.pieces {
			pc := &p.pieces[i]
			if err := read(&pc.next, &pc.stride, &pc.end); err != nil {
				return p, err
			}
		}
	}
	if len(rest) != 0 {
		return p, fmt.Errorf("corrupt generator position: %d trailing bytes", len(rest))
	}
	if p.step < 1 || p.subtask >= p.step {
		return p, fmt.Errorf("corrupt generator position: subtask %d of %d", p.subtask, p.step)
	}
	if version == positionVersion1 && (p.next < p.subtask || (p.next-p.subtask)%p.step != 0) {
		return p, fmt.Errorf("index %d is not one of subtask %d of %d", p.next, p.subtask, p.step)
	}
	for i, pc := range p.pieces {
		if pc.stride < 1 || pc.next >= pc.end || pc.end > p.next || (p.count > 0 && pc.end > p.count) {
			return p, fmt.Errorf("corrupt generator position: piece %d, [%d, %d) step %d, is empty or reaches past the tail at %d",
				i, pc.next, pc.end, pc.stride, p.next)
		}
	}
	return p, nil
}
