package pebblestate

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/stromhq/strom/snapshot"
)

// Entries in the portable format: the keyed state entries of snapshot
// state files, which heap-backed operators write too (operators'
// StateWriter.Keyed), so that either backend restores the other's
// checkpoints and savepoints, at any parallelism. An entry's key names
// the state and the user key; docs/checkpoint-format.md specifies it:
//
//	tag │ user key                                    short form
//	0x00 │ flags u8 │ uvarint len(state) │ state │ user key   long form
//
// The short form is an entry of a one-byte state name other than 0x00
// (the tag) that never expires. It is exactly the layout of the operators'
// entries (a tag byte, the record key, a sub-key), so an operator whose
// state names are its tags reads and writes the same bytes with either
// backend. Every other entry takes the long form; flags bit 0 (flagExpiring)
// says that the value starts with its expiration time (u64 big endian,
// Unix milliseconds), other bits are zero. The value is otherwise the
// user value.
const (
	longFormTag  byte = 0x00
	flagExpiring byte = 1
)

// AppendEntryKey appends the portable entry key of user key key in state
// to dst; expiring says that the entry's value starts with its expiration
// time.
func AppendEntryKey(dst []byte, state string, expiring bool, key []byte) []byte {
	return appendEntryKey(dst, []byte(state), expiring, key)
}

func appendEntryKey(dst, state []byte, expiring bool, key []byte) []byte {
	if len(state) == 1 && state[0] != longFormTag && !expiring {
		return append(append(dst, state[0]), key...)
	}
	flags := byte(0)
	if expiring {
		flags |= flagExpiring
	}
	dst = append(dst, longFormTag, flags)
	dst = binary.AppendUvarint(dst, uint64(len(state)))
	return append(append(dst, state...), key...)
}

