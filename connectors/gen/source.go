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

	next    int64 // the next index to generate
	step    int64 // the parallelism
	subtask int64
	limit   *ratelimit.Bucket
	done    bool
	opened  bool
	polled  bool // Poll ran since Open
}

var (
	_ operators.Source[int64]      = (*Source[int64])(nil)
	_ operators.CheckpointedSource = (*Source[int64])(nil)
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
		n = min(n, (s.cfg.count-s.next+s.step-1)/s.step) // indices left
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
	first := s.next
	for range n {
		b.Values = append(b.Values, s.fn(s.next))
		s.next += s.step
	}
	if s.cfg.timestamps {
		for i := first; i < s.next; i += s.step {
			b.Times = append(b.Times, s.cfg.ts(i))
		}
	} else {
		// No event time: fill without a call per record.
		start := len(b.Times)
		b.Times = b.Times[:start+int(n)]
		for i := start; i < len(b.Times); i++ {
			b.Times[i] = operators.NoTimestamp
		}
	}
	s.done = s.exhausted()
	return operators.PollResult{Done: s.done}, nil
}

// exhausted reports whether a bounded source has produced its share.
func (s *Source[T]) exhausted() bool {
	return s.cfg.count > 0 && s.next >= s.cfg.count
}

// Close implements operators.Source.
func (s *Source[T]) Close() error {
	s.opened = false
	return nil
}
