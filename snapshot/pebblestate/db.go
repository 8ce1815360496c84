package pebblestate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/stromhq/strom/snapshot"
)

// Errors of this package; errors from Pebble that report corruption, and
// stored keys or values this package cannot have written, match
// snapshot.ErrCorrupt (as a *snapshot.CorruptError naming the directory).
var (
	// ErrClosed is returned by the methods of a closed DB.
	ErrClosed = errors.New("pebblestate: db closed")
	// ErrUnclean is returned by Open for a directory whose DB was not
	// closed (the process died): without a write-ahead log, its newest
	// writes are lost, so it must not be used; restore from a checkpoint
	// instead.
	ErrUnclean = errors.New("pebblestate: db directory not closed cleanly")
	// ErrMalformedEntry is returned by Load for an entry whose key or
	// value does not follow the entry format (docs/checkpoint-format.md).
	ErrMalformedEntry = errors.New("pebblestate: malformed state entry")
)

// openMarkerName is the file that exists while a DB is open (and after it
// died): Open refuses a directory that has it.
const openMarkerName = "STROM-OPEN"

// DB is the keyed state of one operator subtask in a Pebble instance. All
// keyed operators of the subtask share it: entries are keyed by operator
// UID, key group, state name and user key (see the package documentation).
//
// A DB is safe for concurrent use, with two exceptions: Close must not run
// concurrently with any other method, and CleanupExpired must not run
// concurrently with writes of the entries it may delete (in the runtime,
// all run on the subtask's goroutine).
type DB struct {
	dir    string
	opts   Options
	pdb    *pebble.DB
	closed atomic.Bool

	// ck is the state of incremental checkpoints: the checksums of the
	// table files of the newest finished checkpoint, by file name.
	ck struct {
		sync.Mutex
		tables map[string]fileSum
	}
	// cleanup is the position of the incremental TTL cleanup.
	cleanup struct {
		sync.Mutex
		cursor []byte
	}
}

// Open opens the DB in directory dir, creating it if it does not exist. A
// directory is one subtask's: two DBs never share one, and Open takes a
// lock on it (Pebble's LOCK file).
//
// Open refuses a directory whose DB was not closed (ErrUnclean): without a
// write-ahead log, writes since the last flush died with the process. The
// runtime always restores a subtask into a fresh directory from a
// checkpoint (Restore) or starts it empty. Open also refuses a checkpoint
// directory, which must stay unchanged: Restore it into another.
func Open(dir string, opts Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, descriptorName)); err == nil {
		return nil, fmt.Errorf("pebblestate: open %s: a checkpoint; use Restore to open it in another directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, openMarkerName)); err == nil {
		return nil, fmt.Errorf("open %s: %w", dir, ErrUnclean)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pebblestate: open %s: %w", dir, err)
	}
	return open(dir, o, false)
}

// open opens Pebble in dir with o (defaults applied) and marks dir open.
func open(dir string, o Options, mustExist bool) (*DB, error) {
	var cache *pebble.Cache
	if o.Cache != nil {
		cache = o.Cache.c
	} else {
		cache = pebble.NewCache(o.CacheSize)
		// Pebble takes its own reference and drops it on Close.
		defer cache.Unref()
	}
	po := o.pebbleOptions(cache)
	po.ErrorIfNotExists = mustExist
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		return nil, wrapErr(dir, "open", err)
	}
	db := &DB{dir: dir, opts: o, pdb: pdb}
	if err := writeMarker(dir); err != nil {
		return nil, errors.Join(fmt.Errorf("pebblestate: open %s: %w", dir, err), pdb.Close())
	}
	return db, nil
}

func writeMarker(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, openMarkerName), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}

// Dir returns the DB's directory.
func (db *DB) Dir() string { return db.dir }

