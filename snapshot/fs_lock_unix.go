//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package snapshot

import (
	"io"
	"os"
	"syscall"
)

// LocksAcrossProcesses reports whether file locks (Store's, TryLockFile)
// exclude other processes, not only callers in this one.
const LocksAcrossProcesses = true

// lockFile takes an exclusive flock(2) on name, creating it if needed.
// flock locks belong to the open file description, so two opens in one
// process exclude each other as two processes do.
func lockFile(name string) (io.Closer, error) {
	f, _, err := flockFile(name, syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// TryLockFile takes the exclusive lock of lockFile on name, creating it if
// needed, without waiting: it reports false when another open file (of
// this process or another) holds it. The lock lasts until the returned
// closer is closed.
func TryLockFile(name string) (io.Closer, bool, error) {
	f, ok, err := flockFile(name, syscall.LOCK_EX|syscall.LOCK_NB)
	if f == nil {
		return nil, ok, err
	}
	return f, true, nil
}

// flockFile opens name and flocks it with how; with LOCK_NB it reports
// false, and no file, when the lock is held elsewhere.
func flockFile(name string, how int) (*os.File, bool, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EWOULDBLOCK && how&syscall.LOCK_NB != 0 {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	return f, true, nil // closing the file releases the lock
}
