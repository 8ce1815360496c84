package stdout

import (
	"io"
	"reflect"
	"sync"
)

// writerLock serialises the sinks that share a writer.
type writerLock struct {
	sync.Mutex
	refs int
}

var (
	registryMu sync.Mutex
	registry   = map[io.Writer]*writerLock{}

	// fallback guards writers that cannot be map keys (values of
	// non-comparable types); they share one lock.
	fallback = &writerLock{}
)

// acquire returns the lock of w, creating it for the first sink that uses
// w. Every acquire is paired with a release.
func acquire(w io.Writer) *writerLock {
	if !reflect.ValueOf(w).Comparable() {
		return fallback
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	l := registry[w]
	if l == nil {
		l = &writerLock{}
		registry[w] = l
	}
	l.refs++
	return l
}

// release drops a reference to w's lock, forgetting the lock with the last
// one so that the registry does not keep writers alive.
func release(w io.Writer, l *writerLock) {
	if l == fallback {
		return
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(registry, w)
	}
}
