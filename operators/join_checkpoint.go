package operators

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/stromhq/strom/codec"
)

// This file makes the joins of join.go Checkpointed. The entry layout
// follows keyed_state.go: a tag, the record key, a sub-key.

var (
	_ Checkpointed = (*WindowJoin[int, int, int, int])(nil)
	_ Checkpointed = (*IntervalJoin[int, int, int, int])(nil)
)

// Tags of the keyed state entries of the joins.
const (
	tagJoinWindow   byte = 'w'
	tagLeftRecords  byte = 'l'
	tagRightRecords byte = 'r'
	tagLeftCleanup  byte = 'x'
	tagRightCleanup byte = 'y'
)

// joinEventTimes is the number of event times a join checkpoints: the
// watermarks of its two inputs and the combined one.
const joinEventTimes = 3

// joinCodecs are the codecs of a join's state.
type joinCodecs[K comparable, L, R any] struct {
	keys  lazyKeys[K]
	left  lazyCodec[L]
	right lazyCodec[R]
}

func (c *joinCodecs[K, L, R]) get(task *TaskContext, kc StateCodec[K], lc StateCodec[L], rc StateCodec[R]) (*StateKeys[K], codec.Codec[L], codec.Codec[R], error) {
	keys, err := c.keys.get(task, kc)
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := c.left.get(lc)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := c.right.get(rc)
	return keys, l, r, err
}

// snapshotClock writes the watermarks of a join's inputs and the combined
// one.
func snapshotClock(w StateWriter, c *gateClock) {
	SnapshotEventTime(w, c.gate[0], c.gate[1], c.current)
}

// restoreClock reads what snapshotClock wrote, if anything.
func restoreClock(r StateReader, c *gateClock) error {
	times, ok, err := RestoreEventTime(r, joinEventTimes)
	if ok {
		*c = gateClock{gate: [2]int64{times[0], times[1]}, current: times[2]}
	}
	return err
}

// SnapshotState implements Checkpointed. Every open window of a key is one
// entry in the key's key group:
//
//	'w' key start → rank (uvarint), left records (uvarint count, then
//	                each in LeftCodec), right records (likewise, RightCodec)
//
// start is the window's start (a time key), rank its place among the
// windows of that start in creation order, which orders their firing;
// records are in arrival order. The event time (the watermarks of the left
// and right inputs and the combined one) goes to the operator state list
// EventTimeState.
//
// With the Pebble backend the 'w' entries are in the store, with the same
// bytes (join_store.go), and only the event time goes to w.
func (j *WindowJoin[K, L, R, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(j.Ctx, &err)
	if j.st != nil {
		// The records are in the store, which the runtime checkpoints
		// itself: write back the cache; the index is rebuilt from the
		// store at a restore.
		if err := j.st.flush(); err != nil {
			return attribute(j.Ctx, err)
		}
		snapshotClock(w, &j.clock)
		return nil
	}
	keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
	if err != nil {
		return attribute(j.Ctx, err)
	}
	var key, val []byte
	for s, list := range j.byStart {
		for i, win := range list {
			key = AppendTimeKey(keys.Append(key[:0], tagJoinWindow, win.key), s)
			val = AppendUvarint(val[:0], uint64(i))
			val = AppendList(val, lc, win.left)
			val = AppendList(val, rc, win.right)
			w.Keyed(keys.KeyGroup(win.key), key, val)
		}
	}
	snapshotClock(w, &j.clock)
	return nil
}

// RestoreState implements Checkpointed.
func (j *WindowJoin[K, L, R, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(j.Ctx, &err)
	type window struct {
		key   K
		start int64
		rank  uint64
		left  []L
		right []R
	}
	var wins []window
	err = r.Keyed(func(kg int, key, value []byte) error {
		keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
		if err != nil {
			return err
		}
		kd := NewStateDecoder(key)
		if tag := kd.Byte(); kd.Err() == nil && tag != tagJoinWindow {
			return entryError(kg, UnknownTag(tag))
		}
		w := window{key: keys.Read(&kd, kg), start: kd.Time()}
		if err := kd.End(); err != nil {
			return entryError(kg, err)
		}
		vd := NewStateDecoder(value)
		w.rank = vd.Uvarint()
		w.left = DecodeList(&vd, lc, nil)
		w.right = DecodeList(&vd, rc, nil)
		if err := vd.End(); err != nil {
			return entryError(kg, err)
		}
		if j.st != nil {
			if err := j.st.store.RestoreEntry(kg, key, value); err != nil {
				return entryError(kg, fmt.Errorf("%w: %w", errJoinStore, err))
			}
			return nil
		}
		wins = append(wins, w)
		return nil
	})
	if err != nil {
		return attribute(j.Ctx, err)
	}
	if j.st != nil {
		if err := j.indexStore(); err != nil {
			return attribute(j.Ctx, fmt.Errorf("window join: restore from the store: %w", err))
		}
		return attribute(j.Ctx, restoreClock(r, &j.clock))
	}
	// Windows of one start are created in rank order, so that they fire in
	// the order they would have.
	slices.SortStableFunc(wins, func(a, b window) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.rank, b.rank))
	})
	for _, rw := range wins {
		if _, dup := j.index[winKey[K]{key: rw.key, start: rw.start}]; dup {
			return attribute(j.Ctx, CorruptState("window join: window %d of key %v restored twice", rw.start, rw.key))
		}
		w, _ := j.window(rw.key, rw.start)
		w.left, w.right = rw.left, rw.right
		j.buffered += len(rw.left) + len(rw.right)
	}
	return attribute(j.Ctx, restoreClock(r, &j.clock))
}

