package operators

import (
	"reflect"
	"slices"

	"github.com/stromhq/strom/codec"
)

// listEntry is the list of one key: its elements and, with a TTL, their
// stamps.
type listEntry[T any] struct {
	vals   []T
	stamps []int64
}

// ListState is a keyed state that holds a list of values of type T per
// key. Create it in the function's Open with NewListState; Add, AddAll,
// Get, Update and Clear apply to the current key of the context they get.
// With a TTL, each element expires on its own.
//
// On the Pebble backend the lists are in the operator's StateStore, one
// entry per key as in checkpoints, behind a write-back cache (sc) of
// decoded lists. On the heap the map of lists is copy-on-write (see
// state_cow.go; a key's list is copied at its first write while a snapshot
// is in flight), and snapshots encode a frozen map on the persisting
// goroutine when the types are cowSafe (async).
type ListState[K comparable, T any] struct {
	stateBase
	m     cowMap[K, *listEntry[T]]
	async bool
	sc    *storeCache[K, *listEntry[T]]
	codec StateCodec[T]
	lc    lazyCodec[T]
}

// NewListState creates the ListState name; it is called in the function's
// Open, like NewValueState.
func NewListState[K comparable, T any](ctx *TaskContext, name string, opts ...StateOption) (*ListState[K, T], error) {
	return register(ctx, name, kindList, typeName("ListState", reflect.TypeFor[K](), reflect.TypeFor[T]()), opts,
		func(b stateBase, cfg *stateConfig) *ListState[K, T] {
			return &ListState[K, T]{
				stateBase: b, m: newCowMap[K](cloneList[T]), codec: stateCodec[T](cfg),
				async: cowSafeTypes(reflect.TypeFor[K](), reflect.TypeFor[T]()),
			}
		})
}

// cloneList copies e, for a write while a snapshot reads e.
func cloneList[T any](e *listEntry[T]) *listEntry[T] {
	return &listEntry[T]{vals: slices.Clone(e.vals), stamps: slices.Clone(e.stamps)}
}

// Add appends v to the list of the current key of ctx.
func (s *ListState[K, T]) Add(ctx KeyScope[K], v T) {
	k := ctx.Key()
	e, now := s.entry(k)
	e.vals = append(e.vals, v)
	if s.ttl.on() {
		e.stamps = append(e.stamps, now)
	}
	s.changed(k, e)
}

// AddAll appends vs to the list of the current key of ctx.
func (s *ListState[K, T]) AddAll(ctx KeyScope[K], vs []T) {
	if len(vs) == 0 {
		return
	}
	k := ctx.Key()
	e, now := s.entry(k)
	e.vals = append(e.vals, vs...)
	if s.ttl.on() {
		for range vs {
			e.stamps = append(e.stamps, now)
		}
	}
	s.changed(k, e)
}

// entry returns the list of k to append to, creating it, and the time of
// the write. The caller calls changed once it has written to it.
func (s *ListState[K, T]) entry(k K) (*listEntry[T], int64) {
	now := s.clock()
	if s.sc != nil {
		if s.ttl.on() && s.storeSweepDue() {
			s.sc.sweep()
		}
		e, _ := s.sc.get(k)
		if e == nil {
			e = &listEntry[T]{}
		}
		return e, now
	}
	if s.ttl.on() && s.sweepDue() {
		s.sweep(now)
	}
	e, _ := s.m.mut(k)
	if e == nil {
		e = &listEntry[T]{}
		s.m.set(k, e)
	}
	return e, now
}

// list returns the list of k, nil if it has none.
func (s *ListState[K, T]) list(k K) *listEntry[T] {
	if s.sc != nil {
		e, _ := s.sc.get(k)
		return e
	}
	e, _ := s.m.get(k)
	return e
}

// listW returns the list of k for modifying in place, nil if it has none:
// on the heap, a copy while a snapshot reads the map (copy on write).
func (s *ListState[K, T]) listW(k K) *listEntry[T] {
	if s.sc != nil {
		e, _ := s.sc.get(k)
		return e
	}
	e, _ := s.m.mut(k)
	return e
}

