package operators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/snapshot"
)

// This file holds what stateful operators share to write their state into
// checkpoints (see Checkpointed): the codecs of state types, the hash that
// assigns record keys to key groups, and the helpers of the entry layout.
//
// Keyed state entries are self-describing. An entry's key is a one-byte
// tag naming the kind of state, then the record key in its codec, then a
// sub-key of that kind (a timestamp, a window); times in keys are 8 bytes
// big endian with the sign bit flipped (AppendTimeKey), so that the keys
// of one record key sort in time order. Values are codec encodings:
// numbers as varints, counts as uvarints, strings length-prefixed. Each
// operator documents its tags and values next to its SnapshotState.
//
// Restoring is strict: an entry with an unknown tag, bytes that do not
// decode, trailing bytes, or a record key that does not belong to the key
// group it was read from fails the restore with an error wrapping
// ErrCorruptState, rather than restoring wrong state.

// StateCodec is how a stateful operator encodes one type of its state in
// checkpoints: a codec, or the error telling why the type has none. The
// zero StateCodec stands for the type's default codec (codec.For).
//
// A job builder gets the codecs of its operators' state types at build
// time with CodecFor. A type without a codec does not fail the job: the
// operator's SnapshotState fails, naming the operator and the type, so
// that only jobs that take checkpoints fail.
type StateCodec[T any] struct {
	Codec codec.Codec[T]
	// Err is why T has no codec.
	Err error
}

// CodecFor returns the StateCodec of T's default codec, or of the error
// codec.For gives for T.
func CodecFor[T any]() StateCodec[T] {
	c, err := codec.For[T]()
	return StateCodec[T]{Codec: c, Err: err}
}

// CodecOf returns the StateCodec of a hand-written codec.
func CodecOf[T any](c codec.Codec[T]) StateCodec[T] { return StateCodec[T]{Codec: c} }

// Resolve returns the codec of c, the default codec of T when c is the
// zero StateCodec, or an error saying that T cannot be checkpointed.
func (c StateCodec[T]) Resolve() (codec.Codec[T], error) {
	if c.Err != nil {
		return nil, stateTypeError[T](c.Err)
	}
	if c.Codec != nil {
		return c.Codec, nil
	}
	d, err := codec.For[T]()
	if err != nil {
		return nil, stateTypeError[T](err)
	}
	return d, nil
}

func stateTypeError[T any](err error) error {
	return fmt.Errorf("state type %v cannot be checkpointed: %w", reflect.TypeFor[T](), err)
}

// KeyHasher returns the deterministic hash of keys of type K that
// partitions keyed streams: a direct one for basic types, else the hash of
// the key's codec encoding. Keyed state is written in the key group of
// this hash, so that it lands where the key's records are routed.
func KeyHasher[K comparable]() (func(K) uint64, error) {
	if h, ok := snapshot.HasherFor[K](); ok {
		return h, nil
	}
	c, err := codec.For[K]()
	if err != nil {
		return nil, fmt.Errorf("key type %v cannot be hashed: %w", reflect.TypeFor[K](), err)
	}
	return func(k K) uint64 {
		var buf [64]byte
		return snapshot.HashBytes(c.Append(buf[:0], k))
	}, nil
}

// ErrCorruptState is wrapped by the errors of entries that cannot be
// restored.
var ErrCorruptState = errors.New("corrupt state entry")

// CorruptState returns an error wrapping ErrCorruptState with a
// description.
func CorruptState(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorruptState, fmt.Sprintf(format, args...))
}

// StateKeys writes and reads the record keys of keyed state entries and
// tells their key groups.
type StateKeys[K comparable] struct {
	task  *TaskContext
	codec codec.Codec[K]
	hash  func(K) uint64
}

// NewStateKeys returns the StateKeys of an operator running in task, with
// key codec c (see StateCodec) and the partitioning hash of K
// (KeyHasher). It fails when K cannot be encoded or hashed.
func NewStateKeys[K comparable](task *TaskContext, c StateCodec[K]) (*StateKeys[K], error) {
	kc, err := c.Resolve()
	if err != nil {
		return nil, err
	}
	h, err := KeyHasher[K]()
	if err != nil {
		return nil, err
	}
	return &StateKeys[K]{task: task, codec: kc, hash: h}, nil
}

// KeyGroup returns the key group of k.
func (s *StateKeys[K]) KeyGroup(k K) int { return s.task.KeyGroupOf(s.hash(k)) }

// Append appends the start of an entry key to dst: tag, then k.
func (s *StateKeys[K]) Append(dst []byte, tag byte, k K) []byte {
	return s.codec.Append(append(dst, tag), k)
}

// Read decodes a record key from d and checks that it belongs to key
// group kg, the group its entry was read from.
func (s *StateKeys[K]) Read(d *StateDecoder, kg int) K {
	k := Decode(d, s.codec)
	if d.err == nil && s.KeyGroup(k) != kg {
		d.fail(CorruptState("key %v belongs to key group %d, not %d", k, s.KeyGroup(k), kg))
	}
	return k
}

