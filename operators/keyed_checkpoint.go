package operators

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"

	"github.com/stromhq/strom/codec"
)

// This file makes the keyed operators of keyed.go and coprocess.go
// Checkpointed: Reduce's values, and the timers and the user functions'
// keyed states (state.go) of KeyedProcess and KeyedCoProcess. The entry
// layout follows keyed_state.go: a tag, the record key, a sub-key; user
// states put their name between the tag and the record key.

var (
	_ Checkpointed = (*Reduce[int, int])(nil)
	_ Checkpointed = (*KeyedProcess[int, int, int])(nil)
	_ Checkpointed = (*KeyedCoProcess[int, int, int, int])(nil)
)

// Tags of the keyed state entries of this file.
const (
	tagReduceValue byte = 'v'
	tagEventTimer  byte = 'e'
	tagProcTimer   byte = 'p'
	tagUserState   byte = 'u'
)

// lazyKeys resolves an operator's StateKeys once, when it first snapshots
// or restores state, so that a job without checkpoints never needs codecs.
type lazyKeys[K comparable] struct {
	keys *StateKeys[K]
	err  error
	done bool
}

func (l *lazyKeys[K]) get(task *TaskContext, c StateCodec[K]) (*StateKeys[K], error) {
	if !l.done {
		l.done = true
		l.keys, l.err = NewStateKeys(task, c)
	}
	return l.keys, l.err
}

// lazyCodec resolves a StateCodec once.
type lazyCodec[T any] struct {
	c    codec.Codec[T]
	err  error
	done bool
}

func (l *lazyCodec[T]) get(c StateCodec[T]) (codec.Codec[T], error) {
	if !l.done {
		l.done = true
		l.c, l.err = c.Resolve()
	}
	return l.c, l.err
}

// entryError attributes the error of an entry to its key group.
func entryError(kg int, err error) error {
	return fmt.Errorf("restore key group %d: %w", kg, err)
}

// reduceCodecs are the codecs of a Reduce's state.
type reduceCodecs[K comparable, T any] struct {
	keys  lazyKeys[K]
	value lazyCodec[T]
}

func (r *Reduce[K, T]) stateCodecs() (*StateKeys[K], codec.Codec[T], error) {
	keys, err := r.codecs.keys.get(r.Ctx, r.KeyCodec)
	if err != nil {
		return nil, nil, err
	}
	vc, err := r.codecs.value.get(r.ValueCodec)
	return keys, vc, err
}

// decodeReduced decodes the value of a Reduce entry.
func decodeReduced[T any](vc codec.Codec[T], value []byte) (reduced[T], error) {
	vd := NewStateDecoder(value)
	v := Decode(&vd, vc)
	ts := vd.Varint()
	return reduced[T]{value: v, ts: ts}, vd.End()
}

// SnapshotState implements Checkpointed. Each key's state is one entry in
// the key's key group:
//
//	'v' key → value (ValueCodec), timestamp (varint)
//
// On the heap, when the key and value types are cowSafe and w has an
// asynchronous part, the values are frozen (copy on write) and encoded
// there. On the Pebble backend the entries are in the store: SnapshotState
// writes back the values changed since the last checkpoint, and the
// runtime checkpoints the store.
func (r *Reduce[K, T]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(r.Ctx, &err)
	if r.sc != nil {
		return attribute(r.Ctx, r.sc.flush())
	}
	keys, vc, err := r.stateCodecs()
	if err != nil {
		return attribute(r.Ctx, err)
	}
	if r.async && asyncWriter(w) {
		if frozen, flight, ok := r.state.freeze(); ok {
			return DeferState(w, func(w StateWriter) error {
				defer flight.finish()
				var key, val []byte
				for k, cur := range frozen {
					key, val = appendReduced(w, keys, vc, key, val, k, cur)
				}
				return nil
			})
		}
	}
	var key, val []byte
	r.state.each(func(k K, cur *reduced[T]) bool {
		key, val = appendReduced(w, keys, vc, key, val, k, cur)
		return true
	})
	return nil
}

