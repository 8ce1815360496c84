package pebblestate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stromhq/strom/snapshot"
)

// A checkpoint of a DB is a directory made by Pebble's Checkpoint: hard
// links to the DB's table files (immutable, so a link is a snapshot of
// them), and copies of the small metadata files (MANIFEST, OPTIONS,
// markers). Consecutive checkpoints of a DB share the table files that did
// not change between them: on disk a checkpoint costs only its new files,
// and Handle says which they are. This package adds a descriptor,
// STROM-CHECKPOINT, that lists every file with its size and CRC32C; it is
// written last, so a directory without it is incomplete.
//
// docs/checkpoint-format.md describes the descriptor.

const (
	descriptorName    = "STROM-CHECKPOINT"
	descriptorMagic   = "STRMPBCK"
	descriptorVersion = 1
	descriptorHeader  = 24 // magic, version u32, crc32c u32, body length u64
	maxDescriptorBody = 64 << 20
	tableSuffix       = ".sst"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Handle describes a finished checkpoint.
type Handle struct {
	// Dir is the checkpoint directory.
	Dir string
	// Files lists the files of the checkpoint, by name, without the
	// descriptor.
	Files []CheckpointFile
	// SyncDuration is the synchronous part: the flush of the memtables
	// and Pebble's checkpoint call (links, metadata copies, directory
	// syncs). The subtask processes no record meanwhile.
	SyncDuration time.Duration
	// FlushDuration is the part of SyncDuration spent flushing.
	FlushDuration time.Duration
	// AsyncDuration is the rest: listing the files, checksumming the new
	// ones and writing the descriptor. It may overlap with processing.
	AsyncDuration time.Duration
}

// CheckpointFile is one file of a checkpoint.
type CheckpointFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
	// Shared reports a table file that the previous checkpoint of the same
	// DB (or the checkpoint it was restored from) has too: the same
	// immutable file, hard-linked, so it costs no space or copying.
	Shared bool `json:"-"`
}

// Size returns the total size of the checkpoint's files.
func (h Handle) Size() int64 {
	var n int64
	for _, f := range h.Files {
		n += f.Size
	}
	return n
}

// NewBytes returns the size of the files that the previous checkpoint did
// not share: what an incremental upload of this checkpoint would copy.
func (h Handle) NewBytes() int64 {
	var n int64
	for _, f := range h.Files {
		if !f.Shared {
			n += f.Size
		}
	}
	return n
}

// SharedFiles returns the number of files shared with the previous
// checkpoint.
func (h Handle) SharedFiles() int {
	n := 0
	for _, f := range h.Files {
		if f.Shared {
			n++
		}
	}
	return n
}

// fileSum identifies the content of an immutable table file.
type fileSum struct {
	size int64
	crc  uint32
}

// Checkpoint writes a checkpoint of the DB into dir, which must not
// exist: StartCheckpoint, then Finish. Writes committed before the call
// are in it; writes of uncommitted batches are not.
func (db *DB) Checkpoint(dir string) (Handle, error) {
	p, err := db.StartCheckpoint(dir)
	if err != nil {
		return Handle{}, err
	}
	h, err := p.Finish()
	if err != nil {
		return Handle{}, errors.Join(err, p.Abort())
	}
	return h, nil
}

// PendingCheckpoint is a checkpoint whose synchronous part is done: its
// directory holds a complete Pebble checkpoint, which later writes to the
// DB do not change, but not yet its descriptor.
type PendingCheckpoint struct {
	db          *DB
	dir         string
	flush, sync time.Duration
	mu          sync.Mutex
	done        bool
}

// StartCheckpoint runs the synchronous part of a checkpoint into dir (which
// must not exist; its parent is created): it flushes the memtables and
// calls Pebble's Checkpoint. The runtime calls it when the checkpoint
// barrier reaches the subtask, then resumes processing and calls Finish
// elsewhere.
func (db *DB) StartCheckpoint(dir string) (*PendingCheckpoint, error) {
	if err := db.usable(); err != nil {
		return nil, err
	}
	start := time.Now()
	// Without a WAL, only flushed state is in table files, so only
	// flushed state can be in a checkpoint.
	if err := db.pdb.Flush(); err != nil {
		return nil, wrapErr(db.dir, "checkpoint: flush", err)
	}
	flushed := time.Since(start)
	if err := db.pdb.Checkpoint(dir); err != nil {
		return nil, wrapErr(db.dir, "checkpoint", err)
	}
	return &PendingCheckpoint{db: db, dir: dir, flush: flushed, sync: time.Since(start)}, nil
}