// changed records that e, the list of k, was modified (on the heap the
// map holds e itself).
func (s *ListState[K, T]) changed(k K, e *listEntry[T]) {
	if s.sc != nil {
		s.sc.put(k, e)
	}
}

// drop removes the list of k.
func (s *ListState[K, T]) drop(k K) {
	if s.sc != nil {
		s.sc.remove(k)
		return
	}
	s.m.del(k)
}

// Get returns the elements of the list of the current key of ctx, in the
// order they were added, in a new slice; nil when the list is empty.
func (s *ListState[K, T]) Get(ctx KeyScope[K]) []T {
	k := ctx.Key()
	e := s.list(k)
	if e == nil {
		return nil
	}
	if s.ttl.on() {
		now := s.now()
		if e = s.purge(k, e, now); e == nil {
			return nil
		}
		if s.ttl.onRead {
			e = s.listW(k)
			for i := range e.stamps {
				e.stamps[i] = now
			}
			s.changed(k, e)
		}
	}
	out := make([]T, len(e.vals))
	copy(out, e.vals)
	return out
}

// Update replaces the list of the current key of ctx by the elements of vs
// (copied); an empty vs clears it.
func (s *ListState[K, T]) Update(ctx KeyScope[K], vs []T) {
	k := ctx.Key()
	if len(vs) == 0 {
		s.drop(k)
		return
	}
	e, now := s.entry(k)
	old := len(e.vals)
	e.vals = append(e.vals[:0], vs...)
	if old > len(vs) {
		clear(e.vals[len(vs):old]) // let the replaced values go
	}
	if s.ttl.on() {
		e.stamps = e.stamps[:0]
		for range vs {
			e.stamps = append(e.stamps, now)
		}
	}
	s.changed(k, e)
}

// Clear removes the list of the current key of ctx.
func (s *ListState[K, T]) Clear(ctx KeyScope[K]) { s.drop(ctx.Key()) }

// purge removes the expired elements of e, the list of k, and k when none
// is left; it returns the list of k (a copy when e was frozen), nil when
// no element is left.
func (s *ListState[K, T]) purge(k K, e *listEntry[T], now int64) *listEntry[T] {
	expired := 0
	for _, st := range e.stamps {
		if s.ttl.expired(st, now) {
			expired++
		}
	}
	switch expired {
	case len(e.vals):
		s.drop(k)
		return nil
	case 0:
		return e
	}
	e = s.listW(k)
	n := 0
	for i, st := range e.stamps {
		if !s.ttl.expired(st, now) {
			e.vals[n], e.stamps[n] = e.vals[i], st
			n++
		}
	}
	clear(e.vals[n:])
	e.vals, e.stamps = e.vals[:n], e.stamps[:n]
	s.changed(k, e)
	return e
}

// sweep purges the lists of a few (ttlSweep) keys whose oldest element
// expired.
func (s *ListState[K, T]) sweep(now int64) {
	n := 0
	s.m.each(func(k K, e *listEntry[T]) bool {
		if len(e.stamps) == 0 || s.ttl.expired(e.stamps[0], now) {
			s.purge(k, e, now)
		}
		n++
		return n < ttlSweep
	})
}

// snapshot implements userState: each key's list is one entry,
//
//	'u' name key → kind, count (uvarint), then per element: value (the
//	state's codec), [stamp (varint)]
//
// When the types are cowSafe and the writer has an asynchronous part, the
// map is frozen and encoded there; else it is encoded at once.
func (s *ListState[K, T]) snapshot(ss *stateSnapshot[K]) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	if s.async && asyncWriter(ss.w) {
		if frozen, flight, ok := s.m.freeze(); ok {
			as := ss.fork()
			return DeferState(ss.w, func(w StateWriter) error {
				defer flight.finish()
				as.w = w
				for k, e := range frozen {
					var live bool
					if as.val, live = s.appendList(as.val[:0], c, e, as.now); live {
						as.put(&s.stateBase, k)
					}
				}
				return nil
			})
		}
	}
	s.m.each(func(k K, e *listEntry[T]) bool {
		if s.ttl.on() {
			if e = s.purge(k, e, ss.now); e == nil {
				return true
			}
		}
		var live bool
		if ss.val, live = s.appendList(ss.val[:0], c, e, ss.now); live {
			ss.put(&s.stateBase, k)
		}
		return true
	})
	return nil
}

