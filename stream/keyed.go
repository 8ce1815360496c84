package stream

import (
	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/operators"
)

// KeyedStream is a stream partitioned by a key: every record of one key
// goes to the same subtask of the next operator, which sees them in order
// and keeps state per key.
type KeyedStream[K comparable, T any] struct {
	stream *DataStream[T]
	key    func(T) K
}

// KeyedContext is what a keyed process function sees of its record: its
// key, timestamp, timer service and side outputs (see Output).
type KeyedContext[K comparable] = operators.KeyedContext[K]

// KeyedProcessFunction processes the records of a keyed stream; it may also
// implement TimerFunction to act on timers.
type KeyedProcessFunction[K comparable, IN, OUT any] = operators.KeyedProcessFunction[K, IN, OUT]

// ProcessFunc adapts a function to a KeyedProcessFunction without OnTimer.
type ProcessFunc[K comparable, IN, OUT any] = operators.KeyedProcessFunc[K, IN, OUT]

// KV is a key with a value, the output of keyed aggregations.
type KV[K comparable, V any] struct {
	Key   K
	Value V
}

// Number is a type Sum adds up.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// KeyHasher returns a deterministic hash for keys of type K: a direct one
// for basic types, else the hash of the key's codec encoding. Keyed
// operators write their checkpointed state in the key groups of this hash
// (operators.KeyHasher), where the key's records are routed.
func KeyHasher[K comparable]() (func(K) uint64, error) {
	return operators.KeyHasher[K]()
}

// KeyBy partitions s by the key that key extracts. Keys are hashed to key
// groups deterministically, so a key lands in the same key group in every
// process and every run.
func KeyBy[K comparable, T any](s *DataStream[T], key func(T) K) *KeyedStream[K, T] {
	h, err := KeyHasher[K]()
	if err != nil {
		s.env.errorf("key by: %w", err)
		h = func(K) uint64 { return 0 }
	}
	ks := &DataStream[T]{env: s.env, from: s.from, part: actors.Hash, keyHash: func(v T) uint64 { return h(key(v)) }}
	return &KeyedStream[K, T]{stream: ks, key: key}
}

// Reduce folds the records of each key with fn. In streaming mode it emits
// the running result after every record; in batch mode one final result per
// key at the end of input. Its state (each key's value) is checkpointed
// with the codecs of K and T; a type without a codec fails checkpoints,
// not the job.
func Reduce[K comparable, T any](ks *KeyedStream[K, T], name string, fn func(acc, v T) (T, error)) *DataStream[T] {
	key := ks.key
	kc, vc := operators.CodecFor[K](), operators.CodecFor[T]()
	return addVertex[T](ks.stream.env, simple[T, T](name, func(o operators.Input[T]) operators.OneInputOperator[T] {
		return &operators.Reduce[K, T]{Key: operators.Key[K, T]{Selector: key}, Fn: fn, Out: o, KeyCodec: kc, ValueCodec: vc}
	}), ks.stream.input())
}

// Sum adds up value(record) per key and emits KV{key, sum}: every update in
// streaming mode, the final sum per key in batch mode.
func Sum[K comparable, T any, N Number](ks *KeyedStream[K, T], name string, value func(T) N) *DataStream[KV[K, N]] {
	key := ks.key
	kc, vc := operators.CodecFor[K](), operators.CodecFor[KV[K, N]]()
	return addVertex[KV[K, N]](ks.stream.env, simple[T, KV[K, N]](name, func(o operators.Input[KV[K, N]]) operators.OneInputOperator[T] {
		red := &operators.Reduce[K, KV[K, N]]{
			Key: operators.Key[K, KV[K, N]]{Selector: func(kv KV[K, N]) K { return kv.Key }},
			Fn: func(acc, v KV[K, N]) (KV[K, N], error) {
				acc.Value += v.Value
				return acc, nil
			},
			Out:        o,
			KeyCodec:   kc,
			ValueCodec: vc,
		}
		return &toKV[K, T, N]{Reduce: red, key: key, value: value}
	}), ks.stream.input())
}

// toKV feeds a Reduce over KV pairs from records. It is checkpointed as
// its Reduce.
type toKV[K comparable, T any, N Number] struct {
	*operators.Reduce[K, KV[K, N]]
	key   func(T) K
	value func(T) N
	buf   operators.Batch[KV[K, N]]
}

func (t *toKV[K, T, N]) ProcessBatch(b *operators.Batch[T]) error {
	t.buf.Values = t.buf.Values[:0]
	for _, v := range b.Values {
		t.buf.Values = append(t.buf.Values, KV[K, N]{Key: t.key(v), Value: t.value(v)})
	}
	t.buf.Times = b.Times
	err := t.Reduce.ProcessBatch(&t.buf)
	t.buf.Times = nil
	return err
}

// Process runs a keyed process function over ks, with keyed timers and
// side outputs. One fn serves every subtask, each on its own goroutine, so
// it must be safe for concurrent use (stateless functions are) and cannot
// hold keyed states, which are per subtask; KeyedProcess makes one function
// per subtask instead.
func Process[K comparable, IN, OUT any](ks *KeyedStream[K, IN], name string, fn KeyedProcessFunction[K, IN, OUT]) *DataStream[OUT] {
	return KeyedProcess(ks, name, func() KeyedProcessFunction[K, IN, OUT] { return fn })
}