// snapshot writes the records of every key of the buffer and its cleanup
// timers (see IntervalJoin.SnapshotState).
func (b *joinBuffer[K, T]) snapshot(w StateWriter, keys *StateKeys[K], c codec.Codec[T], recTag, timerTag byte) {
	var key, val []byte
	for k, recs := range b.byKey {
		key = keys.Append(key[:0], recTag, k)
		val = appendTimed(val[:0], c, recs)
		w.Keyed(keys.KeyGroup(k), key, val)
	}
	for i, tm := range b.timers.Registered() {
		key = AppendTimeKey(keys.Append(key[:0], timerTag, tm.Key), tm.Time)
		val = AppendUvarint(val[:0], uint64(i))
		w.Keyed(keys.KeyGroup(tm.Key), key, val)
	}
}

// appendTimed appends the entry value of the records of a key: their
// count, then each record's timestamp and value.
func appendTimed[T any](dst []byte, c codec.Codec[T], recs []timed[T]) []byte {
	dst = AppendUvarint(dst, uint64(len(recs)))
	for _, r := range recs {
		dst = c.Append(AppendVarint(dst, r.ts), r.v)
	}
	return dst
}

// decodeTimed decodes what appendTimed wrote for key k, appending the
// records to recs, and checks that they are in time order.
func decodeTimed[K comparable, T any](d *StateDecoder, c codec.Codec[T], k K, recs []timed[T]) ([]timed[T], error) {
	n := d.Count()
	recs = slices.Grow(recs, n)
	for range n {
		ts := d.Varint()
		v := Decode(d, c)
		if d.Err() != nil {
			break
		}
		if m := len(recs); m > 0 && recs[m-1].ts > ts {
			return recs, CorruptState("interval join: records of key %v out of time order", k)
		}
		recs = append(recs, timed[T]{ts: ts, v: v})
	}
	return recs, d.End()
}

// restoreRecords reads the records of key k into the buffer; with the
// store it checks the entry (key group kg, entry key key, value) and
// puts it into the store.
func (b *joinBuffer[K, T]) restoreRecords(k K, d *StateDecoder, c codec.Codec[T], kg int, key, value []byte) error {
	recs, err := decodeTimed(d, c, k, nil)
	if err != nil {
		return err
	}
	if b.st != nil {
		if len(recs) == 0 {
			return nil
		}
		if err := b.st.store.RestoreEntry(kg, key, value); err != nil {
			return fmt.Errorf("%w: %w", errJoinStore, err)
		}
		return nil
	}
	if _, dup := b.byKey[k]; dup {
		return CorruptState("interval join: records of key %v restored twice", k)
	}
	if len(recs) > 0 {
		b.byKey[k] = recs
		b.n += len(recs)
	}
	return nil
}

