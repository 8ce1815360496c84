package operators

import (
	"reflect"

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
type ListState[K comparable, T any] struct {
	stateBase
	m     map[K]*listEntry[T]
	codec StateCodec[T]
	lc    lazyCodec[T]
}

// NewListState creates the ListState name; it is called in the function's
// Open, like NewValueState.
func NewListState[K comparable, T any](ctx *TaskContext, name string, opts ...StateOption) (*ListState[K, T], error) {
	return register(ctx, name, kindList, typeName("ListState", reflect.TypeFor[K](), reflect.TypeFor[T]()), opts,
		func(b stateBase, cfg *stateConfig) *ListState[K, T] {
			return &ListState[K, T]{stateBase: b, m: make(map[K]*listEntry[T]), codec: stateCodec[T](cfg)}
		})
}

// Add appends v to the list of the current key of ctx.
func (s *ListState[K, T]) Add(ctx KeyScope[K], v T) {
	e, now := s.entry(ctx.Key())
	e.vals = append(e.vals, v)
	if s.ttl.on() {
		e.stamps = append(e.stamps, now)
	}
}

// AddAll appends vs to the list of the current key of ctx.
func (s *ListState[K, T]) AddAll(ctx KeyScope[K], vs []T) {
	if len(vs) == 0 {
		return
	}
	e, now := s.entry(ctx.Key())
	e.vals = append(e.vals, vs...)
	if s.ttl.on() {
		for range vs {
			e.stamps = append(e.stamps, now)
		}
	}
}

// entry returns the list of k to append to, creating it, and the time of
// the write.
func (s *ListState[K, T]) entry(k K) (*listEntry[T], int64) {
	now := s.clock()
	if s.ttl.on() && s.sweepDue() {
		s.sweep(now)
	}
	e := s.m[k]
	if e == nil {
		e = &listEntry[T]{}
		s.m[k] = e
	}
	return e, now
}

// Get returns the elements of the list of the current key of ctx, in the
// order they were added, in a new slice; nil when the list is empty.
func (s *ListState[K, T]) Get(ctx KeyScope[K]) []T {
	k := ctx.Key()
	e := s.m[k]
	if e == nil {
		return nil
	}
	if s.ttl.on() {
		now := s.now()
		if !s.purge(k, e, now) {
			return nil
		}
		if s.ttl.onRead {
			for i := range e.stamps {
				e.stamps[i] = now
			}
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
		delete(s.m, k)
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
}

// Clear removes the list of the current key of ctx.
func (s *ListState[K, T]) Clear(ctx KeyScope[K]) { delete(s.m, ctx.Key()) }

// purge removes the expired elements of e, the list of k, and k when none
// is left; it reports whether any is.
func (s *ListState[K, T]) purge(k K, e *listEntry[T], now int64) bool {
	n := 0
	for i, st := range e.stamps {
		if !s.ttl.expired(st, now) {
			e.vals[n], e.stamps[n] = e.vals[i], st
			n++
		}
	}
	if n < len(e.vals) {
		clear(e.vals[n:])
		e.vals, e.stamps = e.vals[:n], e.stamps[:n]
	}
	if n == 0 {
		delete(s.m, k)
		return false
	}
	return true
}

// sweep purges the lists of a few (ttlSweep) keys whose oldest element
// expired.
func (s *ListState[K, T]) sweep(now int64) {
	n := 0
	for k, e := range s.m {
		if len(e.stamps) == 0 || s.ttl.expired(e.stamps[0], now) {
			s.purge(k, e, now)
		}
		if n++; n == ttlSweep {
			return
		}
	}
}

// snapshot implements userState: each key's list is one entry,
//
//	'u' name key → kind, count (uvarint), then per element: value (the
//	state's codec), [stamp (varint)]
func (s *ListState[K, T]) snapshot(ss *stateSnapshot[K]) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	for k, e := range s.m {
		if s.ttl.on() && !s.purge(k, e, ss.now) {
			continue
		}
		if len(e.vals) == 0 {
			continue
		}
		ss.startValue(&s.stateBase)
		ss.val = AppendUvarint(ss.val, uint64(len(e.vals)))
		for i, v := range e.vals {
			ss.val = c.Append(ss.val, v)
			if s.ttl.on() {
				ss.val = AppendVarint(ss.val, e.stamps[i])
			}
		}
		ss.put(&s.stateBase, k)
	}
	return nil
}

// restore implements userState.
func (s *ListState[K, T]) restore(k K, stamped bool, d *StateDecoder, now int64) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	n := elementCount(d, c, stamped)
	if d.Err() == nil && n == 0 {
		return CorruptState("empty list")
	}
	e := &listEntry[T]{vals: make([]T, 0, n)}
	for range n {
		v := Decode(d, c)
		stamp := s.ttl.stamp(d, stamped, now)
		if d.Err() != nil {
			return d.Err()
		}
		if s.ttl.expired(stamp, now) {
			continue
		}
		e.vals = append(e.vals, v)
		if s.ttl.on() {
			e.stamps = append(e.stamps, stamp)
		}
	}
	if _, dup := s.m[k]; dup {
		return CorruptState("key %v restored twice", k)
	}
	if len(e.vals) > 0 {
		s.m[k] = e
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