// appendReduced writes the entry of key k, whose cell is cur, to w, with
// key and val as buffers, which it returns.
func appendReduced[K comparable, T any](w StateWriter, keys *StateKeys[K], vc codec.Codec[T], key, val []byte, k K, cur *reduced[T]) ([]byte, []byte) {
	key = keys.Append(key[:0], tagReduceValue, k)
	val = AppendVarint(vc.Append(val[:0], cur.value), cur.ts)
	w.Keyed(keys.KeyGroup(k), key, val)
	return key, val
}

// RestoreState implements Checkpointed.
func (r *Reduce[K, T]) RestoreState(rd StateReader) (err error) {
	defer recoverInto(r.Ctx, &err)
	return attribute(r.Ctx, rd.Keyed(func(kg int, key, value []byte) error {
		keys, vc, err := r.stateCodecs()
		if err != nil {
			return err
		}
		kd := NewStateDecoder(key)
		if tag := kd.Byte(); kd.Err() == nil && tag != tagReduceValue {
			return entryError(kg, UnknownTag(tag))
		}
		k := keys.Read(&kd, kg)
		e, verr := decodeReduced(vc, value)
		if err := kd.End(); err != nil {
			return entryError(kg, err)
		}
		if verr != nil {
			return entryError(kg, verr)
		}
		if r.sc != nil {
			// The entry is valid: put it back as it is.
			dup, err := r.sc.exists(k)
			if err != nil {
				return entryError(kg, err)
			}
			if dup {
				return entryError(kg, CorruptState("key %v restored twice", k))
			}
			return r.sc.store.RestoreEntry(kg, key, value)
		}
		if _, dup := r.state.get(k); dup {
			return entryError(kg, CorruptState("key %v restored twice", k))
		}
		r.state.set(k, &e)
		return nil
	}))
}

// snapshot writes the timers and the user states of every key, each in its
// key's key group:
//
//	'e' key time → rank (uvarint): an event-time timer
//	'p' key time → rank (uvarint): a processing-time timer
//	'u' name key → kind, value: an entry of a user state (see
//	               stateRegistry.snapshot)
//
// A timer's rank is its place in registration order, which orders timers
// of equal time; restoring registers the timers in rank order.
func (c *keyedCore[K, OUT]) snapshot(kc StateCodec[K], w StateWriter) error {
	keys, err := c.keysFor(kc)
	if err != nil {
		return err
	}
	// The timers are copied now and ordered and encoded in the
	// asynchronous part, unless keys could change through shared memory
	// meanwhile (see DeferStateOf).
	event, proc := c.timers.event.Frozen(), c.timers.proc.Frozen()
	encode := func(w StateWriter) error {
		var key, val []byte
		for _, q := range [...]struct {
			tag byte
			f   FrozenTimers[K]
		}{{tagEventTimer, event}, {tagProcTimer, proc}} {
			for i, tm := range q.f.Registered() {
				key = AppendTimeKey(keys.Append(key[:0], q.tag, tm.Key), tm.Time)
				val = AppendUvarint(val[:0], uint64(i))
				w.Keyed(keys.KeyGroup(tm.Key), key, val)
			}
		}
		return nil
	}
	if err := DeferStateOf[K](w, encode); err != nil {
		return err
	}
	c.states.snapshotNames(w)
	return c.states.snapshot(keys, w)
}

