package pebblestate

import (
	"encoding/binary"
	"errors"
	"time"
)

// Value layout in Pebble (doc.go explains why):
//
//	0x00 │ value                              an entry that never expires
//	0x01 │ expires at u64 big endian │ value   an entry with a TTL
//
// "expires at" is Unix milliseconds (two's complement); the entry is
// expired, and reads as absent, once the clock reaches it.
const (
	valuePlain    byte = 0
	valueExpiring byte = 1
	expiryLen          = 8
)

// errBadValue is returned for stored values this package did not write.
var errBadValue = errors.New("malformed value")

// appendPlainValue appends the stored form of a value that never expires.
func appendPlainValue(dst, v []byte) []byte {
	return append(append(dst, valuePlain), v...)
}

// appendExpiringValue appends the stored form of a value that expires at
// Unix millisecond expiresAt.
func appendExpiringValue(dst, v []byte, expiresAt int64) []byte {
	dst = append(dst, valueExpiring)
	dst = binary.BigEndian.AppendUint64(dst, uint64(expiresAt))
	return append(dst, v...)
}

// storedValue is a decoded stored value; payload aliases the stored bytes.
type storedValue struct {
	payload   []byte
	expiring  bool
	expiresAt int64 // Unix ms, if expiring
}

// decodeValue decodes a stored value.
func decodeValue(raw []byte) (storedValue, error) {
	if len(raw) == 0 {
		return storedValue{}, errBadValue
	}
	switch raw[0] {
	case valuePlain:
		return storedValue{payload: raw[1:]}, nil
	case valueExpiring:
		if len(raw) < 1+expiryLen {
			return storedValue{}, errBadValue
		}
		return storedValue{
			payload:   raw[1+expiryLen:],
			expiring:  true,
			expiresAt: int64(binary.BigEndian.Uint64(raw[1:])),
		}, nil
	}
	return storedValue{}, errBadValue
}

// expiredAt reports whether v is expired at Unix millisecond now.
func (v storedValue) expiredAt(now int64) bool { return v.expiring && v.expiresAt <= now }

// unixMilli converts t to Unix milliseconds.
func unixMilli(t time.Time) int64 { return t.UnixMilli() }
