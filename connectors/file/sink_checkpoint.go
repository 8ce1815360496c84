package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// SinkStateName is the operator state list in which a [Sink] records its
// checkpoints: one entry per subtask, redistributed as snapshot.Union so
// that every subtask sees all entries and picks its own.
const SinkStateName = "file-sink"

// Sink state entry encoding: a kind byte, a version byte, then unsigned
// varints subtask, parallelism, the number of the next part and the length
// of the in-progress file.
const (
	sinkStateKind    = 'F'
	sinkStateVersion = 1
)

type sinkEntry struct {
	sub, par int64
	part     int64 // parts 0..part-1 were rolled by the checkpoint
	length   int64 // of the in-progress file
}

func (e sinkEntry) append(b []byte) []byte {
	b = append(b, sinkStateKind, sinkStateVersion)
	for _, v := range []int64{e.sub, e.par, e.part, e.length} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func decodeSinkEntry(b []byte) (sinkEntry, error) {
	var e sinkEntry
	switch {
	case len(b) < 2 || b[0] != sinkStateKind:
		return e, errors.New("not a file sink state entry")
	case b[1] != sinkStateVersion:
		return e, fmt.Errorf("state entry version %d, this build reads %d", b[1], sinkStateVersion)
	}
	rest := b[2:]
	for _, f := range []*int64{&e.sub, &e.par, &e.part, &e.length} {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return e, errors.New("corrupt file sink state entry")
		}
		*f, rest = int64(v), rest[n:]
	}
	switch {
	case len(rest) != 0:
		return e, fmt.Errorf("corrupt file sink state entry: %d trailing bytes", len(rest))
	case e.par < 1 || e.sub >= e.par || e.par > snapshot.MaxMaxParallelism:
		return e, fmt.Errorf("corrupt file sink state entry: subtask %d of %d", e.sub, e.par)
	case e.par == 1 && e.part != 0, e.part > 1<<31:
		return e, fmt.Errorf("corrupt file sink state entry: part %d at parallelism %d", e.part, e.par)
	}
	return e, nil
}

// SnapshotState implements operators.Checkpointed. It flushes and fsyncs
// the in-progress file and records its length; at parallelism > 1 it first
// rolls a non-empty in-progress file to the pending part
// part-<subtask>-<n>.pending, which NotifyCheckpointComplete commits.
func (s *Sink[T]) SnapshotState(checkpointID int64, w operators.StateWriter) error {
	if s.state != sinkWriting {
		return fmt.Errorf("snapshot output %s: sink not open for writing", s.path)
	}
	if err := s.start(); err != nil {
		return err
	}
	if err := s.sync(); err != nil {
		return err
	}
	if s.parts && s.size > 0 {
		if err := s.roll(checkpointID); err != nil {
			return err
		}
	}
	s.checkpointed = true
	e := sinkEntry{sub: int64(s.sub), par: int64(s.par), part: int64(s.part), length: s.size}
	w.Operator(SinkStateName, snapshot.Union, e.append(make([]byte, 0, 32)))
	return nil
}

