package operators

import (
	"bytes"
	"cmp"
	"maps"
	"reflect"
	"slices"

	"github.com/stromhq/strom/codec"
)

// MapState is a keyed state that holds a map from user keys of type UK to
// values of type UV per key. Create it in the function's Open with
// NewMapState; its methods apply to the current key of the context they
// get. With a TTL, each user key expires on its own.
//
// On the Pebble backend the maps are in the operator's StateStore, one
// entry per key as in checkpoints, behind a write-back cache (sc) of
// decoded maps. On the heap the map of maps is copy-on-write (see
// state_cow.go; a key's map is copied at its first write while a snapshot
// is in flight), and snapshots encode a frozen map of maps on the
// persisting goroutine when the key types and UV are cowSafe (async).
type MapState[K comparable, UK comparable, UV any] struct {
	stateBase
	m     cowMap[K, map[UK]cell[UV]]
	async bool
	sc    *storeCache[K, map[UK]cell[UV]]
	kc    StateCodec[UK]
	klc   lazyCodec[UK]
	vc    StateCodec[UV]
	vlc   lazyCodec[UV]
	desc  keyOrder
	// scratch is the scratch space of the synchronous snapshot and of
	// the store's encoding.
	scratch mapScratch
}

// mapScratch is the scratch space of the encoding of maps: the encoded
// entries in buf, where each lies in spans.
type mapScratch struct {
	buf   []byte
	spans []mapSpan
}

// NewMapState creates the MapState name; it is called in the function's
// Open, like NewValueState.
func NewMapState[K comparable, UK comparable, UV any](ctx *TaskContext, name string, opts ...StateOption) (*MapState[K, UK, UV], error) {
	typ := typeName("MapState", reflect.TypeFor[K](), reflect.TypeFor[UK](), reflect.TypeFor[UV]())
	return register(ctx, name, kindMap, typ, opts,
		func(b stateBase, cfg *stateConfig) *MapState[K, UK, UV] {
			return &MapState[K, UK, UV]{
				stateBase: b, m: newCowMap[K](maps.Clone[map[UK]cell[UV]]),
				async: cowSafeTypes(reflect.TypeFor[K](), reflect.TypeFor[UK](), reflect.TypeFor[UV]()),
				kc:    stateCodec[UK](cfg), vc: stateCodec[UV](cfg), desc: keyOrderOf(reflect.TypeFor[UK]()),
			}
		})
}

// live returns the entry of uk in the map of k if it is live at now,
// removing it when it expired.
func (s *MapState[K, UK, UV]) live(k K, uk UK, now int64) (map[UK]cell[UV], cell[UV], bool) {
	inner := s.inner(k)
	c, ok := inner[uk]
	if !ok || !s.ttl.expired(c.stamp, now) {
		return inner, c, ok
	}
	inner = s.innerW(k)
	s.remove(k, inner, uk)
	return inner, cell[UV]{}, false
}

// remove deletes uk from inner, the map of k, and k when its map is empty.
func (s *MapState[K, UK, UV]) remove(k K, inner map[UK]cell[UV], uk UK) {
	delete(inner, uk)
	if len(inner) == 0 {
		s.drop(k)
	} else {
		s.changed(k, inner)
	}
}

// inner returns the map of k, nil if it has none.
func (s *MapState[K, UK, UV]) inner(k K) map[UK]cell[UV] {
	if s.sc != nil {
		inner, _ := s.sc.get(k)
		return inner
	}
	inner, _ := s.m.get(k)
	return inner
}

// innerW returns the map of k for modifying in place, nil if it has none:
// on the heap, a copy while a snapshot reads the map (copy on write).
func (s *MapState[K, UK, UV]) innerW(k K) map[UK]cell[UV] {
	if s.sc != nil {
		inner, _ := s.sc.get(k)
		return inner
	}
	inner, _ := s.m.mut(k)
	return inner
}

// changed records that inner, the map of k, was modified (on the heap the
// map of maps holds inner itself).
func (s *MapState[K, UK, UV]) changed(k K, inner map[UK]cell[UV]) {
	if s.sc != nil {
		s.sc.put(k, inner)
	}
}

// drop removes the map of k.
func (s *MapState[K, UK, UV]) drop(k K) {
	if s.sc != nil {
		s.sc.remove(k)
		return
	}
	s.m.del(k)
}

// Get returns the value of user key uk in the map of the current key of
// ctx, and whether it has one.
func (s *MapState[K, UK, UV]) Get(ctx KeyScope[K], uk UK) (UV, bool) {
	now := s.clock()
	k := ctx.Key()
	_, c, ok := s.live(k, uk, now)
	if ok && s.ttl.onRead {
		inner := s.innerW(k)
		c.stamp = now
		inner[uk] = c
		s.changed(k, inner)
	}
	return c.v, ok
}

