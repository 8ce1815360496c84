package operators

import (
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/snapshot"
)

// This file holds the operator state of user functions that are not keyed
// (see the "Operator state and broadcast state" section of the package
// documentation for the user's view): per-subtask lists, redistributed on
// rescale by even split or by union, their registry, and its part in the
// snapshot and restore of the operators that run such functions (Process,
// CoProcess, SinkOperator, SourceOperator, BroadcastProcess,
// KeyedBroadcastProcess). Broadcast state, the other kind of operator
// state, is in broadcast.go.

// ErrOperatorStateMismatch is wrapped by the errors of operator states
// that do not fit together: a name registered twice, and checkpointed
// state that the function does not register, or registers as another kind
// of state.
var ErrOperatorStateMismatch = errors.New("operator state mismatch")

// Names of the operator state lists that user operator states are kept in.
// A user state name is prefixed, so that it never collides with the lists
// of the operator itself (or of a Checkpointed sink or source).
const (
	// userStatePrefix prefixes the list of an operator list state.
	userStatePrefix = "user/"
	// broadcastStatePrefix prefixes the list of a broadcast state.
	broadcastStatePrefix = "broadcast/"
	// operatorStateIndex is the Union list naming every user operator
	// state a subtask had registered, so that a restore can tell a state
	// the function no longer registers (an error) from one that was
	// empty.
	operatorStateIndex = "user-states"
)

// Kinds of user operator state, as written in the index.
const (
	opKindList      byte = 'l' // even-split list
	opKindUnion     byte = 'u' // union list
	opKindBroadcast byte = 'b' // broadcast map
	// opKindDiscarded is the kind of a name registered by
	// DiscardOperatorState; it is never written.
	opKindDiscarded byte = 0
)

func opKindName(kind byte) string {
	switch kind {
	case opKindList:
		return "OperatorListState"
	case opKindUnion:
		return "union OperatorListState"
	case opKindBroadcast:
		return "BroadcastState"
	case opKindDiscarded:
		return "discarded operator state"
	}
	return fmt.Sprintf("kind %q", kind)
}

// opStateBase is what every user operator state has.
type opStateBase struct {
	name string
	kind byte
	// typ describes the state's type, as "OperatorListState[int64]".
	typ string
	// list is the checkpoint list that holds the state's entries.
	list string
	task *TaskContext
}

func (b *opStateBase) base() *opStateBase { return b }

// wrap attributes err to the state.
func (b *opStateBase) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %q: %w", opKindName(b.kind), b.name, err)
}

// operatorState is a user operator state as its registry sees it.
type operatorState interface {
	base() *opStateBase
	// snapshot writes the state's entries.
	snapshot(w StateWriter) error
	// restore replaces the state's contents by the entries a restore
	// handed to the subtask.
	restore(entries [][]byte) error
}

// operatorStateRegistry holds the operator states of the function of one
// operator instance.
type operatorStateRegistry struct {
	task   *TaskContext
	states []operatorState
	byName map[string]operatorState
	// broadcast tells whether the operator runs a broadcast function,
	// the only kind that may register broadcast states.
	broadcast bool
	// declared are the broadcast states declared on the broadcast
	// stream, by name; with none declared, any name may be registered.
	declared map[string]BroadcastStateDescriptor
}

func newOperatorStateRegistry(task *TaskContext) *operatorStateRegistry {
	return &operatorStateRegistry{task: task, byName: make(map[string]operatorState)}
}

// openOperatorStates maps the task context of each operator whose function
// is being opened to the operator's registry of operator states, as
// openRegistries does for keyed states (see bindStates).
var openOperatorStates = struct {
	sync.Mutex
	m map[*TaskContext]*operatorStateRegistry
}{m: make(map[*TaskContext]*operatorStateRegistry)}

// bindOperatorStates makes reg the operator state registry of task until
// the returned function is called.
func bindOperatorStates(task *TaskContext, reg *operatorStateRegistry) (release func()) {
	openOperatorStates.Lock()
	prev, had := openOperatorStates.m[task]
	openOperatorStates.m[task] = reg
	openOperatorStates.Unlock()
	return func() {
		openOperatorStates.Lock()
		if had {
			openOperatorStates.m[task] = prev
		} else {
			delete(openOperatorStates.m, task)
		}
		openOperatorStates.Unlock()
	}
}