// keysFor returns the StateKeys of the operator, whose KeyCodec is kc. On
// the Pebble backend the keyed states resolved them in Open, from the
// codec setKeyCodec gave, or the key type's default codec when the
// operator did not call it: then kc must be a codec of the default
// codec's type.
func (c *keyedCore[K, OUT]) keysFor(kc StateCodec[K]) (*StateKeys[K], error) {
	keys, err := c.keys.get(c.timers.task, kc)
	if err != nil || c.states == nil || c.states.store == nil || c.keyCodecSet || kc.Codec == nil {
		return keys, err
	}
	if reflect.TypeOf(kc.Codec) != reflect.TypeOf(keys.codec) {
		return nil, fmt.Errorf("keyed state on the Pebble state backend: the operator's KeyCodec (%T) is not its key type's default codec (%T), "+
			"and the operator did not give it to its keyed states before Open", kc.Codec, keys.codec)
	}
	return keys, nil
}

// rankedTimer is a timer read from a checkpoint with its rank.
type rankedTimer[K comparable] struct {
	tm   Timer[K]
	rank uint64
}

// registerRanked registers timers in rank order (read order for equal
// ranks, as when subtasks were merged by rescaling).
func registerRanked[K comparable](q *TimerQueue[K], ts []rankedTimer[K]) error {
	slices.SortStableFunc(ts, func(a, b rankedTimer[K]) int { return cmp.Compare(a.rank, b.rank) })
	for _, t := range ts {
		if !q.Register(t.tm.Key, t.tm.Time) {
			return CorruptState("timer of key %v at %d restored twice", t.tm.Key, t.tm.Time)
		}
	}
	return nil
}

// restore reads the timers and user states snapshot wrote. An entry of a
// user state that the function did not register fails the restore (with
// ErrStateMismatch), so that no state is dropped silently.
func (c *keyedCore[K, OUT]) restore(kc StateCodec[K], r StateReader) error {
	if err := c.states.checkNames(r); err != nil {
		return err
	}
	var event, proc []rankedTimer[K]
	// now is the processing time of the restore, read once if a user
	// state needs it (for TTL).
	var now int64
	nowRead := false
	clock := func() int64 {
		if !nowRead {
			now, nowRead = nowMillis(c.timers.task), true
		}
		return now
	}
	err := r.Keyed(func(kg int, key, value []byte) error {
		keys, err := c.keysFor(kc)
		if err != nil {
			return err
		}
		kd := NewStateDecoder(key)
		tag := kd.Byte()
		if tag == tagUserState {
			if err := c.states.restore(keys, kg, &kd, value, clock); err != nil {
				return entryError(kg, err)
			}
			return nil
		}
		k := keys.Read(&kd, kg)
		t := kd.Time()
		if err := kd.End(); err != nil {
			return entryError(kg, err)
		}
		vd := NewStateDecoder(value)
		rank := vd.Uvarint()
		if err := vd.End(); err != nil {
			return entryError(kg, err)
		}
		switch tag {
		case tagEventTimer:
			event = append(event, rankedTimer[K]{Timer[K]{k, t}, rank})
		case tagProcTimer:
			proc = append(proc, rankedTimer[K]{Timer[K]{k, t}, rank})
		default:
			return entryError(kg, UnknownTag(tag))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := registerRanked(c.timers.event, event); err != nil {
		return err
	}
	return registerRanked(c.timers.proc, proc)
}

// SnapshotState implements Checkpointed: it writes the timers and the
// function's keyed states of every key (see keyedCore.snapshot for the
// layout). The watermark is not state: it is re-established by the
// watermarks that follow a restore. A state whose type has no codec fails
// the snapshot, naming the state and the type.
func (p *KeyedProcess[K, IN, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.snapshot(p.KeyCodec, w))
}

// RestoreState implements Checkpointed.
func (p *KeyedProcess[K, IN, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.restore(p.KeyCodec, r))
}

// SnapshotState implements Checkpointed: it writes the timers and the
// function's keyed states of every key, as KeyedProcess does. The
// watermarks are not state.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.snapshot(p.KeyCodec, w))
}

// RestoreState implements Checkpointed.
func (p *KeyedCoProcess[K, IN1, IN2, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(p.Ctx, &err)
	return attribute(p.Ctx, p.core.restore(p.KeyCodec, r))
}
