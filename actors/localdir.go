package actors

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stromhq/strom/snapshot"
)

// Local working directories (the Pebble instances of subtasks, and the old
// Pebble checkpoints a restore opens) live under Config.LocalStateDir and
// are removed when they are no longer needed. A process killed with
// SIGKILL cannot remove its own, so each directory holds a lock file that
// its owner keeps locked (flock) while it uses it, and creating a new
// directory first removes those whose lock nobody holds. A directory is
// created under a hidden name, locked and only then renamed into view, so
// a sweep never takes one that is being created for its own.

const (
	localDirLock = ".lock"
	// localDirHidden prefixes directories being created; a sweep removes
	// them only once they are older than localDirGrace.
	localDirHidden = ".new-"
	localDirGrace  = 10 * time.Minute
)

// localDir is a working directory and the lock that keeps it in use.
type localDir struct {
	path string
	lock io.Closer
}

// newLocalDir creates a working directory named prefix* under base (the
// system temporary directory when empty), after removing the stale
// directories of that prefix.
func newLocalDir(base, prefix string, log *slog.Logger) (*localDir, error) {
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	sweepLocalDirs(base, prefix, log)
	tmp, err := os.MkdirTemp(base, localDirHidden+prefix)
	if err != nil {
		return nil, err
	}
	lock, ok, err := snapshot.TryLockFile(filepath.Join(tmp, localDirLock))
	if err == nil && !ok {
		err = errors.New("lock taken")
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("lock %s: %w", tmp, err)
	}
	final := filepath.Join(base, strings.TrimPrefix(filepath.Base(tmp), localDirHidden))
	if err := os.Rename(tmp, final); err != nil {
		lock.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	return &localDir{path: final, lock: lock}, nil
}

// remove deletes the directory and releases its lock.
func (d *localDir) remove() error {
	err := os.RemoveAll(d.path)
	return errors.Join(err, d.lock.Close())
}

// sweepLocalDirs removes the directories named prefix* under base whose
// lock nobody holds: left by a process that died. Failures are logged and
// otherwise ignored; the sweep only reclaims space.
func sweepLocalDirs(base, prefix string, log *slog.Logger) {
	if !snapshot.LocksAcrossProcesses {
		return // a lock cannot tell a directory of another live process
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(base, name)
		switch {
		case strings.HasPrefix(name, prefix):
			lock, ok, err := snapshot.TryLockFile(filepath.Join(dir, localDirLock))
			if err != nil || !ok {
				continue // in use, or not ours to judge
			}
			err = os.RemoveAll(dir)
			lock.Close()
			if log != nil {
				log.Info("removed the working directory of a stopped process", "dir", dir, "err", err)
			}
		case strings.HasPrefix(name, localDirHidden+prefix):
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > localDirGrace {
				os.RemoveAll(dir)
			}
		}
	}
}