// openWithOperatorStates opens fn with a new operator state registry
// reachable from ctx, and returns the registry.
func openWithOperatorStates(ctx *TaskContext, fn any) (*operatorStateRegistry, error) {
	reg := newOperatorStateRegistry(ctx)
	release := bindOperatorStates(ctx, reg)
	defer release()
	return reg, openFn(ctx, fn)
}

// registerOperatorState adds a state named name of kind and type typ,
// made by mk, to the registry of the operator whose function ctx is
// opening.
func registerOperatorState[S operatorState](ctx *TaskContext, name string, kind byte, typ string, mk func(opStateBase) (S, error)) (S, error) {
	var zero S
	if ctx == nil {
		return zero, fmt.Errorf("%s %q: nil task context", typ, name)
	}
	if name == "" {
		return zero, fmt.Errorf("%s: empty name", typ)
	}
	openOperatorStates.Lock()
	reg := openOperatorStates.m[ctx]
	openOperatorStates.Unlock()
	if reg == nil {
		return zero, fmt.Errorf("%s %q of operator %q: operator state is created in the Open of a function that "+
			"Process, CoProcess, a broadcast process function, a source or a sink runs, with the task context Open got", typ, name, ctx.Operator)
	}
	if kind == opKindBroadcast {
		if !reg.broadcast {
			return zero, fmt.Errorf("%s %q of operator %q: broadcast state is created only by the function of a stream connected to a broadcast stream",
				typ, name, ctx.Operator)
		}
		if reg.declared != nil {
			d, ok := reg.declared[name]
			if !ok {
				return zero, fmt.Errorf("%w: %s %q is not among the broadcast states declared on the broadcast stream of operator %q",
					ErrOperatorStateMismatch, typ, name, ctx.Operator)
			}
			if dt := d.broadcastStateType(); dt != typ {
				return zero, fmt.Errorf("%w: %s %q is declared on the broadcast stream as %s", ErrOperatorStateMismatch, typ, name, dt)
			}
		}
	}
	if prev, dup := reg.byName[name]; dup {
		return zero, fmt.Errorf("%w: %s %q is already registered as %s; a name is registered once per operator",
			ErrOperatorStateMismatch, typ, name, prev.base().typ)
	}
	prefix := userStatePrefix
	if kind == opKindBroadcast {
		prefix = broadcastStatePrefix
	}
	s, err := mk(opStateBase{name: name, kind: kind, typ: typ, list: prefix + name, task: ctx})
	if err != nil {
		return zero, fmt.Errorf("%s %q: %w", typ, name, err)
	}
	reg.byName[name] = s
	reg.states = append(reg.states, s)
	return s, nil
}

// stateOptions applies opts. Operator states take WithStateCodec only.
func stateOptions(opts []StateOption) (*stateConfig, error) {
	var cfg stateConfig
	for _, o := range opts {
		if o != nil {
			o.applyState(&cfg)
		}
	}
	if cfg.hasTTL {
		return nil, errors.New("WithTTL: operator state has no time-to-live")
	}
	return &cfg, nil
}

// snapshot writes the index and the entries of every state. The index
// has one entry per registered state (discarded ones excepted), its kind
// byte and then its name (a codec string), so that a restore knows every
// state of the checkpoint, also those that were empty.
func (r *operatorStateRegistry) snapshot(w StateWriter) error {
	if r == nil {
		return nil
	}
	var idx []byte
	for _, s := range r.states {
		b := s.base()
		if b.kind == opKindDiscarded {
			continue
		}
		idx = codec.String().Append(append(idx[:0], b.kind), b.name)
		w.Operator(operatorStateIndex, snapshot.Union, idx)
		if err := s.snapshot(w); err != nil {
			return b.wrap(err)
		}
	}
	return nil
}

// readList returns this subtask's entries of operator state list name,
// none when the checkpoint has no such list.
func readList(r StateReader, name string) ([][]byte, error) {
	entries, err := r.Operator(name)
	if errors.Is(err, snapshot.ErrUnknownOperatorState) {
		return nil, nil
	}
	return entries, err
}