// ParseEntryKey splits a portable entry key into state name, expiring
// flag and user key (slices of entryKey). It fails with ErrMalformedEntry.
func ParseEntryKey(entryKey []byte) (state []byte, expiring bool, key []byte, err error) {
	if len(entryKey) == 0 {
		return nil, false, nil, fmt.Errorf("%w: empty key", ErrMalformedEntry)
	}
	if entryKey[0] != longFormTag {
		return entryKey[:1], false, entryKey[1:], nil
	}
	if len(entryKey) < 2 || entryKey[1]&^flagExpiring != 0 {
		return nil, false, nil, fmt.Errorf("%w: bad flags", ErrMalformedEntry)
	}
	expiring = entryKey[1]&flagExpiring != 0
	rest := entryKey[2:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || n == 0 || n > MaxStateName || n > uint64(len(rest)-w) {
		return nil, false, nil, fmt.Errorf("%w: bad state name length", ErrMalformedEntry)
	}
	rest = rest[w:]
	return rest[:n], expiring, rest[n:], nil
}

// Export calls fn for each entry of operator op in the key groups kgs, in
// the portable format, ascending by key group (and in key order within
// one), from a consistent view of the DB. Expired entries are left out.
// The slices passed to fn are valid only during the call. An error from fn
// stops the export and is returned.
//
// fn fits operators.StateWriter: a Pebble-backed operator's
// SnapshotState writes its keyed state with
//
//	db.Export(uid, kgs, func(kg int, k, v []byte) error { w.Keyed(kg, k, v); return nil })
func (db *DB) Export(op string, kgs snapshot.KeyGroupRange, fn func(kg int, key, value []byte) error) error {
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
	var ek []byte
	return db.iterate("export", lower, upper, func(k, raw []byte) error {
		kg, state, key, err := decodeKeyInOp(k, opLen)
		if err != nil {
			return wrapErr(db.dir, "export", err)
		}
		v, err := decodeValue(raw)
		if err != nil {
			return wrapErr(db.dir, "export", err)
		}
		if v.expiredAt(now) {
			return nil
		}
		ek = appendEntryKey(ek[:0], state, v.expiring, key)
		// The portable value is the stored value without its header byte.
		return fn(kg, ek, raw[1:])
	})
}

// WriteKeyGroups writes the entries of operator op in the key groups kgs
// into w, one section per non-empty key group (see Export). kgs must lie
// in w's range, and w must not have started a later key group.
func (db *DB) WriteKeyGroups(w *snapshot.StateWriter, op string, kgs snapshot.KeyGroupRange) error {
	cur := -1
	return db.Export(op, kgs, func(kg int, key, value []byte) error {
		if kg != cur {
			if err := w.StartKeyGroup(kg); err != nil {
				return err
			}
			cur = kg
		}
		return w.Put(key, value)
	})
}

// loadBatchSize is the size at which Load commits a batch: below 1 MiB,
// the largest batch buffer that Pebble keeps for reuse after a commit.
const loadBatchSize = 512 << 10

// Load writes the entries that source yields into operator op's state; it
// is the inverse of Export. source calls its argument for each entry (key
// group, portable key, value) and returns its error: it fits
// operators.StateReader.Keyed and snapshot.RescalePlan.ReadKeyed, and
// LoadKeyGroups reads a snapshot state file with it. Every entry must lie
// in the key groups kgs. Entries that expired meanwhile are left out.
//
// Load adds to the DB's state (an entry replaces the value of the same
// key): restoring at a new parallelism loads the overlap of each old file
// in turn. It commits in batches: after an error the DB holds part of the
// entries and the restore has failed.
func (db *DB) Load(op string, kgs snapshot.KeyGroupRange, source func(fn func(kg int, key, value []byte) error) error) error {
	if err := db.usable(); err != nil {
		return err
	}
	if err := checkOp(op); err != nil {
		return err
	}
	if err := checkRange(kgs); err != nil {
		return err
	}
	now := db.nowMilli()
	pb := db.pdb.NewBatchWithSize(2 * loadBatchSize)
	defer pb.Close()
	var buf []byte
	err := source(func(kg int, entryKey, value []byte) error {
		if !kgs.Contains(kg) {
			return fmt.Errorf("pebblestate: load %q: entry of key group %d outside [%d, %d)", op, kg, kgs.Start, kgs.End)
		}
		state, expiring, key, err := ParseEntryKey(entryKey)
		if err != nil {
			return fmt.Errorf("pebblestate: load %q key group %d: %w", op, kg, err)
		}
		buf = append(appendKGPrefix(buf[:0], op, kg), byte(len(state)))
		buf = append(append(buf, state...), key...)
		n := len(buf)
		if expiring {
			if len(value) < expiryLen {
				return fmt.Errorf("pebblestate: load %q key group %d: %w: value of %d bytes has no expiration time", op, kg, ErrMalformedEntry, len(value))
			}
			if int64(binary.BigEndian.Uint64(value)) <= now {
				return nil
			}
			buf = append(buf, valueExpiring)
		} else {
			buf = append(buf, valuePlain)
		}
		buf = append(buf, value...)
		if err := pb.Set(buf[:n], buf[n:], nil); err != nil {
			return wrapErr(db.dir, "load", err)
		}
		if pb.Len() >= loadBatchSize {
			if err := db.pdb.Apply(pb, pebble.NoSync); err != nil {
				return wrapErr(db.dir, "load", err)
			}
			pb.Reset()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !pb.Empty() {
		if err := db.pdb.Apply(pb, pebble.NoSync); err != nil {
			return wrapErr(db.dir, "load", err)
		}
	}
	return nil
}

// LoadKeyGroups loads the entries of the key groups kgs of the state file
// r (written by WriteKeyGroups or by a heap-backed operator) into operator
// op's state (see Load). Only the sections of kgs are read; the reader
// checks each section's checksum before it hands out an entry.
func (db *DB) LoadKeyGroups(r *snapshot.StateReader, op string, kgs snapshot.KeyGroupRange) error {
	return db.Load(op, kgs, func(fn func(kg int, key, value []byte) error) error {
		return r.ReadKeyGroups(kgs, fn)
	})
}
