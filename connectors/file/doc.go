// Package file reads and writes text files, one record per line.
//
// # Reading
//
// [Lines] returns a source of the lines of one file, without their "\n" or
// "\r\n" terminators. At parallelism P the file is cut into P byte ranges
// of equal size, and subtask i reads the lines that start inside range i,
// the way Hadoop splits text files: a subtask whose range does not begin at
// offset 0 skips the partial line it lands in (that line belongs to the
// previous subtask), and the last line a subtask starts is read to its end
// even when it runs past the range. Every line is thus read by exactly one
// subtask, at any parallelism; subtasks whose range holds no line start
// simply finish at once. Lines are read through a buffer (see
// [BufferSize]); a line longer than [MaxLineBytes] (64 MiB by default) fails
// the source with an error naming the file and the line's offset.
//
// [Rate] paces the source to a number of lines per second in total, each
// of P subtasks reading its share rate/P through a token bucket of its
// own; Poll never blocks but returns a Wait when the bucket is empty.
//
// [LineSource] is an operators.CheckpointedSource. Its position is the
// byte offset of the next line the subtask will read and the byte ranges
// it has left, in a small versioned binary encoding that also carries the
// subtask, the parallelism and the file's size; Seek, called after Open
// and before the first Poll, continues exactly there, so that no line is
// lost or read twice. Seek accepts a position only from the same subtask
// at the same parallelism over an unchanged file (same size, the offset
// at the start of a line); anything else is refused with an error.
// Positions of the earlier encoding, which held the subtask's byte range
// alone, are still read.
//
// [LineSource] is also an operators.RescalableSource: a job restored at
// another parallelism than its checkpoint's calls SeekRescaled on every
// new subtask with the positions of all old subtasks. What is left to
// read is the union of the old subtasks' remaining ranges, each from its
// next line to its end. Those ranges are taken in file order and their
// bytes divided into equal pieces, one per new subtask; the cut points
// fall anywhere, and a line belongs to the piece it starts in, by the
// same rule as the splits above. A new subtask thus reads a list of
// ranges in order, and its positions record that list, so that the job
// can be rescaled again. The positions must be complete (one per old
// subtask, in order, each of the parallelism their number says), of an
// unchanged file, at line starts and with disjoint ranges; anything else
// is refused with an error.
//
// # Writing
//
// [NewSink] returns a sink that writes format(v) + "\n" per record. At
// parallelism 1 it writes the file path. At parallelism P > 1 path is a
// directory holding the files of each subtask (see below); the directory
// is created when missing, and files of other subtasks, or left from
// earlier runs at a different parallelism, are not touched.
//
// Without checkpoints, output is committed atomically at the end of a
// bounded input: each subtask writes <target>.inprogress and, in Finish,
// flushes, fsyncs, renames it to <target> and fsyncs the directory, where
// <target> is path at parallelism 1 and path/part-<subtask> (part-0,
// part-1, ...) at P > 1. A reader therefore sees either the previous
// output or the complete new one, never a half-written file. When a job is
// cancelled or fails, Close runs without Finish and removes the
// in-progress file, leaving any previous output in place. An unbounded job
// never reaches Finish, so its output stays in progress.
//
// # Exactly-once output with checkpoints
//
// [Sink] implements operators.Checkpointed and operators.CheckpointListener
// so that, when the job checkpoints and restarts from its checkpoints, the
// committed output holds every record exactly once: the same bytes as an
// uninterrupted run. The protocol, per subtask:
//
//   - The sink keeps appending to <target>.inprogress. Open does not
//     truncate an in-progress file left by an earlier attempt: a restore,
//     which follows Open, needs it. A run that does not restore truncates
//     it at its first record, checkpoint or Finish.
//   - SnapshotState (the checkpoint barrier reached the sink) flushes the
//     buffer and fsyncs the in-progress file. At parallelism 1 it records
//     the file's length. At P > 1 it then rolls the file, unless it is
//     empty: it renames it to path/part-<subtask>-<n>.pending, fsyncs the
//     directory and starts an empty in-progress file; n counts the parts of
//     the subtask from 0. It records one entry in the operator state list
//     [SinkStateName] with mode snapshot.Union: the subtask index, the
//     parallelism, the number of the next part and the length of the
//     in-progress file (0 after a roll).
//   - NotifyCheckpointComplete(id) (the checkpoint is durable) commits the
//     parts rolled at checkpoints up to id, renaming
//     part-<subtask>-<n>.pending to part-<subtask>-<n>, and fsyncs the
//     directory. A part thus becomes visible only once the checkpoint
//     covering its records completed, and readers of the directory see
//     part files in the order of n, per subtask. At parallelism 1 there is
//     nothing to commit: the output path is a single file, visible at the
//     end.
//   - RestoreState (the job restarts from a checkpoint; after Open, before
//     the first record) reads all entries, refuses corrupt ones and entries
//     of another parallelism, and picks the one of its subtask. It
//     truncates the in-progress file back to the recorded length, dropping
//     what was written after the checkpoint (the job emits those records
//     again), and appends from there. At P > 1 it commits the parts below
//     the recorded part number that are still pending (the checkpoint
//     completed even if its notification never arrived) and removes the
//     subtask's parts, pending or committed, from that number on: they were
//     written after the checkpoint.
//   - Finish (end of bounded input) commits as without checkpoints at
//     parallelism 1. At P > 1 it commits all pending parts and the
//     in-progress file as the last part, part-<subtask>-<n> (a subtask that
//     wrote nothing commits one empty part), and removes what an earlier
//     run of the subtask left: higher-numbered parts and part-<subtask>.
//     A reader of a bounded job's output thus sees either the previous
//     output or the complete exactly-once output at P = 1, and at P > 1
//     parts appear as checkpoints complete.
//   - Once the sink took or restored a checkpoint, Close without Finish
//     keeps the in-progress file and the pending parts, for a restore; a
//     cancelled job leaves them behind, and a later run that does not
//     restore overwrites them.
//
// Without checkpoints (SnapshotState never called and nothing restored)
// the sink behaves as described under Writing. Limitations: sinks restore
// only at the parallelism of the checkpoint; a restore after Finish
// committed the output at parallelism 1 is refused, since the in-progress
// file is gone; SnapshotState after Finish is an error; and at P > 1 parts
// of an earlier run with higher numbers stay visible until Finish of a
// checkpointed run removes them, so unbounded jobs should write to a fresh
// directory.
//
// # Usage
//
//	lines := file.Lines("input.txt")          // operators.Source[string]
//	paced := file.Lines("input.txt", file.Rate(10_000))
//	out := file.NewLineSink("output.txt")      // operators.Sink[string]
//	counts := file.NewSink("counts", func(c WordCount) string {
//		return fmt.Sprintf("%s\t%d", c.Word, c.N)
//	})
//
// # Concurrency
//
// The runtime opens one instance per subtask and calls its methods,
// checkpoint methods included, from that subtask's goroutine only, so
// sources and sinks take no locks. An instance serves one subtask at a
// time; it may be opened again after Close.
package file
