package snapshot

// Key groups are the unit in which keyed state is stored, snapshotted and
// moved when a job is rescaled. A key hashes (HasherFor, deterministic
// across processes and versions) to one of maxParallelism key groups
// (KeyGroupFor). A keyed operator with parallelism p assigns each subtask a
// contiguous range of key groups (RangeFor), so restoring at another
// parallelism only reassigns ranges.

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/cespare/xxhash/v2"
)

// DefaultMaxParallelism is the number of key groups unless a job sets it.
const DefaultMaxParallelism = 128

// MaxMaxParallelism bounds the number of key groups.
const MaxMaxParallelism = 1 << 15

// KeyGroupFor maps a key hash to its key group in [0, maxParallelism).
func KeyGroupFor(hash uint64, maxParallelism int) int {
	// Multiply-shift instead of modulo: uniform for any maxParallelism and
	// cheaper than a division.
	hi, _ := bits.Mul64(hash, uint64(maxParallelism))
	return int(hi)
}

// SubtaskFor returns the subtask of an operator with the given parallelism
// that owns key group kg.
func SubtaskFor(kg, maxParallelism, parallelism int) int {
	return kg * parallelism / maxParallelism
}

// KeyGroupRange is the half-open range [Start, End) of key groups one
// subtask owns.
type KeyGroupRange struct {
	Start, End int
}

// Contains reports whether kg lies in r.
func (r KeyGroupRange) Contains(kg int) bool { return kg >= r.Start && kg < r.End }

// Len returns the number of key groups in r.
func (r KeyGroupRange) Len() int { return r.End - r.Start }

// RangeFor returns the key groups subtask owns; it is the inverse of
// SubtaskFor.
func RangeFor(subtask, maxParallelism, parallelism int) KeyGroupRange {
	// The first key group kg with kg*p/maxP >= subtask is ceil(subtask*maxP/p).
	start := (subtask*maxParallelism + parallelism - 1) / parallelism
	end := ((subtask+1)*maxParallelism + parallelism - 1) / parallelism
	return KeyGroupRange{Start: start, End: end}
}

// ValidateParallelism checks a parallelism against the number of key groups.
func ValidateParallelism(parallelism, maxParallelism int) error {
	if maxParallelism < 1 || maxParallelism > MaxMaxParallelism {
		return fmt.Errorf("snapshot: max parallelism %d out of range [1, %d]", maxParallelism, MaxMaxParallelism)
	}
	if parallelism < 1 || parallelism > maxParallelism {
		return fmt.Errorf("snapshot: parallelism %d out of range [1, max parallelism %d]", parallelism, maxParallelism)
	}
	return nil
}

// mix64 is a 64-bit finaliser (SplitMix64's) that spreads the bits of an
// integer key.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// HasherFor returns a deterministic hash function for keys of type K when K
// is a basic type (strings, integers, floats, bools, durations), or false.
// Other key types are hashed through their encoding (see HashBytes).
func HasherFor[K comparable]() (func(K) uint64, bool) {
	var h any
	switch any(*new(K)).(type) {
	case string:
		h = func(k string) uint64 { return xxhash.Sum64String(k) }
	case int:
		h = func(k int) uint64 { return mix64(uint64(k)) }
	case int64:
		h = func(k int64) uint64 { return mix64(uint64(k)) }
	case int32:
		h = func(k int32) uint64 { return mix64(uint64(k)) }
	case int16:
		h = func(k int16) uint64 { return mix64(uint64(k)) }
	case int8:
		h = func(k int8) uint64 { return mix64(uint64(k)) }
	case uint:
		h = func(k uint) uint64 { return mix64(uint64(k)) }
	case uint64:
		h = func(k uint64) uint64 { return mix64(k) }
	case uint32:
		h = func(k uint32) uint64 { return mix64(uint64(k)) }
	case uint16:
		h = func(k uint16) uint64 { return mix64(uint64(k)) }
	case uint8:
		h = func(k uint8) uint64 { return mix64(uint64(k)) }
	case bool:
		h = func(k bool) uint64 {
			if k {
				return mix64(1)
			}
			return mix64(0)
		}
	case float64:
		h = func(k float64) uint64 { return mix64(math.Float64bits(k + 0)) }
	case float32:
		h = func(k float32) uint64 { return mix64(uint64(math.Float32bits(k + 0))) }
	case time.Duration:
		h = func(k time.Duration) uint64 { return mix64(uint64(k)) }
	default:
		return nil, false
	}
	return h.(func(K) uint64), true
}

// HashBytes hashes an encoded key.
func HashBytes(b []byte) uint64 { return xxhash.Sum64(b) }
