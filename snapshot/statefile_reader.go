package snapshot

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// StateReader reads a state file. Opening it validates the header, the
// trailer and the index; each read validates the checksum and the structure
// of the sections it reads before it hands out any entry, so a reader never
// returns bytes that differ from those written: it returns an error matching
// ErrCorrupt instead. Reading some key groups reads only their sections;
// Verify reads everything and also checks the whole-file checksum.
//
// A StateReader is used by one goroutine. Byte slices passed to callbacks
// are valid only during the call.
type StateReader struct {
	r        io.ReaderAt
	closer   io.Closer
	path     string
	size     int64
	trailer  trailer
	idx      *stateIndex
	rawIndex []byte
	buf      []byte
}

// OpenStateFile opens and validates the state file path.
func OpenStateFile(fs FS, path string) (*StateReader, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open state file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open state file: %w", err)
	}
	r, err := NewStateReader(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewStateReader validates the state file of size bytes that r reads; path
// names it in errors.
func NewStateReader(r io.ReaderAt, size int64, path string) (*StateReader, error) {
	sr := &StateReader{r: r, path: path, size: size}
	if size < stateHeaderSize+indexFixedSize+stateTrailerSize {
		return nil, corruptf(path, -1, "%d bytes, too short for a state file (truncated?)", size)
	}
	h, err := sr.readAt(0, stateHeaderSize)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(path, h); err != nil {
		return nil, err
	}
	tb, err := sr.readAt(size-stateTrailerSize, stateTrailerSize)
	if err != nil {
		return nil, err
	}
	if sr.trailer, err = decodeTrailer(path, tb, size); err != nil {
		return nil, err
	}
	ib, err := sr.readAt(sr.trailer.indexOffset, int(sr.trailer.indexLength))
	if err != nil {
		return nil, err
	}
	if got := crc32.Checksum(ib, castagnoli); got != sr.trailer.indexCRC {
		return nil, corruptf(path, sr.trailer.indexOffset, "index checksum %#08x, computed %#08x", sr.trailer.indexCRC, got)
	}
	sr.rawIndex = slices.Clone(ib)
	if sr.idx, err = decodeIndex(path, sr.rawIndex, sr.trailer.indexOffset); err != nil {
		return nil, err
	}
	return sr, nil
}

// Close closes the underlying file if OpenStateFile opened it.
func (r *StateReader) Close() error {
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

// Size returns the file size in bytes.
func (r *StateReader) Size() int64 { return r.size }

// Checksum returns the whole-file CRC32C recorded in the trailer (the one a
// StateHandle carries).
func (r *StateReader) Checksum() uint32 { return r.trailer.fileCRC }

// KeyGroupRange returns the key groups the file was written for.
func (r *StateReader) KeyGroupRange() KeyGroupRange { return r.idx.keyGroups }

// KeyGroups returns the key groups that have entries, ascending.
func (r *StateReader) KeyGroups() []int {
	kgs := make([]int, len(r.idx.keyed))
	for i, s := range r.idx.keyed {
		kgs[i] = s.kg
	}
	return kgs
}

// KeyedEntries returns the number of keyed entries in the file.
func (r *StateReader) KeyedEntries() int64 {
	var n int64
	for _, s := range r.idx.keyed {
		n += s.count
	}
	return n
}

// OperatorStates describes the operator state lists in the file, in the
// order they were written.
func (r *StateReader) OperatorStates() []OperatorStateInfo {
	var infos []OperatorStateInfo
	for _, s := range r.idx.ops {
		infos = append(infos, OperatorStateInfo{Name: s.name, Mode: s.mode, Entries: s.count})
	}
	return infos
}

// ReadKeyGroup calls fn for each entry of key group kg, in write order. A
// key group without a section has no entries. An error from fn stops the
// read and is returned.
func (r *StateReader) ReadKeyGroup(kg int, fn func(key, value []byte) error) error {
	return r.ReadKeyGroups(KeyGroupRange{Start: kg, End: kg + 1}, func(_ int, k, v []byte) error { return fn(k, v) })
}

// ReadKeyGroups calls fn for each entry of the key groups in kgs,
// ascending by key group, reading only their sections.
func (r *StateReader) ReadKeyGroups(kgs KeyGroupRange, fn func(kg int, key, value []byte) error) error {
	i, _ := slices.BinarySearchFunc(r.idx.keyed, kgs.Start, func(s section, kg int) int { return cmp.Compare(s.kg, kg) })
	for ; i < len(r.idx.keyed) && r.idx.keyed[i].kg < kgs.End; i++ {
		s := &r.idx.keyed[i]
		b, err := r.readSection(s)
		if err != nil {
			return err
		}
		if err := r.walk(s, b, 2, func(kv [][]byte) error { return fn(s.kg, kv[0], kv[1]) }); err != nil {
			return err
		}
	}
	return nil
}

// ReadOperatorState calls fn for each entry of the operator state list
// name, in order. It returns an error wrapping ErrUnknownOperatorState if
// the file has no such list.
func (r *StateReader) ReadOperatorState(name string, fn func(entry []byte) error) error {
	for i := range r.idx.ops {
		if s := &r.idx.ops[i]; s.name == name {
			b, err := r.readSection(s)
			if err != nil {
				return err
			}
			return r.walk(s, b, 1, func(e [][]byte) error { return fn(e[0]) })
		}
	}
	return fmt.Errorf("read %s: %w %q", r.path, ErrUnknownOperatorState, name)
}

// Verify reads the whole file and checks every section and the whole-file
// checksum.
func (r *StateReader) Verify() error {
	sections := slices.Concat(r.idx.keyed, r.idx.ops)
	slices.SortFunc(sections, func(a, b section) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.length, b.length))
	})
	h, err := r.readAt(0, stateHeaderSize)
	if err != nil {
		return err
	}
	crc := crc32.Checksum(h, castagnoli)
	for i := range sections {
		s := &sections[i]
		b, err := r.readSection(s)
		if err != nil {
			return err
		}
		crc = crc32.Update(crc, castagnoli, b)
		fields := 2
		if s.name != "" {
			fields = 1
		}
		if err := r.walk(s, b, fields, nil); err != nil {
			return err
		}
	}
	crc = crc32.Update(crc, castagnoli, r.rawIndex)
	if crc != r.trailer.fileCRC {
		return corruptf(r.path, -1, "file checksum %#08x, computed %#08x", r.trailer.fileCRC, crc)
	}
	return nil
}

