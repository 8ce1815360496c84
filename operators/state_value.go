package operators

import (
	"fmt"
	"reflect"

	"github.com/stromhq/strom/codec"
)

// This file holds the keyed states of one value per key: ValueState,
// ReducingState and AggregatingState, which share valueStore.

// cell is a value with its TTL stamp (the processing time of its last
// renewal; 0 without TTL).
type cell[T any] struct {
	v     T
	stamp int64
}

// valueStore holds one value per key: in a Go map on the heap backend, in
// the operator's StateStore behind a write-back cache (sc) on the Pebble
// backend.
//
// On the heap the map is copy-on-write (see state_cow.go): when the key
// and value types are cowSafe (async), snapshots encode a frozen map on
// the persisting goroutine.
type valueStore[K comparable, T any] struct {
	stateBase
	m     cowMap[K, cell[T]]
	async bool
	sc    *storeCache[K, cell[T]]
	codec StateCodec[T]
	lc    lazyCodec[T]
}

func newValueStore[K comparable, T any](b stateBase, cfg *stateConfig) valueStore[K, T] {
	return valueStore[K, T]{
		stateBase: b, m: newCowMap[K, cell[T]](nil), codec: stateCodec[T](cfg),
		async: cowSafeTypes(reflect.TypeFor[K](), reflect.TypeFor[T]()),
	}
}

// clock returns the processing time when the state has a TTL, else 0
// without reading the clock.
func (s *stateBase) clock() int64 {
	if !s.ttl.on() {
		return 0
	}
	return s.now()
}

// lookup returns the live value of k at now, removing it when it expired
// and renewing its TTL when renew is set and the TTL is renewed on reads.
func (s *valueStore[K, T]) lookup(k K, now int64, renew bool) (T, bool) {
	if s.sc != nil {
		return s.lookupStored(k, now, renew)
	}
	c, ok := s.m.get(k)
	if !ok || !s.ttl.on() {
		return c.v, ok
	}
	if s.ttl.expired(c.stamp, now) {
		s.m.del(k)
		var zero T
		return zero, false
	}
	if renew && s.ttl.onRead {
		c.stamp = now
		s.m.set(k, c)
	}
	return c.v, true
}

// lookupStored is lookup on the Pebble backend.
func (s *valueStore[K, T]) lookupStored(k K, now int64, renew bool) (T, bool) {
	c, ok := s.sc.get(k)
	if !ok || !s.ttl.on() {
		return c.v, ok
	}
	if s.ttl.expired(c.stamp, now) {
		s.sc.remove(k)
		var zero T
		return zero, false
	}
	if renew && s.ttl.onRead {
		c.stamp = now
		s.sc.put(k, c)
	}
	return c.v, true
}

// store sets the value of k, written at now.
func (s *valueStore[K, T]) store(k K, v T, now int64) {
	if s.sc != nil {
		if s.ttl.on() && s.storeSweepDue() {
			s.sc.sweep()
		}
		s.sc.put(k, cell[T]{v: v, stamp: now})
		return
	}
	if s.ttl.on() && s.sweepDue() {
		s.sweep(now)
	}
	s.m.set(k, cell[T]{v: v, stamp: now})
}

// sweep removes the expired values among a few (ttlSweep) of the state's
// values; Go's map iteration starts at a random place, so that successive
// sweeps examine different values.
func (s *valueStore[K, T]) sweep(now int64) {
	n := 0
	s.m.each(func(k K, c cell[T]) bool {
		if s.ttl.expired(c.stamp, now) {
			s.m.del(k)
		}
		n++
		return n < ttlSweep
	})
}

// clear removes the value of k.
func (s *valueStore[K, T]) clear(k K) {
	if s.sc != nil {
		s.sc.remove(k)
		return
	}
	s.m.del(k)
}

// appendCell appends the entry value of c (see snapshot) and reports
// whether c is live at now.
func (s *valueStore[K, T]) appendCell(dst []byte, vc codec.Codec[T], c cell[T], now int64) ([]byte, bool) {
	if s.ttl.expired(c.stamp, now) {
		return dst, false
	}
	dst = append(dst, s.kindByte())
	if s.ttl.on() {
		dst = AppendVarint(dst, c.stamp)
	}
	return vc.Append(dst, c.v), true
}

// decodeCell reads the value of an entry after its kind byte, and
// reports whether it is live at now.
func (s *valueStore[K, T]) decodeCell(d *StateDecoder, vc codec.Codec[T], stamped bool, now int64) (cell[T], bool) {
	stamp := s.ttl.stamp(d, stamped, now)
	v := Decode(d, vc)
	if !s.ttl.on() {
		return cell[T]{v: v}, true
	}
	return cell[T]{v: v, stamp: stamp}, !s.ttl.expired(stamp, now)
}

