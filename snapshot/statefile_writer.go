package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
)

const (
	writeBufferSize = 256 << 10
	// directWriteSize is the size from which a key or value bypasses the
	// buffer.
	directWriteSize = 64 << 10
)

// StateWriter streams the state of one operator subtask into a state file:
// keyed sections (one per key group, in ascending key group order) and
// named operator state lists, in any interleaving. It writes to a temporary
// name and renames the file into place in Close, so that a file under its
// final name is always complete.
//
// A StateWriter is used by one goroutine. An I/O error is sticky: every
// later call returns it and Close removes the temporary file. A usage error
// (a key group out of order, Put outside a keyed section) is returned
// without harming the file.
type StateWriter struct {
	fs   FS
	f    File
	path string
	tmp  string

	idx     stateIndex
	buf     []byte // bytes not yet written to f
	crcDone int    // buf[:crcDone] is already in secCRC
	written int64  // bytes written to f
	fileCRC uint32
	secCRC  uint32

	cur          *section // the open section, nil if none
	curKeyed     bool
	lastKG       int
	keyedEntries int64

	err  error
	done bool
}

// NewStateWriter creates the state file path for the subtask that owns
// keyGroups (its KeyGroupRange; for an operator without keyed state, the
// range RangeFor gives the subtask all the same). Most callers use
// PendingCheckpoint.Create, which picks the name.
func NewStateWriter(fs FS, path string, keyGroups KeyGroupRange) (*StateWriter, error) {
	if keyGroups.Start < 0 || keyGroups.Start >= keyGroups.End || keyGroups.End > MaxMaxParallelism {
		return nil, fmt.Errorf("snapshot: key group range [%d, %d) invalid", keyGroups.Start, keyGroups.End)
	}
	tmp := path + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("create state file: %w", err)
	}
	w := &StateWriter{
		fs: fs, f: f, path: path, tmp: tmp,
		idx:    stateIndex{keyGroups: keyGroups},
		buf:    make([]byte, 0, writeBufferSize),
		lastKG: -1,
	}
	w.buf = appendHeader(w.buf)
	return w, nil
}

// StartKeyGroup ends the open section and starts the one of key group kg,
// which must lie in the writer's range and follow every key group started
// before. A key group without entries leaves no section.
func (w *StateWriter) StartKeyGroup(kg int) error {
	if err := w.usable(); err != nil {
		return err
	}
	if !w.idx.keyGroups.Contains(kg) {
		return fmt.Errorf("snapshot: key group %d outside the writer's range [%d, %d)", kg, w.idx.keyGroups.Start, w.idx.keyGroups.End)
	}
	if kg <= w.lastKG {
		return fmt.Errorf("snapshot: key group %d started after %d", kg, w.lastKG)
	}
	w.endSection()
	w.lastKG = kg
	w.beginSection(&section{kg: kg}, true)
	return nil
}

// Put appends an entry to the open key group section. The writer does not
// keep key or value after Put returns.
func (w *StateWriter) Put(key, value []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.cur == nil || !w.curKeyed {
		return errors.New("snapshot: put outside a key group section")
	}
	w.appendBytes(key)
	w.appendBytes(value)
	w.cur.count++
	w.keyedEntries++
	return w.err
}

// StartOperatorState ends the open section and starts the operator state
// list name (1 to 1024 bytes, unique in the file), redistributed by mode
// when the operator is rescaled. A list without entries is recorded all the
// same.
func (w *StateWriter) StartOperatorState(name string, mode RedistributionMode) error {
	if err := w.usable(); err != nil {
		return err
	}
	if len(name) == 0 || len(name) > maxOperatorStateName {
		return fmt.Errorf("snapshot: operator state name of %d bytes", len(name))
	}
	if !mode.valid() {
		return fmt.Errorf("snapshot: unknown redistribution mode %d", uint8(mode))
	}
	for _, s := range w.idx.ops {
		if s.name == name {
			return fmt.Errorf("snapshot: operator state %q written twice", name)
		}
	}
	if w.cur != nil && !w.curKeyed && w.cur.name == name {
		return fmt.Errorf("snapshot: operator state %q written twice", name)
	}
	w.endSection()
	w.beginSection(&section{name: name, mode: mode}, false)
	return nil
}