// AppendTimeKey appends t to a state key: 8 bytes big endian with the sign
// bit flipped, so that keys sort in time order.
func AppendTimeKey(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

// AppendVarint appends the zigzag varint of v to a state value.
func AppendVarint(dst []byte, v int64) []byte { return codec.Int64().Append(dst, v) }

// AppendUvarint appends the uvarint of v (a count, a rank) to a state
// value.
func AppendUvarint(dst []byte, v uint64) []byte { return codec.Uint64().Append(dst, v) }

// AppendList appends a list of values of codec c: a uvarint count, then
// the values.
func AppendList[T any](dst []byte, c codec.Codec[T], vs []T) []byte {
	dst = AppendUvarint(dst, uint64(len(vs)))
	for _, v := range vs {
		dst = c.Append(dst, v)
	}
	return dst
}

// StateDecoder reads the fields of a state entry's key or value in turn.
// The first error sticks: later reads return zero values, and End or Err
// report it.
type StateDecoder struct {
	b   []byte
	err error
}

// NewStateDecoder returns a decoder of b.
func NewStateDecoder(b []byte) StateDecoder { return StateDecoder{b: b} }

func (d *StateDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

// Byte reads one byte, such as a tag.
func (d *StateDecoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(CorruptState("truncated"))
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Time reads a time written by AppendTimeKey.
func (d *StateDecoder) Time() int64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail(CorruptState("truncated time"))
		return 0
	}
	t := int64(binary.BigEndian.Uint64(d.b) ^ (1 << 63))
	d.b = d.b[8:]
	return t
}

// Varint reads a zigzag varint.
func (d *StateDecoder) Varint() int64 { return Decode(d, codec.Int64()) }

// Uvarint reads a uvarint.
func (d *StateDecoder) Uvarint() uint64 { return Decode(d, codec.Uint64()) }

// Count reads the uvarint count of a list whose items take at least one
// byte each, checking it against the bytes left.
func (d *StateDecoder) Count() int {
	n := d.Uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail(CorruptState("count %d exceeds the %d bytes left", n, len(d.b)))
		return 0
	}
	return int(n)
}

// Err returns the first error.
func (d *StateDecoder) Err() error { return d.err }

// End returns the first error, or an error when bytes are left over.
func (d *StateDecoder) End() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = CorruptState("%d trailing bytes", len(d.b))
	}
	return d.err
}

// Decode reads one value of codec c from d.
func Decode[T any](d *StateDecoder, c codec.Codec[T]) T {
	var zero T
	if d.err != nil {
		return zero
	}
	v, n, err := c.Decode(d.b)
	if err != nil {
		d.fail(fmt.Errorf("%w: %w", ErrCorruptState, err))
		return zero
	}
	d.b = d.b[n:]
	return v
}

// DecodeList reads the uvarint count of a list of values of codec c and the
// values, appending them to vs.
func DecodeList[T any](d *StateDecoder, c codec.Codec[T], vs []T) []T {
	n := d.Uvarint()
	if d.err != nil {
		return vs
	}
	if n > uint64(len(d.b)) {
		// Only values that encode to no bytes at all (struct{}) can be
		// more than the bytes left; bound them all the same.
		var zero T
		if len(c.Append(nil, zero)) > 0 || n > maxEmptyValues {
			d.fail(CorruptState("count %d exceeds the %d bytes left", n, len(d.b)))
			return vs
		}
	}
	vs = slices.Grow(vs, int(min(n, uint64(len(d.b))+1)))
	for range n {
		v := Decode(d, c)
		if d.err != nil {
			return vs
		}
		vs = append(vs, v)
	}
	return vs
}

// maxEmptyValues bounds the lists of values that encode to no bytes.
const maxEmptyValues = 1 << 24

// UnknownTag returns the error of an entry whose tag the operator does not
// write.
func UnknownTag(tag byte) error { return CorruptState("unknown state tag %q", tag) }

// EventTimeState is the operator state list in which windows and joins
// keep their event time (Union: every subtask gets every entry).
const EventTimeState = "event-time"

// SnapshotEventTime writes the event times of an operator (its watermark,
// or the watermarks of its inputs) as one entry of EventTimeState.
//
// Process functions do not: their event time is re-established by the
// watermarks that follow a restore. Windows and joins do, because event
// time decides which records are late, so that a record arriving between
// a restore and the next watermark is handled as it would have been
// without the restore.
func SnapshotEventTime(w StateWriter, times ...int64) {
	var b []byte
	for _, t := range times {
		b = AppendVarint(b, t)
	}
	w.Operator(EventTimeState, snapshot.Union, b)
}

// RestoreEventTime reads the n event times SnapshotEventTime wrote. When
// the state holds several entries (subtasks merged by rescaling), each
// time is the minimum over them, so that no record becomes late that
// would not have been late in any of the merged subtasks. It reports false
// when the checkpoint holds none.
func RestoreEventTime(r StateReader, n int) ([]int64, bool, error) {
	entries, err := r.Operator(EventTimeState)
	if errors.Is(err, snapshot.ErrUnknownOperatorState) || (err == nil && len(entries) == 0) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("restore %s: %w", EventTimeState, err)
	}
	times := make([]int64, n)
	for i, e := range entries {
		d := NewStateDecoder(e)
		for j := range times {
			t := d.Varint()
			if i == 0 || t < times[j] {
				times[j] = t
			}
		}
		if err := d.End(); err != nil {
			return nil, false, fmt.Errorf("restore %s: %w", EventTimeState, err)
		}
	}
	return times, true, nil
}
