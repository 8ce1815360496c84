package codec

import (
	"slices"
	"time"
)

// This file holds the dedicated codecs for basic types. Each is an empty struct,
// so converting one to a Codec interface does not allocate, and each implements
// the batch fast path (batchCodec) with a loop the compiler can inline into.

// signedInt is the set of types encoded as zigzag varints.
type signedInt interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64
}

// unsignedInt is the set of types encoded as uvarints.
type unsignedInt interface {
	~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Bool returns the codec for bool: one byte, 0 or 1.
func Bool() Codec[bool] { return boolCodec{} }

// Int returns the codec for int: a zigzag varint of the 64-bit value, so the
// encoding is the same on 32- and 64-bit platforms.
func Int() Codec[int] { return varintCodec[int]{} }

// Int8 returns the codec for int8: a zigzag varint.
func Int8() Codec[int8] { return varintCodec[int8]{} }

// Int16 returns the codec for int16: a zigzag varint.
func Int16() Codec[int16] { return varintCodec[int16]{} }

// Int32 returns the codec for int32: a zigzag varint.
func Int32() Codec[int32] { return varintCodec[int32]{} }

// Int64 returns the codec for int64: a zigzag varint.
func Int64() Codec[int64] { return varintCodec[int64]{} }

// Uint returns the codec for uint: a uvarint of the 64-bit value.
func Uint() Codec[uint] { return uvarintCodec[uint]{} }

// Uint8 returns the codec for uint8 (byte): a uvarint, so values from 128 up take
// two bytes. Byte slices and arrays use the raw Bytes and [N]byte encodings
// instead.
func Uint8() Codec[uint8] { return uvarintCodec[uint8]{} }

// Uint16 returns the codec for uint16: a uvarint.
func Uint16() Codec[uint16] { return uvarintCodec[uint16]{} }

// Uint32 returns the codec for uint32: a uvarint.
func Uint32() Codec[uint32] { return uvarintCodec[uint32]{} }

// Uint64 returns the codec for uint64: a uvarint.
func Uint64() Codec[uint64] { return uvarintCodec[uint64]{} }

// Float32 returns the codec for float32: its 4 IEEE-754 bytes, little endian.
func Float32() Codec[float32] { return float32Codec{} }

// Float64 returns the codec for float64: its 8 IEEE-754 bytes, little endian.
func Float64() Codec[float64] { return float64Codec{} }

// String returns the codec for string: a uvarint byte length, then the bytes.
// Decoding allocates only the string itself.
func String() Codec[string] { return stringCodec{} }

// Bytes returns the codec for []byte: a uvarint length, then the bytes. Decoding
// copies, so the result never aliases the input; nil and empty slices both
// encode as length 0 and decode as nil.
func Bytes() Codec[[]byte] { return bytesCodec{} }

// Duration returns the codec for time.Duration: a zigzag varint of nanoseconds.
func Duration() Codec[time.Duration] { return varintCodec[time.Duration]{} }

// Time returns the codec for time.Time: zigzag Unix seconds, uvarint
// nanoseconds, zigzag zone offset in seconds. The instant and the UTC offset
// survive; the zone name and monotonic reading do not (decoded times use UTC or
// an unnamed fixed zone), so compare decoded times with time.Time.Equal.
func Time() Codec[time.Time] { return timeCodec{} }

// varintCodec encodes signed integers as zigzag varints.
type varintCodec[I signedInt] struct{}

// Append implements Codec.
func (varintCodec[I]) Append(dst []byte, v I) []byte { return appendVarint(dst, int64(v)) }

// Decode implements Codec; values that do not fit I are corrupt.
func (varintCodec[I]) Decode(src []byte) (I, int, error) {
	x, n, err := readVarint(src)
	if err != nil {
		return 0, 0, err
	}
	v := I(x)
	if int64(v) != x {
		return 0, 0, errIntRange
	}
	return v, n, nil
}

func (varintCodec[I]) minEncodedLen() int { return 1 }

func (c varintCodec[I]) appendBatch(dst []byte, vs []I) []byte {
	dst = slices.Grow(dst, len(vs))
	for _, v := range vs {
		dst = appendVarint(dst, int64(v))
	}
	return dst
}

func (c varintCodec[I]) decodeBatch(src []byte, vs []I, n int) ([]I, int, error) {
	vs = slices.Grow(vs, n)
	off := 0
	for i := range n {
		u, k := uvarint(src[off:])
		if k <= 0 {
			return vs, 0, batchValueErr(i, n, uvarintErr(k))
		}
		x := int64(u>>1) ^ -int64(u&1)
		v := I(x)
		if int64(v) != x {
			return vs, 0, batchValueErr(i, n, errIntRange)
		}
		vs = append(vs, v)
		off += k
	}
	return vs, off, nil
}

// uvarintCodec encodes unsigned integers as uvarints.
type uvarintCodec[U unsignedInt] struct{}

// Append implements Codec.
func (uvarintCodec[U]) Append(dst []byte, v U) []byte { return appendUvarint(dst, uint64(v)) }

// Decode implements Codec; values that do not fit U are corrupt.
func (uvarintCodec[U]) Decode(src []byte) (U, int, error) {
	x, n, err := readUvarint(src)
	if err != nil {
		return 0, 0, err
	}
	v := U(x)
	if uint64(v) != x {
		return 0, 0, errIntRange
	}
	return v, n, nil
}

func (uvarintCodec[U]) minEncodedLen() int { return 1 }

func (c uvarintCodec[U]) appendBatch(dst []byte, vs []U) []byte {
	dst = slices.Grow(dst, len(vs))
	for _, v := range vs {
		dst = appendUvarint(dst, uint64(v))
	}
	return dst
}

func (c uvarintCodec[U]) decodeBatch(src []byte, vs []U, n int) ([]U, int, error) {
	vs = slices.Grow(vs, n)
	off := 0
	for i := range n {
		x, k := uvarint(src[off:])
		if k <= 0 {
			return vs, 0, batchValueErr(i, n, uvarintErr(k))
		}
		v := U(x)
		if uint64(v) != x {
			return vs, 0, batchValueErr(i, n, errIntRange)
		}
		vs = append(vs, v)
		off += k
	}
	return vs, off, nil
}

// boolCodec encodes bools as one byte.
type boolCodec struct{}

// Append implements Codec.
func (boolCodec) Append(dst []byte, v bool) []byte { return appendBool(dst, v) }

// Decode implements Codec.
func (boolCodec) Decode(src []byte) (bool, int, error) { return readBool(src) }

func (boolCodec) minEncodedLen() int { return 1 }

func (boolCodec) appendBatch(dst []byte, vs []bool) []byte {
	dst = slices.Grow(dst, len(vs))
	for _, v := range vs {
		dst = appendBool(dst, v)
	}
	return dst
}

func (boolCodec) decodeBatch(src []byte, vs []bool, n int) ([]bool, int, error) {
	vs = slices.Grow(vs, n)
	for i := range n {
		v, _, err := readBool(src[i:])
		if err != nil {
			return vs, 0, batchValueErr(i, n, err)
		}
		vs = append(vs, v)
	}
	return vs, n, nil
}

// float64Codec encodes float64 as 8 little-endian bytes.
type float64Codec struct{}

// Append implements Codec.
func (float64Codec) Append(dst []byte, v float64) []byte { return appendFloat64(dst, v) }

// Decode implements Codec.
func (float64Codec) Decode(src []byte) (float64, int, error) { return readFloat64(src) }

func (float64Codec) minEncodedLen() int { return 8 }

func (float64Codec) appendBatch(dst []byte, vs []float64) []byte {
	dst = slices.Grow(dst, 8*len(vs))
	for _, v := range vs {
		dst = appendFloat64(dst, v)
	}
	return dst
}

func (float64Codec) decodeBatch(src []byte, vs []float64, n int) ([]float64, int, error) {
	// The caller checked that n values of 8 bytes fit in src.
	vs = slices.Grow(vs, n)
	for i := range n {
		v, _, _ := readFloat64(src[8*i:])
		vs = append(vs, v)
	}
	return vs, 8 * n, nil
}

// float32Codec encodes float32 as 4 little-endian bytes.
type float32Codec struct{}

// Append implements Codec.
func (float32Codec) Append(dst []byte, v float32) []byte { return appendFloat32(dst, v) }

// Decode implements Codec.
func (float32Codec) Decode(src []byte) (float32, int, error) { return readFloat32(src) }

func (float32Codec) minEncodedLen() int { return 4 }

func (float32Codec) appendBatch(dst []byte, vs []float32) []byte {
	dst = slices.Grow(dst, 4*len(vs))
	for _, v := range vs {
		dst = appendFloat32(dst, v)
	}
	return dst
}

func (float32Codec) decodeBatch(src []byte, vs []float32, n int) ([]float32, int, error) {
	// The caller checked that n values of 4 bytes fit in src.
	vs = slices.Grow(vs, n)
	for i := range n {
		v, _, _ := readFloat32(src[4*i:])
		vs = append(vs, v)
	}
	return vs, 4 * n, nil
}

// stringCodec encodes strings with a uvarint length prefix.
type stringCodec struct{}

// Append implements Codec.
func (stringCodec) Append(dst []byte, v string) []byte { return appendString(dst, v) }

// Decode implements Codec.
func (stringCodec) Decode(src []byte) (string, int, error) { return readString(src) }

func (stringCodec) minEncodedLen() int { return 1 }

func (stringCodec) appendBatch(dst []byte, vs []string) []byte {
	dst = slices.Grow(dst, len(vs))
	for _, v := range vs {
		dst = appendString(dst, v)
	}
	return dst
}

func (stringCodec) decodeBatch(src []byte, vs []string, n int) ([]string, int, error) {
	vs = slices.Grow(vs, n)
	off := 0
	for i := range n {
		v, k, err := readString(src[off:])
		if err != nil {
			return vs, 0, batchValueErr(i, n, err)
		}
		vs = append(vs, v)
		off += k
	}
	return vs, off, nil
}

// bytesCodec encodes byte slices with a uvarint length prefix.
type bytesCodec struct{}

// Append implements Codec.
func (bytesCodec) Append(dst []byte, v []byte) []byte { return appendBytes(dst, v) }

// Decode implements Codec.
func (bytesCodec) Decode(src []byte) ([]byte, int, error) { return readBytes(src) }

func (bytesCodec) minEncodedLen() int { return 1 }

func (bytesCodec) appendBatch(dst []byte, vs [][]byte) []byte {
	dst = slices.Grow(dst, len(vs))
	for _, v := range vs {
		dst = appendBytes(dst, v)
	}
	return dst
}

func (bytesCodec) decodeBatch(src []byte, vs [][]byte, n int) ([][]byte, int, error) {
	vs = slices.Grow(vs, n)
	off := 0
	for i := range n {
		v, k, err := readBytes(src[off:])
		if err != nil {
			return vs, 0, batchValueErr(i, n, err)
		}
		vs = append(vs, v)
		off += k
	}
	return vs, off, nil
}

// timeCodec encodes time.Time as seconds, nanoseconds and zone offset.
type timeCodec struct{}

// Append implements Codec.
func (timeCodec) Append(dst []byte, v time.Time) []byte { return appendTime(dst, v) }

// Decode implements Codec.
func (timeCodec) Decode(src []byte) (time.Time, int, error) { return readTime(src) }

func (timeCodec) minEncodedLen() int { return 3 }

func (timeCodec) appendBatch(dst []byte, vs []time.Time) []byte {
	dst = slices.Grow(dst, 3*len(vs))
	for i := range vs {
		dst = appendTime(dst, vs[i])
	}
	return dst
}

func (timeCodec) decodeBatch(src []byte, vs []time.Time, n int) ([]time.Time, int, error) {
	vs = slices.Grow(vs, n)
	off := 0
	for i := range n {
		v, k, err := readTime(src[off:])
		if err != nil {
			return vs, 0, batchValueErr(i, n, err)
		}
		vs = append(vs, v)
		off += k
	}
	return vs, off, nil
}
