package operators

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/internal/lru"
	"github.com/stromhq/strom/snapshot"
)

// This file keeps the record buffers of the joins (join.go) in the
// subtask's Pebble store (StateStore) when the job runs with the Pebble
// state backend, so that join state may exceed memory.
//
// The store holds the entries that the heap backend writes into
// checkpoints for the buffers, under the same names and with the same
// bytes (join_checkpoint.go): 'w' (key, window start → rank, left and
// right records) for the window join, 'l' and 'r' (key → the key's records
// of one side) for the interval join. Memory keeps what is small and
// fixed-size per key or window: the window join's index of windows (key,
// start, rank) and the order in which they fire; the interval join's
// count of records per key and side, and its cleanup timers. Timers and
// event time go into the state file as with the heap backend, so the
// state file plus the store's export is the heap backend's checkpoint.
//
// A bounded LRU write-back cache (joinCache), as in the window operator
// (operators/window/store.go), holds the decoded records of the windows
// or keys touched last: a hot key costs no Pebble read or write per
// record, and a window or key that the index knows to be new costs no
// read at all. Dirty entries are written when they leave the cache and in
// SnapshotState, before the runtime commits the store; an entry emptied
// while cached is deleted from the store only if the store holds it. The
// cache is trimmed between steps (after each record, window or timer),
// never while a step holds a pointer into it.

// errJoinStore is wrapped by the errors of a join's state store: failures
// of the store and entries that do not decode.
var errJoinStore = errors.New("join state store")

// joinEntry is one cached buffer.
type joinEntry[CK comparable, V any] = lru.Entry[CK, V]

// joinCodec encodes and decodes the buffers of one entry tag of a join.
type joinCodec[CK comparable, V any] struct {
	// tag is the entry tag of the buffers.
	tag byte
	// entryKey appends the entry key of ck (tag first) to dst and
	// returns it with ck's key group.
	entryKey func(dst []byte, ck CK) ([]byte, int)
	// encode appends the entry value of v to dst.
	encode func(dst []byte, v *V) []byte
	// decode sets *v from the entry value of ck, reusing v's storage.
	decode func(ck CK, val []byte, v *V) error
	// records returns the number of records in v.
	records func(v *V) int
	// reset empties v, keeping its storage when it is small.
	reset func(v *V)
	// evicted, when set, is told that the entry of ck left the cache
	// by eviction, so that whoever keeps pointers to it drops them.
	evicted func(ck CK)
}

// joinCache is a bounded LRU write-back cache of the decoded buffers of
// one entry tag of a join in its StateStore (see the top of this file).
type joinCache[CK comparable, V any] struct {
	store *StateStore
	codec joinCodec[CK, V]
	// what names the buffers in errors.
	what  string
	bound int
	l     lru.List[CK, V]
	// key and val are scratch buffers of entry keys and values.
	key, val []byte
}

func newJoinCache[CK comparable, V any](store *StateStore, what string, c joinCodec[CK, V]) *joinCache[CK, V] {
	jc := &joinCache[CK, V]{store: store, codec: c, what: what, bound: store.CacheEntries()}
	jc.l.Init()
	jc.l.Reset = c.reset
	return jc
}

// fail wraps an error of the store or of an entry of ck.
func (c *joinCache[CK, V]) fail(op string, ck CK, err error) error {
	return fmt.Errorf("%w: %s: %s %v: %w", errJoinStore, c.what, op, ck, err)
}

// get returns the cached entry of ck, made the newest, or nil.
func (c *joinCache[CK, V]) get(ck CK) *joinEntry[CK, V] { return c.l.Get(ck) }

// touch makes e the newest entry.
func (c *joinCache[CK, V]) touch(e *joinEntry[CK, V]) { c.l.Touch(e) }

// load returns the entry of ck, from the cache or else from the store,
// which must hold it: the caller's index says it exists.
func (c *joinCache[CK, V]) load(ck CK) (*joinEntry[CK, V], error) {
	if e := c.get(ck); e != nil {
		return e, nil
	}
	key, kg := c.codec.entryKey(c.key[:0], ck)
	c.key = key
	val, ok, err := c.store.Get(kg, c.codec.tag, key[1:])
	if err == nil && !ok {
		err = CorruptState("missing from the store")
	}
	if err != nil {
		return nil, c.fail("read", ck, err)
	}
	e := c.add(ck)
	if err := c.codec.decode(ck, val, &e.Value); err != nil {
		c.remove(e)
		return nil, c.fail("read", ck, err)
	}
	e.Stored = true
	c.l.SetWeight(e, 1+c.codec.records(&e.Value))
	return e, nil
}

