package pebblestate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

// compactAll compacts the whole DB into the bottom level.
func compactAll(t testing.TB, db *DB) {
	t.Helper()
	must(t, db.Flush())
	must(t, db.pdb.Compact([]byte{0}, bytes.Repeat([]byte{0xff}, 8), false))
}

func TestCheckpointRestore(t *testing.T) {
	clock := newTestClock()
	opts := testOptions(clock)
	db := openTest(t, opts)
	m := model{}
	rng := rand.New(rand.NewPCG(3, 4))
	ops := []string{"counts", "windows"}
	fill(t, db, m, rng, 3000, 128, ops...)
	compactAll(t, db)
	fill(t, db, m, rng, 1000, 128, ops...) // some in the memtable only
	must(t, db.DeleteRange("windows", snapshot.KeyGroupRange{Start: 20, End: 40}))
	for k := range m {
		if k.op == "windows" && k.kg >= 20 && k.kg < 40 {
			delete(m, k)
		}
	}
	must(t, db.PutExpiring("counts", 1, "ttl", []byte("k"), []byte("lives"), clock.Now().Add(time.Hour)))
	m.put("counts", 1, "ttl", "k", "lives")
	// An uncommitted batch is not in the checkpoint.
	b := db.NewBatch()
	must(t, b.Put("counts", 2, "a", []byte("uncommitted"), []byte("x")))

	dir := t.TempDir()
	ck := filepath.Join(dir, "chk-1", "pebble") // the parent is created
	h, err := db.Checkpoint(ck)
	must(t, err)
	if h.Dir != ck || len(h.Files) == 0 || h.Size() == 0 || h.SyncDuration <= 0 || h.FlushDuration > h.SyncDuration || h.AsyncDuration <= 0 {
		t.Fatalf("handle %+v", h)
	}
	if h.SharedFiles() != 0 || h.NewBytes() != h.Size() {
		t.Fatalf("first checkpoint shares %d files, %d new bytes of %d", h.SharedFiles(), h.NewBytes(), h.Size())
	}
	want := m.entries(ops...)

	// Later writes do not change the checkpoint.
	must(t, b.Commit())
	fill(t, db, m.clone(), rng, 500, 128, ops...)
	compactAll(t, db)
	must(t, VerifyCheckpoint(ck))

	r, err := Restore(ck, filepath.Join(dir, "restored"), opts)
	must(t, err)
	defer closeQuietly(t, r)
	diffEntries(t, dump(t, r, ops...), want)
	if _, ok, _ := r.Get("counts", 2, "a", []byte("uncommitted")); ok {
		t.Fatal("restored an uncommitted write")
	}
	// The restore leaves the checkpoint as it was and usable again.
	must(t, VerifyCheckpoint(ck))
	if _, err := os.Stat(filepath.Join(dir, "restored.restoring")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary directory left: %v", err)
	}
	// The restored DB works, and its first checkpoint is incremental
	// with respect to the one it came from.
	must(t, r.Put("counts", 3, "a", []byte("after restore"), []byte("x")))
	h2, err := r.Checkpoint(filepath.Join(dir, "chk-2"))
	must(t, err)
	if h2.SharedFiles() == 0 {
		t.Fatalf("checkpoint after restore shares no files: %+v", h2.Files)
	}
	r2, err := Restore(h2.Dir, filepath.Join(dir, "restored2"), opts)
	must(t, err)
	defer closeQuietly(t, r2)
	want2 := m.clone()
	want2.put("counts", 3, "a", "after restore", "x")
	diffEntries(t, dump(t, r2, ops...), want2.entries(ops...))

	// Restoring into an existing directory fails.
	if _, err := Restore(ck, filepath.Join(dir, "restored"), opts); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("restore into an existing directory: %v", err)
	}
	// A checkpoint into an existing directory fails, and removes nothing.
	if _, err := db.Checkpoint(ck); err == nil {
		t.Fatal("checkpoint into an existing directory")
	}
	must(t, VerifyCheckpoint(ck))
}

func TestRestoreReplacesLeftoverTemporaryDirectory(t *testing.T) {
	db := openTest(t, testOptions(nil))
	must(t, db.Put("op", 0, "v", []byte("k"), []byte("v")))
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	_, err := db.Checkpoint(ck)
	must(t, err)
	target := filepath.Join(dir, "target")
	// A crash during an earlier restore left a partial directory.
	must(t, os.MkdirAll(target+".restoring", 0o755))
	must(t, os.WriteFile(filepath.Join(target+".restoring", "000999.sst"), []byte("junk"), 0o644))
	r, err := Restore(ck, target, testOptions(nil))
	must(t, err)
	defer closeQuietly(t, r)
	if _, err := os.Stat(filepath.Join(target, "000999.sst")); err == nil {
		t.Fatal("leftover file restored")
	}
	if v, ok, _ := r.Get("op", 0, "v", []byte("k")); !ok || string(v) != "v" {
		t.Fatal("restored data")
	}
}

