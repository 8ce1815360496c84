package operators

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/stromhq/strom/codec"
)

// This file holds the registry of the keyed states of user functions (see
// state_doc.go for the user's view): how a function reaches it from the
// task context in Open, the options of a state, and the registry's part in
// the snapshot and restore of KeyedProcess and KeyedCoProcess. The state
// types are in state_value.go, state_list.go and state_map.go; TTL is in
// state_ttl.go.

// ErrStateMismatch is wrapped by the errors of states that do not fit
// together: a name registered twice, a key type other than the operator's,
// and checkpointed state that the function does not register, or registers
// as another kind of state.
var ErrStateMismatch = errors.New("keyed state mismatch")

// KeyScope is what keyed state is read and written with: the context of the
// record or timer a keyed function is processing (a *KeyedContext or an
// *OnTimerContext). A state access applies to the context's current key.
// Only package operators implements KeyScope.
type KeyScope[K comparable] interface {
	Key() K
	keyScope()
}

func (c *KeyedContext[K]) keyScope() {}

// StateOption configures a keyed state when it is created: WithTTL,
// WithStateCodec.
type StateOption interface {
	applyState(*stateConfig)
}

// stateConfig is what the options of a state set.
type stateConfig struct {
	ttl    ttlSpec
	hasTTL bool
	// codecs are the WithStateCodec options.
	codecs []codecOption
}

// codecOption is a WithStateCodec option: its codec is a codec.Codec[T]
// of the type typ.
type codecOption struct {
	typ   reflect.Type
	codec any
	used  bool
}

type stateOptionFunc func(*stateConfig)

func (f stateOptionFunc) applyState(c *stateConfig) { f(c) }

// WithStateCodec has a state encode its values of type T with c in
// checkpoints instead of T's default codec (codec.For): for types that have
// none, or to read an older encoding of an evolved type. It applies to each
// type of the state that is T (the value of a ValueState, ReducingState or
// ListState, the accumulator of an AggregatingState, the user key or value
// of a MapState); creating a state none of whose types is T fails.
func WithStateCodec[T any](c codec.Codec[T]) StateOption {
	return stateOptionFunc(func(cfg *stateConfig) {
		cfg.codecs = append(cfg.codecs, codecOption{typ: reflect.TypeFor[T](), codec: c})
	})
}

// stateCodec returns the StateCodec of T from the options: the one of a
// WithStateCodec[T], else T's default codec (resolved when first needed).
func stateCodec[T any](cfg *stateConfig) StateCodec[T] {
	for i := range cfg.codecs {
		if c, ok := cfg.codecs[i].codec.(codec.Codec[T]); ok && cfg.codecs[i].typ == reflect.TypeFor[T]() {
			cfg.codecs[i].used = true
			return CodecOf(c)
		}
	}
	return StateCodec[T]{}
}

// unusedCodecs returns an error naming a WithStateCodec option that matched
// no type of the state.
func (cfg *stateConfig) unusedCodecs() error {
	for _, c := range cfg.codecs {
		if !c.used {
			return fmt.Errorf("WithStateCodec for %v: the state holds no %v", c.typ, c.typ)
		}
	}
	return nil
}

// Kinds of keyed state, as written in the first byte of their checkpoint
// values (an upper-case letter when the entry carries TTL stamps).
const (
	kindValue       byte = 'v'
	kindList        byte = 'l'
	kindMap         byte = 'm'
	kindReducing    byte = 'r'
	kindAggregating byte = 'a'
	// kindDiscarded is the kind of a name registered by DiscardState; it
	// is never written.
	kindDiscarded byte = 0
)

// ttlFlag turns a kind into the kind of an entry with TTL stamps.
const ttlFlag byte = 'a' - 'A'

func kindName(kind byte) string {
	switch kind {
	case kindValue:
		return "ValueState"
	case kindList:
		return "ListState"
	case kindMap:
		return "MapState"
	case kindReducing:
		return "ReducingState"
	case kindAggregating:
		return "AggregatingState"
	case kindDiscarded:
		return "discarded state"
	}
	return fmt.Sprintf("kind %q", kind)
}

