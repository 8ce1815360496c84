//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package actors

import (
	"io"
	"os"
	"syscall"
)

// canSweep tells that flock tells a stale directory from one in use.
const canSweep = true

// tryLockFile takes an exclusive flock(2) on name without waiting. It
// reports ok=false when another open file holds it (in this process or
// another). The lock lasts until the returned file is closed.
func tryLockFile(name string) (io.Closer, bool, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EWOULDBLOCK {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	return f, true, nil
}
