package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testManifest is a valid manifest with a keyed operator at parallelism 3
// and a source at parallelism 2 whose second subtask has no state.
func testManifest() *Manifest {
	m := NewManifest("job", 128, time.UnixMilli(1_700_000_000_123).UTC())
	m.CheckpointID, m.Epoch = 7, 2
	for st := range 3 {
		kgs := RangeFor(st, 128, 3)
		h := StateHandle{
			File: StateFileName("counts", st), KeyGroups: kgs, Size: 1000 + int64(st), Checksum: 0xdead0000 + uint32(st),
			KeyedEntries: 10 * int64(st), OperatorStates: []OperatorStateInfo{{Name: "buffer", Mode: EvenSplit, Entries: int64(st)}},
		}
		if err := m.AddSubtask("counts", 3, st, h, nil); err != nil {
			panic(err)
		}
	}
	h := StateHandle{File: StateFileName("source", 0), KeyGroups: RangeFor(0, 128, 2), Size: 100, Checksum: 1,
		OperatorStates: []OperatorStateInfo{{Name: "offsets", Mode: Union, Entries: 1}}}
	if err := m.AddSubtask("source", 2, 0, h, []byte{0, 1, 2}); err != nil {
		panic(err)
	}
	if err := m.AddSubtask("source", 2, 1, StateHandle{}, []byte("p1")); err != nil {
		panic(err)
	}
	return m
}

func TestManifestRoundTrip(t *testing.T) {
	m := testManifest()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, m)
	}
	again, err := got.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Fatal("encoding is not deterministic")
	}
	// The body is JSON anyone can read.
	if !bytes.Contains(b, []byte(`"uid": "counts"`)) || !bytes.Contains(b, []byte(`"mode": "even-split"`)) {
		t.Fatalf("body is not the documented JSON:\n%s", b[manifestHeaderSize:])
	}
}

func TestManifestAddSubtaskErrors(t *testing.T) {
	m := NewManifest("job", 8, time.Time{})
	if err := m.AddSubtask("a", 2, 0, StateHandle{}, nil); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"twice":             m.AddSubtask("a", 2, 0, StateHandle{}, nil),
		"other parallelism": m.AddSubtask("a", 3, 1, StateHandle{}, nil),
		"subtask too big":   m.AddSubtask("a", 2, 2, StateHandle{}, nil),
		"empty uid":         m.AddSubtask("", 2, 1, StateHandle{}, nil),
		"parallelism > max": m.AddSubtask("b", 9, 1, StateHandle{}, nil),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m.CheckpointID = 1
	if err := m.Validate(); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("manifest missing subtask 1 validated: %v", err)
	}
}