// Contains reports whether the map of the current key of ctx has user key
// uk. It is a read: with an OnReadAndWrite TTL it renews the entry.
func (s *MapState[K, UK, UV]) Contains(ctx KeyScope[K], uk UK) bool {
	_, ok := s.Get(ctx, uk)
	return ok
}

// Put sets the value of user key uk in the map of the current key of ctx.
func (s *MapState[K, UK, UV]) Put(ctx KeyScope[K], uk UK, uv UV) {
	now := s.clock()
	k := ctx.Key()
	if s.sc != nil {
		if s.ttl.on() && s.storeSweepDue() {
			s.sc.sweep()
		}
		inner, _ := s.sc.get(k)
		if inner == nil {
			inner = make(map[UK]cell[UV])
		}
		inner[uk] = cell[UV]{v: uv, stamp: now}
		s.sc.put(k, inner)
		return
	}
	if s.ttl.on() && s.sweepDue() {
		s.sweep(now)
	}
	inner, _ := s.m.mut(k)
	if inner == nil {
		inner = make(map[UK]cell[UV])
		s.m.set(k, inner)
	}
	inner[uk] = cell[UV]{v: uv, stamp: now}
}

// Remove removes user key uk from the map of the current key of ctx.
func (s *MapState[K, UK, UV]) Remove(ctx KeyScope[K], uk UK) {
	k := ctx.Key()
	if inner := s.inner(k); inner != nil {
		if _, ok := inner[uk]; ok {
			s.remove(k, s.innerW(k), uk)
		}
	}
}

// Len returns the number of user keys in the map of the current key of
// ctx.
func (s *MapState[K, UK, UV]) Len(ctx KeyScope[K]) int {
	k := ctx.Key()
	inner := s.inner(k)
	if s.ttl.on() && inner != nil {
		inner, _ = s.purge(k, inner, s.now())
	}
	return len(inner)
}

// Clear removes the map of the current key of ctx.
func (s *MapState[K, UK, UV]) Clear(ctx KeyScope[K]) { s.drop(ctx.Key()) }

// Range calls fn for each entry of the map of the current key of ctx until
// fn returns false, in a deterministic order that does not depend on the
// order of the writes or on restores: by user key, in the natural order of
// its kind for integers, floats (NaNs first, in no fixed order among
// themselves), strings and booleans (false first), and in the order of the
// user keys' codec encodings for other types. fn sees the entries as they
// were when Range started and may modify the state. Range is a read: with
// an OnReadAndWrite TTL it renews every entry. It fails only when user
// keys of a type without a natural order have no codec either.
func (s *MapState[K, UK, UV]) Range(ctx KeyScope[K], fn func(uk UK, uv UV) bool) error {
	k := ctx.Key()
	inner := s.inner(k)
	if len(inner) == 0 {
		return nil
	}
	if s.ttl.on() {
		now := s.now()
		var left bool
		if inner, left = s.purge(k, inner, now); !left {
			return nil
		}
		if s.ttl.onRead {
			inner = s.innerW(k)
			for uk, c := range inner {
				c.stamp = now
				inner[uk] = c
			}
			s.changed(k, inner)
		}
	}
	es := make([]rangeEntry[UK, UV], 0, len(inner))
	for uk, c := range inner {
		es = append(es, rangeEntry[UK, UV]{uk: uk, uv: c.v})
	}
	if err := s.sortEntries(es); err != nil {
		return err
	}
	for _, e := range es {
		if !fn(e.uk, e.uv) {
			return nil
		}
	}
	return nil
}

// purge removes the expired entries of inner, the map of k, and k when
// none is left; it returns the map of k (a copy when inner was frozen)
// and reports whether any entry is left.
func (s *MapState[K, UK, UV]) purge(k K, inner map[UK]cell[UV], now int64) (map[UK]cell[UV], bool) {
	expired := 0
	for _, c := range inner {
		if s.ttl.expired(c.stamp, now) {
			expired++
		}
	}
	switch expired {
	case 0:
		return inner, len(inner) > 0
	case len(inner):
		s.drop(k)
		return nil, false
	}
	inner = s.innerW(k)
	for uk, c := range inner {
		if s.ttl.expired(c.stamp, now) {
			delete(inner, uk)
		}
	}
	s.changed(k, inner)
	return inner, true
}

