package snapshot

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzStateFileReader feeds arbitrary bytes to the state file reader. It
// must never panic; errors must be corruption; and a file that passes
// Verify must read in full without error.
func FuzzStateFileReader(f *testing.F) {
	kgs := KeyGroupRange{Start: 2, End: 7}
	valid := encodeContent(f, genContent(9, kgs, 3), kgs)
	f.Add(valid)
	f.Add(encodeContent(f, content{}, KeyGroupRange{Start: 0, End: 1}))
	f.Add(encodeContent(f, content{Ops: map[string]opList{"l": {Mode: Union, Entries: []string{"", "x"}}}}, kgs))
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:stateHeaderSize])
	f.Add([]byte{})
	f.Add([]byte(stateMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewStateReader(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: error not marked corrupt: %v", err)
			}
			return
		}
		verr := r.Verify()
		if verr != nil && !errors.Is(verr, ErrCorrupt) {
			t.Fatalf("verify: error not marked corrupt: %v", verr)
		}
		rg := r.KeyGroupRange()
		var n int64
		rerr := r.ReadKeyGroups(KeyGroupRange{Start: 0, End: MaxMaxParallelism}, func(kg int, k, v []byte) error {
			if !rg.Contains(kg) {
				t.Fatalf("entry of key group %d outside the file's %v", kg, rg)
			}
			n++
			return nil
		})
		for _, info := range r.OperatorStates() {
			var m int64
			err := r.ReadOperatorState(info.Name, func([]byte) error { m++; return nil })
			if err == nil && m != info.Entries {
				t.Fatalf("operator state %q: %d entries, index says %d", info.Name, m, info.Entries)
			}
			if err != nil && verr == nil {
				t.Fatalf("verified file fails to read operator state %q: %v", info.Name, err)
			}
		}
		if verr == nil && (rerr != nil || n != r.KeyedEntries()) {
			t.Fatalf("verified file: read %d of %d keyed entries: %v", n, r.KeyedEntries(), rerr)
		}
	})
}

// FuzzManifestDecode feeds arbitrary bytes to the manifest decoder. It must
// never panic, must report errors as corruption, and whatever it accepts
// must be valid and re-encode to a manifest that decodes the same.
func FuzzManifestDecode(f *testing.F) {
	good, err := testManifest().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	m := NewManifest("", 1, testManifest().Timestamp)
	m.CheckpointID = 1
	empty, _ := m.Encode()
	f.Add(empty)
	f.Add(good[:manifestHeaderSize])
	f.Add(fixEnvelope(append(good[:manifestHeaderSize:manifestHeaderSize], `{"checkpoint_id":1,"max_parallelism":2,"operators":[{"uid":"a","parallelism":1,"subtasks":[{"subtask":0,"key_groups":[0,2]}]}]}`...)))
	f.Add([]byte("STRMMANI"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded an invalid manifest: %v", err)
		}
		again, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
		m2, err := DecodeManifest(again)
		if err != nil {
			t.Fatalf("re-encoded manifest does not decode: %v", err)
		}
		third, _ := m2.Encode()
		if !bytes.Equal(again, third) {
			t.Fatal("encoding not stable across a round trip")
		}
	})
}

// Fuzzing the manifest body directly reaches the JSON decoder and Validate
// without first having to guess a checksum.
func FuzzManifestBody(f *testing.F) {
	good, _ := testManifest().Encode()
	f.Add(good[manifestHeaderSize:])
	f.Add([]byte(`{"checkpoint_id":1,"max_parallelism":2,"operators":[{"uid":"a","parallelism":1,"subtasks":[{"subtask":0,"key_groups":[0,2],"file":"x","size":100}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b := fixEnvelope(append(append([]byte(nil), good[:manifestHeaderSize]...), body...))
		m, err := DecodeManifest(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		for _, h := range m.Files() {
			if !validFileName(h.File) {
				t.Fatalf("accepted file name %q", h.File)
			}
		}
		if _, err := m.Encode(); err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
	})
}
