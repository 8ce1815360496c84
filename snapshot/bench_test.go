package snapshot

import (
	"encoding/binary"
	"path/filepath"
	"testing"
)

const (
	benchStateSize = 64 << 20
	benchValueSize = 1 << 10
	benchKeyGroups = 128
)

// writeBenchState writes 64 MiB of 1 KiB values with 8-byte keys, spread
// evenly over 128 key groups, to path.
func writeBenchState(b *testing.B, fsys FS, path string, value []byte) StateHandle {
	w, err := NewStateWriter(fsys, path, KeyGroupRange{Start: 0, End: benchKeyGroups})
	if err != nil {
		b.Fatal(err)
	}
	perKG := benchStateSize / benchValueSize / benchKeyGroups
	var key [8]byte
	for kg := range benchKeyGroups {
		if err := w.StartKeyGroup(kg); err != nil {
			b.Fatal(err)
		}
		for i := range perKG {
			binary.BigEndian.PutUint64(key[:], uint64(kg*perKG+i))
			if err := w.Put(key[:], value); err != nil {
				b.Fatal(err)
			}
		}
	}
	h, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkStateFileWrite writes 64 MiB of state in 1 KiB values to disk,
// fsync included. MB/s counts value bytes.
func BenchmarkStateFileWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.state")
	value := make([]byte, benchValueSize)
	for i := range value {
		value[i] = byte(i * 7)
	}
	b.SetBytes(benchStateSize)
	b.ReportAllocs()
	for b.Loop() {
		writeBenchState(b, OSFS(), path, value)
	}
}

// BenchmarkStateFileRead reads the 64 MiB back (page cache warm), checking
// every section checksum. MB/s counts value bytes.
func BenchmarkStateFileRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.state")
	writeBenchState(b, OSFS(), path, make([]byte, benchValueSize))
	b.SetBytes(benchStateSize)
	b.ReportAllocs()
	for b.Loop() {
		r, err := OpenStateFile(OSFS(), path)
		if err != nil {
			b.Fatal(err)
		}
		var n int
		if err := r.ReadKeyGroups(KeyGroupRange{Start: 0, End: benchKeyGroups}, func(_ int, _, v []byte) error {
			n += len(v)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		r.Close()
		if n != benchStateSize {
			b.Fatalf("read %d bytes", n)
		}
	}
}

// BenchmarkStateFileVerify reads the 64 MiB file in full with Verify (all
// section checksums plus the whole-file checksum).
func BenchmarkStateFileVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.state")
	writeBenchState(b, OSFS(), path, make([]byte, benchValueSize))
	b.SetBytes(benchStateSize)
	b.ReportAllocs()
	for b.Loop() {
		r, err := OpenStateFile(OSFS(), path)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Verify(); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}
