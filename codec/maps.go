package codec

import (
	"bytes"
	"reflect"
	"slices"
	"unsafe"
)

// Maps are encoded as a uvarint count followed by key/value pairs sorted by the
// key's encoded bytes, ties broken by the value's encoded bytes (ties happen
// only for keys that are not equal to themselves, such as NaN). Decoding checks
// that order and rejects repeated keys, so every map has exactly one encoding.

// mapTemps is per-call scratch space for one map type, pooled in its typeCodec.
type mapTemps struct {
	m        reflect.Value  // settable map variable, pointed to by mp
	mp       unsafe.Pointer // address of the map variable
	key, val reflect.Value  // settable key and value variables
	kp, vp   unsafe.Pointer // their addresses
	iter     reflect.MapIter
	buf      []byte     // encoded entries, in iteration order
	ents     []mapEntry // where each entry lies in buf
}

// mapEntry locates one encoded entry in mapTemps.buf: key in [start, mid),
// value in [mid, end).
type mapEntry struct {
	start, mid, end int
}

// maxPooledBuf keeps one huge map from pinning its scratch buffer forever.
const maxPooledBuf = 64 << 10

func (c *typeCodec) getTemps() *mapTemps {
	if t, ok := c.temps.Get().(*mapTemps); ok {
		return t
	}
	m := reflect.New(c.typ)
	k := reflect.New(c.key.typ)
	v := reflect.New(c.elem.typ)
	return &mapTemps{
		m: m.Elem(), mp: m.UnsafePointer(),
		key: k.Elem(), kp: k.UnsafePointer(),
		val: v.Elem(), vp: v.UnsafePointer(),
	}
}

func (c *typeCodec) putTemps(t *mapTemps) {
	// Drop every reference to user data before pooling.
	t.iter.Reset(reflect.Value{})
	*(*unsafe.Pointer)(t.mp) = nil
	t.key.SetZero()
	t.val.SetZero()
	t.ents = t.ents[:0]
	if cap(t.buf) > maxPooledBuf {
		t.buf = nil
	}
	t.buf = t.buf[:0]
	c.temps.Put(t)
}

// encMap appends the canonical encoding of the map at p.
func (c *typeCodec) encMap(dst []byte, p unsafe.Pointer) []byte {
	m := *(*unsafe.Pointer)(p)
	if m == nil {
		return append(dst, 0)
	}
	t := c.getTemps()
	defer c.putTemps(t)
	*(*unsafe.Pointer)(t.mp) = m
	if t.m.Len() == 0 {
		return append(dst, 0)
	}
	t.iter.Reset(t.m)
	for t.iter.Next() {
		t.key.SetIterKey(&t.iter)
		t.val.SetIterValue(&t.iter)
		start := len(t.buf)
		t.buf = c.key.enc(t.buf, t.kp)
		mid := len(t.buf)
		t.buf = c.elem.enc(t.buf, t.vp)
		t.ents = append(t.ents, mapEntry{start: start, mid: mid, end: len(t.buf)})
	}
	buf := t.buf
	if len(t.ents) > 1 {
		slices.SortFunc(t.ents, func(a, b mapEntry) int {
			if c := bytes.Compare(buf[a.start:a.mid], buf[b.start:b.mid]); c != 0 {
				return c
			}
			return bytes.Compare(buf[a.mid:a.end], buf[b.mid:b.end])
		})
	}
	// Count what was iterated rather than Len, so the count always matches.
	dst = appendUvarint(dst, uint64(len(t.ents)))
	dst = slices.Grow(dst, len(buf))
	for _, e := range t.ents {
		dst = append(dst, buf[e.start:e.end]...)
	}
	return dst
}

// decMap decodes a map into a new map stored at p.
func (c *typeCodec) decMap(src []byte, p unsafe.Pointer, depth int) (int, error) {
	count, off, err := readUvarint(src)
	if err != nil {
		return 0, err
	}
	if depth > maxDepth {
		return 0, errDepth
	}
	if count == 0 {
		*(*unsafe.Pointer)(p) = nil
		return off, nil
	}
	rest := len(src) - off
	if entMin := c.key.minLen + c.elem.minLen; entMin > 0 {
		if count > uint64(rest/entMin) {
			return 0, errCountExceedsLen
		}
	} else if count > 1 {
		// Zero-size keys are all equal: a valid map holds at most one.
		return 0, errMapDuplicate
	}
	n := int(count)
	m := reflect.MakeMapWithSize(c.typ, n)
	t := c.getTemps()
	defer c.putTemps(t)
	var prevKey, prevVal []byte
	for i := range n {
		ks := off
		k, err := c.key.dec(src[off:], t.kp, depth)
		if err != nil {
			return 0, err
		}
		off += k
		vs := off
		k, err = c.elem.dec(src[off:], t.vp, depth)
		if err != nil {
			return 0, err
		}
		off += k
		key, val := src[ks:vs], src[vs:off]
		if i > 0 {
			switch bytes.Compare(prevKey, key) {
			case 1:
				return 0, errMapOrder
			case 0:
				if bytes.Compare(prevVal, val) > 0 {
					return 0, errMapOrder
				}
			}
		}
		prevKey, prevVal = key, val
		m.SetMapIndex(t.key, t.val)
		if m.Len() != i+1 {
			return 0, errMapDuplicate
		}
	}
	*(*unsafe.Pointer)(p) = m.UnsafePointer()
	return off, nil
}
