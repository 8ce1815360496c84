package snapshot

import (
	"errors"
	"fmt"
)

// Sentinel errors of the checkpoint storage layer. Errors returned by this
// package wrap them with the action and the detail; test with errors.Is.
var (
	// ErrCorrupt is wrapped by every error that reports bytes on disk that
	// are not what this package wrote: flipped bits, truncation, bad magic,
	// an unsupported format version, a checksum mismatch, a manifest that
	// names a missing file. The concrete error is a *CorruptError.
	ErrCorrupt = errors.New("snapshot: corrupt data")
	// ErrIncomplete reports a checkpoint directory without a manifest: the
	// checkpoint was never committed (or is being deleted) and is never
	// restored.
	ErrIncomplete = errors.New("snapshot: checkpoint incomplete")
	// ErrStaleEpoch reports a coordinator whose epoch is older than the one
	// recorded in the directory: a newer coordinator has started, and the
	// stale one may no longer begin or commit checkpoints.
	ErrStaleEpoch = errors.New("snapshot: stale epoch")
	// ErrNoCheckpoint reports that a store holds no complete, valid
	// checkpoint.
	ErrNoCheckpoint = errors.New("snapshot: no complete checkpoint")
	// ErrCheckpointNotFound reports a checkpoint id with no directory.
	ErrCheckpointNotFound = errors.New("snapshot: checkpoint not found")
	// ErrCheckpointExists reports a checkpoint id that already has a
	// directory, complete or not.
	ErrCheckpointExists = errors.New("snapshot: checkpoint exists")
	// ErrSavepointNotFound reports a savepoint name with no directory.
	ErrSavepointNotFound = errors.New("snapshot: savepoint not found")
	// ErrSavepointExists reports a savepoint name that is taken.
	ErrSavepointExists = errors.New("snapshot: savepoint exists")
	// ErrFinished reports a call on a pending checkpoint that was already
	// committed or aborted, or on a closed state writer.
	ErrFinished = errors.New("snapshot: already committed or aborted")
	// ErrDuplicateFile reports a second state file for the same operator
	// subtask in one checkpoint.
	ErrDuplicateFile = errors.New("snapshot: duplicate state file")
	// ErrUnknownOperator reports an operator UID that a manifest does not
	// hold.
	ErrUnknownOperator = errors.New("snapshot: operator not in checkpoint")
	// ErrUnknownOperatorState reports an operator state list name that a
	// state file lacks.
	ErrUnknownOperatorState = errors.New("snapshot: no operator state")
	// ErrInvalidManifest reports a manifest that breaks an invariant
	// (see Manifest.Validate) before it is written.
	ErrInvalidManifest = errors.New("snapshot: invalid manifest")
)

// CorruptError describes corrupt data: the file, the byte offset where the
// problem was found (-1 when it concerns the file as a whole) and what is
// wrong. It matches ErrCorrupt under errors.Is.
type CorruptError struct {
	Path   string
	Offset int64
	What   string
	// Err is the underlying cause, if any (for example fs.ErrNotExist for
	// a file that a manifest names but that is gone).
	Err error
}

// Error describes the corruption: file, offset, problem, cause.
func (e *CorruptError) Error() string {
	msg := "snapshot: corrupt " + e.Path
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at offset %d", e.Offset)
	}
	msg += ": " + e.What
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the underlying cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// corruptf returns a *CorruptError for path at offset.
func corruptf(path string, offset int64, format string, args ...any) error {
	return &CorruptError{Path: path, Offset: offset, What: fmt.Sprintf(format, args...)}
}
