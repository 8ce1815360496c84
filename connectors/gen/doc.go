// Package gen generates records for tests, demos and benchmarks.
//
// [New] returns a source of fn(i) for global indices i = 0, 1, 2, ...,
// shared among the source's subtasks: subtask s of P produces the indices
// s, s+P, s+2P, ... (after a rescale, see below, other progressions), so
// together the subtasks produce every index exactly once and each record
// is determined by its index alone, at any parallelism. [Sequence] generates the indices themselves.
//
// Options bound the output ([Count]), pace it ([Rate], a token bucket per
// subtask that makes Poll return a Wait instead of blocking) and attach
// event time ([Timestamps]). [Words] is a ready-made fn that draws
// pseudo-words with a Zipf-like skew, for word-count style demos.
//
// # Checkpoints
//
// [Source] is an operators.CheckpointedSource. Its position is the indices
// the subtask has left to generate, in a small versioned binary encoding
// that also carries the parallelism, the subtask and the count; Seek
// continues there, so a job resumed from a checkpoint generates every
// index exactly once. Since records depend on their index alone, the
// resumed output is the same as an uninterrupted run's. Seek accepts a
// position only from the same subtask at the same parallelism with the
// same Count; anything else is refused with an error. Positions of the
// earlier encoding, the next index alone, are still read. The rate limiter
// is not part of the position: a resumed subtask starts with a fresh
// bucket.
//
// [Source] is also an operators.RescalableSource: a job restored at
// another parallelism calls SeekRescaled on every new subtask with the
// positions of all old subtasks. A subtask's indices left are a tail, the
// residue class it continues in (next, next+P, ...), and pieces: finite
// progressions left over from an earlier parallelism. With T the highest
// next index of the old tails, every index from T on is left; below T,
// the old tails' stragglers (old subtask k's class from its next index to
// T) and the old pieces are counted in index order and divided evenly
// among the new subtasks. New subtask j of Q generates its pieces first,
// then the tail T+j, T+j+Q, ... So every index left is generated exactly
// once, whatever the parallelisms, and rescaling again works the same
// way. The positions must be complete (one per old subtask, in order,
// each of the parallelism their number says), of the same Count, with one
// tail per residue class and disjoint pieces; anything else is refused.
//
// # Usage
//
//	// 10 million words at 200,000 records per second in total.
//	words := gen.New(gen.Words(42), gen.Count(10_000_000), gen.Rate(200_000))
//
//	// 0..999 with event time i milliseconds.
//	seq := gen.Sequence(gen.Count(1000), gen.Timestamps(func(i int64) int64 { return i }))
//
// # Concurrency
//
// The runtime opens one instance per subtask and calls it from that
// subtask's goroutine only; sources take no locks. fn and the Timestamps
// function are called from every subtask's goroutine and must be safe for
// concurrent use (a pure function of i is). An instance may be opened again
// after Close and then starts over.
package gen
