// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"sync"

	"github.com/stromhq/strom/operators"
)

// Collector gathers what sink subtasks write, from any goroutine.
type Collector[T any] struct {
	mu     sync.Mutex
	values []T
}

// Sink returns a new sink subtask writing into c.
func (c *Collector[T]) Sink() operators.Sink[T] { return &collectSink[T]{c: c} }

// Values returns a copy of what was collected.
func (c *Collector[T]) Values() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.values...)
}

// Len returns how many values were collected.
func (c *Collector[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.values)
}

type collectSink[T any] struct{ c *Collector[T] }

func (s *collectSink[T]) Open(*operators.TaskContext) error { return nil }
func (s *collectSink[T]) Finish() error                     { return nil }
func (s *collectSink[T]) Close() error                      { return nil }

func (s *collectSink[T]) Write(b *operators.Batch[T]) error {
	s.c.mu.Lock()
	s.c.values = append(s.c.values, b.Values...)
	s.c.mu.Unlock()
	return nil
}

// NullSink drops everything.
type NullSink[T any] struct{}

func (NullSink[T]) Open(*operators.TaskContext) error { return nil }
func (NullSink[T]) Write(*operators.Batch[T]) error   { return nil }
func (NullSink[T]) Finish() error                     { return nil }
func (NullSink[T]) Close() error                      { return nil }
