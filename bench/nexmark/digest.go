package nexmark

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
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
// query. Checkpoints hold each subtask's digest so far, so that a job
// restored from one ends with the digest of a run without failures.
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

// blackholeState is the name of the blackhole's operator state: one entry
// per subtask, its Count and Sum as two 8-byte little-endian words.
// Digests add up, so the entries may go to any subtasks on restore.
const blackholeState = "digest"

// SnapshotState implements operators.Checkpointed.
func (s *blackhole[T]) SnapshotState(_ int64, w operators.StateWriter) error {
	e := binary.LittleEndian.AppendUint64(nil, uint64(s.d.Count))
	w.Operator(blackholeState, snapshot.EvenSplit, binary.LittleEndian.AppendUint64(e, s.d.Sum))
	return nil
}

// RestoreState implements operators.Checkpointed.
func (s *blackhole[T]) RestoreState(r operators.StateReader) error {
	es, err := r.Operator(blackholeState)
	if err != nil {
		return err
	}
	for _, e := range es {
		if len(e) != 16 {
			return fmt.Errorf("nexmark blackhole: digest entry of %d bytes, want 16", len(e))
		}
		s.d.Merge(Digest{Count: int64(binary.LittleEndian.Uint64(e)), Sum: binary.LittleEndian.Uint64(e[8:])})
	}
	return nil
}
