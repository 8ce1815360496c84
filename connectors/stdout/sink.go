package stdout

import (
	"fmt"
	"io"
	"os"

	"github.com/stromhq/strom/operators"
)

// maxKeptBuffer bounds the line buffer a sink keeps between batches.
const maxKeptBuffer = 1 << 20

// Sink writes records as lines to a writer; see the package documentation.
// Create it with [NewSink].
type Sink[T any] struct {
	format func(T) string
	w      io.Writer
	prefix string

	lock *writerLock
	buf  []byte
}

var _ operators.Sink[string] = (*Sink[string])(nil)

// Option configures a [Sink].
type Option func(*options)

type options struct {
	w      io.Writer
	prefix string
}

// Writer sets the destination (default os.Stdout).
func Writer(w io.Writer) Option {
	return func(o *options) {
		if w != nil {
			o.w = w
		}
	}
}

// Prefix sets a string written before every line.
func Prefix(p string) Option {
	return func(o *options) { o.prefix = p }
}

// NewSink returns a sink that writes prefix + format(v) + "\n" for every
// record v.
func NewSink[T any](format func(T) string, opts ...Option) *Sink[T] {
	o := options{w: os.Stdout}
	for _, opt := range opts {
		opt(&o)
	}
	return &Sink[T]{format: format, w: o.w, prefix: o.prefix}
}

// Open implements operators.Sink.
func (s *Sink[T]) Open(*operators.TaskContext) error {
	if s.lock == nil {
		s.lock = acquire(s.w)
	}
	return nil
}

// Write implements operators.Sink: the batch's lines go out in one Write
// call to the writer.
func (s *Sink[T]) Write(b *operators.Batch[T]) error {
	if len(b.Values) == 0 {
		return nil
	}
	if s.lock == nil {
		return fmt.Errorf("write output: sink not open")
	}
	buf := s.buf[:0]
	for _, v := range b.Values {
		buf = append(buf, s.prefix...)
		buf = append(buf, s.format(v)...)
		buf = append(buf, '\n')
	}
	if cap(buf) <= maxKeptBuffer {
		s.buf = buf
	} else {
		s.buf = nil // let one huge batch's buffer go
	}
	s.lock.Lock()
	_, err := s.w.Write(buf)
	s.lock.Unlock()
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// Finish implements operators.Sink. Lines are written batch by batch, so
// there is nothing left to flush.
func (s *Sink[T]) Finish() error { return nil }

// Close implements operators.Sink.
func (s *Sink[T]) Close() error {
	if s.lock != nil {
		release(s.w, s.lock)
		s.lock = nil
	}
	s.buf = nil
	return nil
}