// Dir returns the checkpoint directory.
func (p *PendingCheckpoint) Dir() string { return p.dir }

// Finish runs the rest of the checkpoint: it lists the files, checksums
// those that the previous checkpoint did not share (the others' checksums
// are known), and writes the descriptor crash-safely. It may run on
// another goroutine while the DB takes writes, and even after the DB is
// closed. After a failed Finish, call Abort.
func (p *PendingCheckpoint) Finish() (Handle, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return Handle{}, errors.New("pebblestate: checkpoint already finished or aborted")
	}
	start := time.Now()
	db := p.db
	db.ck.Lock()
	prev := db.ck.tables // replaced, never modified
	db.ck.Unlock()

	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return Handle{}, fmt.Errorf("pebblestate: finish checkpoint: %w", err)
	}
	h := Handle{Dir: p.dir, SyncDuration: p.sync, FlushDuration: p.flush}
	tables := make(map[string]fileSum)
	for _, e := range entries {
		if e.Name() == descriptorName {
			return Handle{}, fmt.Errorf("pebblestate: finish checkpoint %s: already has a descriptor", p.dir)
		}
		if strings.HasPrefix(e.Name(), "STROM-") {
			continue // a descriptor.tmp of a failed Finish
		}
		if !e.Type().IsRegular() {
			return Handle{}, fmt.Errorf("pebblestate: finish checkpoint %s: unexpected %s", p.dir, e.Name())
		}
		info, err := e.Info()
		if err != nil {
			return Handle{}, fmt.Errorf("pebblestate: finish checkpoint: %w", err)
		}
		f := CheckpointFile{Name: e.Name(), Size: info.Size()}
		if s, ok := prev[f.Name]; ok && s.size == f.Size && isTable(f.Name) {
			f.CRC32C, f.Shared = s.crc, true
		} else {
			sum, n, err := checksumFile(filepath.Join(p.dir, f.Name))
			if err != nil {
				return Handle{}, fmt.Errorf("pebblestate: finish checkpoint: %w", err)
			}
			if n != f.Size {
				return Handle{}, fmt.Errorf("pebblestate: finish checkpoint: %s changed size while read", f.Name)
			}
			f.CRC32C = sum
		}
		if isTable(f.Name) {
			tables[f.Name] = fileSum{size: f.Size, crc: f.CRC32C}
		}
		h.Files = append(h.Files, f)
	}
	if err := writeDescriptor(p.dir, h.Files); err != nil {
		return Handle{}, fmt.Errorf("pebblestate: finish checkpoint: %w", err)
	}
	p.done = true
	db.ck.Lock()
	db.ck.tables = tables
	db.ck.Unlock()
	h.AsyncDuration = time.Since(start)
	return h, nil
}

// Abort removes the checkpoint directory. It is a no-op after Finish.
func (p *PendingCheckpoint) Abort() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	p.done = true
	return os.RemoveAll(p.dir)
}

func isTable(name string) bool { return strings.HasSuffix(name, tableSuffix) }

// descriptorBody is the JSON body of a descriptor.
type descriptorBody struct {
	Files []CheckpointFile `json:"files"`
}

func encodeDescriptor(files []CheckpointFile) ([]byte, error) {
	body, err := json.MarshalIndent(descriptorBody{Files: files}, "", " ")
	if err != nil {
		return nil, err
	}
	b := make([]byte, descriptorHeader, descriptorHeader+len(body))
	copy(b, descriptorMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], descriptorVersion)
	le.PutUint32(b[12:], crc32.Checksum(body, castagnoli))
	le.PutUint64(b[16:], uint64(len(body)))
	return append(b, body...), nil
}