// stateBase is what every keyed state has: its name, kind and type (for
// messages), its task (for the clock) and its TTL.
type stateBase struct {
	name string
	kind byte
	// typ describes the state's type, as "ValueState[string, int64]".
	typ  string
	task *TaskContext
	ttl  ttlPolicy
	// prefix is the start of the state's entry keys: the tag, the name.
	prefix []byte
	// writes counts writes, for the incremental TTL cleanup.
	writes uint64
}

// kindByte returns the first byte of the state's entry values: its kind,
// upper case when the state has a TTL.
func (b *stateBase) kindByte() byte {
	if b.ttl.on() {
		return b.kind - ttlFlag
	}
	return b.kind
}

// readKind reads the kind byte of a stored entry value of the state and
// tells whether the entry carries TTL stamps. An entry of another kind
// fails with ErrStateMismatch.
func (b *stateBase) readKind(d *StateDecoder) (stamped bool, err error) {
	kind := d.Byte()
	if err := d.Err(); err != nil {
		return false, err
	}
	stamped = kind >= 'A' && kind <= 'Z'
	if stamped {
		kind += ttlFlag
	}
	if kind != b.kind {
		return false, fmt.Errorf("%w: stored entry of kind %q, but the state is a %s", ErrStateMismatch, kind, kindName(b.kind))
	}
	return stamped, nil
}

// storeSweepDue reports whether a write to a state on the Pebble backend
// is to run a step of the store's TTL cleanup.
func (b *stateBase) storeSweepDue() bool {
	b.writes++
	return b.writes%storeSweepEvery == 0
}

// storeWhat names state b in the errors of its store.
func (b *stateBase) storeWhat() string { return fmt.Sprintf("keyed state %q", b.name) }

func (b *stateBase) base() *stateBase { return b }

// errorf returns an error about the state.
func (b *stateBase) errorf(format string, args ...any) error {
	return fmt.Errorf("keyed state %q: %s", b.name, fmt.Sprintf(format, args...))
}

// wrap attributes err to the state.
func (b *stateBase) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("keyed state %q: %w", b.name, err)
}

// now returns the processing time of the state's task.
func (b *stateBase) now() int64 { return nowMillis(b.task) }

// userState is a keyed state as its registry sees it.
type userState[K comparable] interface {
	base() *stateBase
	// snapshot writes every live entry of the state.
	snapshot(s *stateSnapshot[K]) error
	// restore puts back the entry of key k whose value d holds after
	// the kind byte; stamped tells whether the entry carries TTL stamps,
	// now is the processing time of the restore.
	restore(k K, stamped bool, d *StateDecoder, now int64) error
	// attach moves the state to store, on the Pebble backend, before
	// any access: keys encode its record keys, and *fail is the
	// operator's sticky error. It fails when a type of the state has no
	// codec.
	attach(store *StateStore, keys *StateKeys[K], fail *error) error
	// flush writes what the state changed to its store (Pebble backend).
	flush() error
}

// stateRegistry holds the keyed states of the function of one keyed
// operator instance.
type stateRegistry[K comparable] struct {
	task   *TaskContext
	states []userState[K]
	byName map[string]userState[K]
	// store is where the states keep their entries on the Pebble
	// backend (nil on the heap), keys how they encode record keys there,
	// and fail the operator's sticky error, which the states set when
	// the store fails (see storeCache).
	store *StateStore
	keys  *StateKeys[K]
	fail  *error
}

func newStateRegistry[K comparable](task *TaskContext) *stateRegistry[K] {
	return &stateRegistry[K]{task: task, byName: make(map[string]userState[K])}
}

// keyType implements registryOf.
func (r *stateRegistry[K]) keyType() reflect.Type { return reflect.TypeFor[K]() }

// registryOf is what NewValueState and the others see of a registry before
// they know that its key type is theirs.
type registryOf interface {
	keyType() reflect.Type
}

// openRegistries maps the task context of each keyed operator whose
// function is being opened to the operator's state registry. An operator
// adds its entry just before it calls the function's Open and removes it
// right after (bindStates), so that the states a function creates in Open
// find their operator, and creating states anywhere else fails. Subtasks
// open their operators concurrently, hence the lock; it is taken only while
// functions are opened.
var openRegistries = struct {
	sync.Mutex
	m map[*TaskContext]registryOf
}{m: make(map[*TaskContext]registryOf)}