// roll closes the synced in-progress file as the next pending part and
// starts an empty one.
func (s *Sink[T]) roll(checkpointID int64) error {
	if err := s.closeFile(); err != nil {
		return err
	}
	if err := os.Rename(s.tmp, s.pendingName(s.part)); err != nil {
		return fmt.Errorf("roll output part: %w", err)
	}
	s.pending = append(s.pending, pendingPart{checkpoint: checkpointID, n: s.part})
	s.part++
	if err := syncDir(s.path); err != nil {
		return fmt.Errorf("sync output directory: %w", err)
	}
	f, err := os.OpenFile(s.tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	s.f, s.size = f, 0
	s.w.Reset(f)
	return nil
}

// NotifyCheckpointComplete implements operators.CheckpointListener: it
// commits the pending parts rolled at checkpoints up to checkpointID by
// renaming part-<subtask>-<n>.pending to part-<subtask>-<n>. At
// parallelism 1 there is nothing to commit before Finish.
func (s *Sink[T]) NotifyCheckpointComplete(checkpointID int64) error {
	return s.commitPending(func(p pendingPart) bool { return p.checkpoint <= checkpointID })
}

// commitPending commits the pending parts that covered says are covered by
// a completed checkpoint, in order, and fsyncs the directory.
func (s *Sink[T]) commitPending(covered func(pendingPart) bool) error {
	done := 0
	for _, p := range s.pending {
		if !covered(p) {
			break // parts roll in checkpoint order
		}
		if err := os.Rename(s.pendingName(p.n), s.PartName(p.n)); err != nil {
			s.pending = s.pending[done:]
			return fmt.Errorf("commit output part: %w", err)
		}
		done++
	}
	if done == 0 {
		return nil
	}
	s.pending = s.pending[done:]
	if err := syncDir(s.path); err != nil {
		return fmt.Errorf("sync output directory: %w", err)
	}
	return nil
}

// RestoreState implements operators.Checkpointed. Called after Open and
// before the first record, it picks this subtask's entry, truncates the
// in-progress file back to the length the checkpoint recorded (dropping
// what was written after it, which the job re-emits) and continues there.
// At parallelism > 1 it also commits the parts the checkpoint covers that
// are still pending, and removes the parts, pending or committed, written
// after it. Sinks restore only at the parallelism of the checkpoint.
func (s *Sink[T]) RestoreState(r operators.StateReader) error {
	if s.state != sinkWriting {
		return fmt.Errorf("restore output %s: sink not open for writing", s.path)
	}
	if !s.fresh || s.checkpointed {
		return fmt.Errorf("restore output %s: sink already started writing", s.path)
	}
	entries, err := r.Operator(SinkStateName)
	if err != nil {
		return fmt.Errorf("restore output %s: %w", s.path, err)
	}
	if len(entries) == 0 {
		return nil // the checkpoint has no state of this sink: start afresh
	}
	var own *sinkEntry
	for i, b := range entries {
		e, err := decodeSinkEntry(b)
		if err != nil {
			return fmt.Errorf("restore output %s: entry %d: %w", s.path, i, err)
		}
		if e.par != int64(s.par) {
			return fmt.Errorf("restore output %s: the checkpoint was taken at parallelism %d, the sink runs at %d; file sinks restore only at the same parallelism",
				s.path, e.par, s.par)
		}
		if e.sub == int64(s.sub) {
			if own != nil {
				return fmt.Errorf("restore output %s: two state entries for subtask %d", s.path, s.sub)
			}
			own = &e
		}
	}
	if own == nil {
		return fmt.Errorf("restore output %s: no state entry for subtask %d among %d", s.path, s.sub, len(entries))
	}
	if !s.tmpExisted && own.length > 0 {
		// Finish may have committed the file already: the process was
		// stopped after this subtask finished and before the job did.
		// The committed file begins with the checkpoint's bytes.
		if err := s.recoverCommitted(own.length); err != nil {
			return fmt.Errorf("restore output %s: the in-progress file %s holding the checkpoint's %d bytes is missing, and %w",
				s.path, s.tmp, own.length, err)
		}
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("restore output: %w", err)
	}
	if fi.Size() < own.length {
		return fmt.Errorf("restore output %s: the in-progress file %s is %d bytes, the checkpoint recorded %d; it was changed or lost",
			s.path, s.tmp, fi.Size(), own.length)
	}
	if s.parts {
		if err := s.restoreParts(int(own.part)); err != nil {
			return err
		}
	}
	if err := s.f.Truncate(own.length); err != nil {
		return fmt.Errorf("restore output: truncate: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("restore output: sync: %w", err)
	}
	if _, err := s.f.Seek(own.length, io.SeekStart); err != nil {
		return fmt.Errorf("restore output: %w", err)
	}
	s.size, s.part, s.fresh, s.checkpointed = own.length, int(own.part), false, true
	return nil
}

// restoreParts commits this subtask's pending parts below part, which the
// restored checkpoint covers (it completed, though its notification may
// not have arrived), and removes its parts from part on, which were written
// after it.
func (s *Sink[T]) restoreParts(part int) error {
	names, err := s.ownParts()
	if err != nil {
		return err
	}
	for _, p := range names {
		if p.n < part && p.pending {
			if err := os.Rename(s.pendingName(p.n), s.PartName(p.n)); err != nil {
				return fmt.Errorf("restore output: commit part: %w", err)
			}
		}
	}
	if err := s.removeParts(part); err != nil {
		return err
	}
	if err := syncDir(s.path); err != nil {
		return fmt.Errorf("sync output directory: %w", err)
	}
	return nil
}

// removeParts removes this subtask's parts numbered from on, pending or
// committed; the caller fsyncs the directory.
func (s *Sink[T]) removeParts(from int) error {
	names, err := s.ownParts()
	if err != nil {
		return err
	}
	for _, p := range names {
		if p.n < from {
			continue
		}
		name := s.PartName(p.n)
		if p.pending {
			name = s.pendingName(p.n)
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove output part written after the checkpoint: %w", err)
		}
	}
	return nil
}

type partFile struct {
	n       int
	pending bool
}

// ownParts lists this subtask's numbered parts in the output directory.
func (s *Sink[T]) ownParts() ([]partFile, error) {
	entries, err := os.ReadDir(s.path)
	if err != nil {
		return nil, fmt.Errorf("list output directory: %w", err)
	}
	prefix := "part-" + strconv.Itoa(s.sub) + "-"
	var parts []partFile
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		name, pending := strings.CutSuffix(name, pendingExt)
		if n, ok := partNumber(name); ok {
			parts = append(parts, partFile{n: n, pending: pending})
		}
	}
	return parts, nil
}

// partNumber parses a part number written by strconv.Itoa.
func partNumber(s string) (int, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// pendingName returns the name of part n while it awaits its checkpoint.
func (s *Sink[T]) pendingName(n int) string {
	return s.PartName(n) + pendingExt
}

// recoverCommitted refills the empty in-progress file with the first n
// bytes of the file Finish committed, when there is one that long.
func (s *Sink[T]) recoverCommitted(n int64) error {
	if s.parts {
		return fmt.Errorf("part files are not recovered this way")
	}
	src, err := os.Open(s.target)
	if err != nil {
		return fmt.Errorf("no committed output to recover it from: %w", err)
	}
	defer src.Close()
	copied, err := io.CopyN(s.f, src, n)
	if err != nil {
		return fmt.Errorf("the committed output %s has only %d of them: %w", s.target, copied, err)
	}
	return nil
}