// TestIncrementalCheckpoints checks that two checkpoints with a small
// change between them share the unchanged table files: the same names,
// the same inodes (hard links), and that the handle accounts for it.
func TestIncrementalCheckpoints(t *testing.T) {
	db := openTest(t, testOptions(nil))
	rng := rand.New(rand.NewPCG(5, 6))
	value := make([]byte, 1000)
	for i := range 4000 {
		for j := range value {
			value[j] = byte(rng.Uint32())
		}
		must(t, db.Put("op", i%128, "v", fmt.Appendf(nil, "key%05d", i), value))
	}
	compactAll(t, db)
	dir := t.TempDir()
	h1, err := db.Checkpoint(filepath.Join(dir, "chk-1"))
	must(t, err)
	tables1 := tableNames(h1)
	if len(tables1) < 2 {
		t.Fatalf("want several table files, got %v", tables1)
	}

	must(t, db.Put("op", 5, "v", []byte("a small change"), []byte("x")))
	h2, err := db.Checkpoint(filepath.Join(dir, "chk-2"))
	must(t, err)
	tables2 := tableNames(h2)
	shared := 0
	for _, f := range h2.Files {
		in1 := slices.Contains(tables1, f.Name)
		if f.Shared != in1 {
			t.Errorf("%s: shared %v, in the first checkpoint %v", f.Name, f.Shared, in1)
		}
		if !f.Shared {
			continue
		}
		shared++
		a, err := os.Stat(filepath.Join(h1.Dir, f.Name))
		must(t, err)
		b, err := os.Stat(filepath.Join(h2.Dir, f.Name))
		must(t, err)
		if !os.SameFile(a, b) {
			t.Errorf("%s: not the same file in both checkpoints", f.Name)
		}
		if n, ok := linkCount(b); ok && n < 2 {
			t.Errorf("%s: %d links", f.Name, n)
		}
	}
	if shared != len(tables1) || len(tables2) != len(tables1)+1 {
		t.Fatalf("first %v, second %v: %d shared", tables1, tables2, shared)
	}
	if h2.NewBytes()*10 > h2.Size() {
		t.Fatalf("second checkpoint: %d new bytes of %d", h2.NewBytes(), h2.Size())
	}
	t.Logf("first: %d bytes; second: %d bytes, %d new, %d of %d files shared; sync %v async %v",
		h1.Size(), h2.Size(), h2.NewBytes(), h2.SharedFiles(), len(h2.Files), h2.SyncDuration, h2.AsyncDuration)

	// Deleting the first checkpoint leaves the second intact.
	must(t, os.RemoveAll(h1.Dir))
	must(t, VerifyCheckpoint(h2.Dir))
}

func tableNames(h Handle) []string {
	var names []string
	for _, f := range h.Files {
		if isTable(f.Name) {
			names = append(names, f.Name)
		}
	}
	return names
}

// TestStartFinishCheckpoint checks the split checkpoint: writes between
// the synchronous part and Finish are not in the checkpoint, Finish works
// after the DB is closed, and Abort removes the directory.
func TestStartFinishCheckpoint(t *testing.T) {
	db := openTest(t, testOptions(nil))
	must(t, db.Put("op", 1, "v", []byte("before"), []byte("x")))
	dir := t.TempDir()
	p, err := db.StartCheckpoint(filepath.Join(dir, "ck"))
	must(t, err)
	must(t, db.Put("op", 1, "v", []byte("after"), []byte("x")))
	compactAll(t, db)
	// Without the descriptor, the checkpoint is incomplete.
	if _, err := Restore(p.Dir(), filepath.Join(dir, "r0"), testOptions(nil)); !errors.Is(err, snapshot.ErrIncomplete) {
		t.Fatalf("restore before Finish: %v", err)
	}
	must(t, db.Close())
	// A temporary descriptor of an earlier failed Finish is ignored.
	must(t, os.WriteFile(filepath.Join(p.Dir(), descriptorName+".tmp"), []byte("partial"), 0o644))
	h, err := p.Finish()
	must(t, err)
	for _, f := range h.Files {
		if strings.HasPrefix(f.Name, "STROM-") {
			t.Fatalf("descriptor lists %s", f.Name)
		}
	}
	if _, err := p.Finish(); err == nil {
		t.Fatal("second Finish")
	}
	must(t, p.Abort()) // no-op after Finish
	r, err := Restore(h.Dir, filepath.Join(dir, "r"), testOptions(nil))
	must(t, err)
	defer closeQuietly(t, r)
	if _, ok, _ := r.Get("op", 1, "v", []byte("before")); !ok {
		t.Fatal("write before the checkpoint missing")
	}
	if _, ok, _ := r.Get("op", 1, "v", []byte("after")); ok {
		t.Fatal("write after the synchronous part restored")
	}

	p2, err := r.StartCheckpoint(filepath.Join(dir, "ck2"))
	must(t, err)
	must(t, p2.Abort())
	if _, err := os.Stat(p2.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("aborted checkpoint left: %v", err)
	}
	if _, err := p2.Finish(); err == nil {
		t.Fatal("Finish after Abort")
	}
}

