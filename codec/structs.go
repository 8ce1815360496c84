package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file compiles composite types (structs, arrays, slices, maps, pointers
// and named basic types) into a tree of typeCodec nodes. The type is inspected
// with reflect once, at construction; encoding and decoding then walk the tree
// over raw memory with unsafe offsets, switching on a small opcode per node.

// maxDepth bounds how many pointers, slices and maps a decoder descends
// through, so recursive types cannot exhaust the stack on hostile input.
const maxDepth = 10000

// op selects how a typeCodec node encodes its value.
type op uint8

const (
	opZero op = iota // zero-size value: no bytes
	opBool
	opInt8
	opInt16
	opInt32
	opInt64
	opUint8
	opUint16
	opUint32
	opUint64
	opFloat32
	opFloat64
	opComplex64
	opComplex128
	opString
	opBytes
	opTime
	opProto     // pointer to a proto.Message: nil marker, then Proto encoding
	opStruct    // fields in order
	opArray     // n elements
	opByteArray // n raw bytes
	opSlice     // uvarint count, then elements
	opPointer   // nil marker, then the element
	opMap       // uvarint count, then sorted key/value pairs
)

// typeCodec is the compiled form of one Go type. Nodes are immutable once
// construction finishes, apart from the pool of map scratch space.
type typeCodec struct {
	op     op
	typ    reflect.Type
	size   uintptr
	minLen int          // fewest bytes any value's encoding takes
	fields []fieldCodec // opStruct: flattened, zero-size fields dropped
	elem   *typeCodec   // opArray, opSlice, opPointer: element; opMap: value
	key    *typeCodec   // opMap
	n      int          // opArray, opByteArray: length
	msg    protoreflect.MessageType
	temps  sync.Pool // opMap: *mapTemps

	noPtrs bool // values contain no pointers for the garbage collector

	minDone, flat bool // construction progress
}

// fieldCodec is one struct field: its offset in the struct and its codec.
type fieldCodec struct {
	off uintptr
	c   *typeCodec
}

// sliceHeader is the memory layout of every Go slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// reflectCodec is the Codec for types compiled into a typeCodec tree.
type reflectCodec[T any] struct {
	c *typeCodec
}

// Append implements Codec.
func (r reflectCodec[T]) Append(dst []byte, v T) []byte {
	return r.c.enc(dst, unsafe.Pointer(&v))
}

// Decode implements Codec.
func (r reflectCodec[T]) Decode(src []byte) (v T, n int, err error) {
	n, err = r.c.dec(src, unsafe.Pointer(&v), 0)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	return v, n, nil
}

func (r reflectCodec[T]) minEncodedLen() int { return r.c.minLen }

func (r reflectCodec[T]) appendBatch(dst []byte, vs []T) []byte {
	dst = slices.Grow(dst, len(vs)*r.c.minLen)
	for i := range vs {
		dst = r.c.enc(dst, unsafe.Pointer(&vs[i]))
	}
	return dst
}

func (r reflectCodec[T]) decodeBatch(src []byte, vs []T, n int) ([]T, int, error) {
	orig := len(vs)
	vs = slices.Grow(vs, n)[:orig+n]
	if r.c.op == opZero {
		return vs, 0, nil
	}
	// Decoders overwrite every field but blank ones; zero the slots so no stale
	// data from reused capacity survives there either.
	clear(vs[orig:])
	off := 0
	for i := range n {
		k, err := r.c.dec(src[off:], unsafe.Pointer(&vs[orig+i]), 0)
		if err != nil {
			return vs, 0, batchValueErr(i, n, err)
		}
		off += k
	}
	return vs, off, nil
}

// typeCache holds the compiled codec of every type For has compiled.
var typeCache sync.Map // reflect.Type → *typeCodec

// newReflectCodec compiles T, or reports why it cannot be encoded.
func newReflectCodec[T any]() (Codec[T], error) {
	c, err := compile(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	return reflectCodec[T]{c: c}, nil
}

// compile returns the codec tree for t, from the cache if possible.
func compile(t reflect.Type) (*typeCodec, error) {
	if c, ok := typeCache.Load(t); ok {
		return c.(*typeCodec), nil
	}
	b := builder{root: t, memo: make(map[reflect.Type]*typeCodec)}
	c, err := b.build(t, "")
	if err != nil {
		return nil, err
	}
	for _, n := range b.all {
		n.computeMinLen()
	}
	for _, n := range b.all {
		n.flatten()
	}
	for _, n := range b.all {
		if n.size == 0 {
			// Zero-size structs and arrays have nothing to encode.
			n.op, n.fields, n.elem = opZero, nil, nil
		}
	}
	actual, _ := typeCache.LoadOrStore(t, c)
	return actual.(*typeCodec), nil
}

var timeType = reflect.TypeFor[time.Time]()

// builder compiles one root type. memo makes recursive types finite: a type
// met again while it is still being built refers to its unfinished node.
type builder struct {
	root reflect.Type
	memo map[reflect.Type]*typeCodec
	all  []*typeCodec
}

// unsupported reports that t, found at path inside the root type, cannot be
// encoded.
func (b *builder) unsupported(t reflect.Type, path, reason string) error {
	if t == b.root {
		return fmt.Errorf("codec: unsupported type %v: %s", t, reason)
	}
	if path == "" {
		// Pointers keep the path: this is what the root points to.
		path = "value"
	}
	return fmt.Errorf("codec: unsupported type %v: %s has type %v: %s", b.root, path, t, reason)
}

func (b *builder) build(t reflect.Type, path string) (*typeCodec, error) {
	if c, ok := b.memo[t]; ok {
		return c, nil
	}
	c := &typeCodec{typ: t, size: t.Size(), noPtrs: !typeHasPointers(t)}
	b.memo[t] = c
	b.all = append(b.all, c)
	if err := b.fill(c, t, path); err != nil {
		return nil, err
	}
	return c, nil
}

// fill sets c's opcode and children for type t.
func (b *builder) fill(c *typeCodec, t reflect.Type, path string) error {
	if t.Kind() == reflect.Pointer && t.Implements(protoMessageType) {
		mt, err := messageTypeOf(t)
		if err != nil {
			return b.unsupported(t, path, err.Error())
		}
		c.op, c.msg = opProto, mt
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		c.op = opBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.op = [...]op{1: opInt8, 2: opInt16, 4: opInt32, 8: opInt64}[t.Size()]
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		c.op = [...]op{1: opUint8, 2: opUint16, 4: opUint32, 8: opUint64}[t.Size()]
	case reflect.Float32:
		c.op = opFloat32
	case reflect.Float64:
		c.op = opFloat64
	case reflect.Complex64:
		c.op = opComplex64
	case reflect.Complex128:
		c.op = opComplex128
	case reflect.String:
		c.op = opString
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			c.op = opBytes
			return nil
		}
		elem, err := b.build(t.Elem(), path+"[]")
		if err != nil {
			return err
		}
		c.op, c.elem = opSlice, elem
	case reflect.Array:
		c.n = t.Len()
		if t.Elem().Kind() == reflect.Uint8 {
			c.op = opByteArray
			return nil
		}
		elem, err := b.build(t.Elem(), path+"[]")
		if err != nil {
			return err
		}
		c.op, c.elem = opArray, elem
	case reflect.Pointer:
		elem, err := b.build(t.Elem(), path)
		if err != nil {
			return err
		}
		c.op, c.elem = opPointer, elem
	case reflect.Map:
		if hasPointers(t.Key()) {
			return b.unsupported(t, path, "map keys holding pointers compare by address, which does not survive encoding")
		}
		key, err := b.build(t.Key(), path+"[key]")
		if err != nil {
			return err
		}
		val, err := b.build(t.Elem(), path+"[value]")
		if err != nil {
			return err
		}
		c.op, c.key, c.elem = opMap, key, val
	case reflect.Struct:
		return b.fillStruct(c, t, path)
	case reflect.Chan:
		return b.unsupported(t, path, "channels cannot be encoded")
	case reflect.Func:
		return b.unsupported(t, path, "functions cannot be encoded")
	case reflect.Interface:
		return b.unsupported(t, path, "interface values have no static type to encode")
	case reflect.UnsafePointer:
		return b.unsupported(t, path, "unsafe pointers cannot be encoded")
	case reflect.Uintptr:
		return b.unsupported(t, path, "uintptr holds a process-local address")
	default:
		return b.unsupported(t, path, "kind "+t.Kind().String()+" cannot be encoded")
	}
	return nil
}

// fillStruct compiles a struct type field by field.
func (b *builder) fillStruct(c *typeCodec, t reflect.Type, path string) error {
	switch {
	case t.ConvertibleTo(timeType):
		c.op = opTime
		return nil
	case reflect.PointerTo(t).Implements(protoMessageType):
		return b.unsupported(t, path, "protobuf messages must be held by pointer")
	case t.PkgPath() == "sync":
		return b.unsupported(t, path, "sync types hold runtime state")
	case t.PkgPath() == "unique":
		return b.unsupported(t, path, "unique handles are process-local")
	}
	c.op = opStruct
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "_" {
			continue
		}
		fc, err := b.build(f.Type, path+"."+f.Name)
		if err != nil {
			return err
		}
		c.fields = append(c.fields, fieldCodec{off: f.Offset, c: fc})
	}
	return nil
}