func TestManifestValidate(t *testing.T) {
	cases := map[string]func(m *Manifest){
		"checkpoint id 0":         func(m *Manifest) { m.CheckpointID = 0 },
		"max parallelism 0":       func(m *Manifest) { m.MaxParallelism = 0 },
		"unsorted operators":      func(m *Manifest) { m.Operators[0], m.Operators[1] = m.Operators[1], m.Operators[0] },
		"repeated operator":       func(m *Manifest) { m.Operators[1] = m.Operators[0] },
		"empty uid":               func(m *Manifest) { m.Operators[0].UID = "" },
		"missing subtask":         func(m *Manifest) { m.Operators[0].Subtasks = m.Operators[0].Subtasks[:2] },
		"subtask index":           func(m *Manifest) { m.Operators[0].Subtasks[1].Subtask = 2 },
		"gap in key groups":       func(m *Manifest) { m.Operators[1].Subtasks[1].KeyGroups.Start++ },
		"key groups short":        func(m *Manifest) { m.Operators[1].Subtasks[1].KeyGroups.End-- },
		"file range differs":      func(m *Manifest) { m.Operators[0].Subtasks[0].State.KeyGroups.End++ },
		"path in file name":       func(m *Manifest) { m.Operators[0].Subtasks[0].State.File = "../x.state" },
		"dir in file name":        func(m *Manifest) { m.Operators[0].Subtasks[0].State.File = "a/x.state" },
		"reserved file name":      func(m *Manifest) { m.Operators[0].Subtasks[0].State.File = "_manifest" },
		"tmp file name":           func(m *Manifest) { m.Operators[0].Subtasks[0].State.File = "x.state.tmp" },
		"file named twice":        func(m *Manifest) { m.Operators[0].Subtasks[1].State.File = m.Operators[0].Subtasks[0].State.File },
		"size too small":          func(m *Manifest) { m.Operators[0].Subtasks[0].State.Size = 10 },
		"negative entries":        func(m *Manifest) { m.Operators[0].Subtasks[0].State.KeyedEntries = -1 },
		"details without file":    func(m *Manifest) { m.Operators[1].Subtasks[1].State.Size = 5 },
		"bad mode":                func(m *Manifest) { m.Operators[0].Subtasks[0].State.OperatorStates[0].Mode = 9 },
		"mode differs by subtask": func(m *Manifest) { m.Operators[0].Subtasks[1].State.OperatorStates[0].Mode = Union },
		"operator state name twice": func(m *Manifest) {
			h := &m.Operators[0].Subtasks[0].State
			h.OperatorStates = append(h.OperatorStates, h.OperatorStates[0])
		},
	}
	if err := testManifest().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, breakIt := range cases {
		m := testManifest()
		breakIt(m)
		if err := m.Validate(); !errors.Is(err, ErrInvalidManifest) {
			t.Errorf("%s: Validate = %v", name, err)
		}
		if _, err := m.Encode(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// TestManifestEveryByteFlipped: any damage to a manifest is detected.
func TestManifestEveryByteFlipped(t *testing.T) {
	b, err := testManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for off := range b {
		for _, mask := range []byte{0x01, 0x20, 0xff} {
			bad := slices.Clone(b)
			bad[off] ^= mask
			if _, err := DecodeManifest(bad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip %#02x at %d: %v", mask, off, err)
			}
		}
	}
	for n := range len(b) {
		if _, err := DecodeManifest(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

func TestManifestRejectsStrangeBodies(t *testing.T) {
	envelope := func(body string) []byte {
		m := testManifest()
		b, _ := m.Encode()
		b = b[:manifestHeaderSize]
		return fixEnvelope(append(b, body...))
	}
	good, _ := testManifest().Encode()
	body := string(good[manifestHeaderSize:])
	for name, b := range map[string][]byte{
		"unknown field":   envelope(strings.Replace(body, `"job_name"`, `"jobname"`, 1)),
		"trailing data":   envelope(body + "{}"),
		"not json":        envelope("hello"),
		"wrong type":      envelope(strings.Replace(body, `"checkpoint_id": 7`, `"checkpoint_id": "7"`, 1)),
		"fraction":        envelope(strings.Replace(body, `"checkpoint_id": 7`, `"checkpoint_id": 7.5`, 1)),
		"bad mode":        envelope(strings.Replace(body, `"even-split"`, `"split"`, 1)),
		"invalid content": envelope(strings.Replace(body, `"max_parallelism": 128`, `"max_parallelism": 127`, 1)),
		"version 2":       func() []byte { b := slices.Clone(good); b[8] = 2; return fixEnvelope(b) }(),
	} {
		if _, err := DecodeManifest(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Sanity: the helper makes valid envelopes.
	if _, err := DecodeManifest(envelope(body)); err != nil {
		t.Fatal(err)
	}
}

// fixEnvelope recomputes the length and checksum of a manifest envelope.
func fixEnvelope(b []byte) []byte {
	body := b[manifestHeaderSize:]
	out := slices.Clone(b[:12])
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, castagnoli))
	out = binary.LittleEndian.AppendUint64(out, uint64(len(body)))
	return append(out, body...)
}