// damage is a way to damage a checkpoint directory.
type damage struct {
	name string
	// file picks the file to damage (nil: the descriptor).
	file func(h Handle) string
	do   func(path string) error
	// want is the error Restore returns (without VerifyRestore), nil if
	// Restore succeeds and a read fails instead.
	want error
	// verified is the error with VerifyRestore.
	verified error
	// readFails says that when Restore succeeds, reading everything
	// fails; otherwise the read either fails or returns the state intact
	// (the damage hit bytes that Pebble does not use).
	readFails bool
}

func flipByte(at func(size int64) int64) func(string) error {
	return func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b[at(int64(len(b)))] ^= 0x20
		return os.WriteFile(path, b, 0o644)
	}
}

func truncateTo(at func(size int64) int64) func(string) error {
	return func(path string) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		return os.Truncate(path, at(fi.Size()))
	}
}

func firstFile(prefix string) func(Handle) string {
	return func(h Handle) string {
		for _, f := range h.Files {
			if strings.HasPrefix(f.Name, prefix) || (prefix == ".sst" && isTable(f.Name)) {
				return f.Name
			}
		}
		panic("no file " + prefix)
	}
}

func TestCorruptCheckpointDetected(t *testing.T) {
	descriptor := func(Handle) string { return descriptorName }
	half := func(n int64) int64 { return n / 2 }
	cases := []damage{
		{name: "no descriptor", file: descriptor, do: os.Remove, want: snapshot.ErrIncomplete},
		{name: "descriptor flipped", file: descriptor, do: flipByte(half), want: snapshot.ErrCorrupt},
		{name: "descriptor truncated", file: descriptor, do: truncateTo(half), want: snapshot.ErrCorrupt},
		{name: "descriptor header flipped", file: descriptor, do: flipByte(func(int64) int64 { return 9 }), want: snapshot.ErrCorrupt},
		{name: "table missing", file: firstFile(".sst"), do: os.Remove, want: snapshot.ErrCorrupt},
		{name: "table truncated", file: firstFile(".sst"), do: truncateTo(half), want: snapshot.ErrCorrupt},
		{name: "table empty", file: firstFile(".sst"), do: truncateTo(func(int64) int64 { return 0 }), want: snapshot.ErrCorrupt},
		// A flipped byte in the first data block: Restore succeeds, the
		// read of the block fails; with verification, Restore fails.
		{name: "table data flipped", file: firstFile(".sst"), do: flipByte(func(int64) int64 { return 100 }), want: nil, verified: snapshot.ErrCorrupt, readFails: true},
		{name: "table footer flipped", file: firstFile(".sst"), do: flipByte(func(n int64) int64 { return n - 20 }), want: nil, verified: snapshot.ErrCorrupt},
		{name: "manifest flipped", file: firstFile("MANIFEST"), do: flipByte(func(n int64) int64 { return n - 5 }), want: snapshot.ErrCorrupt},
		{name: "manifest truncated", file: firstFile("MANIFEST"), do: truncateTo(func(n int64) int64 { return n - 10 }), want: snapshot.ErrCorrupt},
		{name: "manifest missing", file: firstFile("MANIFEST"), do: os.Remove, want: snapshot.ErrCorrupt},
		{name: "options flipped", file: firstFile("OPTIONS"), do: flipByte(half), want: snapshot.ErrCorrupt},
		{name: "marker missing", file: firstFile("marker.manifest"), do: os.Remove, want: snapshot.ErrCorrupt},
	}
	// Every case damages a fresh copy of the same checkpoint.
	src := openTest(t, testOptions(nil))
	rng := rand.New(rand.NewPCG(7, 8))
	m := model{}
	fill(t, src, m, rng, 3000, 128, "op")
	compactAll(t, src)
	fill(t, src, m, rng, 300, 128, "op")
	base := filepath.Join(t.TempDir(), "ck")
	h, err := src.Checkpoint(base)
	must(t, err)

	for _, c := range cases {
		for _, verify := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/verify=%v", c.name, verify), func(t *testing.T) {
				dir := t.TempDir()
				ck := filepath.Join(dir, "ck")
				copyDir(t, base, ck)
				must(t, c.do(filepath.Join(ck, c.file(h))))
				before := listDir(t, ck)

				opts := testOptions(nil)
				opts.VerifyRestore = verify
				want := c.want
				if verify && c.verified != nil {
					want = c.verified
				}
				target := filepath.Join(dir, "target")
				r, err := Restore(ck, target, opts)
				if want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("restore: %v, want %v", err, want)
					}
					if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("failed restore left the target: %v", err)
					}
					if _, err := os.Stat(target + ".restoring"); !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("failed restore left its temporary directory: %v", err)
					}
				} else {
					must(t, err)
					defer closeQuietly(t, r)
					var got []entry
					err := r.Iterate("op", snapshot.KeyGroupRange{Start: 0, End: 128}, func(kg int, state string, key, value []byte) error {
						got = append(got, entry{"op", kg, state, string(key), string(value)})
						return nil
					})
					switch {
					case errors.Is(err, snapshot.ErrCorrupt):
					case err != nil:
						t.Fatalf("reading a damaged table: %v, want an error matching ErrCorrupt", err)
					case c.readFails:
						t.Fatal("reading a damaged table succeeded")
					default:
						diffEntries(t, got, m.entries("op"))
					}
				}
				if err := VerifyCheckpoint(ck); !errors.Is(err, snapshot.ErrCorrupt) && !errors.Is(err, snapshot.ErrIncomplete) {
					t.Fatalf("VerifyCheckpoint: %v", err)
				}
				if after := listDir(t, ck); !slices.Equal(before, after) {
					t.Fatalf("restore changed the checkpoint: %v → %v", before, after)
				}
			})
		}
	}
}

