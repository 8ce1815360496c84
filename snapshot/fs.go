package snapshot

import (
	"io"
	"io/fs"
	"os"
	"slices"
)

// FS is the file system a Store works on. It is injected so that tests can
// fail any operation (ErrorFS) or lose unsynced data in a simulated crash.
// Paths are host paths joined with path/filepath.
//
// Implementations must be safe for concurrent use; a File is used by one
// goroutine at a time.
type FS interface {
	// Create creates or truncates name for writing (and reading).
	Create(name string) (File, error)
	// Open opens name for reading.
	Open(name string) (File, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Link makes newname a hard link to oldname. Implementations without
	// hard links return an error; callers then copy.
	Link(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes name and everything below it; a missing name is not
	// an error.
	RemoveAll(name string) error
	// Mkdir creates a directory and fails with an error matching
	// fs.ErrExist if name exists.
	Mkdir(name string) error
	// ReadDir returns the names in directory name, sorted.
	ReadDir(name string) ([]string, error)
	// Stat describes name.
	Stat(name string) (fs.FileInfo, error)
	// SyncDir makes the entries of directory name (creations, renames,
	// removals) durable.
	SyncDir(name string) error
	// Lock takes an exclusive lock named by the file name, waiting for it,
	// and returns the closer that releases it. It excludes other processes
	// as well as other callers in this one.
	Lock(name string) (io.Closer, error)
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the written contents durable.
	Sync() error
	// Stat describes the file.
	Stat() (fs.FileInfo, error)
}

// OSFS returns the FS of the operating system.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

func (osFS) Open(name string) (File, error)        { return os.Open(name) }
func (osFS) Rename(oldname, newname string) error  { return os.Rename(oldname, newname) }
func (osFS) Link(oldname, newname string) error    { return os.Link(oldname, newname) }
func (osFS) Remove(name string) error              { return os.Remove(name) }
func (osFS) RemoveAll(name string) error           { return os.RemoveAll(name) }
func (osFS) Mkdir(name string) error               { return os.Mkdir(name, 0o755) }
func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (osFS) ReadDir(name string) ([]string, error) {
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	slices.Sort(names)
	return names, nil
}

func (osFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (osFS) Lock(name string) (io.Closer, error) { return lockFile(name) }