// add adds an empty entry for ck, which must have none, as the newest.
func (c *joinCache[CK, V]) add(ck CK) *joinEntry[CK, V] { return c.l.Add(ck) }

// changed records that the step changed the records of e.
func (c *joinCache[CK, V]) changed(e *joinEntry[CK, V]) {
	c.l.MarkDirty(e)
	c.l.SetWeight(e, 1+c.codec.records(&e.Value))
}

// drop removes an emptied entry from the cache and the store.
func (c *joinCache[CK, V]) drop(e *joinEntry[CK, V]) error {
	if e.Stored {
		key, kg := c.codec.entryKey(c.key[:0], e.Key)
		c.key = key
		if err := c.store.Delete(kg, c.codec.tag, key[1:]); err != nil {
			return c.fail("delete", e.Key, err)
		}
	}
	c.remove(e)
	return nil
}

// dropKey removes the entry of ck, cached or not, from the cache and the
// store: the caller's index says it exists.
func (c *joinCache[CK, V]) dropKey(ck CK) error {
	if e := c.l.Peek(ck); e != nil {
		return c.drop(e)
	}
	key, kg := c.codec.entryKey(c.key[:0], ck)
	c.key = key
	if err := c.store.Delete(kg, c.codec.tag, key[1:]); err != nil {
		return c.fail("delete", ck, err)
	}
	return nil
}

// write writes a dirty entry to the store.
func (c *joinCache[CK, V]) write(e *joinEntry[CK, V]) error {
	key, kg := c.codec.entryKey(c.key[:0], e.Key)
	c.key = key
	c.val = c.codec.encode(c.val[:0], &e.Value)
	if err := c.store.Put(kg, c.codec.tag, key[1:], c.val); err != nil {
		return c.fail("write", e.Key, err)
	}
	c.l.MarkClean(e)
	e.Stored = true
	return nil
}

// joinDirtyBound bounds the dirty entries of a join cache after a step
// (see trim), so that what SnapshotState writes back, in the checkpoint's
// synchronous part, stays bounded.
const joinDirtyBound = 4096

// trim evicts the least recently used entries until the cache is within
// its bound, writing the dirty ones.
func (c *joinCache[CK, V]) trim() error {
	for c.l.Weight() > c.bound {
		e := c.l.Oldest()
		if e == nil {
			return nil
		}
		if e.Dirty() {
			if err := c.write(e); err != nil {
				return err
			}
		}
		if c.codec.evicted != nil {
			c.codec.evicted(e.Key)
		}
		c.remove(e)
	}
	// Past joinDirtyBound dirty entries, write the older half back,
	// keeping them cached.
	if c.l.Dirty() > joinDirtyBound {
		return c.writeBack(joinDirtyBound / 2)
	}
	return nil
}