// attach implements userState.
func (s *valueStore[K, T]) attach(store *StateStore, keys *StateKeys[K], fail *error) error {
	vc, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	s.sc = newStoreCache(store, keys, s.prefix[0], s.prefix[1:], s.storeWhat(), fail,
		func(dst []byte, c cell[T], now int64) ([]byte, bool) { return s.appendCell(dst, vc, c, now) },
		func(v []byte, now int64) (cell[T], bool, error) {
			d := NewStateDecoder(v)
			stamped, err := s.readKind(&d)
			if err != nil {
				return cell[T]{}, false, err
			}
			c, live := s.decodeCell(&d, vc, stamped, now)
			return c, live, d.End()
		}, s.clock)
	return nil
}

// flush implements userState.
func (s *valueStore[K, T]) flush() error {
	if s.sc == nil {
		return nil
	}
	return s.sc.flush()
}

// snapshot implements userState: each key's value is one entry,
//
//	'u' name key → kind, [stamp (varint)], value (the state's codec)
//
// When the types are cowSafe and the writer has an asynchronous part, the
// map is frozen and encoded there; else it is encoded at once.
func (s *valueStore[K, T]) snapshot(ss *stateSnapshot[K]) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	if s.async && asyncWriter(ss.w) {
		if frozen, flight, ok := s.m.freeze(); ok {
			as := ss.fork()
			return DeferState(ss.w, func(w StateWriter) error {
				defer flight.finish()
				as.w = w
				for k, e := range frozen {
					var live bool
					if as.val, live = s.appendCell(as.val[:0], c, e, as.now); live {
						as.put(&s.stateBase, k)
					}
				}
				return nil
			})
		}
	}
	s.m.each(func(k K, e cell[T]) bool {
		var live bool
		if ss.val, live = s.appendCell(ss.val[:0], c, e, ss.now); !live {
			s.m.del(k)
			return true
		}
		ss.put(&s.stateBase, k)
		return true
	})
	return nil
}

// restore implements userState.
func (s *valueStore[K, T]) restore(k K, stamped bool, d *StateDecoder, now int64) error {
	c, err := s.lc.get(s.codec)
	if err != nil {
		return err
	}
	e, live := s.decodeCell(d, c, stamped, now)
	if err := d.Err(); err != nil {
		return err
	}
	if s.sc != nil {
		return s.sc.restored(k, e, live)
	}
	if _, dup := s.m.get(k); dup {
		return CorruptState("key %v restored twice", k)
	}
	if live {
		s.m.set(k, e)
	}
	return nil
}

// ValueState is a keyed state that holds one value of type T per key.
// Create it in the function's Open with NewValueState and use it with the
// context of the record or timer being processed: Get, Set and Clear apply
// to the context's current key.
//
// Values are held by reference, not copied: a value that refers to memory
// (a slice, a map, a pointer, an interface) shares it with the caller, and
// changing that memory after Set changes the state's value too. On the heap
// backend a checkpoint encodes the values of such a type in SnapshotState,
// synchronously, so the checkpoint holds them as they were at the barrier.
// Values that cannot change through shared memory (booleans, numbers,
// strings, arrays and structs of those; the key type alike) are encoded
// after SnapshotState returned, on the checkpoint's persisting goroutine,
// from a copy-on-write view of the state, while records go on updating it:
// the state is then never paused for its size.
type ValueState[K comparable, T any] struct {
	valueStore[K, T]
}

// NewValueState creates the ValueState name of the operator running the
// function, whose key type must be K. It is called in the function's Open
// with the task context Open got. Each name is registered once per
// operator.
func NewValueState[K comparable, T any](ctx *TaskContext, name string, opts ...StateOption) (*ValueState[K, T], error) {
	return register(ctx, name, kindValue, typeName("ValueState", reflect.TypeFor[K](), reflect.TypeFor[T]()), opts,
		func(b stateBase, cfg *stateConfig) *ValueState[K, T] {
			return &ValueState[K, T]{newValueStore[K, T](b, cfg)}
		})
}

// Get returns the value of the current key of ctx, and whether it has one.
func (s *ValueState[K, T]) Get(ctx KeyScope[K]) (T, bool) {
	return s.lookup(ctx.Key(), s.clock(), true)
}

// Set sets the value of the current key of ctx.
func (s *ValueState[K, T]) Set(ctx KeyScope[K], v T) { s.store(ctx.Key(), v, s.clock()) }

// Clear removes the value of the current key of ctx.
func (s *ValueState[K, T]) Clear(ctx KeyScope[K]) { s.clear(ctx.Key()) }

// ReducingState is a keyed state that folds the values added to a key into
// one with a reduce function, as ReduceFunction in Flink: the first value
// added is kept as it is, each later one is combined with the current one
// by reduce(current, added).
type ReducingState[K comparable, T any] struct {
	valueStore[K, T]
	reduce func(acc, v T) T
}

