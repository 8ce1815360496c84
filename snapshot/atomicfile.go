package snapshot

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

// writeFileAtomic replaces name with data crash-safely: it writes
// name.tmp, syncs it, renames it over name and syncs the directory. After a
// crash, name holds either its old contents or data, never a mix.
func writeFileAtomic(fs FS, name string, data []byte) (err error) {
	tmp := name + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, removeIfExists(fs, tmp))
		}
	}()
	if _, err := f.Write(data); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, name); err != nil {
		return err
	}
	return fs.SyncDir(filepath.Dir(name))
}

// readFile reads all of name, refusing files larger than limit.
func readFile(fs FS, name string, limit int64) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, corruptf(name, -1, "%d bytes, more than the %d a reader accepts", fi.Size(), limit)
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, corruptf(name, -1, "file shrank while read")
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

// removeIfExists removes name; a missing name is not an error.
func removeIfExists(fs FS, name string) error {
	if err := fs.Remove(name); err != nil && !isNotExist(err) {
		return err
	}
	return nil
}

// mkdirAllDurable creates dir and its missing parents and syncs the parent
// of each directory it creates, so that the new directories survive a
// crash.
func mkdirAllDurable(fs FS, dir string) error {
	if fi, err := fs.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("snapshot: %s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllDurable(fs, parent); err != nil {
			return err
		}
	}
	if err := fs.Mkdir(dir); err != nil && !isExist(err) {
		return err
	}
	return fs.SyncDir(parent)
}
