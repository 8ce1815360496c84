package snapshot

import (
	"errors"
	"io"
	"io/fs"
)

// ErrInjected is the error an Injector conventionally returns.
var ErrInjected = errors.New("snapshot: injected fault")

// Op names a file system operation for fault injection.
type Op uint8

// The operations an ErrorFS consults its Injector about.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpRead // Read and ReadAt on a File
	OpWrite
	OpSync // File.Sync
	OpClose
	OpRename
	OpLink
	OpRemove // Remove and RemoveAll
	OpMkdir
	OpReadDir
	OpStat // FS.Stat and File.Stat
	OpSyncDir
	OpLock
)

var opNames = [...]string{
	OpCreate: "create", OpOpen: "open", OpRead: "read", OpWrite: "write",
	OpSync: "sync", OpClose: "close", OpRename: "rename", OpLink: "link",
	OpRemove: "remove", OpMkdir: "mkdir", OpReadDir: "readdir", OpStat: "stat",
	OpSyncDir: "syncdir", OpLock: "lock",
}

// String returns the operation's lower-case name.
func (op Op) String() string {
	if int(op) < len(opNames) && opNames[op] != "" {
		return opNames[op]
	}
	return "op?"
}

// Mutating reports whether op changes what is on disk (or makes it
// durable): the operations a simulated crash cuts short.
func (op Op) Mutating() bool {
	switch op {
	case OpCreate, OpWrite, OpSync, OpRename, OpLink, OpRemove, OpMkdir, OpSyncDir:
		return true
	}
	return false
}

// An Injector decides the fate of one operation on path (for Rename and
// Link, the new name): nil lets it run, an error fails it without running
// it. It is called concurrently when the FS is used concurrently.
type Injector func(op Op, path string) error

// ErrorFS wraps an FS and fails the operations its Injector picks, in the
// spirit of pebble's vfs/errorfs. It exists for tests of this package and of
// its users.
type ErrorFS struct {
	fs     FS
	inject Injector
}

// NewErrorFS returns fs with faults injected by inject.
func NewErrorFS(fs FS, inject Injector) *ErrorFS { return &ErrorFS{fs: fs, inject: inject} }

func (e *ErrorFS) check(op Op, path string) error {
	if err := e.inject(op, path); err != nil {
		return &fs.PathError{Op: op.String(), Path: path, Err: err}
	}
	return nil
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.check(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := e.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{File: f, fs: e, name: name}, nil
}

// Open implements FS.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{File: f, fs: e, name: name}, nil
}

// Rename implements FS.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.check(OpRename, newname); err != nil {
		return err
	}
	return e.fs.Rename(oldname, newname)
}

// Link implements FS.
func (e *ErrorFS) Link(oldname, newname string) error {
	if err := e.check(OpLink, newname); err != nil {
		return err
	}
	return e.fs.Link(oldname, newname)
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.fs.Remove(name)
}

// RemoveAll implements FS.
func (e *ErrorFS) RemoveAll(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.fs.RemoveAll(name)
}

// Mkdir implements FS.
func (e *ErrorFS) Mkdir(name string) error {
	if err := e.check(OpMkdir, name); err != nil {
		return err
	}
	return e.fs.Mkdir(name)
}

// ReadDir implements FS.
func (e *ErrorFS) ReadDir(name string) ([]string, error) {
	if err := e.check(OpReadDir, name); err != nil {
		return nil, err
	}
	return e.fs.ReadDir(name)
}

// Stat implements FS.
func (e *ErrorFS) Stat(name string) (fs.FileInfo, error) {
	if err := e.check(OpStat, name); err != nil {
		return nil, err
	}
	return e.fs.Stat(name)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(name string) error {
	if err := e.check(OpSyncDir, name); err != nil {
		return err
	}
	return e.fs.SyncDir(name)
}

// Lock implements FS.
func (e *ErrorFS) Lock(name string) (io.Closer, error) {
	if err := e.check(OpLock, name); err != nil {
		return nil, err
	}
	return e.fs.Lock(name)
}

type errorFile struct {
	File
	fs   *ErrorFS
	name string
}

func (f *errorFile) Read(p []byte) (int, error) {
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *errorFile) Sync() error {
	if err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *errorFile) Stat() (fs.FileInfo, error) {
	if err := f.fs.check(OpStat, f.name); err != nil {
		return nil, err
	}
	return f.File.Stat()
}

func (f *errorFile) Close() error {
	if err := f.fs.check(OpClose, f.name); err != nil {
		f.File.Close() // release the descriptor all the same
		return err
	}
	return f.File.Close()
}
