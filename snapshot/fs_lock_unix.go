//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package snapshot

import (
	"io"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on name, creating it if needed.
// flock locks belong to the open file description, so two opens in one
// process exclude each other as two processes do.
func lockFile(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	return f, nil // closing the file releases the lock
}
