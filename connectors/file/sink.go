package file

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/stromhq/strom/operators"
)

// File name suffixes of output that is not committed yet.
const (
	inProgress = ".inprogress" // being written
	pendingExt = ".pending"    // rolled at a checkpoint, awaiting its completion
)

// Sink writes records as lines to a file, committing it atomically in
// Finish, and exactly once across restores when the job checkpoints; see
// the package documentation for the layout at parallelism > 1 and the
// commit protocol. Create it with [NewSink] or [NewLineSink].
type Sink[T any] struct {
	path   string
	format func(T) string

	sub, par int
	parts    bool   // parallelism > 1: path is a directory of part files
	target   string // the committed file without checkpoints
	tmp      string // target + ".inprogress"
	dirNew   bool   // Open created the output directory
	f        *os.File
	w        *bufio.Writer
	size     int64 // length of the in-progress file, buffered bytes included
	state    sinkState
	// tmpExisted is true when the in-progress file was there before
	// Open: it may hold a checkpoint's output that a restore needs.
	tmpExisted bool
	// fresh is true until the in-progress file is truncated for a new run
	// (first Write, SnapshotState or Finish) or restored from a checkpoint.
	fresh bool

	// checkpointed is true once SnapshotState ran or RestoreState
	// restored state: Close then keeps the uncommitted files for a
	// restore, and at parallelism > 1 output goes to numbered parts.
	checkpointed bool
	part         int           // number of the next part to roll (parallelism > 1)
	pending      []pendingPart // rolled parts awaiting their checkpoint
}

// pendingPart is a part rolled at a checkpoint that has not completed.
type pendingPart struct {
	checkpoint int64
	n          int
}

type sinkState uint8

const (
	sinkIdle      sinkState = iota // not opened, closed, or open failed
	sinkWriting                    // tmp is open for writing
	sinkFinishing                  // Finish began; tmp may or may not exist
	sinkCommitted                  // tmp was renamed to target
)

var (
	_ operators.Sink[string]       = (*Sink[string])(nil)
	_ operators.Checkpointed       = (*Sink[string])(nil)
	_ operators.CheckpointListener = (*Sink[string])(nil)
)

// NewSink returns a sink that writes format(v) followed by "\n" for every
// record v. At parallelism 1 it writes the file path; at parallelism P > 1
// it writes part files in the directory path.
func NewSink[T any](path string, format func(T) string) *Sink[T] {
	return &Sink[T]{path: path, format: format}
}

// NewLineSink returns a sink that writes each string as one line.
func NewLineSink(path string) *Sink[string] {
	return NewSink(path, func(s string) string { return s })
}

// Target returns the file this instance commits to without checkpoints; it
// is known after Open. With checkpoints at parallelism > 1 the output goes
// to numbered parts next to it, see [Sink.PartName].
func (s *Sink[T]) Target() string { return s.target }

// PartName returns the committed name of part n of this subtask,
// <path>/part-<subtask>-<n>, used at parallelism > 1 once the job
// checkpoints; it is known after Open.
func (s *Sink[T]) PartName(n int) string {
	return filepath.Join(s.path, "part-"+strconv.Itoa(s.sub)+"-"+strconv.Itoa(n))
}

// Open implements operators.Sink: it creates the output directory and
// <target>.inprogress. An in-progress file left by an earlier attempt is
// kept as it is until the first record, SnapshotState or Finish, so that
// RestoreState, which follows Open, can resume it.
func (s *Sink[T]) Open(ctx *operators.TaskContext) error {
	if s.state == sinkWriting || s.state == sinkFinishing {
		return fmt.Errorf("open output %s: sink already open", s.path)
	}
	s.sub, s.par = 0, 1
	if ctx != nil && ctx.Parallelism > 0 {
		s.sub, s.par = ctx.Subtask, ctx.Parallelism
	}
	s.parts = s.par > 1
	s.dirNew = false
	s.target = s.path
	if s.parts {
		s.target = filepath.Join(s.path, "part-"+strconv.Itoa(s.sub))
	}
	s.checkpointed, s.part, s.pending = false, 0, nil
	dir := filepath.Dir(s.target)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		s.dirNew = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	s.tmp = s.target + inProgress
	_, err := os.Lstat(s.tmp)
	s.tmpExisted = err == nil
	f, err := os.OpenFile(s.tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	s.f, s.size, s.fresh = f, 0, true
	s.w = bufio.NewWriterSize(f, 64<<10)
	s.state = sinkWriting
	return nil
}

// start truncates the in-progress file for a run that does not restore.
func (s *Sink[T]) start() error {
	if !s.fresh {
		return nil
	}
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate output: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("truncate output: %w", err)
	}
	s.fresh = false
	return nil
}

