// Package stdout is a sink that prints records as lines, by default to
// standard output; it is meant for demos, debugging and small results.
//
// Each record v becomes prefix + format(v) + "\n". Lines appear in the
// order of the records within one subtask; lines of different subtasks
// interleave at batch boundaries, in no particular order.
//
// # Usage
//
//	print := stdout.NewSink(func(c WordCount) string {
//		return fmt.Sprintf("%s: %d", c.Word, c.N)
//	}, stdout.Prefix("count "))
//
//	var buf bytes.Buffer // in a test
//	s := stdout.NewSink(strconv.Itoa, stdout.Writer(&buf))
//
// # Concurrency
//
// The runtime opens one instance per subtask and calls it from that
// subtask's goroutine only. All subtasks of a job, and of other jobs in the
// process, may print to the same writer, so each Write builds its batch's
// lines in a buffer of its own and hands them to the writer in a single
// Write call while holding a mutex shared by every sink of this package
// that uses that writer. Lines therefore never interleave mid-line, also
// with a writer such as a bytes.Buffer that is not itself safe for
// concurrent use. Code outside this package that writes to the same writer
// takes no part in the locking.
package stdout