// restore reads the index and puts back every state it names. A state in
// the index that the function does not register, or registers as another
// kind, fails the restore with ErrOperatorStateMismatch, so that no state
// is dropped silently.
func (r *operatorStateRegistry) restore(rd StateReader) error {
	idx, err := readList(rd, operatorStateIndex)
	if err != nil {
		return fmt.Errorf("restore operator states: %w", err)
	}
	kinds := make(map[string]byte)
	for _, e := range idx {
		d := NewStateDecoder(e)
		kind := d.Byte()
		name := Decode(&d, codec.String())
		if err := d.End(); err != nil {
			return fmt.Errorf("restore operator states: index: %w", err)
		}
		switch kind {
		case opKindList, opKindUnion, opKindBroadcast:
		default:
			return fmt.Errorf("restore operator states: index: %w", CorruptState("unknown operator state kind %q", kind))
		}
		if prev, ok := kinds[name]; ok && prev != kind {
			return fmt.Errorf("restore operator states: index: %w", CorruptState("%q is both a %s and a %s", name, opKindName(prev), opKindName(kind)))
		}
		kinds[name] = kind
	}
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		kind := kinds[name]
		var st operatorState
		if r != nil {
			st = r.byName[name]
		}
		if st == nil {
			return fmt.Errorf("%w: the checkpoint holds the %s %q, which the function does not register; "+
				"register it in Open, or call DiscardOperatorState to drop it", ErrOperatorStateMismatch, opKindName(kind), name)
		}
		b := st.base()
		if b.kind == opKindDiscarded {
			continue
		}
		if b.kind != kind {
			return fmt.Errorf("%w: operator state %q was checkpointed as a %s and is registered as a %s",
				ErrOperatorStateMismatch, name, opKindName(kind), opKindName(b.kind))
		}
		entries, err := readList(rd, b.list)
		if err != nil {
			return b.wrap(err)
		}
		if err := st.restore(entries); err != nil {
			return b.wrap(err)
		}
	}
	return nil
}

// discardedOperatorState is a name registered by DiscardOperatorState.
type discardedOperatorState struct{ opStateBase }

func (*discardedOperatorState) snapshot(StateWriter) error { return nil }

func (*discardedOperatorState) restore([][]byte) error { return nil }

// DiscardOperatorState declares that the function no longer uses the
// operator state name (a list or a broadcast state): a restore drops what
// a checkpoint holds of it, where it would otherwise fail with
// ErrOperatorStateMismatch. Like the states, it is called in the
// function's Open. Once a checkpoint has been taken with
// DiscardOperatorState in place, the call can go.
func DiscardOperatorState(ctx *TaskContext, name string) error {
	_, err := registerOperatorState(ctx, name, opKindDiscarded, "DiscardOperatorState", func(b opStateBase) (*discardedOperatorState, error) {
		return &discardedOperatorState{b}, nil
	})
	return err
}

// OperatorListState is a list of values that belongs to one subtask of an
// operator whose function is not keyed (Flink's operator ListState). It is
// checkpointed with the subtask's state; how a restore at another
// parallelism hands the entries out depends on how it was created:
//
//   - NewOperatorListState (even split): the lists of all old subtasks are
//     concatenated in subtask order and dealt to the new subtasks in
//     contiguous chunks whose sizes differ by at most one. Every entry
//     goes to exactly one subtask; at the same parallelism each subtask
//     gets its own list back.
//   - NewUnionListState (union): every new subtask gets the entries of
//     all old subtasks, and picks what it needs. At the same parallelism
//     too, each subtask gets every subtask's entries.
//
// Keep the list small: it is encoded whole at every checkpoint. Like the
// function, it belongs to the subtask's goroutine.
type OperatorListState[T any] struct {
	opStateBase
	mode  snapshot.RedistributionMode
	codec StateCodec[T]
	items []T
	buf   []byte
}

// NewOperatorListState creates the operator list state name, redistributed
// by even split on rescale. It is called in the Open of a function that
// Process, CoProcess, a broadcast process function, a source or a sink
// runs, with the task context Open got; a name is registered once per
// operator. The option WithStateCodec sets the codec of T.
func NewOperatorListState[T any](ctx *TaskContext, name string, opts ...StateOption) (*OperatorListState[T], error) {
	return newOperatorList[T](ctx, name, opKindList, snapshot.EvenSplit, "OperatorListState", opts)
}

