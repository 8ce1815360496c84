package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// This file holds the primitive wire encodings every codec is built from:
// minimal uvarints, zigzag varints, fixed little-endian floats, length-prefixed
// byte strings and time instants. Readers never panic: they report malformed or
// truncated input as errors wrapping ErrCorrupt.

// Errors for the common corruption cases, allocated once so that rejecting
// garbage stays cheap.
var (
	errTruncated       = corrupt("truncated input")
	errVarintOverflow  = corrupt("varint overflows 64 bits")
	errVarintLong      = corrupt("varint not in minimal form")
	errIntRange        = corrupt("integer out of range for its type")
	errBool            = corrupt("bool byte is neither 0 nor 1")
	errMarker          = corrupt("pointer marker is neither 0 nor 1")
	errNanos           = corrupt("time nanoseconds out of range")
	errSeconds         = corrupt("time seconds out of range")
	errZoneOffset      = corrupt("time zone offset out of range")
	errDepth           = corrupt("nesting too deep")
	errMapOrder        = corrupt("map entries not in canonical order")
	errMapDuplicate    = corrupt("duplicate map key")
	errTrailing        = corrupt("trailing bytes after batch")
	errCountExceedsLen = corrupt("element count exceeds remaining input")
)

// corrupt returns an error wrapping ErrCorrupt with detail msg.
func corrupt(msg string) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, msg)
}

// appendUvarint appends x as a minimal little-endian base-128 varint.
func appendUvarint(dst []byte, x uint64) []byte {
	if x < 1<<7 {
		return append(dst, byte(x))
	}
	return appendUvarintSlow(dst, x)
}

func appendUvarintSlow(dst []byte, x uint64) []byte {
	for x >= 0x80 {
		dst = append(dst, byte(x)|0x80)
		x >>= 7
	}
	return append(dst, byte(x))
}

// appendVarint appends x zigzag-encoded (0, -1, 1, -2, ... → 0, 1, 2, 3, ...)
// as a uvarint, so small magnitudes of either sign stay short.
func appendVarint(dst []byte, x int64) []byte {
	return appendUvarint(dst, uint64(x<<1)^uint64(x>>63))
}

// readUvarint decodes a minimal uvarint from the front of src.
func readUvarint(src []byte) (uint64, int, error) {
	if len(src) > 0 && src[0] < 0x80 {
		return uint64(src[0]), 1, nil
	}
	x, n := uvarint(src)
	if n <= 0 {
		return 0, 0, uvarintErr(n)
	}
	return x, n, nil
}

// Failure codes of uvarint.
const (
	uvarintTruncated  = 0
	uvarintOverflow   = -1
	uvarintNonMinimal = -2
)

