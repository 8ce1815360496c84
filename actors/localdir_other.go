//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package actors

import (
	"io"
	"os"
)

// canSweep is false without flock: no directory can be told stale, so
// sweeps remove nothing.
const canSweep = false

// tryLockFile opens name as the directory's lock file; without flock it
// excludes nothing.
func tryLockFile(name string) (io.Closer, bool, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	return f, true, nil
}