// NewUnionListState creates the operator list state name, redistributed by
// union: on restore, every subtask gets the entries of all subtasks of the
// checkpoint. Otherwise it is as NewOperatorListState.
func NewUnionListState[T any](ctx *TaskContext, name string, opts ...StateOption) (*OperatorListState[T], error) {
	return newOperatorList[T](ctx, name, opKindUnion, snapshot.Union, "UnionListState", opts)
}

func newOperatorList[T any](ctx *TaskContext, name string, kind byte, mode snapshot.RedistributionMode, kindName string, opts []StateOption) (*OperatorListState[T], error) {
	typ := typeName(kindName, reflect.TypeFor[T]())
	return registerOperatorState(ctx, name, kind, typ, func(b opStateBase) (*OperatorListState[T], error) {
		cfg, err := stateOptions(opts)
		if err != nil {
			return nil, err
		}
		s := &OperatorListState[T]{opStateBase: b, mode: mode, codec: stateCodec[T](cfg)}
		if err := cfg.unusedCodecs(); err != nil {
			return nil, err
		}
		return s, nil
	})
}

// Get returns a copy of the list.
func (s *OperatorListState[T]) Get() []T { return slices.Clone(s.items) }

// All iterates over the list without copying it; the list must not change
// during the iteration.
func (s *OperatorListState[T]) All() iter.Seq2[int, T] { return slices.All(s.items) }

// Len returns the length of the list.
func (s *OperatorListState[T]) Len() int { return len(s.items) }

// Add appends v.
func (s *OperatorListState[T]) Add(v T) { s.items = append(s.items, v) }

// AddAll appends vs.
func (s *OperatorListState[T]) AddAll(vs ...T) { s.items = append(s.items, vs...) }

// Update replaces the list by (a copy of) vs.
func (s *OperatorListState[T]) Update(vs []T) { s.items = append(s.items[:0:0], vs...) }

// Clear empties the list.
func (s *OperatorListState[T]) Clear() { s.items = nil }

// snapshot writes one entry per element: the element in T's codec.
func (s *OperatorListState[T]) snapshot(w StateWriter) error {
	c, err := s.codec.Resolve()
	if err != nil {
		return err
	}
	for _, v := range s.items {
		s.buf = c.Append(s.buf[:0], v)
		w.Operator(s.list, s.mode, s.buf)
	}
	return nil
}

// restore implements operatorState.
func (s *OperatorListState[T]) restore(entries [][]byte) error {
	c, err := s.codec.Resolve()
	if err != nil {
		return err
	}
	items := make([]T, 0, len(entries))
	for _, e := range entries {
		d := NewStateDecoder(e)
		v := Decode(&d, c)
		if err := d.End(); err != nil {
			return err
		}
		items = append(items, v)
	}
	s.items = items
	return nil
}

// SnapshotState implements Checkpointed: the operator states the function
// registered. The function's own fields are not checkpointed.
func (p *Process[IN, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.opStates.snapshot(w))
}

// RestoreState implements Checkpointed.
func (p *Process[IN, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.opStates.restore(r))
}

// SnapshotState implements Checkpointed: the operator states the function
// registered. The function's own fields are not checkpointed.
func (p *CoProcess[IN1, IN2, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.opStates.snapshot(w))
}

// RestoreState implements Checkpointed.
func (p *CoProcess[IN1, IN2, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.opStates.restore(r))
}

// openSource opens the source with its operator state registry reachable
// from ctx.
func (s *SourceOperator[T]) openSource(ctx *TaskContext) error {
	s.opStates = newOperatorStateRegistry(ctx)
	defer bindOperatorStates(ctx, s.opStates)()
	return s.Source.Open(ctx)
}

// SnapshotState implements Checkpointed: the operator states the source
// registered, next to its position (see CheckpointedSource). At the
// parallelism of the checkpoint an even-split list comes back to the
// subtask that wrote it; a RescalableSource restored at another
// parallelism gets its lists redistributed as any operator's.
func (s *SourceOperator[T]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.opStates.snapshot(w))
}

// RestoreState implements Checkpointed; it runs before Seek.
func (s *SourceOperator[T]) RestoreState(r StateReader) (err error) {
	defer recoverInto(s.Ctx, &err)
	return attribute(s.Ctx, s.opStates.restore(r))
}