// TestDescriptorEveryByte flips every byte of a descriptor, and truncates
// it at every length: each must be refused.
func TestDescriptorEveryByte(t *testing.T) {
	db := openTest(t, testOptions(nil))
	must(t, db.Put("op", 0, "v", []byte("k"), []byte("v")))
	ck := filepath.Join(t.TempDir(), "ck")
	_, err := db.Checkpoint(ck)
	must(t, err)
	path := filepath.Join(ck, descriptorName)
	orig, err := os.ReadFile(path)
	must(t, err)
	if _, err := readDescriptor(ck); err != nil {
		t.Fatal(err)
	}
	for i := range orig {
		b := slices.Clone(orig)
		b[i] ^= 0x01
		must(t, os.WriteFile(path, b, 0o644))
		if _, err := readDescriptor(ck); !errors.Is(err, snapshot.ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := range len(orig) {
		must(t, os.WriteFile(path, orig[:n], 0o644))
		if _, err := readDescriptor(ck); !errors.Is(err, snapshot.ErrCorrupt) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// Valid envelopes with invalid content.
	for _, body := range []string{
		`{"files":[]}`,
		`{"files":[{"name":"../x","size":1,"crc32c":0}]}`,
		`{"files":[{"name":"a","size":-1,"crc32c":0}]}`,
		`{"files":[{"name":"a","size":1,"crc32c":0},{"name":"a","size":1,"crc32c":0}]}`,
		`{"files":[{"name":"a","size":1,"crc32c":0,"extra":1}]}`,
		`{"files":[{"name":"a","size":1,"crc32c":0}]} {}`,
		`{"files":[{"name":"STROM-CHECKPOINT","size":1,"crc32c":0}]}`,
	} {
		b, err := encodeDescriptor(nil)
		must(t, err)
		b = append(b[:descriptorHeader], body...)
		fixEnvelope(b)
		must(t, os.WriteFile(path, b, 0o644))
		if _, err := readDescriptor(ck); !errors.Is(err, snapshot.ErrCorrupt) {
			t.Fatalf("body %s: %v", body, err)
		}
	}
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	must(t, os.MkdirAll(to, 0o755))
	entries, err := os.ReadDir(from)
	must(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o644))
	}
}

// listDir describes a directory's files: names, sizes, contents' hashes.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		must(t, err)
		out = append(out, fmt.Sprintf("%s:%d:%x", e.Name(), len(b), snapshot.HashBytes(b)))
	}
	return out
}

// fixEnvelope sets the length and checksum of a descriptor to match its
// body.
func fixEnvelope(b []byte) {
	body := b[descriptorHeader:]
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(body, castagnoli))
	binary.LittleEndian.PutUint64(b[16:], uint64(len(body)))
}