// writeBack writes dirty entries, the least recently used first, until at
// most target are dirty; they stay cached.
func (c *joinCache[CK, V]) writeBack(target int) error {
	for e := c.l.Oldest(); e != nil && c.l.Dirty() > target; e = c.l.Newer(e) {
		if e.Dirty() {
			if err := c.write(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes every dirty entry to the store, keeping the entries
// cached. SnapshotState calls it; the runtime then commits the store and
// checkpoints it.
func (c *joinCache[CK, V]) flush() error { return c.writeBack(0) }

// remove drops e from the cache, keeping it for reuse.
func (c *joinCache[CK, V]) remove(e *joinEntry[CK, V]) { c.l.Remove(e) }

// resetSlice empties s for reuse, or drops it when it grew large.
func resetSlice[T any](s []T) []T {
	const maxCap = 256
	if cap(s) > maxCap {
		return nil
	}
	clear(s)
	return s[:0]
}

// windowRecords are the records of one key and window of a window join,
// with the window's rank, as the store holds them: the value of its 'w'
// entry.
type windowRecords[L, R any] struct {
	rank  uint64
	left  []L
	right []R
}

// openStore makes the join keep its windows' records in store. The codecs
// must exist from the start, since contents are encoded when written.
func (j *WindowJoin[K, L, R, OUT]) openStore(store *StateStore) error {
	keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
	if err != nil {
		return err
	}
	j.st = newJoinCache(store, "window join", joinCodec[winKey[K], windowRecords[L, R]]{
		tag: tagJoinWindow,
		entryKey: func(dst []byte, wk winKey[K]) ([]byte, int) {
			return AppendTimeKey(keys.Append(dst, tagJoinWindow, wk.key), wk.start), keys.KeyGroup(wk.key)
		},
		encode: func(dst []byte, w *windowRecords[L, R]) []byte {
			dst = AppendUvarint(dst, w.rank)
			return AppendList(AppendList(dst, lc, w.left), rc, w.right)
		},
		decode: func(_ winKey[K], val []byte, w *windowRecords[L, R]) error {
			d := NewStateDecoder(val)
			w.rank = d.Uvarint()
			w.left = DecodeList(&d, lc, w.left[:0])
			w.right = DecodeList(&d, rc, w.right[:0])
			return d.End()
		},
		records: func(w *windowRecords[L, R]) int { return len(w.left) + len(w.right) },
		reset: func(w *windowRecords[L, R]) {
			w.rank, w.left, w.right = 0, resetSlice(w.left), resetSlice(w.right)
		},
		evicted: func(wk winKey[K]) {
			if w := j.index[wk]; w != nil {
				w.cached = nil
			}
		},
	})
	return nil
}

// assignStored is assign with the records in the store: a window the
// index does not know yet starts empty in the cache, without a read.
func (j *WindowJoin[K, L, R, OUT]) assignStored(k K, ts int64, add func(*windowRecords[L, R])) error {
	size, slide := j.Windows.Size, j.Windows.slide()
	inWindow, added := false, false
	for s := j.Windows.lastStart(ts); s > ts-size; s -= slide {
		inWindow = true
		if s+size-1 <= j.clock.current {
			continue // this window has fired
		}
		w, created := j.window(k, s)
		var e *joinEntry[winKey[K], windowRecords[L, R]]
		switch {
		case created:
			e = j.st.add(winKey[K]{key: k, start: s})
			e.Value.rank = w.rank
			w.cached = e
		case w.cached != nil:
			e = w.cached
			j.st.touch(e)
		default:
			var err error
			if e, err = j.st.load(winKey[K]{key: k, start: s}); err != nil {
				return err
			}
			w.cached = e
		}
		add(&e.Value)
		j.st.changed(e)
		j.buffered++
		added = true
	}
	if inWindow && !added {
		j.late++
	}
	return j.st.trim()
}

// indexStore rebuilds the index of windows from the store after a
// restore: it serves restores from the subtask's own Pebble checkpoint,
// whose state file names no window, as well as restores that put a
// checkpoint's entries into the store. Windows of one start are indexed
// in rank order, so that they fire in the order they would have; a window
// whose rank changed (the windows of several subtasks merged) is
// rewritten with its new rank.
func (j *WindowJoin[K, L, R, OUT]) indexStore() error {
	store := j.st.store
	if err := store.Commit(); err != nil {
		return fmt.Errorf("%w: %w", errJoinStore, err)
	}
	keys, _, _, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
	if err != nil {
		return err
	}
	type window struct {
		key     K
		start   int64
		rank    uint64
		records int
	}
	var wins []window
	var recs windowRecords[L, R]
	err = store.DB().Iterate(store.UID(), everyKeyGroup, func(kg int, state string, key, value []byte) error {
		if state != tagNames[tagJoinWindow] {
			return entryError(kg, CorruptState("state %q in the store of a window join", state))
		}
		kd := NewStateDecoder(key)
		w := window{key: keys.Read(&kd, kg), start: kd.Time()}
		if err := kd.End(); err != nil {
			return entryError(kg, err)
		}
		if err := j.st.codec.decode(winKey[K]{w.key, w.start}, value, &recs); err != nil {
			return entryError(kg, err)
		}
		w.rank, w.records = recs.rank, len(recs.left)+len(recs.right)
		j.st.codec.reset(&recs)
		wins = append(wins, w)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errJoinStore, err)
	}
	slices.SortStableFunc(wins, func(a, b window) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.rank, b.rank))
	})
	for _, rw := range wins {
		w, created := j.window(rw.key, rw.start)
		if !created {
			return CorruptState("window join: window %d of key %v restored twice", rw.start, rw.key)
		}
		j.buffered += rw.records
		if w.rank != rw.rank {
			e, err := j.st.load(winKey[K]{rw.key, rw.start})
			if err != nil {
				return err
			}
			w.cached = e
			e.Value.rank = w.rank
			j.st.l.MarkDirty(e)
			if err := j.st.trim(); err != nil {
				return err
			}
		}
	}
	return nil
}

// everyKeyGroup covers every key group of every parallelism.
var everyKeyGroup = snapshot.KeyGroupRange{Start: 0, End: snapshot.MaxMaxParallelism}

// openStore makes the buffer keep its records in store under tag.
func (b *joinBuffer[K, T]) openStore(store *StateStore, what string, tag byte, keys *StateKeys[K], c codec.Codec[T]) {
	b.counts = make(map[K]int)
	b.st = newJoinCache(store, what, joinCodec[K, []timed[T]]{
		tag: tag,
		entryKey: func(dst []byte, k K) ([]byte, int) {
			return keys.Append(dst, tag, k), keys.KeyGroup(k)
		},
		encode: func(dst []byte, s *[]timed[T]) []byte { return appendTimed(dst, c, *s) },
		decode: func(k K, val []byte, s *[]timed[T]) error {
			d := NewStateDecoder(val)
			var err error
			*s, err = decodeTimed(&d, c, k, (*s)[:0])
			return err
		},
		records: func(s *[]timed[T]) int { return len(*s) },
		reset:   func(s *[]timed[T]) { *s = resetSlice(*s) },
	})
}

// expireStored drops the records of tm.Key that are due at tm.Time from
// the store.
func (b *joinBuffer[K, T]) expireStored(tm Timer[K]) error {
	if b.counts[tm.Key] == 0 {
		return nil
	}
	e, err := b.st.load(tm.Key)
	if err != nil {
		return err
	}
	s := e.Value
	n := 0
	for n < len(s) && s[n].ts+b.bound < tm.Time {
		n++
	}
	b.n -= n
	switch {
	case n == 0:
	case n == len(s):
		delete(b.counts, tm.Key)
		if err := b.st.drop(e); err != nil {
			return err
		}
	default:
		rest := copy(s, s[n:])
		clear(s[rest:])
		e.Value = s[:rest]
		b.counts[tm.Key] = rest
		b.st.changed(e)
	}
	return b.st.trim()
}

// keys returns the number of keys with records held.
func (b *joinBuffer[K, T]) keys() int {
	if b.st != nil {
		return len(b.counts)
	}
	return len(b.byKey)
}

// indexStored counts the records of a key in the store after a restore.
func (b *joinBuffer[K, T]) indexStored(k K, records int) error {
	if records == 0 {
		return CorruptState("no records of key %v in the store", k)
	}
	if b.counts[k] != 0 {
		return CorruptState("records of key %v restored twice", k)
	}
	b.counts[k] = records
	b.n += records
	return nil
}

// openStore makes the join keep its buffered records in store.
func (j *IntervalJoin[K, L, R, OUT]) openStore(store *StateStore) error {
	keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
	if err != nil {
		return err
	}
	j.left.openStore(store, "interval join left", tagLeftRecords, keys, lc)
	j.right.openStore(store, "interval join right", tagRightRecords, keys, rc)
	return nil
}

// trim trims the caches of both buffers (with the store), between
// records.
func (j *IntervalJoin[K, L, R, OUT]) trim() error {
	if j.left.st == nil {
		return nil
	}
	if err := j.left.st.trim(); err != nil {
		return err
	}
	return j.right.st.trim()
}

// indexStore counts the records per key and side in the store after a
// restore, from the subtask's own Pebble checkpoint or from entries put
// into the store (see WindowJoin.indexStore).
func (j *IntervalJoin[K, L, R, OUT]) indexStore() error {
	store := j.left.st.store
	if err := store.Commit(); err != nil {
		return fmt.Errorf("%w: %w", errJoinStore, err)
	}
	keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
	if err != nil {
		return err
	}
	var ls []timed[L]
	var rs []timed[R]
	err = store.DB().Iterate(store.UID(), everyKeyGroup, func(kg int, state string, key, value []byte) error {
		if len(state) != 1 || (state[0] != tagLeftRecords && state[0] != tagRightRecords) {
			return entryError(kg, CorruptState("state %q in the store of an interval join", state))
		}
		kd := NewStateDecoder(key)
		k := keys.Read(&kd, kg)
		if err := kd.End(); err != nil {
			return entryError(kg, err)
		}
		vd := NewStateDecoder(value)
		var err error
		if state[0] == tagLeftRecords {
			ls, err = decodeTimed(&vd, lc, k, ls[:0])
			if err == nil {
				err = j.left.indexStored(k, len(ls))
			}
		} else {
			rs, err = decodeTimed(&vd, rc, k, rs[:0])
			if err == nil {
				err = j.right.indexStored(k, len(rs))
			}
		}
		if err != nil {
			return entryError(kg, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errJoinStore, err)
	}
	return nil
}
