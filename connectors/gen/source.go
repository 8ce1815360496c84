package gen

import (
	"fmt"
	"slices"

	"github.com/stromhq/strom/connectors/internal/ratelimit"
	"github.com/stromhq/strom/operators"
)

// Source generates fn(i) for this subtask's share of the indices; see the
// package documentation. Create it with [New] or [Sequence].
type Source[T any] struct {
	fn  func(i int64) T
	cfg config

	// pieces are indices left over from subtasks of an earlier
	// parallelism, generated before the tail; see SeekRescaled.
	pieces []progression
	// The tail: next, next+step, ..., below the Count if any.
	next    int64 // the next index of the tail
	step    int64 // the parallelism
	subtask int64
	limit   *ratelimit.Bucket
	done    bool
	opened  bool
	polled  bool // Poll ran since Open
}

// progression is the indices next, next+stride, next+2*stride, ... below
// end: a finite part of a residue class.
type progression struct{ next, stride, end int64 }

// len returns the number of indices of p.
func (p progression) len() int64 {
	if p.next >= p.end {
		return 0
	}
	return (p.end-p.next-1)/p.stride + 1
}

var (
	_ operators.Source[int64]      = (*Source[int64])(nil)
	_ operators.CheckpointedSource = (*Source[int64])(nil)
	_ operators.RescalableSource   = (*Source[int64])(nil)
)

// New returns a source of fn(i) for the indices i of this subtask.
func New[T any](fn func(i int64) T, opts ...Option) *Source[T] {
	s := &Source[T]{fn: fn, cfg: defaultConfig()}
	for _, o := range opts {
		o(&s.cfg)
	}
	return s
}

// Sequence returns a source of the indices themselves: 0, 1, 2, ...
func Sequence(opts ...Option) *Source[int64] {
	return New(func(i int64) int64 { return i }, opts...)
}

// Open implements operators.Source.
func (s *Source[T]) Open(ctx *operators.TaskContext) error {
	if s.fn == nil {
		return fmt.Errorf("open generator: no generator function")
	}
	sub, par := 0, 1
	if ctx != nil && ctx.Parallelism > 0 {
		sub, par = ctx.Subtask, ctx.Parallelism
	}
	s.pieces = nil
	s.next, s.step, s.subtask = int64(sub), int64(par), int64(sub)
	s.done = s.exhausted()
	s.limit = nil
	if s.cfg.rate > 0 {
		s.limit = ratelimit.New(ratelimit.PerSubtask(s.cfg.rate, par), s.cfg.clock)
	}
	s.opened, s.polled = true, false
	return nil
}

// Poll implements operators.Source: it appends up to max records, fewer
// when the count runs out or the rate limit allows fewer, and returns a
// Wait when the rate limit allows none.
func (s *Source[T]) Poll(b *operators.Batch[T], max int) (operators.PollResult, error) {
	if !s.opened {
		return operators.PollResult{}, fmt.Errorf("poll generator: source not open")
	}
	s.polled = true
	if s.done || max <= 0 {
		return operators.PollResult{Done: s.done}, nil
	}
	n := int64(max)
	if s.cfg.count > 0 {
		n = min(n, s.left())
	}
	if s.limit != nil {
		got, wait := s.limit.Take(int(n))
		if got == 0 {
			return operators.PollResult{Wait: wait}, nil
		}
		n = int64(got)
	}
	b.Values = slices.Grow(b.Values, int(n))
	b.Times = slices.Grow(b.Times, int(n))
	for n > 0 {
		if len(s.pieces) == 0 {
			// With a Count, n is no more than the tail has left.
			s.emit(b, s.next, s.step, n)
			s.next += n * s.step
			break
		}
		p := &s.pieces[0]
		k := min(n, p.len())
		s.emit(b, p.next, p.stride, k)
		n -= k
		if k == p.len() {
			s.pieces = s.pieces[1:]
		} else {
			p.next += k * p.stride
		}
	}
	s.done = s.exhausted()
	return operators.PollResult{Done: s.done}, nil
}

// emit appends the k records of indices first, first+stride, ...
func (s *Source[T]) emit(b *operators.Batch[T], first, stride, k int64) {
	i := first
	for range k {
		b.Values = append(b.Values, s.fn(i))
		i += stride
	}
	if s.cfg.timestamps {
		i = first
		for range k {
			b.Times = append(b.Times, s.cfg.ts(i))
			i += stride
		}
		return
	}
	// No event time: fill without a call per record.
	start := len(b.Times)
	b.Times = b.Times[:start+int(k)]
	for i := start; i < len(b.Times); i++ {
		b.Times[i] = operators.NoTimestamp
	}
}

// left returns the number of indices a bounded source has left.
func (s *Source[T]) left() int64 {
	var n int64
	for _, p := range s.pieces {
		n += p.len()
	}
	if s.next < s.cfg.count {
		n += (s.cfg.count - s.next + s.step - 1) / s.step
	}
	return n
}

// exhausted reports whether a bounded source has produced its share.
func (s *Source[T]) exhausted() bool {
	return s.cfg.count > 0 && len(s.pieces) == 0 && s.next >= s.cfg.count
}

// Close implements operators.Source.
func (s *Source[T]) Close() error {
	s.opened = false
	return nil
}