// hasPointers reports whether a map key of type t compares anything by address.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Chan, reflect.Interface:
		return true
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		if t.ConvertibleTo(timeType) {
			return false
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.Name != "_" && hasPointers(f.Type) {
				return true
			}
		}
	}
	return false
}

// computeMinLen sets c.minLen. Recursion only passes through pointers, slices
// and maps, whose minimum does not depend on their element, so it terminates.
func (c *typeCodec) computeMinLen() int {
	if c.minDone {
		return c.minLen
	}
	switch c.op {
	case opFloat32:
		c.minLen = 4
	case opFloat64, opComplex64:
		c.minLen = 8
	case opComplex128:
		c.minLen = 16
	case opTime:
		c.minLen = 3
	case opByteArray:
		c.minLen = c.n
	case opArray:
		c.minLen = c.n * c.elem.computeMinLen()
	case opStruct:
		c.minLen = 0
		for _, f := range c.fields {
			c.minLen += f.c.computeMinLen()
		}
	case opZero:
		c.minLen = 0
	default:
		c.minLen = 1
	}
	c.minDone = true
	return c.minLen
}

// flatten inlines the fields of nested structs into c's field list and drops
// zero-size fields, so encoding a struct is one flat loop.
func (c *typeCodec) flatten() {
	if c.op != opStruct || c.flat {
		return
	}
	c.flat = true
	var fields []fieldCodec
	for _, f := range c.fields {
		switch {
		case f.c.size == 0:
		case f.c.op == opStruct:
			f.c.flatten()
			for _, g := range f.c.fields {
				fields = append(fields, fieldCodec{off: f.off + g.off, c: g.c})
			}
		default:
			fields = append(fields, f)
		}
	}
	c.fields = fields
}