// bindStates makes reg the state registry of task until the returned
// function is called.
func bindStates(task *TaskContext, reg registryOf) (release func()) {
	openRegistries.Lock()
	prev, had := openRegistries.m[task]
	openRegistries.m[task] = reg
	openRegistries.Unlock()
	return func() {
		openRegistries.Lock()
		if had {
			openRegistries.m[task] = prev
		} else {
			delete(openRegistries.m, task)
		}
		openRegistries.Unlock()
	}
}

// register adds a state named name of kind and type typ, made by mk, to
// the registry of the operator whose function ctx is opening.
func register[K comparable, S userState[K]](ctx *TaskContext, name string, kind byte, typ string, opts []StateOption, mk func(stateBase, *stateConfig) S) (S, error) {
	var zero S
	if ctx == nil {
		return zero, fmt.Errorf("keyed state %q: nil task context", name)
	}
	if name == "" {
		return zero, errors.New("keyed state: empty name")
	}
	openRegistries.Lock()
	owner := openRegistries.m[ctx]
	openRegistries.Unlock()
	if owner == nil {
		return zero, fmt.Errorf("keyed state %q of operator %q: keyed state is created in the Open of a function that KeyedProcess or KeyedCoProcess runs, with the task context Open got", name, ctx.Operator)
	}
	reg, ok := owner.(*stateRegistry[K])
	if !ok {
		return zero, fmt.Errorf("%w: %s %q has key type %v, but operator %q is keyed by %v",
			ErrStateMismatch, typ, name, reflect.TypeFor[K](), ctx.Operator, owner.keyType())
	}
	if prev, dup := reg.byName[name]; dup {
		return zero, fmt.Errorf("%w: %s %q is already registered as %s; a name is registered once per operator",
			ErrStateMismatch, typ, name, prev.base().typ)
	}
	var cfg stateConfig
	for _, o := range opts {
		if o != nil {
			o.applyState(&cfg)
		}
	}
	b := stateBase{
		name: name, kind: kind, typ: typ, task: ctx,
		prefix: codec.String().Append([]byte{tagUserState}, name),
	}
	if cfg.hasTTL {
		p, err := cfg.ttl.policy()
		if err != nil {
			return zero, fmt.Errorf("%s %q: %w", typ, name, err)
		}
		b.ttl = p
	}
	s := mk(b, &cfg)
	if err := cfg.unusedCodecs(); err != nil {
		return zero, fmt.Errorf("%s %q: %w", typ, name, err)
	}
	if reg.store != nil {
		if err := s.attach(reg.store, reg.keys, reg.fail); err != nil {
			return zero, fmt.Errorf("%s %q on the Pebble state backend: %w", typ, name, err)
		}
	}
	reg.byName[name] = s
	reg.states = append(reg.states, s)
	return s, nil
}

// typeName describes a state type for messages.
func typeName(kind string, types ...reflect.Type) string {
	s := kind + "["
	for i, t := range types {
		if i > 0 {
			s += ", "
		}
		s += t.String()
	}
	return s + "]"
}

// discardedState is a name registered by DiscardState.
type discardedState[K comparable] struct{ stateBase }

func (*discardedState[K]) snapshot(*stateSnapshot[K]) error { return nil }

func (*discardedState[K]) restore(K, bool, *StateDecoder, int64) error { return nil }

func (*discardedState[K]) attach(*StateStore, *StateKeys[K], *error) error { return nil }

func (*discardedState[K]) flush() error { return nil }

// DiscardState declares that the function no longer uses the keyed state
// name, with key type K: a restore drops the entries a checkpoint holds of
// it, where it would otherwise fail with ErrStateMismatch. Like the states,
// it is called in the function's Open. Once a checkpoint has been taken
// with DiscardState in place, the call can go.
func DiscardState[K comparable](ctx *TaskContext, name string) error {
	_, err := register(ctx, name, kindDiscarded, "DiscardState["+reflect.TypeFor[K]().String()+"]", nil,
		func(b stateBase, _ *stateConfig) *discardedState[K] { return &discardedState[K]{b} })
	return err
}

