package operators

import (
	"errors"
	"fmt"
	"slices"

	"github.com/stromhq/strom/snapshot"
)

// This file holds what keyed state needs on the Pebble backend
// (TaskContext.Store): storeCache, the bounded write-back cache of decoded
// values that sits between a state (or Reduce) and its StateStore, and
// storeSweeper, the incremental cleanup of expired entries in the store.
//
// A Pebble point read costs microseconds; a Go map access tens of
// nanoseconds. The cache keeps the decoded values of the record keys
// accessed recently, so that a read-modify-write of a hot key touches no
// Pebble at all: it decodes a value when it loads the key, and encodes it
// only when it writes it back, at eviction or at a checkpoint. The bytes
// it writes are the entries a heap-backed operator writes into a
// checkpoint (keyed_state.go), so the store's portable export is the heap
// backend's checkpoint format.

// Flags of a cacheSlot.
const (
	// slotDirty marks a slot whose stored entry is stale: it is written
	// back (or deleted, with slotRemoved) at eviction and flush.
	slotDirty uint8 = 1 << iota
	// slotRemoved marks a key known to have no value: reads see it
	// absent without asking the store.
	slotRemoved
	// slotUsed marks a key written since the eviction last passed it: the
	// eviction spares it once (a second chance, as in the CLOCK
	// algorithm), so that hot keys stay cached.
	slotUsed
)

// cacheSlot is the cached state of one record key.
type cacheSlot[E any] struct {
	e     E
	flags uint8
}

// storeCache is a bounded write-back cache of the entries of one keyed
// state (tag and prefix) in a StateStore, holding values of type E
// decoded. Writes mark a key dirty; dirty keys are written to the store
// when they are evicted and by flush (at every checkpoint). When the cache
// holds bound keys, loading another evicts an eighth of them, so that the
// cost of eviction is amortised over many accesses: the eviction walks the
// keys from where Go's randomised map iteration starts, sparing once each
// key written since it was last passed.
//
// Errors of the store cannot be returned by the state accessors that meet
// them (ValueState.Get has no error): the first is stored in *fail, the
// operator's sticky error, which fails the task at the end of the current
// record or batch; meanwhile reads see no value and writes are kept in
// the cache.
type storeCache[K comparable, E any] struct {
	store  *StateStore
	keys   *StateKeys[K]
	tag    byte
	prefix []byte
	m      map[K]cacheSlot[E]
	bound  int
	// dirty counts the dirty slots of m; past storeDirtyBound some are
	// written back (see set), so that the write-back at a checkpoint, in
	// its synchronous part, stays short whatever the cache's size.
	dirty int
	// enc appends the entry value of e as of processing time now, and
	// reports false when nothing of e is live (the entry is deleted).
	enc func(dst []byte, e E, now int64) ([]byte, bool)
	// dec decodes a stored entry value read at now, and reports false
	// when nothing of it is live.
	dec func(v []byte, now int64) (E, bool, error)
	// now returns the processing time, for TTL (nil: no TTL).
	now func() int64
	// fail is the operator's sticky error.
	fail *error
	// what names the state in errors.
	what     string
	key, val []byte
	// sweeper is where the TTL cleanup of the stored entries is.
	sweeper storeSweeper
}

// newStoreCache returns the cache of the entries under tag and prefix of
// store.
func newStoreCache[K comparable, E any](store *StateStore, keys *StateKeys[K], tag byte, prefix []byte, what string, fail *error,
	enc func([]byte, E, int64) ([]byte, bool), dec func([]byte, int64) (E, bool, error), now func() int64) *storeCache[K, E] {
	bound := store.CacheEntries()
	return &storeCache[K, E]{
		store: store, keys: keys, tag: tag, prefix: prefix, what: what,
		m: make(map[K]cacheSlot[E], min(bound, 1024)), bound: bound,
		enc: enc, dec: dec, now: now, fail: fail,
	}
}

// setFail records err as the operator's error unless one is recorded.
func (c *storeCache[K, E]) setFail(err error) {
	if *c.fail == nil {
		*c.fail = fmt.Errorf("%s: %w", c.what, err)
	}
}

func (c *storeCache[K, E]) clock() int64 {
	if c.now == nil {
		return 0
	}
	return c.now()
}

// entryKey sets c.key to the store key of k and returns k's key group.
func (c *storeCache[K, E]) entryKey(k K) int {
	c.key = c.keys.codec.Append(append(c.key[:0], c.prefix...), k)
	return c.keys.KeyGroup(k)
}

// get returns the value of k, loading it from the store on a miss.
func (c *storeCache[K, E]) get(k K) (E, bool) {
	if s, ok := c.m[k]; ok {
		if s.flags&slotRemoved != 0 {
			var zero E
			return zero, false
		}
		return s.e, true
	}
	return c.load(k)
}

