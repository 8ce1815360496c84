// Package codec turns values into bytes and back. Strom uses it to move record
// batches across process boundaries and to write state snapshots, so every
// encoding here is deterministic (equal values give equal bytes, map entries
// are sorted) and stable: the wire format below is a compatibility promise of
// this package and does not depend on the process, platform or Go version.
//
// For picks a codec for a type: protobuf for proto.Message types, a dedicated
// codec for basic types, and a codec compiled once from the type's layout for
// structs, arrays, slices, maps and pointers built from those. Typed building
// blocks such as Int64, String or Proto can be used directly.
//
// # Wire format
//
// Varints are little-endian base-128 as in encoding/binary and must be
// minimal; signed integers are zigzag-mapped first (0, -1, 1, -2 → 0, 1, 2, 3).
//
//	bool              1 byte: 0x00 false, 0x01 true
//	int, int8…int64   zigzag varint (time.Duration too: nanoseconds)
//	uint, uint8…64    uvarint (but []byte and [N]byte carry raw bytes)
//	float32, float64  4 or 8 bytes of IEEE-754 bits, little endian
//	complex64/128     real part, then imaginary part, as two floats
//	string, []byte    uvarint byte length, then the bytes
//	time.Time         zigzag Unix seconds, uvarint nanoseconds (< 1e9),
//	                  zigzag zone offset east of UTC in seconds
//	[N]byte           the N bytes, raw
//	[N]T              the N elements, no count
//	[]T               uvarint count, then the elements
//	map[K]V           uvarint count, then key, value, key, value, …
//	                  sorted by the key's encoded bytes (ties: value bytes)
//	*T                0x00 for nil, or 0x01 followed by the T
//	struct            the fields in declaration order, exported and
//	                  unexported alike; blank (_) fields are skipped.
//	                  No names or tags: the layout is the schema
//	proto.Message     uvarint length, then deterministic proto.Marshal bytes;
//	                  inside composites, after the *T nil marker
//	batch             uvarint count, then the values back to back
//
// A batch of int64s, AppendBatch(Int64(), nil, []int64{1, -2, 300}):
//
//	┌──────┬──────┬──────┬───────────┐
//	│ 0x03 │ 0x02 │ 0x03 │ 0xd8 0x04 │
//	└──────┴──────┴──────┴───────────┘
//	 count    1     -2        300
//
// A struct value Point{X: 1, Y: -1, Tag: "hi"} of
// type Point struct{ X, Y int32; Tag string }:
//
//	┌──────┬──────┬──────┬───────────┐
//	│ 0x02 │ 0x01 │ 0x02 │ 0x68 0x69 │
//	└──────┴──────┴──────┴───────────┘
//	   X      Y    len=2    "hi"
//
// Collections do not record nil-ness: nil and empty slices, maps, strings and
// byte slices all encode as length 0, and length 0 decodes as nil (for maps
// too, so assign a fresh map before writing into a decoded empty one). Pointers
// do record it. Times keep their instant and UTC offset but not their zone name
// or monotonic reading. Floats keep their exact bits, including NaN payloads
// and negative zero.
//
// Since structs carry no field names, changing a struct's fields, their order
// or their types changes its encoding; data written with the old definition
// must be read with the old definition. Protobuf messages are the way to get
// schema evolution.
//
// Decoders accept only what the encoders produce: non-minimal varints, bool and
// marker bytes other than 0 and 1, values out of range for their type, map
// entries out of order or repeated, and trailing bytes after a batch are all
// rejected with an error wrapping ErrCorrupt. Length and count prefixes are
// checked against the remaining input before anything is allocated, nesting
// deeper than 10000 pointers, slices and maps is rejected, and no input makes
// a decoder panic. Encoders do not detect cycles: encoding a pointer cycle
// recurses until the stack overflows.
package codec

import (
	"errors"
	"time"

	"google.golang.org/protobuf/proto"
)

// Codec turns values of one type into bytes and back. Implementations must be
// safe for concurrent use (they are stateless or immutable after construction).
type Codec[T any] interface {
	// Append appends the encoding of v to dst and returns the extended slice.
	Append(dst []byte, v T) []byte
	// Decode decodes one value from the front of src and returns it with the
	// number of bytes consumed. Malformed or truncated input returns an error
	// wrapping ErrCorrupt (never panics, never allocates unboundedly based on
	// a length prefix larger than the remaining input).
	Decode(src []byte) (v T, n int, err error)
}

// ErrCorrupt is wrapped by every error reporting malformed or truncated input.
var ErrCorrupt = errors.New("codec: corrupt input")

// For returns the default codec for T:
//
//   - Proto[T] when T implements proto.Message (T is then normally a pointer
//     such as *pb.Event); when only *T does, the message is marshaled through
//     its address.
//   - The dedicated codec (Bool, Int64, String, Bytes, Time, …) for the basic
//     types bool, int, int8…int64, uint, uint8…uint64, float32, float64,
//     string, []byte, time.Duration and time.Time.
//   - For other types, a codec compiled once from T's layout: named basic
//     types, complex numbers, structs (exported and unexported fields),
//     arrays, slices, maps, pointers and time.Time or *proto messages inside
//     them, nested freely and recursively.
//
// Types that cannot be encoded meaningfully make For return an error naming
// the type and, inside a composite, the offending field: channels, functions,
// interfaces, unsafe.Pointer and uintptr, types from package sync and unique
// handles, protobuf messages held by value inside composites, and map keys
// containing pointers. Supply a hand-written Codec for those.
func For[T any]() (Codec[T], error) {
	var zero T
	if _, ok := any(zero).(proto.Message); ok {
		return newProtoCodec[T]()
	}
	if _, ok := any(&zero).(proto.Message); ok {
		return protoValueCodec[T]{}, nil
	}
	switch any(zero).(type) {
	case bool:
		return any(Bool()).(Codec[T]), nil
	case int:
		return any(Int()).(Codec[T]), nil
	case int8:
		return any(Int8()).(Codec[T]), nil
	case int16:
		return any(Int16()).(Codec[T]), nil
	case int32:
		return any(Int32()).(Codec[T]), nil
	case int64:
		return any(Int64()).(Codec[T]), nil
	case uint:
		return any(Uint()).(Codec[T]), nil
	case uint8:
		return any(Uint8()).(Codec[T]), nil
	case uint16:
		return any(Uint16()).(Codec[T]), nil
	case uint32:
		return any(Uint32()).(Codec[T]), nil
	case uint64:
		return any(Uint64()).(Codec[T]), nil
	case float32:
		return any(Float32()).(Codec[T]), nil
	case float64:
		return any(Float64()).(Codec[T]), nil
	case string:
		return any(String()).(Codec[T]), nil
	case []byte:
		return any(Bytes()).(Codec[T]), nil
	case time.Duration:
		return any(Duration()).(Codec[T]), nil
	case time.Time:
		return any(Time()).(Codec[T]), nil
	}
	return newReflectCodec[T]()
}
