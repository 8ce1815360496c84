package snapshot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// The manifest is a JSON document in a binary envelope:
//
//	magic "STRMMANI" | version u32 | crc32c(body) u32 | len(body) u64 | body
//
// JSON keeps the manifest readable with standard tools; the envelope makes
// torn or flipped manifests detectable. See docs/checkpoint-format.md.
const (
	manifestMagic      = "STRMMANI"
	manifestVersion    = 1
	manifestHeaderSize = 24
	// maxManifestSize bounds what a reader loads: thousands of operators at
	// parallelism 1000 stay far below it.
	maxManifestSize = 256 << 20
)

type manifestJSON struct {
	CheckpointID   int64          `json:"checkpoint_id"`
	JobName        string         `json:"job_name"`
	Epoch          uint64         `json:"epoch"`
	TimestampMS    int64          `json:"timestamp_ms"`
	MaxParallelism int            `json:"max_parallelism"`
	Operators      []operatorJSON `json:"operators"`
}

type operatorJSON struct {
	UID         string        `json:"uid"`
	Parallelism int           `json:"parallelism"`
	Subtasks    []subtaskJSON `json:"subtasks"`
}

type subtaskJSON struct {
	Subtask         int           `json:"subtask"`
	KeyGroups       [2]int        `json:"key_groups"`
	File            string        `json:"file,omitempty"`
	Size            int64         `json:"size,omitempty"`
	Checksum        uint32        `json:"crc32c,omitempty"`
	KeyedEntries    int64         `json:"keyed_entries,omitempty"`
	OperatorStates  []opStateJSON `json:"operator_states,omitempty"`
	SourcePositions []byte        `json:"source_positions,omitempty"`
	KeyedStore      string        `json:"keyed_store,omitempty"`
}

type opStateJSON struct {
	Name    string             `json:"name"`
	Mode    RedistributionMode `json:"mode"`
	Entries int64              `json:"entries"`
}

// Encode validates m and returns its file contents.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	w := manifestJSON{
		CheckpointID:   m.CheckpointID,
		JobName:        m.JobName,
		Epoch:          m.Epoch,
		MaxParallelism: m.MaxParallelism,
		Operators:      make([]operatorJSON, len(m.Operators)),
	}
	if !m.Timestamp.IsZero() {
		w.TimestampMS = m.Timestamp.UnixMilli()
	}
	for i, op := range m.Operators {
		o := operatorJSON{UID: op.UID, Parallelism: op.Parallelism, Subtasks: make([]subtaskJSON, len(op.Subtasks))}
		for j, st := range op.Subtasks {
			s := subtaskJSON{
				Subtask:         st.Subtask,
				KeyGroups:       [2]int{st.KeyGroups.Start, st.KeyGroups.End},
				File:            st.State.File,
				Size:            st.State.Size,
				Checksum:        st.State.Checksum,
				KeyedEntries:    st.State.KeyedEntries,
				SourcePositions: st.SourcePositions,
				KeyedStore:      st.KeyedStore,
			}
			for _, info := range st.State.OperatorStates {
				s.OperatorStates = append(s.OperatorStates, opStateJSON(info))
			}
			o.Subtasks[j] = s
		}
		w.Operators[i] = o
	}
	body, err := json.MarshalIndent(&w, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	b := make([]byte, 0, manifestHeaderSize+len(body)+1)
	b = append(b, manifestMagic...)
	b = binary.LittleEndian.AppendUint32(b, manifestVersion)
	body = append(body, '\n')
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(body)))
	return append(b, body...), nil
}

// DecodeManifest decodes and validates the contents of a manifest file.
// Malformed input gives an error matching ErrCorrupt; no input panics.
func DecodeManifest(b []byte) (*Manifest, error) { return decodeManifest("manifest", b) }

func decodeManifest(path string, b []byte) (*Manifest, error) {
	le := binary.LittleEndian
	if len(b) < manifestHeaderSize {
		return nil, corruptf(path, -1, "%d bytes, too short for a manifest (truncated?)", len(b))
	}
	if string(b[:8]) != manifestMagic {
		return nil, corruptf(path, 0, "bad manifest magic %q", b[:8])
	}
	if v := le.Uint32(b[8:]); v != manifestVersion {
		return nil, corruptf(path, 8, "unsupported manifest version %d (this build reads %d)", v, manifestVersion)
	}
	body := b[manifestHeaderSize:]
	if n := le.Uint64(b[16:]); n != uint64(len(body)) {
		return nil, corruptf(path, 16, "body length %d, file holds %d (truncated?)", n, len(body))
	}
	if got, want := crc32.Checksum(body, castagnoli), le.Uint32(b[12:]); got != want {
		return nil, corruptf(path, 12, "manifest checksum %#08x, computed %#08x", want, got)
	}
	var w manifestJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, &CorruptError{Path: path, Offset: manifestHeaderSize + dec.InputOffset(), What: "manifest body", Err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, corruptf(path, manifestHeaderSize+dec.InputOffset(), "data after the manifest body")
	}
	m := &Manifest{
		CheckpointID:   w.CheckpointID,
		JobName:        w.JobName,
		Epoch:          w.Epoch,
		MaxParallelism: w.MaxParallelism,
	}
	if w.TimestampMS != 0 {
		m.Timestamp = time.UnixMilli(w.TimestampMS).UTC()
	}
	for _, o := range w.Operators {
		op := OperatorState{UID: o.UID, Parallelism: o.Parallelism, Subtasks: make([]SubtaskState, len(o.Subtasks))}
		for j, s := range o.Subtasks {
			kgs := KeyGroupRange{Start: s.KeyGroups[0], End: s.KeyGroups[1]}
			st := SubtaskState{Subtask: s.Subtask, KeyGroups: kgs, SourcePositions: s.SourcePositions, KeyedStore: s.KeyedStore}
			if s.File != "" {
				st.State = StateHandle{File: s.File, KeyGroups: kgs, Size: s.Size, Checksum: s.Checksum, KeyedEntries: s.KeyedEntries}
			} else {
				st.State = StateHandle{Size: s.Size, Checksum: s.Checksum, KeyedEntries: s.KeyedEntries}
			}
			for _, info := range s.OperatorStates {
				st.State.OperatorStates = append(st.State.OperatorStates, OperatorStateInfo(info))
			}
			op.Subtasks[j] = st
		}
		m.Operators = append(m.Operators, op)
	}
	if err := m.Validate(); err != nil {
		return nil, &CorruptError{Path: path, Offset: -1, What: "manifest content", Err: err}
	}
	return m, nil
}