func writeDescriptor(dir string, files []CheckpointFile) error {
	b, err := encodeDescriptor(files)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, descriptorName+".tmp")
	if err := writeFileSync(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, descriptorName)); err != nil {
		return err
	}
	return syncDir(dir)
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readDescriptor reads and validates the descriptor of checkpoint dir.
func readDescriptor(dir string) ([]CheckpointFile, error) {
	path := filepath.Join(dir, descriptorName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("pebblestate: checkpoint %s: %w", dir, serr)
		}
		return nil, fmt.Errorf("pebblestate: checkpoint %s has no descriptor: %w", dir, snapshot.ErrIncomplete)
	}
	if err != nil {
		return nil, fmt.Errorf("pebblestate: read checkpoint descriptor: %w", err)
	}
	bad := func(format string, args ...any) error {
		return &snapshot.CorruptError{Path: path, Offset: -1, What: fmt.Sprintf(format, args...)}
	}
	le := binary.LittleEndian
	switch {
	case len(b) < descriptorHeader:
		return nil, bad("%d bytes, too short", len(b))
	case string(b[:8]) != descriptorMagic:
		return nil, bad("bad magic %q", b[:8])
	case le.Uint32(b[8:]) != descriptorVersion:
		return nil, bad("unsupported version %d", le.Uint32(b[8:]))
	case le.Uint64(b[16:]) != uint64(len(b)-descriptorHeader) || len(b)-descriptorHeader > maxDescriptorBody:
		return nil, bad("body length %d, file has %d bytes after the header", le.Uint64(b[16:]), len(b)-descriptorHeader)
	}
	body := b[descriptorHeader:]
	if got := crc32.Checksum(body, castagnoli); got != le.Uint32(b[12:]) {
		return nil, bad("checksum %#08x, computed %#08x", le.Uint32(b[12:]), got)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var d descriptorBody
	if err := dec.Decode(&d); err != nil {
		return nil, bad("body: %v", err)
	}
	if dec.More() {
		return nil, bad("body: trailing data")
	}
	seen := make(map[string]bool)
	for _, f := range d.Files {
		if !validFileName(f.Name) || seen[f.Name] || f.Size < 0 {
			return nil, bad("file entry %q (size %d) invalid", f.Name, f.Size)
		}
		seen[f.Name] = true
	}
	if len(d.Files) == 0 {
		return nil, bad("no files")
	}
	return d.Files, nil
}

