package nexmark

import (
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// Digest is an order-independent fingerprint of a multiset of result
// rows: Count is their number and Sum the wrapping sum (mod 2⁶⁴) of the
// XXH64 hash (seed 0) of each row's canonical form (Row.AppendCanonical).
// Adding is commutative, so digests of parts merge by addition, and a
// query's digest is the same at any parallelism and in its baseline.
type Digest struct {
	Count int64
	Sum   uint64
}

// String formats the digest as the 16 lowercase hex digits of Sum.
func (d Digest) String() string { return fmt.Sprintf("%016x", d.Sum) }

// Merge adds the rows of o to d.
func (d *Digest) Merge(o Digest) {
	d.Count += o.Count
	d.Sum += o.Sum
}

// Hasher adds rows to a digest, reusing one buffer for their canonical
// form. The zero value is ready to use.
type Hasher struct {
	buf []byte
}

// Add adds row v to d.
func Add[T Row](h *Hasher, d *Digest, v T) {
	h.buf = v.AppendCanonical(h.buf[:0])
	d.Count++
	d.Sum += xxhash.Sum64(h.buf)
}

// Results collects the digests of a job's sink subtasks.
type Results struct {
	mu sync.Mutex
	d  Digest
}

// Merge adds d to the results; safe for concurrent use.
func (r *Results) Merge(d Digest) {
	r.mu.Lock()
	r.d.Merge(d)
	r.mu.Unlock()
}

// Digest returns the digest merged so far.
func (r *Results) Digest() Digest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d
}

// Blackhole writes s to a sink that keeps nothing but the digest of its
// rows, merged into out when the input ends: the result sink of every
// query.
func Blackhole[T Row](s *stream.DataStream[T], out *Results) *stream.SinkStream {
	return stream.SinkTo(s, "blackhole", func() operators.Sink[T] { return &blackhole[T]{out: out} })
}

// blackhole is one subtask of a Blackhole sink.
type blackhole[T Row] struct {
	out *Results
	h   Hasher
	d   Digest
}

func (s *blackhole[T]) Open(*operators.TaskContext) error { s.d = Digest{}; return nil }
func (s *blackhole[T]) Close() error                      { return nil }

func (s *blackhole[T]) Write(b *operators.Batch[T]) error {
	for i := range b.Values {
		Add(&s.h, &s.d, b.Values[i])
	}
	return nil
}

func (s *blackhole[T]) Finish() error {
	s.out.Merge(s.d)
	return nil
}