// uvarint decodes a minimal uvarint from the front of src and returns it with
// its length, or a length <= 0 giving the failure code. It reports errors as
// plain integers to stay cheap in the hot decoding loops.
func uvarint(src []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(src) && i < binary.MaxVarintLen64; i++ {
		b := src[i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 || b == 0 && i > 0 {
				return 0, uvarintBad(b)
			}
			return x | uint64(b)<<(7*i), i + 1
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	if len(src) >= binary.MaxVarintLen64 {
		return 0, uvarintOverflow
	}
	return 0, uvarintTruncated
}

// uvarintBad returns the failure code for a terminating byte b that is out of
// place: zero (non-minimal) or too large for the tenth byte.
func uvarintBad(b byte) int {
	if b == 0 {
		return uvarintNonMinimal
	}
	return uvarintOverflow
}

// uvarintErr turns a failure code of uvarint into its error.
func uvarintErr(code int) error {
	switch code {
	case uvarintOverflow:
		return errVarintOverflow
	case uvarintNonMinimal:
		return errVarintLong
	}
	return errTruncated
}

// readVarint decodes a zigzag varint from the front of src.
func readVarint(src []byte) (int64, int, error) {
	u, n, err := readUvarint(src)
	return int64(u>>1) ^ -int64(u&1), n, err
}

// readLen decodes a uvarint length prefix and returns the payload it announces,
// which aliases src, and the total number of bytes consumed. The length is
// checked against the remaining input before anything is sliced or allocated.
func readLen(src []byte) ([]byte, int, error) {
	l, n, err := readUvarint(src)
	if err != nil {
		return nil, 0, err
	}
	if l > uint64(len(src)-n) {
		return nil, 0, errTruncated
	}
	end := n + int(l)
	return src[n:end:end], end, nil
}

// appendString appends s as a uvarint length followed by its bytes.
func appendString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendBytes appends b as a uvarint length followed by its bytes.
func appendBytes(dst, b []byte) []byte {
	dst = appendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// readString decodes a length-prefixed string; it allocates only the string.
func readString(src []byte) (string, int, error) {
	b, n, err := readLen(src)
	if err != nil {
		return "", 0, err
	}
	return string(b), n, nil
}

// readBytes decodes a length-prefixed byte slice into a fresh copy. An empty
// payload decodes as nil.
func readBytes(src []byte) ([]byte, int, error) {
	b, n, err := readLen(src)
	if err != nil || len(b) == 0 {
		return nil, n, err
	}
	return append([]byte(nil), b...), n, nil
}

// appendBool appends v as one byte, 0 or 1.
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// readBool decodes one byte that must be 0 or 1.
func readBool(src []byte) (bool, int, error) {
	if len(src) == 0 {
		return false, 0, errTruncated
	}
	switch src[0] {
	case 0:
		return false, 1, nil
	case 1:
		return true, 1, nil
	}
	return false, 0, errBool
}

// readMarker decodes a pointer's nil marker: 0 for nil, 1 for a value.
func readMarker(src []byte) (bool, error) {
	if len(src) == 0 {
		return false, errTruncated
	}
	switch src[0] {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, errMarker
}

// appendFloat64 appends the IEEE-754 bits of v, little endian. NaN payloads and
// the sign of zero are preserved.
func appendFloat64(dst []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

// appendFloat32 appends the IEEE-754 bits of v, little endian.
func appendFloat32(dst []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
}

func readFloat64(src []byte) (float64, int, error) {
	if len(src) < 8 {
		return 0, 0, errTruncated
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(src)), 8, nil
}

func readFloat32(src []byte) (float32, int, error) {
	if len(src) < 4 {
		return 0, 0, errTruncated
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(src)), 4, nil
}

// unixToInternal is the number of seconds between year 1 and 1970, the epoch
// offset the time package adds internally. Unix seconds above
// math.MaxInt64-unixToInternal cannot be represented by a time.Time.
const unixToInternal int64 = (1969*365 + 1969/4 - 1969/100 + 1969/400) * 24 * 60 * 60

// appendTime appends t as zigzag Unix seconds, uvarint nanoseconds within the
// second, and the zigzag zone offset east of UTC in seconds. The monotonic clock
// reading and the zone name are dropped.
func appendTime(dst []byte, t time.Time) []byte {
	_, offset := t.Zone()
	dst = appendVarint(dst, t.Unix())
	dst = appendUvarint(dst, uint64(t.Nanosecond()))
	return appendVarint(dst, int64(offset))
}

// readTime decodes a time written by appendTime. A zero offset decodes in UTC,
// any other offset in a fixed zone without a name.
func readTime(src []byte) (time.Time, int, error) {
	sec, n1, err := readVarint(src)
	if err != nil {
		return time.Time{}, 0, err
	}
	if sec > math.MaxInt64-unixToInternal {
		return time.Time{}, 0, errSeconds
	}
	nsec, n2, err := readUvarint(src[n1:])
	if err != nil {
		return time.Time{}, 0, err
	}
	if nsec >= uint64(time.Second) {
		return time.Time{}, 0, errNanos
	}
	off, n3, err := readVarint(src[n1+n2:])
	if err != nil {
		return time.Time{}, 0, err
	}
	if off < math.MinInt32 || off > math.MaxInt32 {
		return time.Time{}, 0, errZoneOffset
	}
	t := time.Unix(sec, int64(nsec))
	if off == 0 {
		t = t.UTC()
	} else {
		t = t.In(time.FixedZone("", int(off)))
	}
	return t, n1 + n2 + n3, nil
}
