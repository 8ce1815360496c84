package pebblestate

import (
	"bytes"
	"slices"
	"time"

	"github.com/cockroachdb/pebble"
)

// Batch collects writes and applies them atomically with Commit: readers
// of the DB see all of them or none. It is the write path of the hot loop
// of a keyed operator: a read-modify-write reads with Batch.Get, which
// sees the batch's own pending writes, and writes with Put.
//
// A key written several times in a batch is applied once, with its last
// write, so hot keys cost one Pebble write per commit. A Batch is used by
// one goroutine and is reusable after Commit or Reset. Writes are copied;
// the caller may reuse its slices.
type Batch struct {
	db *DB
	pb *pebble.Batch
	// index maps a stored key to its entry.
	index   map[string]int32
	entries []batchEntry
	sorted  []batchEntry // scratch of Commit
	// arena holds the keys and stored values of the entries.
	arena []byte
	key   []byte // scratch
}

// batchEntry is the newest write of one key: arena[key:val] is the stored
// key, arena[val:end] the stored value (empty for a deletion).
type batchEntry struct {
	key, val, end int
	del           bool
}

// NewBatch returns an empty batch.
func (db *DB) NewBatch() *Batch {
	return &Batch{db: db, index: make(map[string]int32)}
}

// Len returns the number of keys the batch writes.
func (b *Batch) Len() int { return len(b.entries) }

// Put sets key in state of operator op, key group kg, to value when the
// batch commits. The entry never expires.
func (b *Batch) Put(op string, kg int, state string, key, value []byte) error {
	return b.set(op, kg, state, key, value, false, 0, false)
}

// PutExpiring is Put for an entry that expires at expiresAt (see
// DB.PutExpiring).
func (b *Batch) PutExpiring(op string, kg int, state string, key, value []byte, expiresAt time.Time) error {
	return b.set(op, kg, state, key, value, true, unixMilli(expiresAt), false)
}

// Delete deletes key in state of operator op, key group kg, when the batch
// commits.
func (b *Batch) Delete(op string, kg int, state string, key []byte) error {
	return b.set(op, kg, state, key, nil, false, 0, true)
}

func (b *Batch) set(op string, kg int, state string, key, value []byte, expiring bool, expiresAt int64, del bool) error {
	k, err := appendKey(b.key[:0], op, kg, state, key)
	b.key = k
	if err != nil {
		return err
	}
	e := batchEntry{key: len(b.arena), del: del}
	b.arena = append(b.arena, k...)
	e.val = len(b.arena)
	switch {
	case del:
	case expiring:
		b.arena = appendExpiringValue(b.arena, value, expiresAt)
	default:
		b.arena = appendPlainValue(b.arena, value)
	}
	e.end = len(b.arena)
	if i, ok := b.index[string(k)]; ok {
		b.entries[i] = e
		return nil
	}
	b.index[string(k)] = int32(len(b.entries))
	b.entries = append(b.entries, e)
	return nil
}

// Get returns a copy of the value of key in state of operator op, key
// group kg, as it will be once the batch commits: the batch's own pending
// write if it has one, else the DB's value.
func (b *Batch) Get(op string, kg int, state string, key []byte) ([]byte, bool, error) {
	if err := b.db.usable(); err != nil {
		return nil, false, err
	}
	k, err := appendKey(b.key[:0], op, kg, state, key)
	b.key = k
	if err != nil {
		return nil, false, err
	}
	if i, ok := b.index[string(k)]; ok {
		e := b.entries[i]
		if e.del {
			return nil, false, nil
		}
		v, err := decodeValue(b.arena[e.val:e.end])
		if err != nil {
			return nil, false, err
		}
		if v.expiring && v.expiredAt(b.db.nowMilli()) {
			return nil, false, nil
		}
		return append([]byte(nil), v.payload...), true, nil
	}
	return b.db.get(nil, k)
}

// Commit applies the batch's writes atomically and empties it. If Commit
// fails, none of the writes is applied and the batch keeps them.
func (b *Batch) Commit() error {
	if err := b.db.usable(); err != nil {
		return err
	}
	if len(b.entries) == 0 {
		return nil
	}
	if b.pb == nil {
		b.pb = b.db.pdb.NewBatch()
	}
	b.pb.Reset()
	// In key order: Pebble inserts a batch into the memtable's skiplist
	// in order, each insertion starting from the position of the previous
	// one, which saves part of the descent. (A copy: after a failed commit
	// the index still matches the entries.)
	b.sorted = append(b.sorted[:0], b.entries...)
	slices.SortFunc(b.sorted, func(x, y batchEntry) int {
		return bytes.Compare(b.arena[x.key:x.val], b.arena[y.key:y.val])
	})
	for _, e := range b.sorted {
		var err error
		if e.del {
			err = b.pb.Delete(b.arena[e.key:e.val], nil)
		} else {
			err = b.pb.Set(b.arena[e.key:e.val], b.arena[e.val:e.end], nil)
		}
		if err != nil {
			return wrapErr(b.db.dir, "batch", err)
		}
	}
	if err := b.db.pdb.Apply(b.pb, pebble.NoSync); err != nil {
		return wrapErr(b.db.dir, "commit", err)
	}
	b.Reset()
	return nil
}

// Reset discards the batch's writes.
func (b *Batch) Reset() {
	clear(b.index)
	b.entries = b.entries[:0]
	b.arena = b.arena[:0]
	if b.pb != nil {
		b.pb.Reset()
	}
}

// Close discards the batch's writes and releases its memory.
func (b *Batch) Close() error {
	b.Reset()
	if b.pb != nil {
		err := b.pb.Close()
		b.pb = nil
		return err
	}
	return nil
}