// appendList appends the entry value of e (see snapshot), leaving out the
// elements expired at now, and reports whether any element is live.
func (s *ListState[K, T]) appendList(dst []byte, c codec.Codec[T], e *listEntry[T], now int64) ([]byte, bool) {
	n := len(e.vals)
	if s.ttl.on() {
		n = 0
		for _, st := range e.stamps {
			if !s.ttl.expired(st, now) {
				n++
			}
		}
	}
	if n == 0 {
		return dst, false
	}
	dst = append(dst, s.kindByte())
	dst = AppendUvarint(dst, uint64(n))
	for i, v := range e.vals {
		if s.ttl.on() {
			if s.ttl.expired(e.stamps[i], now) {
				continue
			}
			dst = AppendVarint(c.Append(dst, v), e.stamps[i])
			continue
		}
		dst = c.Append(dst, v)
	}
	return dst, true
}

// decodeList reads the value of an entry after its kind byte, leaving
// out the elements expired at now.
func (s *ListState[K, T]) decodeList(d *StateDecoder, c codec.Codec[T], stamped bool, now int64) *listEntry[T] {
	n := elementCount(d, c, stamped)
	if d.Err() == nil && n == 0 {
		d.fail(CorruptState("empty list"))
	}
	e := &listEntry[T]{vals: make([]T, 0, n)}
	for range n {
		v := Decode(d, c)
		stamp := s.ttl.stamp(d, stamped, now)
		if d.Err() != nil {
			return e
		}
		if s.ttl.expired(stamp, now) {
			continue
		}
		e.vals = append(e.vals, v)
		if s.ttl.on() {
			e.stamps = append(e.stamps, stamp)
		}
	}
	return e
}

// attach implements userState.
func (s *ListState[K, T]) attach(store *StateStore, keys *StateKeys[K], fail *error) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	s.sc = newStoreCache(store, keys, s.prefix[0], s.prefix[1:], s.storeWhat(), fail,
		func(dst []byte, e *listEntry[T], now int64) ([]byte, bool) { return s.appendList(dst, c, e, now) },
		func(v []byte, now int64) (*listEntry[T], bool, error) {
			d := NewStateDecoder(v)
			stamped, err := s.readKind(&d)
			if err != nil {
				return nil, false, err
			}
			e := s.decodeList(&d, c, stamped, now)
			return e, len(e.vals) > 0, d.End()
		}, s.clock)
	return nil
}

// flush implements userState.
func (s *ListState[K, T]) flush() error {
	if s.sc == nil {
		return nil
	}
	return s.sc.flush()
}

// restore implements userState.
func (s *ListState[K, T]) restore(k K, stamped bool, d *StateDecoder, now int64) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	e := s.decodeList(d, c, stamped, now)
	if d.Err() != nil {
		return d.Err()
	}
	if s.sc != nil {
		return s.sc.restored(k, e, len(e.vals) > 0)
	}
	if _, dup := s.m.get(k); dup {
		return CorruptState("key %v restored twice", k)
	}
	if len(e.vals) > 0 {
		s.m.set(k, e)
	}
	return nil
}

// elementCount reads the count of a list or map of elements whose first
// part has codec c, checking it against the bytes left. An element takes
// at least a byte, unless c encodes values in no bytes (struct{}) and
// elements have no stamps.
func elementCount[T any](d *StateDecoder, c codec.Codec[T], stamped bool) int {
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)) {
		var zero T
		if stamped || len(c.Append(nil, zero)) > 0 || n > maxEmptyValues {
			d.fail(CorruptState("count %d exceeds the %d bytes left", n, len(d.b)))
			return 0
		}
	}
	return int(n)
}
