package snapshot

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// State file layout constants; docs/checkpoint-format.md draws the layout.
const (
	stateMagic        = "STRMSTAT" // first 8 bytes of every state file
	stateTrailerMagic = "STFT"     // last 4 bytes
	stateVersion      = 1
	stateHeaderSize   = 16 // magic, version u32, reserved u32
	stateTrailerSize  = 32 // index offset, index length, index crc, file crc, trailer crc, magic

	indexFixedSize       = 16 // key group start, end, keyed section count, operator section count
	keyedIndexEntrySize  = 32 // key group, crc, offset, length, count
	opIndexEntryFixed    = 31 // name length u16, mode u8, crc, offset, length, count (+ name)
	maxOperatorStateName = 1024
	minKeyedEntrySize    = 2 // two zero-length varints
	minOpEntrySize       = 1 // one zero-length varint
)

// castagnoli is the CRC32C table used for every checksum in this package.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RedistributionMode says how list-shaped operator state is handed to the
// subtasks when an operator is restored at another parallelism.
type RedistributionMode uint8

// The redistribution modes.
const (
	// EvenSplit concatenates the lists of all old subtasks (in subtask
	// order) and deals the result to the new subtasks in contiguous chunks
	// whose sizes differ by at most one, the larger chunks first.
	EvenSplit RedistributionMode = 1
	// Union gives every new subtask all entries of all old subtasks.
	Union RedistributionMode = 2
)