// Append appends an entry to the open operator state list.
func (w *StateWriter) Append(entry []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.cur == nil || w.curKeyed {
		return errors.New("snapshot: append outside an operator state section")
	}
	w.appendBytes(entry)
	w.cur.count++
	return w.err
}

// Close ends the file: it writes the index and the trailer, syncs the file
// and renames it to its final name. The returned handle describes the file
// for the manifest. The directory is not synced here: PendingCheckpoint
// syncs it once before it writes the manifest.
func (w *StateWriter) Close() (StateHandle, error) {
	if err := w.usable(); err != nil {
		if w.done {
			return StateHandle{}, err
		}
		return StateHandle{}, errors.Join(err, w.Abort())
	}
	w.endSection()
	indexOffset := w.offset()
	start := len(w.buf)
	w.buf = w.idx.append(w.buf)
	t := trailer{
		indexOffset: indexOffset,
		indexLength: int64(len(w.buf) - start),
		indexCRC:    crc32.Checksum(w.buf[start:], castagnoli),
	}
	w.flush()
	t.fileCRC = w.fileCRC
	w.buf = t.append(w.buf[:0])
	w.write(w.buf)
	if w.err == nil {
		if err := w.f.Sync(); err != nil {
			w.err = fmt.Errorf("sync state file: %w", err)
		}
	}
	if w.err != nil {
		return StateHandle{}, errors.Join(w.err, w.Abort())
	}
	w.done = true
	err := w.f.Close()
	if err == nil {
		err = w.fs.Rename(w.tmp, w.path)
	}
	if err != nil {
		w.err = fmt.Errorf("close state file: %w", err)
		return StateHandle{}, errors.Join(w.err, w.fs.Remove(w.tmp))
	}
	w.err = ErrFinished
	h := StateHandle{
		File:         filepath.Base(w.path),
		KeyGroups:    w.idx.keyGroups,
		Size:         w.written,
		Checksum:     t.fileCRC,
		KeyedEntries: w.keyedEntries,
	}
	for _, s := range w.idx.ops {
		h.OperatorStates = append(h.OperatorStates, OperatorStateInfo{Name: s.name, Mode: s.mode, Entries: s.count})
	}
	return h, nil
}

// Abort discards the file. It is a no-op after Close or Abort.
func (w *StateWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.err == nil {
		w.err = ErrFinished
	}
	return errors.Join(w.f.Close(), w.fs.Remove(w.tmp))
}

func (w *StateWriter) usable() error {
	if w.done && w.err == nil {
		return ErrFinished
	}
	return w.err
}

func (w *StateWriter) offset() int64 { return w.written + int64(len(w.buf)) }

// appendBytes appends a length-prefixed byte string to the open section.
func (w *StateWriter) appendBytes(p []byte) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(p)))
	if len(p) >= directWriteSize {
		w.flush()
		if w.cur != nil {
			w.secCRC = crc32.Update(w.secCRC, castagnoli, p)
		}
		w.fileCRC = crc32.Update(w.fileCRC, castagnoli, p)
		w.write(p)
		return
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= writeBufferSize {
		w.flush()
	}
}

// beginSection opens s at the current offset.
func (w *StateWriter) beginSection(s *section, keyed bool) {
	s.offset = w.offset()
	w.cur, w.curKeyed = s, keyed
	w.crcDone, w.secCRC = len(w.buf), 0
}

// endSection closes the open section and records it in the index.
func (w *StateWriter) endSection() {
	s := w.cur
	if s == nil {
		return
	}
	w.secCRC = crc32.Update(w.secCRC, castagnoli, w.buf[w.crcDone:])
	w.crcDone = len(w.buf)
	s.crc, s.length = w.secCRC, w.offset()-s.offset
	if w.curKeyed {
		if s.count > 0 {
			w.idx.keyed = append(w.idx.keyed, *s)
		}
	} else {
		w.idx.ops = append(w.idx.ops, *s)
	}
	w.cur, w.secCRC = nil, 0
}

// flush writes the buffer, folding it into the checksums first.
func (w *StateWriter) flush() {
	if w.cur != nil {
		w.secCRC = crc32.Update(w.secCRC, castagnoli, w.buf[w.crcDone:])
	}
	w.fileCRC = crc32.Update(w.fileCRC, castagnoli, w.buf)
	w.write(w.buf)
	w.buf, w.crcDone = w.buf[:0], 0
}

func (w *StateWriter) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.f.Write(p)
	w.written += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write state file: %w", err)
	}
}
