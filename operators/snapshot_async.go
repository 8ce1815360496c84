package operators

import "reflect"

// AsyncStateWriter is a StateWriter whose snapshot has an asynchronous
// part: what an operator hands to Defer in SnapshotState runs after
// SnapshotState returned, on another goroutine, while the subtask goes on
// processing records, and writes into the same snapshot. The runtime's
// writers are AsyncStateWriters; a writer of a test harness may not be,
// and then DeferState runs the function at once.
//
// A deferred function may only read memory that the subtask does not
// change until the function returns: the state a copy-on-write structure
// froze in SnapshotState, for example. Its error fails the checkpoint.
type AsyncStateWriter interface {
	StateWriter
	Defer(fn func(w StateWriter) error)
}

// DeferStateOf is DeferState for state whose values are of type T: it
// defers fn only when values of T can be encoded while the subtask goes on
// (EncodableConcurrently), and otherwise runs it at once.
func DeferStateOf[T any](w StateWriter, fn func(w StateWriter) error) error {
	if !EncodableConcurrently(reflect.TypeFor[T]()) {
		return fn(w)
	}
	return DeferState(w, fn)
}

// DeferState runs fn in the asynchronous part of the snapshot w belongs
// to when w has one, else at once.
func DeferState(w StateWriter, fn func(w StateWriter) error) error {
	if aw, ok := w.(AsyncStateWriter); ok {
		aw.Defer(fn)
		return nil
	}
	return fn(w)
}