// enc appends the encoding of the value at p. The hot cases (structs and
// scalars) stay in this small function; the rest live in encOther so that
// enc's stack frame stays small for the per-field recursion.
func (c *typeCodec) enc(dst []byte, p unsafe.Pointer) []byte {
	switch c.op {
	case opStruct:
		for i := range c.fields {
			f := &c.fields[i]
			fp := unsafe.Add(p, f.off)
			// Inline the commonest field types; the rest recurse.
			switch f.c.op {
			case opInt64:
				dst = appendVarint(dst, *(*int64)(fp))
			case opString:
				dst = appendString(dst, *(*string)(fp))
			case opFloat64:
				dst = appendFloat64(dst, *(*float64)(fp))
			default:
				dst = f.c.enc(dst, fp)
			}
		}
		return dst
	case opInt8, opInt16, opInt32, opInt64, opUint8, opUint16, opUint32, opUint64:
		return appendUvarint(dst, loadUvarint(c.op, p))
	case opString:
		return appendString(dst, *(*string)(p))
	case opFloat64:
		return appendFloat64(dst, *(*float64)(p))
	case opBool:
		return appendBool(dst, *(*bool)(p))
	}
	return c.encOther(dst, p)
}

// loadUvarint loads the integer at p and maps it to the uvarint that encodes
// it: zigzag for signed types, as is for unsigned ones.
func loadUvarint(o op, p unsafe.Pointer) uint64 {
	var x int64
	switch o {
	case opInt8:
		x = int64(*(*int8)(p))
	case opInt16:
		x = int64(*(*int16)(p))
	case opInt32:
		x = int64(*(*int32)(p))
	case opInt64:
		x = *(*int64)(p)
	case opUint8:
		return uint64(*(*uint8)(p))
	case opUint16:
		return uint64(*(*uint16)(p))
	case opUint32:
		return uint64(*(*uint32)(p))
	default:
		return *(*uint64)(p)
	}
	return uint64(x<<1) ^ uint64(x>>63)
}