// stateSnapshot is a snapshot in progress: the writer, the key codec, the
// processing time of the snapshot (for TTL), and buffers.
type stateSnapshot[K comparable] struct {
	keys     *StateKeys[K]
	w        StateWriter
	now      int64
	key, val []byte
}

// fork returns a snapshot with s's key codec and time and buffers of its
// own, for the asynchronous part; its writer is set there.
func (s *stateSnapshot[K]) fork() *stateSnapshot[K] {
	return &stateSnapshot[K]{keys: s.keys, now: s.now}
}

// put writes the entry of state b and key k, whose value is s.val.
func (s *stateSnapshot[K]) put(b *stateBase, k K) {
	s.key = s.keys.codec.Append(append(s.key[:0], b.prefix...), k)
	s.w.Keyed(s.keys.KeyGroup(k), s.key, s.val)
}

// startValue starts s.val with the kind byte of b.
func (s *stateSnapshot[K]) startValue(b *stateBase) {
	s.val = append(s.val[:0], b.kindByte())
}

// snapshot writes the entries of every state:
//
//	'u' name key → kind, then the value of the kind (see each kind)
//
// name is the state's name (a codec string), key the record key in the
// key codec. kind is a letter, 'v' (ValueState), 'l' (ListState), 'm'
// (MapState), 'r' (ReducingState) or 'a' (AggregatingState), upper-case
// when the state has a TTL: then each value or element carries the
// processing time of its last TTL update (varint milliseconds), before
// the value for single values and after each element for lists and maps.
// Expired entries are dropped, not written.
//
// On the Pebble backend the entries are in the store: snapshot writes
// back what the states changed since the last checkpoint, and the runtime
// checkpoints the store.
func (r *stateRegistry[K]) snapshot(keys *StateKeys[K], w StateWriter) error {
	if r == nil || len(r.states) == 0 {
		return nil
	}
	if r.store != nil {
		for _, st := range r.states {
			if err := st.flush(); err != nil {
				return err
			}
		}
		return nil
	}
	s := &stateSnapshot[K]{keys: keys, w: w, now: nowMillis(r.task)}
	for _, st := range r.states {
		if err := st.snapshot(s); err != nil {
			return st.base().wrap(err)
		}
	}
	return nil
}

// registered returns the state name, or an error wrapping ErrStateMismatch
// when the function does not register it while a checkpoint holds it.
func (r *stateRegistry[K]) registered(name string) (userState[K], error) {
	var st userState[K]
	if r != nil {
		st = r.byName[name]
	}
	if st == nil {
		return nil, fmt.Errorf("%w: the checkpoint holds keyed state %q, which the function does not register; "+
			"register it in Open, or call DiscardState to drop it", ErrStateMismatch, name)
	}
	return st, nil
}

// kindMismatch is the error of a state checkpointed as one kind and
// registered as another.
func kindMismatch(name string, checkpointed, registered byte) error {
	return fmt.Errorf("%w: keyed state %q was checkpointed as a %s and is registered as a %s",
		ErrStateMismatch, name, kindName(checkpointed), kindName(registered))
}

// restore puts back one entry of a user state, whose key d holds after the
// tag, read from key group kg.
func (r *stateRegistry[K]) restore(keys *StateKeys[K], kg int, kd *StateDecoder, value []byte, now func() int64) error {
	name := Decode(kd, codec.String())
	k := keys.Read(kd, kg)
	if err := kd.End(); err != nil {
		return err
	}
	st, err := r.registered(name)
	if err != nil {
		return err
	}
	b := st.base()
	vd := NewStateDecoder(value)
	kind := vd.Byte()
	if vd.Err() != nil {
		return b.wrap(vd.Err())
	}
	stamped := kind >= 'A' && kind <= 'Z'
	if stamped {
		kind += ttlFlag
	}
	switch kind {
	case kindValue, kindList, kindMap, kindReducing, kindAggregating:
	default:
		return b.wrap(CorruptState("unknown state kind %q", value[0]))
	}
	if b.kind == kindDiscarded {
		return nil
	}
	if kind != b.kind {
		return kindMismatch(name, kind, b.kind)
	}
	if err := st.restore(k, stamped, &vd, now()); err != nil {
		return b.wrap(err)
	}
	return b.wrap(vd.End())
}