// load reads k from the store into the cache.
func (c *storeCache[K, E]) load(k K) (E, bool) {
	var zero E
	if *c.fail != nil {
		return zero, false
	}
	v, ok, err := c.store.Get(c.entryKey(k), c.tag, c.key)
	if err != nil {
		c.setFail(fmt.Errorf("read key %v: %w", k, err))
		return zero, false
	}
	if !ok {
		return zero, false
	}
	e, live, err := c.dec(v, c.clock())
	if err != nil {
		c.setFail(fmt.Errorf("stored entry of key %v: %w", k, err))
		return zero, false
	}
	if !live {
		c.set(k, zero, slotDirty|slotRemoved)
		return zero, false
	}
	c.set(k, e, 0)
	return e, true
}

// exists reports whether k has a value, in the cache or in the store.
func (c *storeCache[K, E]) exists(k K) (bool, error) {
	if s, ok := c.m[k]; ok {
		return s.flags&slotRemoved == 0, nil
	}
	_, ok, err := c.store.Get(c.entryKey(k), c.tag, c.key)
	return ok, err
}

// put sets the value of k (or records that e, modified in place, changed).
func (c *storeCache[K, E]) put(k K, e E) { c.set(k, e, slotDirty|slotUsed) }

// remove removes the value of k.
func (c *storeCache[K, E]) remove(k K) {
	var zero E
	c.set(k, zero, slotDirty|slotRemoved)
}

// storeDirtyBound bounds the dirty keys of a cache: past it, set writes
// half of them back. A checkpoint writes back at most this many keys
// of each state in its synchronous part.
const storeDirtyBound = 2048

func (c *storeCache[K, E]) set(k K, e E, flags uint8) {
	old, had := c.m[k]
	if !had && len(c.m) >= c.bound {
		c.evict()
	}
	if had && old.flags&slotDirty != 0 {
		c.dirty--
	}
	if flags&slotDirty != 0 {
		c.dirty++
	}
	c.m[k] = cacheSlot[E]{e: e, flags: flags}
	if c.dirty > storeDirtyBound {
		if err := c.writeDirty(storeDirtyBound/2, k, true); err != nil {
			c.setFail(err)
		}
	}
}

// writeDirty writes dirty keys (other than skip, when hasSkip) to the
// store until at most target are dirty; they stay cached, clean, except
// removed keys, which leave the cache.
func (c *storeCache[K, E]) writeDirty(target int, skip K, hasSkip bool) error {
	now := c.clock()
	for k, s := range c.m {
		if c.dirty <= target {
			return nil
		}
		if s.flags&slotDirty == 0 || (hasSkip && k == skip) {
			continue
		}
		if err := c.write(k, s, now); err != nil {
			return err
		}
		c.dirty--
		if s.flags&slotRemoved != 0 {
			delete(c.m, k)
		} else {
			c.m[k] = cacheSlot[E]{e: s.e, flags: s.flags &^ slotDirty}
		}
	}
	return nil
}

// evict writes back and drops an eighth of the cached keys, sparing
// recently written keys once, unless the walk met too many of them.
func (c *storeCache[K, E]) evict() {
	n := max(c.bound/8, 1)
	spare := 3 * n
	now := c.clock()
	// A second walk evicts what the first spared, if it has to.
	for n > 0 && len(c.m) > 0 {
		for k, s := range c.m {
			if s.flags&slotUsed != 0 && spare > 0 {
				spare--
				s.flags &^= slotUsed
				c.m[k] = s
				continue
			}
			if s.flags&slotDirty != 0 {
				if err := c.write(k, s, now); err != nil {
					c.setFail(err)
					return
				}
				c.dirty--
			}
			delete(c.m, k)
			if n--; n == 0 {
				return
			}
		}
		spare = 0
	}
}

// write writes slot s of k to the store.
func (c *storeCache[K, E]) write(k K, s cacheSlot[E], now int64) error {
	kg := c.entryKey(k)
	if s.flags&slotRemoved == 0 {
		var live bool
		c.val, live = c.enc(c.val[:0], s.e, now)
		if live {
			return c.store.Put(kg, c.tag, c.key, c.val)
		}
	}
	return c.store.Delete(kg, c.tag, c.key)
}

// flush writes every dirty key to the store; the keys stay cached, clean.
// It returns the operator's sticky error if there is one, so that a
// checkpoint never commits state that missed writes.
func (c *storeCache[K, E]) flush() error {
	if *c.fail != nil {
		return *c.fail
	}
	var none K
	if err := c.writeDirty(0, none, false); err != nil {
		return fmt.Errorf("%s: %w", c.what, err)
	}
	return nil
}

// restored puts back the value of k read from a checkpoint (live tells
// whether anything of it is live), failing for a key restored twice.
func (c *storeCache[K, E]) restored(k K, e E, live bool) error {
	dup, err := c.exists(k)
	if err != nil {
		return fmt.Errorf("%s: %w", c.what, err)
	}
	if dup {
		return CorruptState("key %v restored twice", k)
	}
	if live {
		c.put(k, e)
	}
	return nil
}