// encOther appends the encoding of the value at p for the less common ops.
func (c *typeCodec) encOther(dst []byte, p unsafe.Pointer) []byte {
	switch c.op {
	case opZero:
		return dst
	case opFloat32:
		return appendFloat32(dst, *(*float32)(p))
	case opComplex64:
		v := *(*complex64)(p)
		return appendFloat32(appendFloat32(dst, real(v)), imag(v))
	case opComplex128:
		v := *(*complex128)(p)
		return appendFloat64(appendFloat64(dst, real(v)), imag(v))
	case opBytes:
		return appendBytes(dst, *(*[]byte)(p))
	case opTime:
		return appendTime(dst, *(*time.Time)(p))
	case opProto:
		m := *(*unsafe.Pointer)(p)
		if m == nil {
			return append(dst, 0)
		}
		msg := reflect.NewAt(c.typ.Elem(), m).Interface().(proto.Message)
		return appendProto(append(dst, 1), msg)
	case opArray:
		for i := range c.n {
			dst = c.elem.enc(dst, unsafe.Add(p, uintptr(i)*c.elem.size))
		}
		return dst
	case opByteArray:
		return append(dst, unsafe.Slice((*byte)(p), c.n)...)
	case opSlice:
		s := (*sliceHeader)(p)
		dst = appendUvarint(dst, uint64(s.len))
		if c.elem.op == opZero {
			return dst
		}
		for i := range s.len {
			dst = c.elem.enc(dst, unsafe.Add(s.data, uintptr(i)*c.elem.size))
		}
		return dst
	case opPointer:
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return append(dst, 0)
		}
		return c.elem.enc(append(dst, 1), q)
	case opMap:
		return c.encMap(dst, p)
	}
	panic("codec: unknown op")
}

// dec decodes one value from the front of src into the memory at p, which it
// overwrites entirely (blank struct fields excepted), and returns the bytes
// consumed. depth counts the pointers, slices and maps already descended. As
// with enc, the hot cases stay here and the rest live in decOther.
func (c *typeCodec) dec(src []byte, p unsafe.Pointer, depth int) (int, error) {
	if c.op != opStruct {
		return c.decOther(src, p, depth)
	}
	off := 0
	for i := range c.fields {
		f := &c.fields[i]
		fp := unsafe.Add(p, f.off)
		// Inline the commonest field types; the rest recurse.
		switch f.c.op {
		case opInt64:
			if off < len(src) && src[off] < 0x80 {
				u := uint64(src[off])
				*(*int64)(fp) = int64(u>>1) ^ -int64(u&1)
				off++
				continue
			}
			u, n := uvarint(src[off:])
			if n <= 0 {
				return 0, uvarintErr(n)
			}
			*(*int64)(fp) = int64(u>>1) ^ -int64(u&1)
			off += n
		case opString:
			s, n, err := readString(src[off:])
			if err != nil {
				return 0, err
			}
			*(*string)(fp) = s
			off += n
		case opFloat64:
			if len(src)-off < 8 {
				return 0, errTruncated
			}
			*(*float64)(fp) = math.Float64frombits(binary.LittleEndian.Uint64(src[off:]))
			off += 8
		default:
			n, err := f.c.dec(src[off:], fp, depth)
			if err != nil {
				return 0, err
			}
			off += n
		}
	}
	return off, nil
}