// Close flushes the memtables, closes Pebble and marks the directory
// closed, so that Open may reopen it. Writes of uncommitted batches are
// lost. After a failed Close the directory stays marked open.
func (db *DB) Close() error {
	if !db.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	err := db.pdb.Flush()
	if err != nil {
		err = wrapErr(db.dir, "flush", err)
	}
	if cerr := db.pdb.Close(); cerr != nil {
		err = errors.Join(err, wrapErr(db.dir, "close", cerr))
	}
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(db.dir, openMarkerName)); err != nil {
		return fmt.Errorf("pebblestate: close: %w", err)
	}
	if err := syncDir(db.dir); err != nil {
		return fmt.Errorf("pebblestate: close: %w", err)
	}
	return nil
}

func (db *DB) usable() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return nil
}

// nowMilli returns the TTL clock in Unix milliseconds.
func (db *DB) nowMilli() int64 { return unixMilli(db.opts.Clock()) }

// wrapErr describes an error of action on the DB in dir: corruption as a
// *snapshot.CorruptError, anything else wrapped.
func wrapErr(dir, action string, err error) error {
	if pebble.IsCorruptionError(err) || errors.Is(err, errBadKey) || errors.Is(err, errBadValue) {
		return &snapshot.CorruptError{Path: dir, Offset: -1, What: "pebblestate: " + action, Err: err}
	}
	return fmt.Errorf("pebblestate: %s %s: %w", action, dir, err)
}

// keyBufSize is the size of the stack buffers that most keys fit in.
const keyBufSize = 128

// Get returns a copy of the value of key in state of operator op, key
// group kg, and whether it exists. An expired entry does not exist.
func (db *DB) Get(op string, kg int, state string, key []byte) ([]byte, bool, error) {
	if err := db.usable(); err != nil {
		return nil, false, err
	}
	var buf [keyBufSize]byte
	k, err := appendKey(buf[:0], op, kg, state, key)
	if err != nil {
		return nil, false, err
	}
	return db.get(nil, k)
}

// get appends the value of the stored key k to dst.
func (db *DB) get(dst, k []byte) ([]byte, bool, error) {
	raw, closer, err := db.pdb.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapErr(db.dir, "get", err)
	}
	defer closer.Close()
	v, err := decodeValue(raw)
	if err != nil {
		return nil, false, wrapErr(db.dir, "get", err)
	}
	if v.expiring && v.expiredAt(db.nowMilli()) {
		return nil, false, nil
	}
	return append(dst, v.payload...), true, nil
}

// Put sets key in state of operator op, key group kg, to value (copied).
// The entry never expires.
func (db *DB) Put(op string, kg int, state string, key, value []byte) error {
	return db.put(op, kg, state, key, value, false, 0)
}

// PutExpiring sets key in state of operator op, key group kg, to value
// (copied), expiring at expiresAt (millisecond precision): from then on
// it reads as absent, and CleanupExpired deletes it.
func (db *DB) PutExpiring(op string, kg int, state string, key, value []byte, expiresAt time.Time) error {
	return db.put(op, kg, state, key, value, true, unixMilli(expiresAt))
}

func (db *DB) put(op string, kg int, state string, key, value []byte, expiring bool, expiresAt int64) error {
	if err := db.usable(); err != nil {
		return err
	}
	var buf [keyBufSize]byte
	k, err := appendKey(buf[:0], op, kg, state, key)
	if err != nil {
		return err
	}
	n := len(k)
	if expiring {
		k = appendExpiringValue(k, value, expiresAt)
	} else {
		k = appendPlainValue(k, value)
	}
	if err := db.pdb.Set(k[:n], k[n:], pebble.NoSync); err != nil {
		return wrapErr(db.dir, "put", err)
	}
	return nil
}

// Delete deletes key in state of operator op, key group kg.
func (db *DB) Delete(op string, kg int, state string, key []byte) error {
	if err := db.usable(); err != nil {
		return err
	}
	var buf [keyBufSize]byte
	k, err := appendKey(buf[:0], op, kg, state, key)
	if err != nil {
		return err
	}
	if err := db.pdb.Delete(k, pebble.NoSync); err != nil {
		return wrapErr(db.dir, "delete", err)
	}
	return nil
}

