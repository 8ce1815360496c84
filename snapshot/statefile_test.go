package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestStateFileRoundTrip(t *testing.T) {
	kgs := KeyGroupRange{Start: 10, End: 50}
	c := genContent(1, kgs, 20)
	// Edge cases: empty key and value, values bigger than the buffer and
	// than the direct-write threshold.
	big := strings.Repeat("x", directWriteSize+3)
	huge := strings.Repeat("y", writeBufferSize+5)
	c.Keyed = append(c.Keyed, kv{KG: 49, Key: "", Value: ""}, kv{KG: 49, Key: big, Value: huge}, kv{KG: 49, Key: "after", Value: "big"})
	c.Ops["empty"] = opList{Mode: Union}

	mfs := newMemFS()
	w, err := NewStateWriter(mfs, "/a.state", kgs)
	if err != nil {
		t.Fatal(err)
	}
	h := c.write(t, w)
	if _, err := mfs.Stat("/a.state.tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}

	r, err := OpenStateFile(mfs, "/a.state")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if h.File != "a.state" || h.Size != r.Size() || h.Checksum != r.Checksum() || h.KeyGroups != kgs || h.KeyedEntries != int64(len(c.Keyed)) {
		t.Fatalf("handle %+v does not describe the file (size %d, crc %#x)", h, r.Size(), r.Checksum())
	}
	if !slices.Equal(h.OperatorStates, r.OperatorStates()) || len(h.OperatorStates) != 3 {
		t.Fatalf("operator states: handle %v, file %v", h.OperatorStates, r.OperatorStates())
	}
	got, err := readContent(r)
	if err != nil {
		t.Fatal(err)
	}
	if !equalContent(got, c) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, c)
	}

	// Key groups one at a time and in sub-ranges.
	var present []int
	for _, e := range c.Keyed {
		if len(present) == 0 || present[len(present)-1] != e.KG {
			present = append(present, e.KG)
		}
	}
	if !slices.Equal(r.KeyGroups(), present) {
		t.Fatalf("KeyGroups() = %v, want %v", r.KeyGroups(), present)
	}
	for kg := 0; kg < 60; kg++ {
		var one []kv
		if err := r.ReadKeyGroup(kg, func(k, v []byte) error {
			one = append(one, kv{KG: kg, Key: string(k), Value: string(v)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := c.keyedIn(KeyGroupRange{Start: kg, End: kg + 1}); !slices.Equal(one, want) {
			t.Fatalf("key group %d: %v, want %v", kg, one, want)
		}
	}
	sub := KeyGroupRange{Start: 20, End: 31}
	var part []kv
	if err := r.ReadKeyGroups(sub, func(kg int, k, v []byte) error {
		part = append(part, kv{KG: kg, Key: string(k), Value: string(v)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := c.keyedIn(sub); !slices.Equal(part, want) {
		t.Fatalf("key groups %v: %d entries, want %d", sub, len(part), len(want))
	}
	if err := r.ReadOperatorState("nope", func([]byte) error { return nil }); !errors.Is(err, ErrUnknownOperatorState) {
		t.Fatalf("unknown operator state: %v", err)
	}
	stop := errors.New("stop")
	if err := r.ReadKeyGroup(present[0], func(k, v []byte) error { return stop }); err != stop {
		t.Fatalf("callback error not returned: %v", err)
	}
}

func TestStateFileEmpty(t *testing.T) {
	b := encodeContent(t, content{}, KeyGroupRange{Start: 0, End: 1})
	r, err := NewStateReader(bytes.NewReader(b), int64(len(b)), "empty")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if len(r.KeyGroups()) != 0 || len(r.OperatorStates()) != 0 || r.KeyedEntries() != 0 {
		t.Fatalf("empty file reads as %v %v", r.KeyGroups(), r.OperatorStates())
	}
}

func TestStateWriterUsageErrors(t *testing.T) {
	mfs := newMemFS()
	if _, err := NewStateWriter(mfs, "/x", KeyGroupRange{Start: 3, End: 3}); err == nil {
		t.Fatal("empty range accepted")
	}
	w, err := NewStateWriter(mfs, "/x", KeyGroupRange{Start: 4, End: 8})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"put before a section", func() error { return w.Put(nil, nil) }},
		{"append before a section", func() error { return w.Append(nil) }},
		{"key group below range", func() error { return w.StartKeyGroup(3) }},
		{"key group above range", func() error { return w.StartKeyGroup(8) }},
		{"ok", func() error { return w.StartKeyGroup(5) }},
		{"same key group again", func() error { return w.StartKeyGroup(5) }},
		{"earlier key group", func() error { return w.StartKeyGroup(4) }},
		{"append in a keyed section", func() error { return w.Append(nil) }},
		{"bad mode", func() error { return w.StartOperatorState("s", 0) }},
		{"empty name", func() error { return w.StartOperatorState("", Union) }},
		{"long name", func() error { return w.StartOperatorState(strings.Repeat("n", 1025), Union) }},
		{"ok", func() error { return w.StartOperatorState("s", Union) }},
		{"put in an operator section", func() error { return w.Put(nil, nil) }},
		{"same name again", func() error { return w.StartOperatorState("s", EvenSplit) }},
		{"ok", func() error { return w.StartOperatorState("t", EvenSplit) }},
		{"name of a closed section again", func() error { return w.StartOperatorState("s", Union) }},
		{"ok", func() error { return w.StartKeyGroup(7) }},
	}
	for _, s := range steps {
		err := s.do()
		if (err == nil) != (s.name == "ok") {
			t.Fatalf("%s: err = %v", s.name, err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); !errors.Is(err, ErrFinished) {
		t.Fatalf("second close: %v", err)
	}
	if err := w.StartKeyGroup(7); !errors.Is(err, ErrFinished) {
		t.Fatalf("use after close: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("abort after close: %v", err)
	}
}

// TestStateFileEveryByteFlipped flips each byte of a small state file in
// turn. Reading everything (Verify) must always report corruption; reading
// one key group or one list must report corruption or return exactly what
// was written — never different data.
func TestStateFileEveryByteFlipped(t *testing.T) {
	kgs := KeyGroupRange{Start: 0, End: 6}
	c := genContent(3, kgs, 3)
	b := encodeContent(t, c, kgs)
	t.Logf("state file of %d bytes", len(b))
	for _, mask := range []byte{0x01, 0x80, 0xff} {
		for off := range b {
			bad := slices.Clone(b)
			bad[off] ^= mask
			name := fmt.Sprintf("flip %#02x at %d", mask, off)

			r, err := NewStateReader(bytes.NewReader(bad), int64(len(bad)), name)
			if err == nil {
				err = r.Verify()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: full read gave %v, want ErrCorrupt", name, err)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != name || ce.What == "" {
				t.Fatalf("%s: error without detail: %#v", name, err)
			}

			r, err = NewStateReader(bytes.NewReader(bad), int64(len(bad)), name)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s: open gave %v", name, err)
				}
				continue
			}
			for kg := kgs.Start; kg < kgs.End; kg++ {
				var got []kv
				err := r.ReadKeyGroup(kg, func(k, v []byte) error {
					got = append(got, kv{KG: kg, Key: string(k), Value: string(v)})
					return nil
				})
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("%s: key group %d: %v", name, kg, err)
					}
					continue
				}
				if want := c.keyedIn(KeyGroupRange{Start: kg, End: kg + 1}); !slices.Equal(got, want) {
					t.Fatalf("%s: key group %d read wrong data %v, want %v", name, kg, got, want)
				}
			}
			for n, l := range c.Ops {
				var got []string
				err := r.ReadOperatorState(n, func(e []byte) error { got = append(got, string(e)); return nil })
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("%s: operator state %q: %v", name, n, err)
					}
					continue
				}
				if !slices.Equal(got, l.Entries) {
					t.Fatalf("%s: operator state %q read wrong data %q, want %q", name, n, got, l.Entries)
				}
			}
			for _, info := range r.OperatorStates() {
				if l, ok := c.Ops[info.Name]; !ok || l.Mode != info.Mode {
					t.Fatalf("%s: operator state %+v not written", name, info)
				}
			}
		}
	}
}

func TestStateFileTruncatedOrExtended(t *testing.T) {
	kgs := KeyGroupRange{Start: 0, End: 6}
	b := encodeContent(t, genContent(4, kgs, 3), kgs)
	for n := range len(b) {
		_, err := NewStateReader(bytes.NewReader(b[:n]), int64(n), "truncated")
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(b), err)
		}
	}
	for _, tail := range []string{"\x00", "garbage", string(b[len(b)-stateTrailerSize:])} {
		long := append(slices.Clone(b), tail...)
		if _, err := NewStateReader(bytes.NewReader(long), int64(len(long)), "extended"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%d bytes appended: %v", len(tail), err)
		}
	}
	// A reader that claims more bytes than it has: truncated under our feet.
	r, err := NewStateReader(bytes.NewReader(b), int64(len(b)), "ok")
	if err != nil {
		t.Fatal(err)
	}
	r.r = bytes.NewReader(b[:stateHeaderSize+5])
	if err := r.Verify(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("file shrunk under the reader: %v", err)
	}
}