// decOther decodes the less common ops for dec.
func (c *typeCodec) decOther(src []byte, p unsafe.Pointer, depth int) (int, error) {
	switch c.op {
	case opZero:
		return 0, nil
	case opBool:
		v, n, err := readBool(src)
		*(*bool)(p) = v
		return n, err
	case opInt8:
		x, n, err := readVarint(src)
		if err == nil && x != int64(int8(x)) {
			err = errIntRange
		}
		*(*int8)(p) = int8(x)
		return n, err
	case opInt16:
		x, n, err := readVarint(src)
		if err == nil && x != int64(int16(x)) {
			err = errIntRange
		}
		*(*int16)(p) = int16(x)
		return n, err
	case opInt32:
		x, n, err := readVarint(src)
		if err == nil && x != int64(int32(x)) {
			err = errIntRange
		}
		*(*int32)(p) = int32(x)
		return n, err
	case opInt64:
		x, n, err := readVarint(src)
		*(*int64)(p) = x
		return n, err
	case opUint8:
		x, n, err := readUvarint(src)
		if err == nil && x > math.MaxUint8 {
			err = errIntRange
		}
		*(*uint8)(p) = uint8(x)
		return n, err
	case opUint16:
		x, n, err := readUvarint(src)
		if err == nil && x > math.MaxUint16 {
			err = errIntRange
		}
		*(*uint16)(p) = uint16(x)
		return n, err
	case opUint32:
		x, n, err := readUvarint(src)
		if err == nil && x > math.MaxUint32 {
			err = errIntRange
		}
		*(*uint32)(p) = uint32(x)
		return n, err
	case opUint64:
		x, n, err := readUvarint(src)
		*(*uint64)(p) = x
		return n, err
	case opFloat32:
		v, n, err := readFloat32(src)
		*(*float32)(p) = v
		return n, err
	case opFloat64:
		v, n, err := readFloat64(src)
		*(*float64)(p) = v
		return n, err
	case opComplex64:
		if len(src) < 8 {
			return 0, errTruncated
		}
		re, _, _ := readFloat32(src)
		im, _, _ := readFloat32(src[4:])
		*(*complex64)(p) = complex(re, im)
		return 8, nil
	case opComplex128:
		if len(src) < 16 {
			return 0, errTruncated
		}
		re, _, _ := readFloat64(src)
		im, _, _ := readFloat64(src[8:])
		*(*complex128)(p) = complex(re, im)
		return 16, nil
	case opString:
		s, n, err := readString(src)
		*(*string)(p) = s
		return n, err
	case opBytes:
		b, n, err := readBytes(src)
		*(*[]byte)(p) = b
		return n, err
	case opTime:
		t, n, err := readTime(src)
		*(*time.Time)(p) = t
		return n, err
	case opProto:
		return c.decProto(src, p)
	case opArray:
		off := 0
		for i := range c.n {
			n, err := c.elem.dec(src[off:], unsafe.Add(p, uintptr(i)*c.elem.size), depth)
			if err != nil {
				return 0, err
			}
			off += n
		}
		return off, nil
	case opByteArray:
		if len(src) < c.n {
			return 0, errTruncated
		}
		copy(unsafe.Slice((*byte)(p), c.n), src)
		return c.n, nil
	case opSlice:
		return c.decSlice(src, p, depth+1)
	case opPointer:
		present, err := readMarker(src)
		if err != nil {
			return 0, err
		}
		if !present {
			*(*unsafe.Pointer)(p) = nil
			return 1, nil
		}
		if depth+1 > maxDepth {
			return 0, errDepth
		}
		q := reflect.New(c.elem.typ).UnsafePointer()
		n, err := c.elem.dec(src[1:], q, depth+1)
		if err != nil {
			return 0, err
		}
		*(*unsafe.Pointer)(p) = q
		return 1 + n, nil
	case opMap:
		return c.decMap(src, p, depth+1)
	}
	panic("codec: unknown op")
}

// decProto decodes a nil marker and, if present, a length-prefixed message.
func (c *typeCodec) decProto(src []byte, p unsafe.Pointer) (int, error) {
	present, err := readMarker(src)
	if err != nil {
		return 0, err
	}
	if !present {
		*(*unsafe.Pointer)(p) = nil
		return 1, nil
	}
	m := c.msg.New().Interface()
	n, err := readProto(src[1:], m)
	if err != nil {
		return 0, err
	}
	*(*unsafe.Pointer)(p) = reflect.ValueOf(m).UnsafePointer()
	return 1 + n, nil
}

// decSlice decodes a counted run of elements into a newly allocated slice.
func (c *typeCodec) decSlice(src []byte, p unsafe.Pointer, depth int) (int, error) {
	count, off, err := readUvarint(src)
	if err != nil {
		return 0, err
	}
	if depth > maxDepth {
		return 0, errDepth
	}
	s := (*sliceHeader)(p)
	if count == 0 {
		*s = sliceHeader{}
		return off, nil
	}
	e := c.elem
	if count > countLimit(len(src)-off, e.minLen, e.size) {
		return 0, errCountExceedsLen
	}
	n := int(count)
	data := c.makeSlice(n)
	if e.op != opZero {
		for i := range n {
			k, err := e.dec(src[off:], unsafe.Add(data, uintptr(i)*e.size), depth)
			if err != nil {
				return 0, err
			}
			off += k
		}
	}
	*s = sliceHeader{data: data, len: n, cap: n}
	return off, nil
}

// makeSlice allocates zeroed backing memory for n elements of c's slice type.
func (c *typeCodec) makeSlice(n int) unsafe.Pointer {
	switch c.elem.op {
	case opString:
		return unsafe.Pointer(unsafe.SliceData(make([]string, n)))
	case opBytes:
		return unsafe.Pointer(unsafe.SliceData(make([][]byte, n)))
	}
	if c.elem.size > 0 && c.elem.noPtrs {
		// Pointer-free elements: any 8-byte aligned, pointer-free memory of
		// the right size will do, and plain make avoids reflect's overhead.
		words := (uintptr(n)*c.elem.size + 7) / 8
		return unsafe.Pointer(unsafe.SliceData(make([]uint64, words)))
	}
	return reflect.MakeSlice(c.typ, n, n).UnsafePointer()
}

// typeHasPointers reports whether values of t contain any pointer the garbage
// collector must see.
func typeHasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && typeHasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if typeHasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