// sweep removes the expired entries among a few (ttlSweep) entries of a
// few keys.
func (s *MapState[K, UK, UV]) sweep(now int64) {
	n := 0
	s.m.each(func(k K, inner map[UK]cell[UV]) bool {
		for uk, c := range inner {
			if s.ttl.expired(c.stamp, now) {
				s.remove(k, s.innerW(k), uk)
			}
			if n++; n == ttlSweep {
				return false
			}
		}
		return true
	})
}

// keyOrder is how Range orders the user keys of a type.
type keyOrder int

const (
	// orderEncoded orders by codec encoding.
	orderEncoded keyOrder = iota
	orderInt
	orderUint
	orderFloat
	orderString
)

// keyOrderOf returns the order of user keys of type t: the natural order
// of its kind, or that of the encodings.
func keyOrderOf(t reflect.Type) keyOrder {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return orderInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return orderUint
	case reflect.Float32, reflect.Float64:
		return orderFloat
	case reflect.String:
		return orderString
	}
	return orderEncoded
}

// rangeEntry is an entry that Range hands out, with its sort key.
type rangeEntry[UK comparable, UV any] struct {
	uk UK
	uv UV
	i  int64
	u  uint64
	f  float64
	s  string
}

// sortEntries sorts es by user key (see Range).
func (s *MapState[K, UK, UV]) sortEntries(es []rangeEntry[UK, UV]) error {
	if len(es) < 2 {
		return nil
	}
	if s.desc == orderEncoded {
		kc, err := s.klc.get(s.kc)
		if err != nil {
			return s.errorf("Range orders user keys of type %v by their encoding, but: %v", reflect.TypeFor[UK](), err)
		}
		var buf []byte
		for i := range es {
			buf = kc.Append(buf[:0], es[i].uk)
			es[i].s = string(buf)
		}
	} else {
		for i := range es {
			v := reflect.ValueOf(&es[i].uk).Elem()
			switch s.desc {
			case orderInt:
				if v.Kind() == reflect.Bool {
					if v.Bool() {
						es[i].i = 1
					}
				} else {
					es[i].i = v.Int()
				}
			case orderUint:
				es[i].u = v.Uint()
			case orderFloat:
				es[i].f = v.Float()
			case orderString:
				es[i].s = v.String()
			}
		}
	}
	slices.SortFunc(es, func(a, b rangeEntry[UK, UV]) int {
		switch s.desc {
		case orderInt:
			return cmp.Compare(a.i, b.i)
		case orderUint:
			return cmp.Compare(a.u, b.u)
		case orderFloat:
			return cmp.Compare(a.f, b.f)
		}
		return cmp.Compare(a.s, b.s)
	})
	return nil
}

// mapSpan is where one map entry's encoding lies in the snapshot's
// scratch buffer: the user key in [start, mid), the entry in [start, end).
type mapSpan struct{ start, mid, end int }

// snapshot implements userState: each key's map is one entry,
//
//	'u' name key → kind, count (uvarint), then per user key: user key,
//	value (the state's codecs), [stamp (varint)]
//
// with the user keys in the order of their encodings, so that equal maps
// give equal bytes. When the types are cowSafe and the writer has an
// asynchronous part, the map of maps is frozen and encoded there; else it
// is encoded at once.
func (s *MapState[K, UK, UV]) snapshot(ss *stateSnapshot[K]) error {
	kc, vc, err := s.codecs()
	if err != nil {
		return err
	}
	if s.async && asyncWriter(ss.w) {
		if frozen, flight, ok := s.m.freeze(); ok {
			as := ss.fork()
			return DeferState(ss.w, func(w StateWriter) error {
				defer flight.finish()
				as.w = w
				var scratch mapScratch
				for k, inner := range frozen {
					var live bool
					if as.val, live = s.appendMap(as.val[:0], &scratch, kc, vc, inner, as.now); live {
						as.put(&s.stateBase, k)
					}
				}
				return nil
			})
		}
	}
	s.m.each(func(k K, inner map[UK]cell[UV]) bool {
		if s.ttl.on() {
			var left bool
			if inner, left = s.purge(k, inner, ss.now); !left {
				return true
			}
		}
		var live bool
		if ss.val, live = s.appendMap(ss.val[:0], &s.scratch, kc, vc, inner, ss.now); !live {
			s.m.del(k)
			return true
		}
		ss.put(&s.stateBase, k)
		return true
	})
	return nil
}

