package window

import (
	"errors"
	"fmt"
	"slices"

	"github.com/stromhq/strom/internal/lru"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// This file keeps window contents in the subtask's Pebble store
// (operators.StateStore) when the job runs with the Pebble state backend.
//
// The store holds the entries whose bytes the heap backend writes into
// checkpoints under the same names: 'w' (key, window → window state:
// accumulator or records, and trigger values) and, on the shared-pane
// path, 'a' (key, pane start → the pane's accumulator). The rest stays in
// memory and goes into the state file as with the heap backend: the keys
// and their arrival ranks ('k', 'P'), the merging windows of session keys
// ('m'), and the timers ('e', 'p', 'q'). What memory holds per key is
// fixed-size (arrival rank, window counts), plus the live windows of
// merging keys and the start of each pane (8 bytes), never contents.
//
// A bounded write-back cache holds the contents of the windows (and
// panes) touched last, decoded: records of hot windows cost no Pebble
// read or write. Dirty entries are written when they leave the cache and
// in SnapshotState; an entry emptied while cached is deleted from the
// store only if the store holds it. The cache may exceed its bound during
// one step (a record, a timer) and is trimmed after it, so that the
// pointers a step holds stay valid.

// DefaultStateCacheSize is the number of windows (or panes) whose contents
// the operator caches when its state is in the Pebble store, unless
// Config.StateCacheSize says otherwise. Windows that keep their records
// count each record as well.
const DefaultStateCacheSize = 64 << 10

// storeError is a failure of the state store, raised as a panic from the
// places that cannot return errors (a trigger reading its state) and
// turned back into the step's error by Operator.catch.
type storeError struct{ err error }

// errStore is wrapped by the errors of the state store.
var errStore = errors.New("window state store")

// fail raises a store failure; see storeError.
func (o *Operator[K, IN, ACC, OUT]) fail(err error) {
	panic(storeError{fmt.Errorf("%w: %w", errStore, err)})
}

// cacheEntry is one cached window or pane.
type cacheEntry[CK comparable, V any] = lru.Entry[CK, V]

// paneRef names the pane starting at start of key k.
type paneRef[K comparable] struct {
	key   K
	start int64
}

// winStore is the operator's state in the Pebble store.
type winStore[K comparable, IN, ACC any] struct {
	s     *operators.StateStore
	bound int
	wins  lru.List[winKey[K], winState[IN, ACC]]
	panes lru.List[paneRef[K], ACC]
	// key and val are scratch buffers of entry keys and values.
	key, val []byte
}

func newWinStore[K comparable, IN, ACC any](s *operators.StateStore, bound int) *winStore[K, IN, ACC] {
	ws := &winStore[K, IN, ACC]{s: s, bound: bound}
	ws.wins.Init()
	ws.panes.Init()
	return ws
}

// winEntryKey returns the store key of window w of k: the entry key
// without its tag.
func (o *Operator[K, IN, ACC, OUT]) winEntryKey(k K, w Window) []byte {
	ws := o.st
	ws.key = appendWindow(o.codecs.keys.Append(ws.key[:0], tagWindow, k), w)
	return ws.key[1:]
}

// paneEntryKey returns the store key of the pane starting at start of k.
func (o *Operator[K, IN, ACC, OUT]) paneEntryKey(k K, start int64) []byte {
	ws := o.st
	ws.key = operators.AppendTimeKey(o.codecs.keys.Append(ws.key[:0], tagPane, k), start)
	return ws.key[1:]
}

// storedLookup returns the state of window w of key k, loading it into the
// cache, or nil when there is none.
func (o *Operator[K, IN, ACC, OUT]) storedLookup(k K, w Window) *winState[IN, ACC] {
	ws := o.st
	wk := winKey[K]{k, w}
	if e := ws.wins.Get(wk); e != nil {
		ws.wins.MarkDirty(e)
		return &e.Value
	}
	ks := o.keys[k]
	if ks == nil || ks.stored == 0 {
		return nil
	}
	val, ok, err := ws.s.Get(o.codecs.keys.KeyGroup(k), tagWindow, o.winEntryKey(k, w))
	if err != nil {
		o.fail(fmt.Errorf("read window %v of key %v: %w", w, k, err))
	}
	if !ok {
		return nil
	}
	e := ws.wins.Add(wk)
	e.Stored = true
	ws.wins.MarkDirty(e)
	d := operators.NewStateDecoder(val)
	if err := o.readWinState(&d, &o.codecs, &e.Value); err != nil {
		ws.wins.Remove(e)
		o.fail(fmt.Errorf("read window %v of key %v: %w", w, k, err))
	}
	ws.wins.SetWeight(e, 1+len(e.Value.vals))
	return &e.Value
}

// storedSlot is keyState.slot on the store.
func (o *Operator[K, IN, ACC, OUT]) storedSlot(ks *keyState[IN, ACC], k K, w Window) (*winState[IN, ACC], bool) {
	if st := o.storedLookup(k, w); st != nil {
		return st, false
	}
	e := o.st.wins.Add(winKey[K]{k, w})
	o.st.wins.MarkDirty(e)
	ks.live++
	return &e.Value, true
}

// storedRelease is release on the store: it drops the state of window w of
// k when the step left it empty.
func (o *Operator[K, IN, ACC, OUT]) storedRelease(k K, w Window) {
	ws := o.st
	e := ws.wins.Peek(winKey[K]{k, w})
	if e == nil {
		return
	}
	if !e.Value.empty() {
		if o.listMode {
			ws.wins.SetWeight(e, 1+len(e.Value.vals))
		}
		return
	}
	o.dropWindow(e)
}

// dropWindow removes an emptied window from the cache and the store.
func (o *Operator[K, IN, ACC, OUT]) dropWindow(e *cacheEntry[winKey[K], winState[IN, ACC]]) {
	ws := o.st
	k := e.Key.key
	ks := o.keys[k]
	if e.Stored {
		if err := ws.s.Delete(o.codecs.keys.KeyGroup(k), tagWindow, o.winEntryKey(k, e.Key.w)); err != nil {
			o.fail(fmt.Errorf("delete window %v of key %v: %w", e.Key.w, k, err))
		}
		if ks != nil {
			ks.stored--
		}
	}
	if ks != nil {
		ks.live--
	}
	ws.wins.Remove(e)
}

// writeWindow writes a dirty cached window to the store.
func (o *Operator[K, IN, ACC, OUT]) writeWindow(e *cacheEntry[winKey[K], winState[IN, ACC]]) error {
	ws := o.st
	k := e.Key.key
	ws.val = o.appendWinState(ws.val[:0], &o.codecs, &e.Value)
	if err := ws.s.Put(o.codecs.keys.KeyGroup(k), tagWindow, o.winEntryKey(k, e.Key.w), ws.val); err != nil {
		return fmt.Errorf("%w: write window %v of key %v: %w", errStore, e.Key.w, k, err)
	}
	if !e.Stored {
		e.Stored = true
		if ks := o.keys[k]; ks != nil {
			ks.stored++
		}
	}
	ws.wins.MarkClean(e)
	return nil
}

// paneAccOf returns the cached accumulator of the pane starting at start
// of key k, loading it. The pane must exist.
func (o *Operator[K, IN, ACC, OUT]) paneAccOf(k K, start int64, write bool) *cacheEntry[paneRef[K], ACC] {
	ws := o.st
	ref := paneRef[K]{k, start}
	e := ws.panes.Get(ref)
	if e == nil {
		val, ok, err := ws.s.Get(o.codecs.keys.KeyGroup(k), tagPane, o.paneEntryKey(k, start))
		if err == nil && !ok {
			err = operators.CorruptState("missing from the store")
		}
		if err != nil {
			o.fail(fmt.Errorf("read pane %d of key %v: %w", start, k, err))
		}
		d := operators.NewStateDecoder(val)
		acc := operators.Decode(&d, o.codecs.acc)
		if err := d.End(); err != nil {
			o.fail(fmt.Errorf("read pane %d of key %v: %w", start, k, err))
		}
		e = ws.panes.Add(ref)
		e.Value, e.Stored = acc, true
	}
	if write {
		ws.panes.MarkDirty(e)
	}
	return e
}

// dropPane removes the pane starting at start of key k from the cache and
// the store.
func (o *Operator[K, IN, ACC, OUT]) dropPane(k K, start int64) {
	ws := o.st
	e := ws.panes.Peek(paneRef[K]{k, start})
	if e != nil && !e.Stored {
		ws.panes.Remove(e)
		return
	}
	if e != nil {
		ws.panes.Remove(e)
	}
	if err := ws.s.Delete(o.codecs.keys.KeyGroup(k), tagPane, o.paneEntryKey(k, start)); err != nil {
		o.fail(fmt.Errorf("delete pane %d of key %v: %w", start, k, err))
	}
}

// writePane writes a dirty cached pane to the store.
func (o *Operator[K, IN, ACC, OUT]) writePane(e *cacheEntry[paneRef[K], ACC]) error {
	ws := o.st
	k := e.Key.key
	ws.val = o.codecs.acc.Append(ws.val[:0], e.Value)
	if err := ws.s.Put(o.codecs.keys.KeyGroup(k), tagPane, o.paneEntryKey(k, e.Key.start), ws.val); err != nil {
		return fmt.Errorf("%w: write pane %d of key %v: %w", errStore, e.Key.start, k, err)
	}
	e.Stored = true
	ws.panes.MarkClean(e)
	return nil
}

// trim evicts the least recently used entries until the cache is within
// its bound, writing the dirty ones. It runs between steps, when no
// pointer into the cache is in use.
func (o *Operator[K, IN, ACC, OUT]) trim() {
	ws := o.st
	for ws.wins.Weight() > ws.bound {
		e := ws.wins.Oldest()
		if e == nil {
			break
		}
		if e.Value.empty() {
			o.dropWindow(e)
			continue
		}
		if e.Dirty() {
			if err := o.writeWindow(e); err != nil {
				o.fail(err)
			}
		}
		ws.wins.Remove(e)
	}
	for ws.panes.Weight() > ws.bound {
		e := ws.panes.Oldest()
		if e.Dirty() {
			if err := o.writePane(e); err != nil {
				o.fail(err)
			}
		}
		ws.panes.Remove(e)
	}
	// Past storeDirtyBound dirty entries, write the older half back and
	// keep them cached: what SnapshotState writes back, in the
	// checkpoint's synchronous part, stays bounded.
	if ws.wins.Dirty() > storeDirtyBound {
		if err := o.writeBackWindows(storeDirtyBound / 2); err != nil {
			o.fail(err)
		}
	}
	if ws.panes.Dirty() > storeDirtyBound {
		if err := o.writeBackPanes(storeDirtyBound / 2); err != nil {
			o.fail(err)
		}
	}
}

// writeBackWindows writes dirty cached windows to the store, the least
// recently used first, until at most target are dirty (all of them, and
// every cached window looked at, when target is negative), keeping them
// cached; emptied windows met on the way are dropped.
func (o *Operator[K, IN, ACC, OUT]) writeBackWindows(target int) error {
	wins := &o.st.wins
	for e := wins.Oldest(); e != nil && (target < 0 || wins.Dirty() > target); {
		newer := wins.Newer(e)
		switch {
		case e.Value.empty():
			o.dropWindow(e)
		case e.Dirty():
			if err := o.writeWindow(e); err != nil {
				return err
			}
		}
		e = newer
	}
	return nil
}

// writeBackPanes writes dirty cached panes to the store, the least
// recently used first, until at most target are dirty, keeping them
// cached.
func (o *Operator[K, IN, ACC, OUT]) writeBackPanes(target int) error {
	panes := &o.st.panes
	for e := panes.Oldest(); e != nil && panes.Dirty() > target; e = panes.Newer(e) {
		if e.Dirty() {
			if err := o.writePane(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeDirtyBound bounds the dirty windows, and the dirty panes, that the
// cache holds after a step (see trim).
const storeDirtyBound = 4096

// flushStore writes every dirty cached entry to the store, keeping the
// entries cached. SnapshotState calls it; the runtime then commits the
// store and checkpoints it.
func (o *Operator[K, IN, ACC, OUT]) flushStore() error {
	if err := o.writeBackWindows(-1); err != nil {
		return err
	}
	return o.writeBackPanes(0)
}

// restoreToStore validates a window or pane entry of a checkpoint and puts
// it into the store.
func (o *Operator[K, IN, ACC, OUT]) restoreToStore(kg int, tag byte, key, value []byte) error {
	d := operators.NewStateDecoder(value)
	if tag == tagWindow {
		var st winState[IN, ACC]
		if err := o.readWinState(&d, &o.codecs, &st); err != nil {
			return err
		}
	} else {
		operators.Decode(&d, o.codecs.acc)
		if err := d.End(); err != nil {
			return err
		}
	}
	if err := o.st.s.RestoreEntry(kg, key, value); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return nil
}

// indexStore rebuilds what memory holds about the store's windows and
// panes after a restore, from the store itself: the windows each key has
// and the pane starts. It serves restores from the subtask's own Pebble
// checkpoint, whose state file names no window, as well as restores that
// put the checkpoint's entries into the store. Every window and pane must
// belong to a restored key.
func (o *Operator[K, IN, ACC, OUT]) indexStore() error {
	ws := o.st
	if err := ws.s.Commit(); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	all := snapshot.KeyGroupRange{Start: 0, End: snapshot.MaxMaxParallelism}
	c := &o.codecs
	return ws.s.DB().Iterate(ws.s.UID(), all, func(kg int, state string, key, _ []byte) error {
		if len(state) != 1 {
			return operators.CorruptState("state %q in the store", state)
		}
		tag := state[0]
		d := operators.NewStateDecoder(key)
		k := c.keys.Read(&d, kg)
		switch tag {
		case tagWindow:
			w := readWindow(&d)
			if err := d.End(); err != nil {
				return fmt.Errorf("key group %d: %w", kg, err)
			}
			ks := o.keys[k]
			if ks == nil || o.panes != nil {
				return operators.CorruptState("window %v of key %v in the store without its key entry", w, k)
			}
			ks.live++
			ks.stored++
		case tagPane:
			start := d.Time()
			if err := d.End(); err != nil {
				return fmt.Errorf("key group %d: %w", kg, err)
			}
			var pk *paneKey[ACC]
			if o.panes != nil {
				pk = o.panes.keys[k]
			}
			if pk == nil {
				return operators.CorruptState("pane %d of key %v in the store without its key entry", start, k)
			}
			i, found := slices.BinarySearch(pk.starts, start)
			if !found {
				pk.starts = slices.Insert(pk.starts, i, start)
			}
		default:
			return operators.UnknownTag(tag)
		}
		return nil
	})
}