// DeleteRange deletes all state of operator op in the key groups kgs, as
// one range deletion: constant time, whatever the number of entries. A
// subtask calls it for the key groups it no longer owns after a rescale.
func (db *DB) DeleteRange(op string, kgs snapshot.KeyGroupRange) error {
	if err := db.usable(); err != nil {
		return err
	}
	if err := checkOp(op); err != nil {
		return err
	}
	if err := checkRange(kgs); err != nil {
		return err
	}
	if kgs.Len() == 0 {
		return nil
	}
	lower, upper := rangeBounds(op, kgs)
	if err := db.pdb.DeleteRange(lower, upper, pebble.NoSync); err != nil {
		return wrapErr(db.dir, "delete range", err)
	}
	return nil
}

// Flush writes the memtables to table files. Checkpoint flushes; Close
// too.
func (db *DB) Flush() error {
	if err := db.usable(); err != nil {
		return err
	}
	if err := db.pdb.Flush(); err != nil {
		return wrapErr(db.dir, "flush", err)
	}
	return nil
}

// Scan calls fn for each entry of state of operator op in key group kg
// whose user key starts with prefix, in ascending key order (bytewise),
// skipping expired entries. The slices passed to fn are valid only during
// the call. An error from fn stops the scan and is returned.
//
// Scan reads a consistent view: writes made during the scan (fn may
// write) are not seen by it.
func (db *DB) Scan(op string, kg int, state string, prefix []byte, fn func(key, value []byte) error) error {
	if err := db.usable(); err != nil {
		return err
	}
	lower, err := appendKey(nil, op, kg, state, prefix)
	if err != nil {
		return err
	}
	skip := len(lower) - len(prefix)
	now := db.nowMilli()
	return db.iterate("scan", lower, prefixEnd(lower), func(k, raw []byte) error {
		v, err := decodeValue(raw)
		if err != nil {
			return wrapErr(db.dir, "scan", err)
		}
		if v.expiredAt(now) {
			return nil
		}
		return fn(k[skip:], v.payload)
	})
}

// Iterate calls fn for each entry of operator op in the key groups kgs, in
// key order: by key group, then by state name (shorter names first, then
// bytewise), then by user key (bytewise), skipping expired entries. The
// slices passed to fn are valid only during the call. An error from fn
// stops the iteration and is returned. Like Scan, it reads a consistent
// view.
func (db *DB) Iterate(op string, kgs snapshot.KeyGroupRange, fn func(kg int, state string, key, value []byte) error) error {
	if err := db.usable(); err != nil {
		return err
	}
	if err := checkOp(op); err != nil {
		return err
	}
	if err := checkRange(kgs); err != nil {
		return err
	}
	if kgs.Len() == 0 {
		return nil
	}
	lower, upper := rangeBounds(op, kgs)
	opLen := len(lower) - 2
	now := db.nowMilli()
	var name string
	return db.iterate("iterate", lower, upper, func(k, raw []byte) error {
		kg, state, key, err := decodeKeyInOp(k, opLen)
		if err != nil {
			return wrapErr(db.dir, "iterate", err)
		}
		v, err := decodeValue(raw)
		if err != nil {
			return wrapErr(db.dir, "iterate", err)
		}
		if v.expiredAt(now) {
			return nil
		}
		if name != string(state) {
			name = string(state)
		}
		return fn(kg, name, key, v.payload)
	})
}

// iterate calls fn for every stored entry in [lower, upper).
func (db *DB) iterate(action string, lower, upper []byte, fn func(k, raw []byte) error) (err error) {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return wrapErr(db.dir, action, err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = wrapErr(db.dir, action, cerr)
		}
	}()
	for ok := it.First(); ok; ok = it.Next() {
		raw, err := it.ValueAndErr()
		if err != nil {
			return wrapErr(db.dir, action, err)
		}
		if err := fn(it.Key(), raw); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return wrapErr(db.dir, action, err)
	}
	return nil
}

// syncDir fsyncs a directory, making the names in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