// appendMap appends the entry value of inner (see snapshot), leaving out
// the entries expired at now, and reports whether any entry is live.
// sc is the scratch space to use.
func (s *MapState[K, UK, UV]) appendMap(dst []byte, sc *mapScratch, kc codec.Codec[UK], vc codec.Codec[UV], inner map[UK]cell[UV], now int64) ([]byte, bool) {
	sc.buf, sc.spans = sc.buf[:0], sc.spans[:0]
	for uk, c := range inner {
		if s.ttl.expired(c.stamp, now) {
			continue
		}
		start := len(sc.buf)
		sc.buf = kc.Append(sc.buf, uk)
		mid := len(sc.buf)
		sc.buf = vc.Append(sc.buf, c.v)
		if s.ttl.on() {
			sc.buf = AppendVarint(sc.buf, c.stamp)
		}
		sc.spans = append(sc.spans, mapSpan{start, mid, len(sc.buf)})
	}
	if len(sc.spans) == 0 {
		return dst, false
	}
	buf := sc.buf
	slices.SortFunc(sc.spans, func(a, b mapSpan) int {
		return bytes.Compare(buf[a.start:a.mid], buf[b.start:b.mid])
	})
	dst = append(dst, s.kindByte())
	dst = AppendUvarint(dst, uint64(len(sc.spans)))
	for _, sp := range sc.spans {
		dst = append(dst, buf[sp.start:sp.end]...)
	}
	return dst, true
}

// codecs returns the codecs of the user keys and values.
func (s *MapState[K, UK, UV]) codecs() (codec.Codec[UK], codec.Codec[UV], error) {
	kc, err := s.klc.get(s.kc)
	if err != nil {
		return nil, nil, err
	}
	vc, err := s.vlc.get(s.vc)
	return kc, vc, err
}

// decodeMap reads the value of an entry after its kind byte, leaving out
// the entries expired at now. User keys must come in strictly increasing
// order of their encodings, as snapshot writes them.
func (s *MapState[K, UK, UV]) decodeMap(d *StateDecoder, kc codec.Codec[UK], vc codec.Codec[UV], stamped bool, now int64) map[UK]cell[UV] {
	n := d.Uvarint()
	switch {
	case d.err != nil:
		return nil
	case n == 0:
		d.fail(CorruptState("empty map"))
		return nil
	case n > 1 && n > uint64(len(d.b)):
		d.fail(CorruptState("count %d exceeds the %d bytes left", n, len(d.b)))
		return nil
	}
	inner := make(map[UK]cell[UV], n)
	var prev []byte
	for i := range n {
		before := d.b
		uk := Decode(d, kc)
		if d.err != nil {
			return nil
		}
		ukb := before[:len(before)-len(d.b)]
		if i > 0 && bytes.Compare(prev, ukb) >= 0 {
			d.fail(CorruptState("user key %v out of order", uk))
			return nil
		}
		prev = ukb
		uv := Decode(d, vc)
		stamp := s.ttl.stamp(d, stamped, now)
		if d.err != nil {
			return nil
		}
		if !s.ttl.on() {
			stamp = 0
		} else if s.ttl.expired(stamp, now) {
			continue
		}
		inner[uk] = cell[UV]{v: uv, stamp: stamp}
	}
	return inner
}

// attach implements userState.
func (s *MapState[K, UK, UV]) attach(store *StateStore, keys *StateKeys[K], fail *error) error {
	kc, vc, err := s.codecs()
	if err != nil {
		return err
	}
	s.sc = newStoreCache(store, keys, s.prefix[0], s.prefix[1:], s.storeWhat(), fail,
		func(dst []byte, inner map[UK]cell[UV], now int64) ([]byte, bool) {
			return s.appendMap(dst, &s.scratch, kc, vc, inner, now)
		},
		func(v []byte, now int64) (map[UK]cell[UV], bool, error) {
			d := NewStateDecoder(v)
			stamped, err := s.readKind(&d)
			if err != nil {
				return nil, false, err
			}
			inner := s.decodeMap(&d, kc, vc, stamped, now)
			return inner, len(inner) > 0, d.End()
		}, s.clock)
	return nil
}

// flush implements userState.
func (s *MapState[K, UK, UV]) flush() error {
	if s.sc == nil {
		return nil
	}
	return s.sc.flush()
}

// restore implements userState. User keys must come in strictly
// increasing order of their encodings, as snapshot writes them.
func (s *MapState[K, UK, UV]) restore(k K, stamped bool, d *StateDecoder, now int64) error {
	kc, err := s.klc.get(s.kc)
	if err != nil {
		return err
	}
	vc, err := s.vlc.get(s.vc)
	if err != nil {
		return err
	}
	inner := s.decodeMap(d, kc, vc, stamped, now)
	if d.err != nil {
		return d.err
	}
	if s.sc != nil {
		return s.sc.restored(k, inner, len(inner) > 0)
	}
	if _, dup := s.m.get(k); dup {
		return CorruptState("key %v restored twice", k)
	}
	if len(inner) > 0 {
		s.m.set(k, inner)
	}
	return nil
}
