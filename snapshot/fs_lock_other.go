//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package snapshot

import (
	"io"
	"path/filepath"
	"sync"
)

// LocksAcrossProcesses reports whether file locks (Store's, TryLockFile)
// exclude other processes, not only callers in this one.
const LocksAcrossProcesses = false

// processLocks holds one mutex per lock file on platforms without flock:
// there the lock excludes callers in this process only.
var processLocks sync.Map // absolute path -> *sync.Mutex

func lockFile(name string) (io.Closer, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	m, _ := processLocks.LoadOrStore(abs, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return unlocker{mu}, nil
}

// TryLockFile is lockFile without waiting: it reports false when a caller
// in this process holds the lock.
func TryLockFile(name string) (io.Closer, bool, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, false, err
	}
	m, _ := processLocks.LoadOrStore(abs, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	if !mu.TryLock() {
		return nil, false, nil
	}
	return unlocker{mu}, true, nil
}

type unlocker struct{ mu *sync.Mutex }

func (u unlocker) Close() error { u.mu.Unlock(); return nil }
