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
// # Writing
//
// [NewSink] returns a sink that writes format(v) + "\n" per record. At
// parallelism 1 it writes the file path. At parallelism P > 1 path is a
// directory holding one file per subtask, named part-<subtask>
// (part-0, part-1, ...); the directory is created when missing, and part
// files of other subtasks, or left from earlier runs at a different
// parallelism, are not touched.
//
// Output is committed atomically at the end of a bounded input: each subtask
// writes <target>.inprogress and, in Finish, flushes, fsyncs, renames it to
// <target> and fsyncs the directory. A reader therefore sees either the
// previous output or the complete new one, never a half-written file. When a
// job is cancelled or fails, Close runs without Finish and removes the
// in-progress file, leaving any previous output in place. An unbounded job
// never reaches Finish, so its output stays in progress.
//
// # Usage
//
//	lines := file.Lines("input.txt")          // operators.Source[string]
//	out := file.NewLineSink("output.txt")      // operators.Sink[string]
//	counts := file.NewSink("counts", func(c WordCount) string {
//		return fmt.Sprintf("%s\t%d", c.Word, c.N)
//	})
//
// # Concurrency
//
// The runtime opens one instance per subtask and calls its methods from that
// subtask's goroutine only, so sources and sinks take no locks. An instance
// serves one subtask at a time; it may be opened again after Close.
package file