// String returns "even-split" or "union".
func (m RedistributionMode) String() string {
	switch m {
	case EvenSplit:
		return "even-split"
	case Union:
		return "union"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

func (m RedistributionMode) valid() bool { return m == EvenSplit || m == Union }

// MarshalText encodes the mode as "even-split" or "union".
func (m RedistributionMode) MarshalText() ([]byte, error) {
	if !m.valid() {
		return nil, fmt.Errorf("snapshot: unknown redistribution mode %d", uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes "even-split" or "union".
func (m *RedistributionMode) UnmarshalText(b []byte) error {
	switch string(b) {
	case "even-split":
		*m = EvenSplit
	case "union":
		*m = Union
	default:
		return fmt.Errorf("snapshot: unknown redistribution mode %q", b)
	}
	return nil
}

// OperatorStateInfo describes one named operator state list in a state file.
type OperatorStateInfo struct {
	Name    string
	Mode    RedistributionMode
	Entries int64
}

// section is one entry of a state file's index.
type section struct {
	kg     int                // keyed sections
	name   string             // operator sections
	mode   RedistributionMode // operator sections
	crc    uint32
	offset int64
	length int64
	count  int64
}

// stateIndex is the decoded index of a state file.
type stateIndex struct {
	keyGroups KeyGroupRange
	keyed     []section // ascending key group
	ops       []section // in write order
}

func (x *stateIndex) append(b []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(x.keyGroups.Start))
	b = le.AppendUint32(b, uint32(x.keyGroups.End))
	b = le.AppendUint32(b, uint32(len(x.keyed)))
	b = le.AppendUint32(b, uint32(len(x.ops)))
	for _, s := range x.keyed {
		b = le.AppendUint32(b, uint32(s.kg))
		b = le.AppendUint32(b, s.crc)
		b = le.AppendUint64(b, uint64(s.offset))
		b = le.AppendUint64(b, uint64(s.length))
		b = le.AppendUint64(b, uint64(s.count))
	}
	for _, s := range x.ops {
		b = le.AppendUint16(b, uint16(len(s.name)))
		b = append(b, s.name...)
		b = append(b, byte(s.mode))
		b = le.AppendUint32(b, s.crc)
		b = le.AppendUint64(b, uint64(s.offset))
		b = le.AppendUint64(b, uint64(s.length))
		b = le.AppendUint64(b, uint64(s.count))
	}
	return b
}

// decodeIndex decodes and validates the index b of the state file path,
// found at byte offset base; the sections must tile [stateHeaderSize, base)
// exactly.
func decodeIndex(path string, b []byte, base int64) (*stateIndex, error) {
	le := binary.LittleEndian
	bad := func(at int, format string, args ...any) error {
		return corruptf(path, base+int64(at), "index: "+format, args...)
	}
	if len(b) < indexFixedSize {
		return nil, bad(0, "%d bytes, want at least %d", len(b), indexFixedSize)
	}
	x := &stateIndex{keyGroups: KeyGroupRange{Start: int(le.Uint32(b)), End: int(le.Uint32(b[4:]))}}
	if x.keyGroups.Start >= x.keyGroups.End || x.keyGroups.End > MaxMaxParallelism {
		return nil, bad(0, "key group range [%d, %d) invalid", x.keyGroups.Start, x.keyGroups.End)
	}
	nKeyed, nOps := uint64(le.Uint32(b[8:])), uint64(le.Uint32(b[12:]))
	if nKeyed > uint64(x.keyGroups.Len()) {
		return nil, bad(8, "%d keyed sections for %d key groups", nKeyed, x.keyGroups.Len())
	}
	if rest := uint64(len(b) - indexFixedSize); nKeyed*keyedIndexEntrySize+nOps*opIndexEntryFixed > rest {
		return nil, bad(8, "%d keyed and %d operator sections do not fit in %d bytes", nKeyed, nOps, rest)
	}
	// checkSpan validates a section's bounds; the tiling check below makes
	// the sections cover the data region exactly.
	checkSpan := func(at int, off, length, count uint64, minEntry uint64) (section, error) {
		if off > uint64(base) || length > uint64(base)-off {
			return section{}, bad(at, "section [%d, +%d) outside the data region [%d, %d)", off, length, stateHeaderSize, base)
		}
		if count > length/minEntry {
			return section{}, bad(at, "%d entries cannot fit in %d bytes", count, length)
		}
		if count == 0 && length != 0 {
			return section{}, bad(at, "no entries but %d bytes", length)
		}
		return section{offset: int64(off), length: int64(length), count: int64(count)}, nil
	}
	p := indexFixedSize
	x.keyed = make([]section, 0, nKeyed)
	for i := range nKeyed {
		kg := int(le.Uint32(b[p:]))
		s, err := checkSpan(p, le.Uint64(b[p+8:]), le.Uint64(b[p+16:]), le.Uint64(b[p+24:]), minKeyedEntrySize)
		if err != nil {
			return nil, err
		}
		if !x.keyGroups.Contains(kg) {
			return nil, bad(p, "key group %d outside the file's range [%d, %d)", kg, x.keyGroups.Start, x.keyGroups.End)
		}
		if i > 0 && kg <= x.keyed[i-1].kg {
			return nil, bad(p, "key group %d after %d", kg, x.keyed[i-1].kg)
		}
		if s.count == 0 {
			return nil, bad(p, "empty section for key group %d", kg)
		}
		s.kg, s.crc = kg, le.Uint32(b[p+4:])
		x.keyed = append(x.keyed, s)
		p += keyedIndexEntrySize
	}
	x.ops = make([]section, 0, nOps)
	for range nOps {
		if len(b)-p < opIndexEntryFixed {
			return nil, bad(p, "operator section entry truncated")
		}
		n := int(le.Uint16(b[p:]))
		if n == 0 || n > maxOperatorStateName || len(b)-p < opIndexEntryFixed+n {
			return nil, bad(p, "operator state name of %d bytes", n)
		}
		name := string(b[p+2 : p+2+n])
		q := p + 2 + n
		mode := RedistributionMode(b[q])
		if !mode.valid() {
			return nil, bad(q, "redistribution mode %d", b[q])
		}
		s, err := checkSpan(p, le.Uint64(b[q+5:]), le.Uint64(b[q+13:]), le.Uint64(b[q+21:]), minOpEntrySize)
		if err != nil {
			return nil, err
		}
		for _, o := range x.ops {
			if o.name == name {
				return nil, bad(p, "operator state %q twice", name)
			}
		}
		s.name, s.mode, s.crc = name, mode, le.Uint32(b[q+1:])
		x.ops = append(x.ops, s)
		p = q + 29
	}
	if p != len(b) {
		return nil, bad(p, "%d trailing bytes", len(b)-p)
	}
	all := slices.Concat(x.keyed, x.ops)
	slices.SortFunc(all, func(a, b section) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.length, b.length))
	})
	end := int64(stateHeaderSize)
	for _, s := range all {
		if s.offset != end {
			return nil, bad(0, "sections leave a gap or overlap at offset %d", end)
		}
		end += s.length
	}
	if end != base {
		return nil, bad(0, "sections end at %d, index starts at %d", end, base)
	}
	return x, nil
}

// appendHeader appends a state file header.
func appendHeader(b []byte) []byte {
	b = append(b, stateMagic...)
	b = binary.LittleEndian.AppendUint32(b, stateVersion)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// checkHeader validates a state file header.
func checkHeader(path string, h []byte) error {
	if string(h[:8]) != stateMagic {
		return corruptf(path, 0, "bad magic %q", h[:8])
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != stateVersion {
		return corruptf(path, 8, "unsupported format version %d (this build reads %d)", v, stateVersion)
	}
	if r := binary.LittleEndian.Uint32(h[12:]); r != 0 {
		return corruptf(path, 12, "reserved header field is %#x", r)
	}
	return nil
}

// trailer is the fixed-size end of a state file.
type trailer struct {
	indexOffset, indexLength int64
	indexCRC, fileCRC        uint32
}

func (t trailer) append(b []byte) []byte {
	le := binary.LittleEndian
	start := len(b)
	b = le.AppendUint64(b, uint64(t.indexOffset))
	b = le.AppendUint64(b, uint64(t.indexLength))
	b = le.AppendUint32(b, t.indexCRC)
	b = le.AppendUint32(b, t.fileCRC)
	b = le.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	return append(b, stateTrailerMagic...)
}

// decodeTrailer validates the trailer tb of a file of size bytes.
func decodeTrailer(path string, tb []byte, size int64) (trailer, error) {
	le := binary.LittleEndian
	at := size - stateTrailerSize
	if string(tb[28:]) != stateTrailerMagic {
		return trailer{}, corruptf(path, at+28, "bad trailer magic %q (truncated?)", tb[28:])
	}
	if got, want := crc32.Checksum(tb[:24], castagnoli), le.Uint32(tb[24:]); got != want {
		return trailer{}, corruptf(path, at+24, "trailer checksum %#08x, computed %#08x", want, got)
	}
	t := trailer{
		indexOffset: int64(le.Uint64(tb)),
		indexLength: int64(le.Uint64(tb[8:])),
		indexCRC:    le.Uint32(tb[16:]),
		fileCRC:     le.Uint32(tb[20:]),
	}
	if t.indexOffset < stateHeaderSize || t.indexLength < indexFixedSize || t.indexOffset > at || t.indexLength != at-t.indexOffset {
		return trailer{}, corruptf(path, at, "index at [%d, +%d) does not end at the trailer (%d)", t.indexOffset, t.indexLength, at)
	}
	return t, nil
}
