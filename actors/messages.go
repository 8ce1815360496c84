package actors

// Messages that only ever travel inside one actor system. Everything that
// may cross a node boundary is a protobuf message in package protos.

// localBatch carries a batch between two subtasks of one actor system as a
// Go value: no encoding, no copy.
type localBatch struct {
	input int32
	batch any
}

// pollSource tells a source subtask to poll its source again.
type pollSource struct{}

// processingTime tells a subtask that an operator's processing-time timer
// is due.
type processingTime struct{}

// flushTimeout tells a subtask that its buffer timeout passed.
type flushTimeout struct{}

// taskFailedLocal reports a failure to a master in the same actor system,
// keeping the error value (and so errors.Is and errors.As) intact.
type taskFailedLocal struct {
	chain, subtask, attempt int
	err                     error
}
