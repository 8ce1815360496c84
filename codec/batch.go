package codec

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// batchCodec is implemented by this package's codecs to encode and decode whole
// runs of values without an interface call per value.
type batchCodec[T any] interface {
	// appendBatch appends the encodings of vs, without the count prefix.
	appendBatch(dst []byte, vs []T) []byte
	// decodeBatch appends n decoded values to vs and returns the extended slice
	// and the bytes consumed. n has already been checked against len(src). On
	// error the returned slice may hold partially decoded values past len(vs).
	decodeBatch(src []byte, vs []T, n int) ([]T, int, error)
}

// minLener is implemented by this package's codecs to report the fewest bytes
// any value's encoding takes. DecodeBatch uses it to reject counts the input
// cannot hold before allocating; other codecs are assumed to take at least one
// byte per value.
type minLener interface {
	minEncodedLen() int
}

// AppendBatch appends a uvarint count followed by the encoding of every value in
// vs, in order, and returns the extended slice.
func AppendBatch[T any](c Codec[T], dst []byte, vs []T) []byte {
	dst = appendUvarint(dst, uint64(len(vs)))
	if bc, ok := c.(batchCodec[T]); ok {
		return bc.appendBatch(dst, vs)
	}
	for i := range vs {
		dst = c.Append(dst, vs[i])
	}
	return dst
}

// DecodeBatch decodes a batch written by AppendBatch, appends the values to vs
// and returns the extended slice. The whole of src must be one batch: trailing
// bytes are an error. On error it returns vs unchanged (its spare capacity may
// have been written to) and an error wrapping ErrCorrupt, or wrapping the
// codec's own error for codecs from other packages.
//
// The count prefix is checked against the input length before any allocation: a
// count larger than the remaining input could hold is rejected. Codecs from
// other packages are assumed to encode every value in at least one byte.
func DecodeBatch[T any](c Codec[T], src []byte, vs []T) ([]T, error) {
	count, off, err := readUvarint(src)
	if err != nil {
		return vs, fmt.Errorf("decode batch count: %w", err)
	}
	rest := len(src) - off
	minLen := 1
	if m, ok := c.(minLener); ok {
		minLen = m.minEncodedLen()
	}
	size := unsafe.Sizeof(*new(T))
	limit := countLimit(rest, minLen, size)
	if size == 0 {
		limit = min(limit, uint64(math.MaxInt-len(vs)))
	}
	if count > limit {
		return vs, fmt.Errorf("decode batch: %w", errCountExceedsLen)
	}
	n := int(count)
	orig := len(vs)
	var out []T
	var used int
	if bc, ok := c.(batchCodec[T]); ok {
		out, used, err = bc.decodeBatch(src[off:], vs, n)
	} else {
		out, used, err = decodeEach(c, src[off:], vs, n)
	}
	if err != nil {
		clear(out[orig:len(out)])
		return vs, err
	}
	if off+used != len(src) {
		clear(out[orig:len(out)])
		return vs, fmt.Errorf("decode batch: %w", errTrailing)
	}
	return out, nil
}

// decodeEach decodes n values one Decode call at a time.
func decodeEach[T any](c Codec[T], src []byte, vs []T, n int) ([]T, int, error) {
	vs = slices.Grow(vs, min(n, len(src)))
	off := 0
	for i := range n {
		v, k, err := c.Decode(src[off:])
		if err != nil {
			return vs, 0, batchValueErr(i, n, err)
		}
		if k < 0 || k > len(src)-off {
			return vs, 0, batchValueErr(i, n, fmt.Errorf("%w: codec reported consuming %d of %d bytes", ErrCorrupt, k, len(src)-off))
		}
		vs = append(vs, v)
		off += k
	}
	return vs, off, nil
}

// zeroLenBudget is how much memory elements that encode to no bytes at all
// (structs of only blank fields) may claim beyond one element per input byte.
const zeroLenBudget = 1 << 20

// countLimit returns the largest element count that rest bytes of input can
// announce for elements of at least minLen encoded bytes and size bytes of
// memory, so that no allocation outgrows what a valid input of that length
// could ask for.
func countLimit(rest, minLen int, size uintptr) uint64 {
	switch {
	case minLen > 0:
		return uint64(rest / minLen)
	case size == 0:
		// Nothing to encode and nothing to allocate: any count fits.
		return math.MaxInt
	default:
		return uint64(max(rest, zeroLenBudget/int(size)))
	}
}

// batchValueErr annotates a value's decoding error with its position.
func batchValueErr(i, n int, err error) error {
	return fmt.Errorf("decode batch value %d of %d: %w", i, n, err)
}