// NewReducingState creates the ReducingState name, folding with reduce; it
// is called in the function's Open, like NewValueState.
func NewReducingState[K comparable, T any](ctx *TaskContext, name string, reduce func(acc, v T) T, opts ...StateOption) (*ReducingState[K, T], error) {
	typ := typeName("ReducingState", reflect.TypeFor[K](), reflect.TypeFor[T]())
	if reduce == nil {
		return nil, fmt.Errorf("%s %q: nil reduce function", typ, name)
	}
	return register(ctx, name, kindReducing, typ, opts,
		func(b stateBase, cfg *stateConfig) *ReducingState[K, T] {
			return &ReducingState[K, T]{valueStore: newValueStore[K, T](b, cfg), reduce: reduce}
		})
}

// Add folds v into the value of the current key of ctx.
func (s *ReducingState[K, T]) Add(ctx KeyScope[K], v T) {
	k, now := ctx.Key(), s.clock()
	if cur, ok := s.lookup(k, now, false); ok {
		v = s.reduce(cur, v)
	}
	s.store(k, v, now)
}

// Get returns the folded value of the current key of ctx, and whether
// anything was added.
func (s *ReducingState[K, T]) Get(ctx KeyScope[K]) (T, bool) {
	return s.lookup(ctx.Key(), s.clock(), true)
}

// Clear removes the value of the current key of ctx.
func (s *ReducingState[K, T]) Clear(ctx KeyScope[K]) { s.clear(ctx.Key()) }

// AggregateFunction aggregates values into an accumulator, as Flink's
// AggregateFunction, for AggregatingState. It is the part of
// window.AggregateFunction that a state needs: every
// window.AggregateFunction is one. Add may modify and return acc.
type AggregateFunction[IN, ACC, OUT any] interface {
	CreateAccumulator() ACC
	Add(v IN, acc ACC) ACC
	GetResult(acc ACC) OUT
}

// AggregateFuncs builds an AggregateFunction from functions.
type AggregateFuncs[IN, ACC, OUT any] struct {
	Create     func() ACC
	Accumulate func(v IN, acc ACC) ACC
	Result     func(acc ACC) OUT
}

// CreateAccumulator implements AggregateFunction.
func (a AggregateFuncs[IN, ACC, OUT]) CreateAccumulator() ACC { return a.Create() }

// Add implements AggregateFunction.
func (a AggregateFuncs[IN, ACC, OUT]) Add(v IN, acc ACC) ACC { return a.Accumulate(v, acc) }

// GetResult implements AggregateFunction.
func (a AggregateFuncs[IN, ACC, OUT]) GetResult(acc ACC) OUT { return a.Result(acc) }

// AggregatingState is a keyed state that aggregates the values added to a
// key with an AggregateFunction: it keeps one accumulator per key (which
// checkpoints hold) and returns its result.
type AggregatingState[K comparable, IN, ACC, OUT any] struct {
	valueStore[K, ACC]
	agg AggregateFunction[IN, ACC, OUT]
}

// NewAggregatingState creates the AggregatingState name, aggregating with
// agg; it is called in the function's Open, like NewValueState.
// WithStateCodec applies to the accumulator type ACC.
func NewAggregatingState[K comparable, IN, ACC, OUT any](ctx *TaskContext, name string, agg AggregateFunction[IN, ACC, OUT], opts ...StateOption) (*AggregatingState[K, IN, ACC, OUT], error) {
	typ := typeName("AggregatingState", reflect.TypeFor[K](), reflect.TypeFor[IN](), reflect.TypeFor[ACC](), reflect.TypeFor[OUT]())
	if agg == nil {
		return nil, fmt.Errorf("%s %q: nil aggregate function", typ, name)
	}
	return register(ctx, name, kindAggregating, typ, opts,
		func(b stateBase, cfg *stateConfig) *AggregatingState[K, IN, ACC, OUT] {
			return &AggregatingState[K, IN, ACC, OUT]{valueStore: newValueStore[K, ACC](b, cfg), agg: agg}
		})
}

// Add adds v to the accumulator of the current key of ctx, creating it
// first when the key has none.
func (s *AggregatingState[K, IN, ACC, OUT]) Add(ctx KeyScope[K], v IN) {
	k, now := ctx.Key(), s.clock()
	acc, ok := s.lookup(k, now, false)
	if !ok {
		acc = s.agg.CreateAccumulator()
	}
	s.store(k, s.agg.Add(v, acc), now)
}

// Get returns the result of the accumulator of the current key of ctx,
// and whether anything was added.
func (s *AggregatingState[K, IN, ACC, OUT]) Get(ctx KeyScope[K]) (OUT, bool) {
	acc, ok := s.lookup(ctx.Key(), s.clock(), true)
	if !ok {
		var zero OUT
		return zero, false
	}
	return s.agg.GetResult(acc), true
}

// Clear removes the accumulator of the current key of ctx.
func (s *AggregatingState[K, IN, ACC, OUT]) Clear(ctx KeyScope[K]) { s.clear(ctx.Key()) }