// readSection reads section s and checks its checksum.
func (r *StateReader) readSection(s *section) ([]byte, error) {
	b, err := r.readAt(s.offset, int(s.length))
	if err != nil {
		return nil, err
	}
	if got := crc32.Checksum(b, castagnoli); got != s.crc {
		return nil, corruptf(r.path, s.offset, "%s checksum %#08x, computed %#08x", s.describe(), s.crc, got)
	}
	return b, nil
}

// walk parses the s.count entries of fields length-prefixed byte strings
// in b. It checks the whole section before calling fn (if not nil) for any
// entry.
func (r *StateReader) walk(s *section, b []byte, fields int, fn func([][]byte) error) error {
	parse := func(deliver bool) error {
		var entry [2][]byte
		p := 0
		for range s.count {
			for f := range fields {
				n, w := binary.Uvarint(b[p:])
				if w <= 0 || n > uint64(len(b)-p-w) {
					return corruptf(r.path, s.offset+int64(p), "%s: bad length prefix", s.describe())
				}
				p += w
				entry[f] = b[p : p+int(n) : p+int(n)]
				p += int(n)
			}
			if deliver {
				if err := fn(entry[:fields]); err != nil {
					return err
				}
			}
		}
		if p != len(b) {
			return corruptf(r.path, s.offset+int64(p), "%s: %d bytes after %d entries", s.describe(), len(b)-p, s.count)
		}
		return nil
	}
	if err := parse(false); err != nil || fn == nil {
		return err
	}
	return parse(true)
}

func (s *section) describe() string {
	if s.name != "" {
		return fmt.Sprintf("operator state %q", s.name)
	}
	return fmt.Sprintf("key group %d", s.kg)
}

// readAt reads n bytes at off into the reader's buffer.
func (r *StateReader) readAt(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > r.size || int64(n) > r.size-off {
		return nil, corruptf(r.path, off, "read of %d bytes beyond the end (%d)", n, r.size)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	m, err := r.r.ReadAt(b, off)
	if m == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, corruptf(r.path, off+int64(m), "file ends early (truncated?)")
	}
	return nil, fmt.Errorf("read state file %s: %w", r.path, err)
}