func TestStateFileBadMagicAndVersion(t *testing.T) {
	kgs := KeyGroupRange{Start: 0, End: 2}
	b := encodeContent(t, genContent(5, kgs, 2), kgs)
	for _, tc := range []struct {
		name  string
		patch func([]byte)
		want  string
	}{
		{"magic", func(b []byte) { copy(b, "NOTSTROM") }, "bad magic"},
		{"version", func(b []byte) { b[8] = 2 }, "unsupported format version 2"},
		{"trailer magic", func(b []byte) { b[len(b)-1] = 'X' }, "trailer magic"},
	} {
		bad := slices.Clone(b)
		tc.patch(bad)
		_, err := NewStateReader(bytes.NewReader(bad), int64(len(bad)), tc.name)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrCorrupt mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestStateWriterIOFailures(t *testing.T) {
	for _, op := range []Op{OpCreate, OpWrite, OpSync, OpClose, OpRename} {
		t.Run(op.String(), func(t *testing.T) {
			mfs := newMemFS()
			efs := NewErrorFS(mfs, func(o Op, path string) error {
				if o == op {
					return ErrInjected
				}
				return nil
			})
			kgs := KeyGroupRange{Start: 0, End: 4}
			w, err := NewStateWriter(efs, "/s.state", kgs)
			if err == nil {
				_, err = genContent(6, kgs, 4).writeErr(w)
			}
			if !errors.Is(err, ErrInjected) {
				t.Fatalf("err = %v, want the injected fault", err)
			}
			names, _ := mfs.ReadDir("/")
			if len(names) != 0 {
				t.Fatalf("failed write left %v", names)
			}
		})
	}
}

func TestStateReaderIOErrorIsNotCorruption(t *testing.T) {
	dir := t.TempDir()
	kgs := KeyGroupRange{Start: 0, End: 4}
	w, err := NewStateWriter(OSFS(), filepath.Join(dir, "s.state"), kgs)
	if err != nil {
		t.Fatal(err)
	}
	genContent(7, kgs, 4).write(t, w)
	var reads int
	efs := NewErrorFS(OSFS(), func(op Op, _ string) error {
		if op == OpRead {
			if reads++; reads > 3 {
				return ErrInjected
			}
		}
		return nil
	})
	r, err := OpenStateFile(efs, filepath.Join(dir, "s.state"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Verify()
	if !errors.Is(err, ErrInjected) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("read fault reported as %v", err)
	}
}

// recordingReaderAt records the byte ranges read.
type recordingReaderAt struct {
	r     *bytes.Reader
	reads [][2]int64
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.reads = append(r.reads, [2]int64{off, off + int64(len(p))})
	return r.r.ReadAt(p, off)
}

// TestReadingKeyGroupsReadsOnlyTheirSections: after the header, trailer and
// index, reading key groups touches no byte outside their sections.
func TestReadingKeyGroupsReadsOnlyTheirSections(t *testing.T) {
	kgs := KeyGroupRange{Start: 0, End: 32}
	b := encodeContent(t, genContent(8, kgs, 50), kgs)
	rec := &recordingReaderAt{r: bytes.NewReader(b)}
	r, err := NewStateReader(rec, int64(len(b)), "rec")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []KeyGroupRange{{Start: 3, End: 4}, {Start: 10, End: 20}, {Start: 31, End: 32}} {
		rec.reads = nil
		if err := r.ReadKeyGroups(want, func(int, []byte, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		var sections, read int64
		for _, s := range r.idx.keyed {
			if want.Contains(s.kg) {
				sections += s.length
			}
		}
		for _, rd := range rec.reads {
			read += rd[1] - rd[0]
			ok := false
			for _, s := range r.idx.keyed {
				if want.Contains(s.kg) && rd[0] >= s.offset && rd[1] <= s.offset+s.length {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("reading %v read [%d, %d), outside its sections", want, rd[0], rd[1])
			}
		}
		if read != sections {
			t.Fatalf("reading %v read %d bytes; its sections hold %d", want, read, sections)
		}
	}
}
