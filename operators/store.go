package operators

import (
	"fmt"

	"github.com/stromhq/strom/snapshot/pebblestate"
)

// StateStore is where an operator subtask keeps its keyed state when the
// job runs with the Pebble state backend (--state-backend pebble): the
// operator's part of its subtask's Pebble instance. The runtime sets
// TaskContext.Store; with the heap backend it is nil, and operators keep
// their state in Go values as before.
//
// Entries are named as in checkpoints (keyed_state.go): a one-byte tag,
// then the rest of the entry key (the record key in its codec and a
// sub-key), with the entry's checkpoint value. An operator that keeps the
// entries of a tag in the store writes exactly the bytes it would write
// into a checkpoint with the heap backend, so the portable form of the
// store (pebblestate.DB.Export) is the heap backend's checkpoint format,
// and each backend restores the other's checkpoints and savepoints.
//
// With the Pebble backend an operator's SnapshotState writes only what it
// keeps outside the store (timers, operator state); the runtime checkpoints
// the store itself, after calling Commit. Its RestoreState receives the
// entries of the store's tags only when the checkpoint is not one of the
// subtask's own Pebble checkpoints (a heap checkpoint, or another
// parallelism), and puts them back with RestoreEntry.
//
// Writes are buffered in a batch that reads see (Get), and committed when
// the batch grows past a bound, before a Scan and when the runtime calls
// Commit, so a key written many times between commits costs one Pebble
// write. A StateStore is used by its subtask's goroutine only.
type StateStore struct {
	db  *pebblestate.DB
	uid string
	b   *pebblestate.Batch
	// cacheEntries bounds the write-back cache of each keyed state (see
	// SetCacheEntries); 0 selects DefaultCacheEntries.
	cacheEntries int
}

// storeBatchKeys bounds the keys a StateStore's batch holds before it
// commits: large enough that hot keys are written once per commit, small
// enough that the batch's memory stays a few MB.
const storeBatchKeys = 16 << 10

// tagNames holds the one-byte state names of the store, one per tag, so
// that naming a state allocates nothing.
var tagNames = func() (t [256]string) {
	for i := range t {
		t[i] = string([]byte{byte(i)})
	}
	return t
}()

// NewStateStore returns the store of operator uid in db.
func NewStateStore(db *pebblestate.DB, uid string) *StateStore {
	return &StateStore{db: db, uid: uid, b: db.NewBatch()}
}

// DB returns the subtask's Pebble instance.
func (s *StateStore) DB() *pebblestate.DB { return s.db }

// UID returns the operator's UID, the first part of its keys.
func (s *StateStore) UID() string { return s.uid }

// Get returns the value of key under tag in key group kg, and whether it
// exists, seeing the store's uncommitted writes. The value is a copy.
func (s *StateStore) Get(kg int, tag byte, key []byte) ([]byte, bool, error) {
	return s.b.Get(s.uid, kg, tagNames[tag], key)
}

// Put sets key under tag in key group kg to value; key and value are
// copied.
func (s *StateStore) Put(kg int, tag byte, key, value []byte) error {
	if err := s.b.Put(s.uid, kg, tagNames[tag], key, value); err != nil {
		return err
	}
	return s.commitIfFull()
}

// Delete removes key under tag in key group kg.
func (s *StateStore) Delete(kg int, tag byte, key []byte) error {
	if err := s.b.Delete(s.uid, kg, tagNames[tag], key); err != nil {
		return err
	}
	return s.commitIfFull()
}

func (s *StateStore) commitIfFull() error {
	if s.b.Len() < storeBatchKeys {
		return nil
	}
	return s.Commit()
}

// Scan calls fn for each entry under tag in key group kg whose key starts
// with prefix, in key order, after committing the store's writes. The
// slices passed to fn are valid only during the call; fn may write to the
// store, and the scan does not see those writes.
func (s *StateStore) Scan(kg int, tag byte, prefix []byte, fn func(key, value []byte) error) error {
	if err := s.Commit(); err != nil {
		return err
	}
	return s.db.Scan(s.uid, kg, tagNames[tag], prefix, fn)
}

// Commit writes the store's buffered writes to Pebble. The runtime calls
// it before it checkpoints the subtask's instance.
func (s *StateStore) Commit() error {
	if s.b.Len() == 0 {
		return nil
	}
	if err := s.b.Commit(); err != nil {
		return fmt.Errorf("state store of %q: %w", s.uid, err)
	}
	return nil
}

// RestoreEntry puts back a checkpoint entry (key group, entry key, value)
// that the operator keeps in the store: the entry key's first byte is the
// tag, the rest the key.
func (s *StateStore) RestoreEntry(kg int, entryKey, value []byte) error {
	if len(entryKey) == 0 {
		return CorruptState("empty entry key")
	}
	return s.Put(kg, entryKey[0], entryKey[1:], value)
}

// Close discards uncommitted writes and releases the batch; the runtime
// closes the instance itself.
func (s *StateStore) Close() error { return s.b.Close() }

// DefaultCacheEntries is the default bound of the write-back cache that
// each keyed state of an operator keeps in front of its StateStore: the
// decoded values of that many record keys at most.
const DefaultCacheEntries = 64 << 10

// SetCacheEntries bounds the write-back cache of each keyed state of the
// operator to n record keys (at least 1); n <= 0 selects
// DefaultCacheEntries. States read the bound when they are created, so the
// runtime calls it before Open.
func (s *StateStore) SetCacheEntries(n int) { s.cacheEntries = n }

// CacheEntries returns the bound of the write-back cache of each keyed
// state (see SetCacheEntries).
func (s *StateStore) CacheEntries() int {
	if s.cacheEntries <= 0 {
		return DefaultCacheEntries
	}
	return s.cacheEntries
}