// Write implements operators.Sink.
func (s *Sink[T]) Write(b *operators.Batch[T]) error {
	if s.state != sinkWriting {
		return fmt.Errorf("write output %s: sink not open for writing", s.path)
	}
	if err := s.start(); err != nil {
		return err
	}
	for _, v := range b.Values {
		line := s.format(v)
		s.w.WriteString(line)
		if err := s.w.WriteByte('\n'); err != nil { // bufio errors are sticky
			return fmt.Errorf("write output: %w", err)
		}
		s.size += int64(len(line)) + 1
	}
	return nil
}

// sync flushes the buffer and fsyncs the in-progress file.
func (s *Sink[T]) sync() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("flush output: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync output: %w", err)
	}
	return nil
}

// closeFile closes the in-progress file.
func (s *Sink[T]) closeFile() error {
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close output: %w", err)
	}
	return nil
}

// Finish implements operators.Sink: it flushes and fsyncs the in-progress
// file, renames it into place and fsyncs the directory. At parallelism > 1
// after a checkpoint it also commits the pending parts, commits the
// in-progress file as the next part, and removes this subtask's parts left
// by an earlier run.
func (s *Sink[T]) Finish() error {
	if s.state != sinkWriting {
		return fmt.Errorf("finish output %s: sink not open for writing", s.path)
	}
	s.state = sinkFinishing
	if err := s.start(); err != nil {
		return err
	}
	if err := s.sync(); err != nil {
		return err
	}
	if err := s.closeFile(); err != nil {
		return err
	}
	if s.parts && s.checkpointed {
		if err := s.finishParts(); err != nil {
			return err
		}
	} else if err := os.Rename(s.tmp, s.target); err != nil {
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

// finishParts commits everything of a checkpointed run at parallelism > 1.
func (s *Sink[T]) finishParts() error {
	if err := s.commitPending(func(pendingPart) bool { return true }); err != nil {
		return err
	}
	if s.size > 0 || s.part == 0 {
		// The last part; a subtask that wrote nothing commits one
		// empty part, as it commits an empty file without checkpoints.
		if err := os.Rename(s.tmp, s.PartName(s.part)); err != nil {
			return fmt.Errorf("commit output: %w", err)
		}
		s.part++
	} else if err := os.Remove(s.tmp); err != nil {
		return fmt.Errorf("remove empty in-progress output: %w", err)
	}
	// Output of an earlier run of this subtask: its numbered parts beyond
	// ours and its part file without checkpoints.
	if err := s.removeParts(s.part); err != nil {
		return err
	}
	if err := os.Remove(s.target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove earlier output: %w", err)
	}
	return nil
}

// Close implements operators.Sink. Without a successful Finish, and when
// no checkpoint was taken or restored, it removes the in-progress file, so
// a cancelled or failed job leaves no partial output. Once the sink
// checkpointed, Close keeps the in-progress file and the pending parts: a
// restore from the checkpoint resumes them. After Finish it does nothing.
func (s *Sink[T]) Close() error {
	if s.state == sinkIdle || s.state == sinkCommitted {
		return nil
	}
	s.state = sinkIdle
	s.pending = nil
	var errs []error
	if s.f != nil {
		errs = append(errs, s.closeFile())
		s.w = nil
	}
	// An in-progress file that was there before Open and that this
	// instance never touched may hold a checkpoint's output: keep it.
	owned := !s.tmpExisted || !s.fresh
	if !s.checkpointed && owned {
		if err := os.Remove(s.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove in-progress output: %w", err))
		}
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