// validFileName accepts the plain base names Pebble gives its files.
func validFileName(name string) bool {
	return name != "" && len(name) <= 255 && name != "." && name != ".." &&
		!strings.ContainsAny(name, `/\`) && name != descriptorName && !strings.HasPrefix(name, "STROM-")
}

// checksumFile returns the CRC32C and the length of a file.
func checksumFile(path string) (uint32, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, f)
	return h.Sum32(), n, err
}

// VerifyCheckpoint reads every file of checkpoint dir and checks it
// against the descriptor. Corruption is an error matching
// snapshot.ErrCorrupt; a directory without descriptor one matching
// snapshot.ErrIncomplete.
func VerifyCheckpoint(dir string) error { return CheckCheckpoint(dir, true) }

// CheckCheckpoint checks checkpoint dir against its descriptor: that every
// file it lists exists with its size, and with full that its checksum
// matches too (VerifyCheckpoint). It is the check snapshot runs on the
// keyed store checkpoints a manifest names.
func CheckCheckpoint(dir string, full bool) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &snapshot.CorruptError{Path: dir, Offset: -1, What: "checkpoint directory missing", Err: err}
	}
	files, err := readDescriptor(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := verifyFile(dir, f, full); err != nil {
			return err
		}
	}
	return nil
}

func init() { snapshot.RegisterKeyedStoreCheck(CheckCheckpoint) }

// verifyFile checks the size of a checkpoint file, and its checksum if
// full.
func verifyFile(dir string, f CheckpointFile, full bool) error {
	path := filepath.Join(dir, f.Name)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &snapshot.CorruptError{Path: path, Offset: -1, What: "missing checkpoint file", Err: err}
	}
	if err != nil {
		return fmt.Errorf("pebblestate: verify checkpoint: %w", err)
	}
	if info.Size() != f.Size {
		return &snapshot.CorruptError{Path: path, Offset: -1, What: fmt.Sprintf("%d bytes, descriptor says %d (truncated?)", info.Size(), f.Size)}
	}
	if !full {
		return nil
	}
	sum, n, err := checksumFile(path)
	if err != nil {
		return fmt.Errorf("pebblestate: verify checkpoint: %w", err)
	}
	if n != f.Size || sum != f.CRC32C {
		return &snapshot.CorruptError{Path: path, Offset: -1, What: fmt.Sprintf("checksum %#08x, computed %#08x", f.CRC32C, sum)}
	}
	return nil
}

// Restore opens a DB in targetDir from checkpoint checkpointDir, which it
// leaves unchanged. targetDir must not exist; it is assembled in
// targetDir.restoring (removed first if a crash left it) and renamed.
//
// Table files are hard-linked (copied where the file system cannot link:
// then they are checksummed on the way); the metadata files, which Pebble
// may append to, are copied and always checksummed. Every file's size is
// checked against the descriptor, and with Options.VerifyRestore every
// table file's checksum too. Without it, a damaged table file is found
// when it is read: every block of a table has a checksum that Pebble
// checks, so damage surfaces as an error matching snapshot.ErrCorrupt,
// never as wrong state.
//
// The first checkpoint of the restored DB shares the table files it did
// not change with checkpointDir.
func Restore(checkpointDir, targetDir string, opts Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := readDescriptor(checkpointDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(targetDir); err == nil {
		return nil, fmt.Errorf("pebblestate: restore into %s: %w", targetDir, fs.ErrExist)
	}
	tmp := filepath.Clean(targetDir) + ".restoring"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("pebblestate: restore: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("pebblestate: restore: %w", err)
	}
	tables, err := assemble(checkpointDir, tmp, files, o.VerifyRestore)
	if err == nil {
		err = syncDir(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, targetDir)
	}
	if err == nil {
		err = syncDir(filepath.Dir(filepath.Clean(targetDir)))
	}
	if err != nil {
		var ce *snapshot.CorruptError
		if !errors.As(err, &ce) {
			err = fmt.Errorf("pebblestate: restore %s: %w", checkpointDir, err)
		}
		return nil, errors.Join(err, os.RemoveAll(tmp))
	}
	db, err := open(targetDir, o, true)
	if err != nil {
		// The directory is ours and unusable: leave the target free for
		// another attempt.
		return nil, errors.Join(err, os.RemoveAll(targetDir))
	}
	db.ck.tables = tables
	return db, nil
}

// assemble links or copies the checkpoint files into dir and returns the
// checksums of the table files.
func assemble(src, dir string, files []CheckpointFile, verify bool) (map[string]fileSum, error) {
	tables := make(map[string]fileSum)
	// Metadata first: they are small, and a damaged MANIFEST is the
	// likeliest to go unnoticed by Pebble (it stops reading at the first
	// bad record, taking it for the torn tail of a crash).
	files = slices.Clone(files)
	slices.SortStableFunc(files, func(a, b CheckpointFile) int {
		switch ta, tb := isTable(a.Name), isTable(b.Name); {
		case ta == tb:
			return 0
		case tb:
			return -1
		default:
			return 1
		}
	})
	for _, f := range files {
		from, to := filepath.Join(src, f.Name), filepath.Join(dir, f.Name)
		if isTable(f.Name) {
			if err := verifyFile(src, f, verify); err != nil {
				return nil, err
			}
			if err := os.Link(from, to); err == nil {
				tables[f.Name] = fileSum{size: f.Size, crc: f.CRC32C}
				continue
			}
		}
		if err := copyVerified(from, to, f); err != nil {
			return nil, err
		}
		if isTable(f.Name) {
			tables[f.Name] = fileSum{size: f.Size, crc: f.CRC32C}
		}
	}
	return tables, nil
}

// copyVerified copies a checkpoint file, checks size and checksum, and
// syncs the copy.
func copyVerified(from, to string, f CheckpointFile) error {
	in, err := os.Open(from)
	if errors.Is(err, fs.ErrNotExist) {
		return &snapshot.CorruptError{Path: from, Offset: -1, What: "missing checkpoint file", Err: err}
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	h := crc32.New(castagnoli)
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != f.Size {
		return &snapshot.CorruptError{Path: from, Offset: -1, What: fmt.Sprintf("%d bytes, descriptor says %d (truncated?)", n, f.Size)}
	}
	if sum := h.Sum32(); sum != f.CRC32C {
		return &snapshot.CorruptError{Path: from, Offset: -1, What: fmt.Sprintf("checksum %#08x, computed %#08x", f.CRC32C, sum)}
	}
	return nil
}
