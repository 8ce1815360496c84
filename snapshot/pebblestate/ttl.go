package pebblestate

import (
	"errors"

	"github.com/cockroachdb/pebble"
)

// CleanupStats says what a CleanupExpired call did.
type CleanupStats struct {
	// Scanned is the number of entries examined.
	Scanned int
	// Deleted is the number of expired entries deleted.
	Deleted int
	// Wrapped reports that the call reached the end of the DB: the
	// cleanup completed a pass over all entries and starts over at the
	// next call.
	Wrapped bool
}

// CleanupExpired deletes expired entries incrementally: it examines at
// most maxScan entries (of all operators), starting where the previous
// call stopped, deletes those that expired in one batch, and remembers
// where to continue. Calling it regularly (after every so many records,
// or on a timer) bounds both the work per call and the time an expired
// entry occupies space to the time of one pass.
//
// Reads never return expired entries whether or not they have been
// cleaned up (see the package documentation for why the cleanup is not a
// compaction filter). It must not run concurrently with writes of the
// entries it may delete: it would delete a value written between its read
// and its commit.
func (db *DB) CleanupExpired(maxScan int) (CleanupStats, error) {
	var st CleanupStats
	if err := db.usable(); err != nil {
		return st, err
	}
	if maxScan <= 0 {
		return st, errors.New("pebblestate: cleanup of no entries")
	}
	db.cleanup.Lock()
	defer db.cleanup.Unlock()

	now := db.nowMilli()
	pb := db.pdb.NewBatch()
	defer pb.Close()
	var next []byte
	err := db.iterate("cleanup", db.cleanup.cursor, nil, func(k, raw []byte) error {
		if st.Scanned == maxScan {
			next = append([]byte(nil), k...)
			return errStop
		}
		st.Scanned++
		v, err := decodeValue(raw)
		if err != nil {
			return wrapErr(db.dir, "cleanup", err)
		}
		if v.expiredAt(now) {
			st.Deleted++
			return pb.Delete(k, nil)
		}
		return nil
	})
	if err != nil && err != errStop {
		return CleanupStats{}, err
	}
	if !pb.Empty() {
		if err := db.pdb.Apply(pb, pebble.NoSync); err != nil {
			return CleanupStats{}, wrapErr(db.dir, "cleanup", err)
		}
	}
	db.cleanup.cursor = next
	st.Wrapped = next == nil
	return st, nil
}

// errStop ends an iteration early.
var errStop = errors.New("stop")
