package file

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/stromhq/strom/operators"
)

// inProgress is the suffix of a file being written.
const inProgress = ".inprogress"

// Sink writes records as lines to a file, committing it atomically in
// Finish; see the package documentation for the layout at parallelism > 1.
// Create it with [NewSink] or [NewLineSink].
type Sink[T any] struct {
	path   string
	format func(T) string

	target string // the committed file
	tmp    string // target + ".inprogress"
	dirNew bool   // Open created the output directory
	f      *os.File
	w      *bufio.Writer
	state  sinkState
}

type sinkState uint8

const (
	sinkIdle      sinkState = iota // not opened, closed, or open failed
	sinkWriting                    // tmp is open for writing
	sinkFinishing                  // Finish began; tmp may or may not exist
	sinkCommitted                  // tmp was renamed to target
)

var _ operators.Sink[string] = (*Sink[string])(nil)

// NewSink returns a sink that writes format(v) followed by "\n" for every
// record v. At parallelism 1 it writes the file path; at parallelism P > 1
// it writes path/part-<subtask>.
func NewSink[T any](path string, format func(T) string) *Sink[T] {
	return &Sink[T]{path: path, format: format}
}

// NewLineSink returns a sink that writes each string as one line.
func NewLineSink(path string) *Sink[string] {
	return NewSink(path, func(s string) string { return s })
}

// Target returns the file this instance commits to; it is known after Open.
func (s *Sink[T]) Target() string { return s.target }

// Open implements operators.Sink: it creates <target>.inprogress.
func (s *Sink[T]) Open(ctx *operators.TaskContext) error {
	if s.state == sinkWriting || s.state == sinkFinishing {
		return fmt.Errorf("open output %s: sink already open", s.path)
	}
	s.dirNew = false
	s.target = s.path
	if ctx != nil && ctx.Parallelism > 1 {
		s.target = filepath.Join(s.path, "part-"+strconv.Itoa(ctx.Subtask))
	}
	dir := filepath.Dir(s.target)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		s.dirNew = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	s.tmp = s.target + inProgress
	f, err := os.OpenFile(s.tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	s.f = f
	s.w = bufio.NewWriterSize(f, 64<<10)
	s.state = sinkWriting
	return nil
}

// Write implements operators.Sink.
func (s *Sink[T]) Write(b *operators.Batch[T]) error {
	if s.state != sinkWriting {
		return fmt.Errorf("write output %s: sink not open for writing", s.path)
	}
	for _, v := range b.Values {
		s.w.WriteString(s.format(v))
		if err := s.w.WriteByte('\n'); err != nil { // bufio errors are sticky
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// Finish implements operators.Sink: it flushes and fsyncs the in-progress
// file, renames it into place and fsyncs the directory.
func (s *Sink[T]) Finish() error {
	if s.state != sinkWriting {
		return fmt.Errorf("finish output %s: sink not open for writing", s.path)
	}
	s.state = sinkFinishing
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("flush output: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync output: %w", err)
	}
	err := s.f.Close()
	s.f, s.w = nil, nil
	if err != nil {
		return fmt.Errorf("close output: %w", err)
	}
	if err := os.Rename(s.tmp, s.target); err != nil {
		return fmt.Errorf("commit output: %w", err)
	}
	s.state = sinkCommitted
	dir := filepath.Dir(s.target)
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync output directory: %w", err)
	}
	if s.dirNew {
		// Make the new directory's own entry durable too.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return fmt.Errorf("sync output directory: %w", err)
		}
	}
	return nil
}

// Close implements operators.Sink. Without a successful Finish it removes
// the in-progress file, so a cancelled or failed job leaves no partial
// output; after Finish it does nothing.
func (s *Sink[T]) Close() error {
	if s.state == sinkIdle || s.state == sinkCommitted {
		return nil
	}
	s.state = sinkIdle
	var errs []error
	if s.f != nil {
		errs = append(errs, s.f.Close())
		s.f, s.w = nil, nil
	}
	if err := os.Remove(s.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove in-progress output: %w", err))
	}
	return errors.Join(errs...)
}

// syncDir fsyncs a directory so that renames and creations in it survive a
// crash. Windows cannot fsync a directory; there the rename is durable
// enough once it returns.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