// SnapshotState implements Checkpointed. The state of a key is, in the
// key's key group:
//
//	'l' key → the key's left records: uvarint count, then per record its
//	          timestamp (varint) and value (LeftCodec), in time order
//	          (arrival order for equal times)
//	'r' key → the key's right records, likewise (RightCodec)
//	'x' key time → rank (uvarint): a cleanup timer of the left buffer
//	'y' key time → rank (uvarint): a cleanup timer of the right buffer
//
// A timer's rank is its place in registration order. The event time (the
// watermarks of the left and right inputs and the combined one) goes to
// the operator state list EventTimeState.
//
// With the Pebble backend the 'l' and 'r' entries are in the store, with
// the same bytes (join_store.go); the timers and the event time go to w.
func (j *IntervalJoin[K, L, R, OUT]) SnapshotState(_ int64, w StateWriter) (err error) {
	defer recoverInto(j.Ctx, &err)
	keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
	if err != nil {
		return attribute(j.Ctx, err)
	}
	if j.left.st != nil {
		if err := j.left.st.flush(); err != nil {
			return attribute(j.Ctx, err)
		}
		if err := j.right.st.flush(); err != nil {
			return attribute(j.Ctx, err)
		}
	}
	j.left.snapshot(w, keys, lc, tagLeftRecords, tagLeftCleanup)
	j.right.snapshot(w, keys, rc, tagRightRecords, tagRightCleanup)
	snapshotClock(w, &j.clock)
	return nil
}

// RestoreState implements Checkpointed.
func (j *IntervalJoin[K, L, R, OUT]) RestoreState(r StateReader) (err error) {
	defer recoverInto(j.Ctx, &err)
	var leftTimers, rightTimers []rankedTimer[K]
	err = r.Keyed(func(kg int, key, value []byte) error {
		keys, lc, rc, err := j.codecs.get(j.Ctx, j.KeyCodec, j.LeftCodec, j.RightCodec)
		if err != nil {
			return err
		}
		kd := NewStateDecoder(key)
		tag := kd.Byte()
		k := keys.Read(&kd, kg)
		var t int64
		if tag == tagLeftCleanup || tag == tagRightCleanup {
			t = kd.Time()
		}
		if err := kd.End(); err != nil {
			return entryError(kg, err)
		}
		vd := NewStateDecoder(value)
		switch tag {
		case tagLeftRecords:
			err = j.left.restoreRecords(k, &vd, lc, kg, key, value)
		case tagRightRecords:
			err = j.right.restoreRecords(k, &vd, rc, kg, key, value)
		case tagLeftCleanup, tagRightCleanup:
			rt := rankedTimer[K]{tm: Timer[K]{Key: k, Time: t}, rank: vd.Uvarint()}
			err = vd.End()
			if tag == tagLeftCleanup {
				leftTimers = append(leftTimers, rt)
			} else {
				rightTimers = append(rightTimers, rt)
			}
		default:
			err = UnknownTag(tag)
		}
		if err != nil {
			return entryError(kg, err)
		}
		return nil
	})
	if err != nil {
		return attribute(j.Ctx, err)
	}
	if j.left.st != nil {
		if err := j.indexStore(); err != nil {
			return attribute(j.Ctx, fmt.Errorf("interval join: restore from the store: %w", err))
		}
	}
	if err := registerRanked(j.left.timers, leftTimers); err != nil {
		return attribute(j.Ctx, err)
	}
	if err := registerRanked(j.right.timers, rightTimers); err != nil {
		return attribute(j.Ctx, err)
	}
	return attribute(j.Ctx, restoreClock(r, &j.clock))
}
