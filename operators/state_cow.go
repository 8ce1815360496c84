package operators

import (
	"reflect"
	"sync/atomic"
)

// This file holds the copy-on-write map behind the keyed states of the
// heap backend (ValueState and the other single-value states, ListState,
// MapState) and Reduce's values, which makes their snapshots asynchronous.
//
// In SnapshotState a state freezes its map in O(1) (cowMap.freeze) and
// defers the encoding of the frozen map to the persisting goroutine
// (DeferState). Until the encoding is done the subtask leaves the frozen
// map alone: it writes into a small overlay (new values, copies of the
// entries it modifies in place, made at the first write of a key, and
// tombstones for removals) and reads the overlay before the frozen map.
// The encoder marks the end of its work on an atomic flag, which the
// subtask polls at its next access and then folds the overlay back into
// the map, in O(overlay). When no snapshot is in flight an access costs one
// nil check more than a plain map access.
//
// A snapshot taken while the previous frozen map is still being encoded
// (after an aborted checkpoint, say) is encoded synchronously from the
// overlay and the frozen map, both of which the subtask only reads then.
//
// Only values that cannot change through shared memory may be encoded
// concurrently with the subtask: cowSafe decides per type.

// cowSlot is an entry of the overlay: a value, or a tombstone (gone).
type cowSlot[V any] struct {
	v    V
	gone bool
}

// cowFlight is a snapshot in flight: the encoder sets done once it no
// longer reads the frozen map.
type cowFlight struct{ done atomic.Bool }

// finish tells the subtask that the encoder is done with the frozen map.
func (f *cowFlight) finish() { f.done.Store(true) }

// cowMap is a map with copy-on-write snapshots. Only the subtask calls its
// methods; the encoder reads the map freeze returned and calls finish on
// its flight.
type cowMap[K comparable, V any] struct {
	// m holds every entry when no snapshot is in flight, and is frozen
	// (read-only) while one is.
	m map[K]V
	// over is the overlay, non-nil while a snapshot is in flight: the
	// entries written since m was frozen.
	over map[K]cowSlot[V]
	// flight is the snapshot in flight, when over is non-nil.
	flight *cowFlight
	// clone copies a value that is about to be modified in place (an
	// inner map, a list, a cell behind a pointer); nil when values are
	// only ever replaced whole.
	clone func(V) V
	// spare is the cleared overlay of the last snapshot, for reuse.
	spare map[K]cowSlot[V]
}

func newCowMap[K comparable, V any](clone func(V) V) cowMap[K, V] {
	return cowMap[K, V]{m: make(map[K]V), clone: clone}
}

// settled reports whether no snapshot is in flight, folding the overlay
// into the map when the encoder has finished.
func (c *cowMap[K, V]) settled() bool {
	return c.over == nil || c.fold()
}

// fold folds the overlay back into the map if the snapshot in flight is
// done, and reports whether it was.
func (c *cowMap[K, V]) fold() bool {
	if !c.flight.done.Load() {
		return false
	}
	for k, s := range c.over {
		if s.gone {
			delete(c.m, k)
		} else {
			c.m[k] = s.v
		}
	}
	clear(c.over)
	c.spare, c.over, c.flight = c.over, nil, nil
	return true
}

// get returns the value of k.
func (c *cowMap[K, V]) get(k K) (V, bool) {
	if c.over != nil {
		return c.getSlow(k)
	}
	v, ok := c.m[k]
	return v, ok
}

func (c *cowMap[K, V]) getSlow(k K) (V, bool) {
	if !c.fold() {
		if s, ok := c.over[k]; ok {
			return s.v, !s.gone
		}
	}
	v, ok := c.m[k]
	return v, ok
}

// mut returns the value of k for modifying in place: while a snapshot is
// in flight, a copy (clone) that the overlay holds, made at the first
// write of k.
func (c *cowMap[K, V]) mut(k K) (V, bool) {
	if c.over != nil {
		return c.mutSlow(k)
	}
	v, ok := c.m[k]
	return v, ok
}

func (c *cowMap[K, V]) mutSlow(k K) (V, bool) {
	if c.fold() {
		v, ok := c.m[k]
		return v, ok
	}
	if s, ok := c.over[k]; ok {
		return s.v, !s.gone
	}
	v, ok := c.m[k]
	if !ok {
		return v, false
	}
	if c.clone != nil {
		v = c.clone(v)
	}
	c.over[k] = cowSlot[V]{v: v}
	return v, true
}

// set sets the value of k.
func (c *cowMap[K, V]) set(k K, v V) {
	if c.settled() {
		c.m[k] = v
		return
	}
	c.over[k] = cowSlot[V]{v: v}
}

// del removes k.
func (c *cowMap[K, V]) del(k K) {
	if c.settled() {
		delete(c.m, k)
		return
	}
	if _, frozen := c.m[k]; frozen {
		c.over[k] = cowSlot[V]{gone: true}
	} else {
		delete(c.over, k)
	}
}

// each calls fn for the entries until it returns false. fn may modify the
// map through the other methods; the values it gets are read-only unless
// no snapshot is in flight. While one is, the frozen map's entries come
// first, in Go's random map order, so that incremental TTL sweeps reach
// them.
func (c *cowMap[K, V]) each(fn func(k K, v V) bool) {
	if c.settled() {
		for k, v := range c.m {
			if !fn(k, v) {
				return
			}
		}
		return
	}
	over := c.over
	for k, v := range c.m {
		if _, shadowed := over[k]; shadowed {
			continue
		}
		if !fn(k, v) {
			return
		}
	}
	for k, s := range over {
		if !s.gone && !fn(k, s.v) {
			return
		}
	}
}

// freeze starts a snapshot: it returns the map, which the subtask leaves
// alone until the snapshot's flight is finished, or false when the
// previous snapshot is still in flight.
func (c *cowMap[K, V]) freeze() (map[K]V, *cowFlight, bool) {
	if !c.settled() {
		return nil, nil, false
	}
	c.flight = &cowFlight{}
	c.over, c.spare = c.spare, nil
	if c.over == nil {
		c.over = make(map[K]cowSlot[V])
	}
	return c.m, c.flight, true
}

// cowSafe reports whether values of type t cannot change through memory
// they share with other values: booleans, numbers, strings, and arrays
// and structs of those. Pointers, slices, maps, interfaces, channels and
// functions can; so can unsafe pointers.
func cowSafe(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return cowSafe(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !cowSafe(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// EncodableConcurrently reports whether values of type t can be encoded on
// another goroutine while the subtask goes on changing its state: values
// that cannot change through memory they share (booleans, numbers,
// strings, and arrays and structs of those). Operators use it to decide
// what a snapshot may encode in its asynchronous part (DeferState).
func EncodableConcurrently(t reflect.Type) bool { return cowSafe(t) }

// cowSafeTypes reports whether every type is cowSafe.
func cowSafeTypes(ts ...reflect.Type) bool {
	for _, t := range ts {
		if !cowSafe(t) {
			return false
		}
	}
	return true
}

// asyncWriter reports whether w has an asynchronous part.
func asyncWriter(w StateWriter) bool {
	_, ok := w.(AsyncStateWriter)
	return ok
}
