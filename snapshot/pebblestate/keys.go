package pebblestate

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stromhq/strom/snapshot"
)

// Key layout (doc.go draws it):
//
//	uvarint len(op) │ op │ kg u16 big endian │ len(state) u8 │ state │ user key
//
// The operator UID comes first, so that all state of one operator is one
// contiguous key range, then the key group, so that a key group range of
// one operator is one contiguous key range too (big endian keeps key
// groups in numeric order), then the state name and the user key.

// Limits of the names in keys.
const (
	// MaxOperatorUID bounds the length of operator UIDs in bytes.
	MaxOperatorUID = 1 << 12
	// MaxStateName bounds the length of state names in bytes; a name is at
	// least one byte long.
	MaxStateName = 255
)

// errBadKey is returned by decodeKey for keys this package did not write.
var errBadKey = errors.New("malformed key")

func checkOp(op string) error {
	if len(op) == 0 || len(op) > MaxOperatorUID {
		return fmt.Errorf("pebblestate: operator UID of %d bytes, want 1 to %d", len(op), MaxOperatorUID)
	}
	return nil
}

func checkKG(kg int) error {
	if kg < 0 || kg >= snapshot.MaxMaxParallelism {
		return fmt.Errorf("pebblestate: key group %d out of range [0, %d)", kg, snapshot.MaxMaxParallelism)
	}
	return nil
}

func checkRange(kgs snapshot.KeyGroupRange) error {
	if kgs.Start < 0 || kgs.Start > kgs.End || kgs.End > snapshot.MaxMaxParallelism {
		return fmt.Errorf("pebblestate: key group range [%d, %d) invalid", kgs.Start, kgs.End)
	}
	return nil
}

func checkState(state string) error {
	if len(state) == 0 || len(state) > MaxStateName {
		return fmt.Errorf("pebblestate: state name of %d bytes, want 1 to %d", len(state), MaxStateName)
	}
	return nil
}

// appendOpPrefix appends the key prefix of all entries of op.
func appendOpPrefix(dst []byte, op string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(op)))
	return append(dst, op...)
}

// appendKGPrefix appends the key prefix of the entries of op in key group
// kg; kg may be snapshot.MaxMaxParallelism for the end of a range.
func appendKGPrefix(dst []byte, op string, kg int) []byte {
	return binary.BigEndian.AppendUint16(appendOpPrefix(dst, op), uint16(kg))
}

// appendStatePrefix appends the key prefix of the entries of state in key
// group kg of op.
func appendStatePrefix(dst []byte, op string, kg int, state string) []byte {
	dst = append(appendKGPrefix(dst, op, kg), byte(len(state)))
	return append(dst, state...)
}

// appendKey validates the parts of a key and appends it to dst.
func appendKey(dst []byte, op string, kg int, state string, key []byte) ([]byte, error) {
	if err := checkOp(op); err != nil {
		return dst, err
	}
	if err := checkKG(kg); err != nil {
		return dst, err
	}
	if err := checkState(state); err != nil {
		return dst, err
	}
	return append(appendStatePrefix(dst, op, kg, state), key...), nil
}

// rangeBounds returns the key range [lower, upper) of the key groups kgs of
// op.
func rangeBounds(op string, kgs snapshot.KeyGroupRange) (lower, upper []byte) {
	lower = appendKGPrefix(nil, op, kgs.Start)
	upper = appendKGPrefix(make([]byte, 0, len(lower)), op, kgs.End)
	return lower, upper
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil if there is none (p is all 0xff). Keys written here always have
// one: the high byte of the key group is below 0x80.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// decodedKey is a key split into its parts; the slices alias the key.
type decodedKey struct {
	op    []byte
	kg    int
	state []byte
	key   []byte
}

// decodeKey splits a key written by appendKey.
func decodeKey(k []byte) (decodedKey, error) {
	var d decodedKey
	n, w := binary.Uvarint(k)
	if w <= 0 || n == 0 || n > MaxOperatorUID || n > uint64(len(k)-w) {
		return d, errBadKey
	}
	d.op = k[w : w+int(n)]
	k = k[w+int(n):]
	if len(k) < 3 {
		return d, errBadKey
	}
	d.kg = int(binary.BigEndian.Uint16(k))
	sl := int(k[2])
	k = k[3:]
	if d.kg >= snapshot.MaxMaxParallelism || sl == 0 || sl > len(k) {
		return d, errBadKey
	}
	d.state, d.key = k[:sl], k[sl:]
	return d, nil
}

// decodeKeyInOp is decodeKey for keys known to start with the prefix of an
// operator of opPrefixLen bytes: it skips the operator part.
func decodeKeyInOp(k []byte, opPrefixLen int) (kg int, state, key []byte, err error) {
	if len(k) < opPrefixLen+3 {
		return 0, nil, nil, errBadKey
	}
	k = k[opPrefixLen:]
	kg = int(binary.BigEndian.Uint16(k))
	sl := int(k[2])
	k = k[3:]
	if kg >= snapshot.MaxMaxParallelism || sl == 0 || sl > len(k) {
		return 0, nil, nil, errBadKey
	}
	return kg, k[:sl], k[sl:], nil
}