// sweepVisit is the cleanup of one stored entry of the cache's state that
// the cache does not hold: it deletes the entry when nothing of it is live
// and rewrites it when part of it expired.
func (c *storeCache[K, E]) sweepVisit(kg int, key, value []byte) error {
	d := NewStateDecoder(key[len(c.prefix):])
	k := c.keys.Read(&d, kg)
	if err := d.End(); err != nil {
		return fmt.Errorf("stored key %q: %w", key, err)
	}
	if _, cached := c.m[k]; cached {
		return nil
	}
	now := c.clock()
	e, live, err := c.dec(value, now)
	if err != nil {
		return fmt.Errorf("stored entry of key %v: %w", k, err)
	}
	if live {
		c.val, live = c.enc(c.val[:0], e, now)
		if live && string(c.val) == string(value) {
			return nil
		}
	}
	if live {
		return c.store.Put(kg, c.tag, key, c.val)
	}
	return c.store.Delete(kg, c.tag, key)
}

// sweep runs one step of the incremental cleanup of the stored entries
// of the state (see storeSweeper) over the key groups of the subtask.
func (c *storeCache[K, E]) sweep() {
	if *c.fail != nil {
		return
	}
	if err := c.sweeper.step(c.store, ownedKeyGroups(c.keys.task), c.tag, c.prefix, c.sweepVisit); err != nil {
		c.setFail(fmt.Errorf("TTL cleanup: %w", err))
	}
}

// Incremental cleanup of the store: every storeSweepEvery-th write to a
// state with a TTL examines up to storeSweepEntries stored entries with up
// to storeSweepScans prefix scans, two entries per write on average, as
// on the heap.
const (
	storeSweepEvery   = 32
	storeSweepEntries = 64
	storeSweepScans   = 16
)

// errSweepFull stops a sweep's scan at its budget.
var errSweepFull = errors.New("sweep budget reached")

// sweepFrame is a part of the key space of a state left to sweep: the
// entries under prefix p (next < 0), or those under p followed by a byte
// from next to 255 (next >= 0).
type sweepFrame struct {
	p    []byte
	next int
}

// storeSweeper walks the entries of one state in a StateStore, key group
// by key group, a bounded number per step, and remembers where it is.
//
// The store scans by prefix only. A step scans the prefix on top of its
// stack; when the scan meets more entries than the step may examine, the
// prefix is split into its 256 one-byte extensions, scanned in turn, so a
// walk makes progress whatever the step's budget (the entry equal to the
// prefix itself, which no extension holds, comes first in the scan). Each
// entry is examined once per pass, plus once per split above it.
type storeSweeper struct {
	kg      int
	started bool
	frames  []sweepFrame
}

// step examines up to storeSweepEntries entries of the state under root
// in key groups kgs, with up to storeSweepScans scans, calling visit for
// each (which may write to the store).
func (w *storeSweeper) step(store *StateStore, kgs snapshot.KeyGroupRange, tag byte, root []byte,
	visit func(kg int, key, value []byte) error) error {
	if kgs.Len() <= 0 {
		return nil
	}
	entries, scans := 0, 0
	for entries < storeSweepEntries && scans < storeSweepScans {
		if len(w.frames) == 0 {
			if w.started {
				w.kg++
			}
			w.started = true
			if !kgs.Contains(w.kg) {
				w.kg = kgs.Start
			}
			w.frames = append(w.frames, sweepFrame{p: root, next: -1})
		}
		top := len(w.frames) - 1
		if f := w.frames[top]; f.next >= 0 {
			if f.next > 255 {
				w.frames = w.frames[:top]
				continue
			}
			w.frames[top].next++
			w.frames = append(w.frames, sweepFrame{p: append(slices.Clip(f.p), byte(f.next)), next: -1})
			continue
		}
		limit, n := storeSweepEntries-entries, 0
		scans++
		err := store.Scan(w.kg, tag, w.frames[top].p, func(key, value []byte) error {
			if n == limit {
				return errSweepFull
			}
			n++
			return visit(w.kg, key, value)
		})
		entries += n
		switch {
		case err == nil:
			w.frames = w.frames[:top]
		case errors.Is(err, errSweepFull):
			w.frames[top].next = 0
		default:
			return err
		}
	}
	return nil
}

// ownedKeyGroups returns the key groups of the subtask of task.
func ownedKeyGroups(task *TaskContext) snapshot.KeyGroupRange {
	if task.Parallelism <= 0 {
		return snapshot.KeyGroupRange{Start: 0, End: task.MaxParallelism}
	}
	return snapshot.RangeFor(task.Subtask, task.MaxParallelism, task.Parallelism)
}
