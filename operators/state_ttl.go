package operators

import (
	"fmt"
	"time"
)

// This file holds the time-to-live of keyed state entries.
//
// Expiry is checked where entries are read: an expired entry is invisible,
// and the access that finds it removes it. Writes also clean up
// incrementally: each write to a state with a TTL examines a few other
// entries of the state (ttlSweep) and removes the expired ones, so that
// keys that are never accessed again do not keep their entries forever.
// A snapshot drops every expired entry it meets, and a restore drops the
// entries that expired meanwhile. The heap backend needs nothing else: no
// compaction filter, no background cleaner.

// TTLUpdate tells which accesses renew the time-to-live of an entry.
type TTLUpdate int

const (
	// OnCreateAndWrite renews an entry's TTL when it is written.
	OnCreateAndWrite TTLUpdate = iota
	// OnReadAndWrite renews an entry's TTL when it is written or read.
	OnReadAndWrite
)

func (u TTLUpdate) String() string {
	switch u {
	case OnCreateAndWrite:
		return "OnCreateAndWrite"
	case OnReadAndWrite:
		return "OnReadAndWrite"
	}
	return fmt.Sprintf("TTLUpdate(%d)", int(u))
}

// TTLVisibility tells whether expired entries that are still held can be
// read.
type TTLVisibility int

const (
	// NeverReturnExpired hides expired entries from every read, whether
	// or not they were cleaned up yet.
	NeverReturnExpired TTLVisibility = iota
)

func (v TTLVisibility) String() string {
	if v == NeverReturnExpired {
		return "NeverReturnExpired"
	}
	return fmt.Sprintf("TTLVisibility(%d)", int(v))
}

// WithTTL gives a state a time-to-live in processing time (the task's
// Clock), with millisecond resolution: an entry expires d after it was last
// written (OnCreateAndWrite) or accessed (OnReadAndWrite). The entries of
// list states (elements) and map states (user keys) expire one by one; the
// value of the other states as a whole. d must be at least a millisecond.
func WithTTL(d time.Duration, update TTLUpdate, visibility TTLVisibility) StateOption {
	return stateOptionFunc(func(c *stateConfig) {
		c.ttl, c.hasTTL = ttlSpec{d: d, update: update, visibility: visibility}, true
	})
}

// ttlSpec is the TTL a WithTTL option asks for.
type ttlSpec struct {
	d          time.Duration
	update     TTLUpdate
	visibility TTLVisibility
}

// policy validates t.
func (t ttlSpec) policy() (ttlPolicy, error) {
	if t.d < time.Millisecond {
		return ttlPolicy{}, fmt.Errorf("TTL %v is less than a millisecond", t.d)
	}
	if t.update != OnCreateAndWrite && t.update != OnReadAndWrite {
		return ttlPolicy{}, fmt.Errorf("unknown TTL update type %v", t.update)
	}
	if t.visibility != NeverReturnExpired {
		return ttlPolicy{}, fmt.Errorf("unknown TTL visibility %v", t.visibility)
	}
	return ttlPolicy{ms: t.d.Milliseconds(), onRead: t.update == OnReadAndWrite}, nil
}

// ttlPolicy is a validated TTL; the zero ttlPolicy is no TTL.
type ttlPolicy struct {
	ms     int64
	onRead bool
}

// on reports whether the state has a TTL.
func (p ttlPolicy) on() bool { return p.ms > 0 }

// expired reports whether an entry last renewed at stamp has expired at
// now.
func (p ttlPolicy) expired(stamp, now int64) bool { return p.ms > 0 && now-stamp >= p.ms }

// stamp reads the TTL stamp of a restored entry: the one it carries, or now
// for an entry of a state that had no TTL when it was checkpointed.
func (p ttlPolicy) stamp(d *StateDecoder, stamped bool, now int64) int64 {
	if stamped {
		return d.Varint()
	}
	return now
}

// Incremental cleanup: every ttlSweepEvery-th write to a state with a TTL
// examines ttlSweep entries for expiry, two per write on average, so that
// cleanup outpaces the creation of entries (at most one per write) while
// the cost of starting a map iteration is paid on few writes.
const (
	ttlSweepEvery = 4
	ttlSweep      = 8
)

// sweepDue reports whether a write is to sweep.
func (b *stateBase) sweepDue() bool {
	b.writes++
	return b.writes%ttlSweepEvery == 0
}
