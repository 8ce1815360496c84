package snapshot

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// StateHandle describes one state file. It is what a subtask acknowledges a
// checkpoint with (StateWriter.Close returns it) and what the manifest keeps
// per subtask. The zero StateHandle stands for a subtask without state.
type StateHandle struct {
	// File is the base name of the state file in the checkpoint directory.
	File string
	// KeyGroups is the range the file was written for.
	KeyGroups KeyGroupRange
	// Size is the file size in bytes.
	Size int64
	// Checksum is the whole-file CRC32C (Castagnoli) from the trailer.
	Checksum uint32
	// KeyedEntries counts the keyed entries of all key groups.
	KeyedEntries int64
	// OperatorStates lists the operator state lists in the file.
	OperatorStates []OperatorStateInfo
}

// IsZero reports whether h names no file.
func (h StateHandle) IsZero() bool { return h.File == "" }

// SubtaskState is what a manifest holds for one subtask of an operator.
type SubtaskState struct {
	Subtask int
	// KeyGroups is the range the subtask owned when the checkpoint was
	// taken.
	KeyGroups KeyGroupRange
	// State is the subtask's state file; zero if it had no state.
	State StateHandle
	// SourcePositions is opaque: a source subtask stores where it was in
	// its input (offsets, splits) so that it can resume there.
	SourcePositions []byte
	// KeyedStore is the base name of the subtask's keyed store checkpoint
	// in the checkpoint directory (a Pebble checkpoint, see
	// RegisterKeyedStoreCheck), empty with the heap backend. The entries
	// of the operator it holds are keyed state entries in addition to the
	// state file's. The operators of one chain share the directory.
	KeyedStore string
}

// OperatorState is what a manifest holds for one operator.
type OperatorState struct {
	// UID is the operator's stable ID (the stream API's UID).
	UID         string
	Parallelism int
	// Subtasks has one entry per subtask, indexed by subtask.
	Subtasks []SubtaskState
}

// Manifest describes a complete checkpoint or savepoint. Its presence, valid,
// in a checkpoint directory is what makes the checkpoint complete.
type Manifest struct {
	CheckpointID int64
	JobName      string
	// Epoch is the coordinator epoch that committed the checkpoint.
	Epoch uint64
	// Timestamp is when the checkpoint was triggered, stored to the
	// millisecond.
	Timestamp      time.Time
	MaxParallelism int
	// Operators is sorted by UID.
	Operators []OperatorState

	// Dir is the directory the manifest was read from; it is not stored.
	// File names in the manifest are relative to it.
	Dir string
}

// NewManifest starts a manifest for a job; AddSubtask fills it as the acks
// arrive. The checkpoint id and epoch are filled in by
// PendingCheckpoint.Commit.
func NewManifest(jobName string, maxParallelism int, timestamp time.Time) *Manifest {
	return &Manifest{JobName: jobName, MaxParallelism: maxParallelism, Timestamp: timestamp}
}

// AddSubtask records the state of one subtask of operator uid, an operator
// of the given parallelism. A subtask without state passes a zero handle;
// its key group range is then the one RangeFor assigns.
func (m *Manifest) AddSubtask(uid string, parallelism, subtask int, h StateHandle, sourcePositions []byte) error {
	return m.AddSubtaskState(uid, parallelism, subtask, h, sourcePositions, "")
}

// AddSubtaskState is AddSubtask for a subtask whose keyed state is also in
// the keyed store checkpoint keyedStore (see SubtaskState.KeyedStore).
func (m *Manifest) AddSubtaskState(uid string, parallelism, subtask int, h StateHandle, sourcePositions []byte, keyedStore string) error {
	if err := ValidateParallelism(parallelism, m.MaxParallelism); err != nil {
		return err
	}
	if uid == "" {
		return fmt.Errorf("%w: empty operator uid", ErrInvalidManifest)
	}
	if subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("%w: operator %q: subtask %d of %d", ErrInvalidManifest, uid, subtask, parallelism)
	}
	i, found := slices.BinarySearchFunc(m.Operators, uid, func(o OperatorState, uid string) int { return strings.Compare(o.UID, uid) })
	if !found {
		m.Operators = slices.Insert(m.Operators, i, OperatorState{UID: uid, Parallelism: parallelism, Subtasks: make([]SubtaskState, parallelism)})
	}
	op := &m.Operators[i]
	if op.Parallelism != parallelism {
		return fmt.Errorf("%w: operator %q: parallelism %d, earlier %d", ErrInvalidManifest, uid, parallelism, op.Parallelism)
	}
	st := &op.Subtasks[subtask]
	if st.KeyGroups.Len() > 0 {
		return fmt.Errorf("%w: operator %q: subtask %d added twice", ErrInvalidManifest, uid, subtask)
	}
	kgs := h.KeyGroups
	if h.IsZero() {
		kgs = RangeFor(subtask, m.MaxParallelism, parallelism)
	}
	*st = SubtaskState{Subtask: subtask, KeyGroups: kgs, State: h, SourcePositions: sourcePositions, KeyedStore: keyedStore}
	return nil
}

// Operator returns the operator uid, or nil.
func (m *Manifest) Operator(uid string) *OperatorState {
	i, found := slices.BinarySearchFunc(m.Operators, uid, func(o OperatorState, uid string) int { return strings.Compare(o.UID, uid) })
	if !found {
		return nil
	}
	return &m.Operators[i]
}

// Files returns the state files the manifest names, in operator and
// subtask order.
func (m *Manifest) Files() []*StateHandle {
	var hs []*StateHandle
	for i := range m.Operators {
		for j := range m.Operators[i].Subtasks {
			if h := &m.Operators[i].Subtasks[j].State; !h.IsZero() {
				hs = append(hs, h)
			}
		}
	}
	return hs
}

// KeyedStores returns the distinct keyed store directories the manifest
// names, sorted.
func (m *Manifest) KeyedStores() []string {
	var ds []string
	for i := range m.Operators {
		for _, st := range m.Operators[i].Subtasks {
			if st.KeyedStore != "" {
				ds = append(ds, st.KeyedStore)
			}
		}
	}
	slices.Sort(ds)
	return slices.Compact(ds)
}

// Size returns the total size of the state files.
func (m *Manifest) Size() int64 {
	var n int64
	for _, h := range m.Files() {
		n += h.Size
	}
	return n
}

// Validate checks the invariants of a manifest: a positive checkpoint id;
// operators sorted by unique non-empty UIDs; per operator, one entry per
// subtask in subtask order whose key group ranges tile [0, MaxParallelism);
// state files with safe, unique base names matching their subtask's range;
// one redistribution mode per operator state name.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidManifest, fmt.Sprintf(format, args...))
	}
	if m.CheckpointID < 1 {
		return bad("checkpoint id %d", m.CheckpointID)
	}
	if m.MaxParallelism < 1 || m.MaxParallelism > MaxMaxParallelism {
		return bad("max parallelism %d", m.MaxParallelism)
	}
	files := make(map[string]bool)
	for i := range m.Operators {
		op := &m.Operators[i]
		if op.UID == "" {
			return bad("operator %d has no uid", i)
		}
		if i > 0 && cmp.Compare(m.Operators[i-1].UID, op.UID) >= 0 {
			return bad("operator %q after %q: not sorted or repeated", op.UID, m.Operators[i-1].UID)
		}
		if err := ValidateParallelism(op.Parallelism, m.MaxParallelism); err != nil {
			return bad("operator %q: %v", op.UID, err)
		}
		if len(op.Subtasks) != op.Parallelism {
			return bad("operator %q: %d subtasks for parallelism %d", op.UID, len(op.Subtasks), op.Parallelism)
		}
		modes := make(map[string]RedistributionMode)
		next := 0
		for j := range op.Subtasks {
			st := &op.Subtasks[j]
			if st.Subtask != j {
				return bad("operator %q: subtask %d at position %d", op.UID, st.Subtask, j)
			}
			if st.KeyGroups.Start != next || st.KeyGroups.Len() < 1 {
				return bad("operator %q: subtask %d owns key groups [%d, %d), want a non-empty range from %d", op.UID, j, st.KeyGroups.Start, st.KeyGroups.End, next)
			}
			next = st.KeyGroups.End
			if err := validateHandle(&st.State, st.KeyGroups, files, modes); err != nil {
				return bad("operator %q subtask %d: %v", op.UID, j, err)
			}
			if st.KeyedStore != "" && (!validFileName(st.KeyedStore) || files[st.KeyedStore]) {
				return bad("operator %q subtask %d: keyed store name %q not allowed", op.UID, j, st.KeyedStore)
			}
		}
		if next != m.MaxParallelism {
			return bad("operator %q: key groups end at %d, want %d", op.UID, next, m.MaxParallelism)
		}
	}
	return nil
}

func validateHandle(h *StateHandle, kgs KeyGroupRange, files map[string]bool, modes map[string]RedistributionMode) error {
	if h.IsZero() {
		if h.Size != 0 || h.Checksum != 0 || h.KeyedEntries != 0 || len(h.OperatorStates) != 0 || h.KeyGroups != (KeyGroupRange{}) {
			return fmt.Errorf("no file but state details")
		}
		return nil
	}
	if !validFileName(h.File) {
		return fmt.Errorf("file name %q not allowed", h.File)
	}
	if files[h.File] {
		return fmt.Errorf("file %q named twice", h.File)
	}
	files[h.File] = true
	if h.KeyGroups != kgs {
		return fmt.Errorf("file range [%d, %d) differs from the subtask's", h.KeyGroups.Start, h.KeyGroups.End)
	}
	if h.Size < stateHeaderSize+indexFixedSize+stateTrailerSize || h.KeyedEntries < 0 {
		return fmt.Errorf("size %d, %d keyed entries", h.Size, h.KeyedEntries)
	}
	seen := make(map[string]bool)
	for _, info := range h.OperatorStates {
		if len(info.Name) == 0 || len(info.Name) > maxOperatorStateName || seen[info.Name] {
			return fmt.Errorf("operator state name %q empty, too long or repeated", info.Name)
		}
		seen[info.Name] = true
		if !info.Mode.valid() || info.Entries < 0 {
			return fmt.Errorf("operator state %q: mode %v, %d entries", info.Name, info.Mode, info.Entries)
		}
		if m, ok := modes[info.Name]; ok && m != info.Mode {
			return fmt.Errorf("operator state %q: mode %v, other subtasks %v", info.Name, info.Mode, m)
		}
		modes[info.Name] = info.Mode
	}
	return nil
}

// validFileName accepts the base names a manifest may reference: no
// separators, no reserved names (leading '_' or '.'), at most 255 bytes.
func validFileName(name string) bool {
	if name == "" || len(name) > 255 || name[0] == '_' || name[0] == '.' {
		return false
	}
	if strings.ContainsAny(name, "/\\\x00:") || filepath.Base(name) != name {
		return false
	}
	return !strings.HasSuffix(name, ".tmp")
}
