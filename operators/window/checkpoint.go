package window

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/operators"
)

// This file makes the window operator operators.Checkpointed. The entry
// layout follows operators/keyed_state.go: a one-byte tag, the record key
// in its codec, then a sub-key; windows in keys are their start and end as
// time keys (operators.AppendTimeKey).
//
// Keyed state, each entry in the key group of its record key:
//
//	'k' key → arrival rank (uvarint): the key's place in the order keys
//	          arrived in
//	'w' key window → window state: flags (one byte, 1: has an accumulator),
//	                 the accumulator (ACC codec) if it has one, the records
//	                 (uvarint count, then per record its value (IN codec)
//	                 and timestamp (varint)), the trigger values (uvarint
//	                 count, then per value its name (string) and value
//	                 (varint))
//	'm' key window → state window: a live window of a merging assigner
//	                 and the window its contents are kept under
//	'e' key window time → rank (uvarint): an event-time timer of the window
//	'p' key window time → rank (uvarint): a processing-time timer
//
// and on the shared-pane path of sliding windows:
//
//	'P' key → arrival rank (uvarint), next window to fire (varint)
//	'a' key start → the accumulator of the pane starting at start
//	'q' key time → rank (uvarint): a pane timer of the key
//
// A key's arrival rank orders the keys whose timers fire at the same time;
// a timer's rank is its place in registration order. Restoring registers
// timers and numbers keys in rank order, so that the restored operator
// fires in the same order as the one that was checkpointed. The operator's
// event time goes to the operator state list operators.EventTimeState.
// Late-record counters are not checkpointed.

// Tags of the window operator's keyed state.
const (
	tagKey        byte = 'k'
	tagWindow     byte = 'w'
	tagMerging    byte = 'm'
	tagEventTimer byte = 'e'
	tagProcTimer  byte = 'p'
	tagPaneKey    byte = 'P'
	tagPane       byte = 'a'
	tagPaneTimer  byte = 'q'
)

// hasAccumulator is the flag of a window state that holds an accumulator.
const hasAccumulator byte = 1

// stateCodecs are the codecs of the operator's state, resolved at the
// first snapshot or restore: the keys always, the accumulators when
// windows keep them, the records when windows keep records.
type stateCodecs[K comparable, IN, ACC any] struct {
	keys *operators.StateKeys[K]
	in   codec.Codec[IN]
	acc  codec.Codec[ACC]
	err  error
	done bool
}

// WithAccumulatorCodec sets the codec of the accumulators in checkpoints;
// the zero StateCodec stands for the accumulator type's default codec.
// Reduce functions use Config.ValueCodec, their accumulators being
// records. It returns o.
func (o *Operator[K, IN, ACC, OUT]) WithAccumulatorCodec(c operators.StateCodec[ACC]) *Operator[K, IN, ACC, OUT] {
	o.accCodec = c
	return o
}

func (o *Operator[K, IN, ACC, OUT]) stateCodecs() (*stateCodecs[K, IN, ACC], error) {
	c := &o.codecs
	if !c.done {
		c.done = true
		c.keys, c.err = operators.NewStateKeys(o.task, o.cfg.KeyCodec)
		if c.err == nil && o.listMode {
			c.in, c.err = o.cfg.ValueCodec.Resolve()
		}
		if c.err == nil && !o.listMode {
			c.acc, c.err = o.accCodec.Resolve()
		}
	}
	return c, c.err
}

func appendWindow(dst []byte, w Window) []byte {
	return operators.AppendTimeKey(operators.AppendTimeKey(dst, w.Start), w.End)
}

func readWindow(d *operators.StateDecoder) Window {
	return Window{Start: d.Time(), End: d.Time()}
}

// SnapshotState implements operators.Checkpointed; see the top of this
// file for the layout.
func (o *Operator[K, IN, ACC, OUT]) SnapshotState(_ int64, w operators.StateWriter) (err error) {
	defer o.catch(&err)
	c, err := o.stateCodecs()
	if err != nil {
		return o.wrap(err)
	}
	if o.st != nil {
		// The contents are in the store, which the runtime checkpoints
		// itself: write back the cache, then the rest as below (the
		// keys hold no windows or panes in memory).
		if err := o.flushStore(); err != nil {
			return o.wrap(fmt.Errorf("window: %w", err))
		}
	}
	var key, val []byte
	for rank, k := range keysInArrivalOrder(o.keys, func(ks *keyState[IN, ACC]) uint64 { return ks.seq }) {
		ks := o.keys[k]
		kg := c.keys.KeyGroup(k)
		key = c.keys.Append(key[:0], tagKey, k)
		w.Keyed(kg, key, operators.AppendUvarint(val[:0], uint64(rank)))
		for i := range ks.wins {
			slot := &ks.wins[i]
			key = appendWindow(c.keys.Append(key[:0], tagWindow, k), slot.w)
			w.Keyed(kg, key, o.appendWinState(val[:0], c, &slot.st))
		}
		if ks.merging != nil {
			for _, e := range ks.merging.entries {
				key = appendWindow(c.keys.Append(key[:0], tagMerging, k), e.window)
				w.Keyed(kg, key, appendWindow(val[:0], e.state))
			}
		}
	}
	// The timers are copied now and ordered and encoded in the
	// asynchronous part of the snapshot, unless keys could change through
	// shared memory meanwhile.
	event, proc := o.eventQ.Frozen(), o.procQ.Frozen()
	timers := func(w operators.StateWriter) error {
		var key, val []byte
		for _, q := range [...]struct {
			tag byte
			f   operators.FrozenTimers[winKey[K]]
		}{{tagEventTimer, event}, {tagProcTimer, proc}} {
			for i, tm := range q.f.Registered() {
				key = appendWindow(c.keys.Append(key[:0], q.tag, tm.Key.key), tm.Key.w)
				key = operators.AppendTimeKey(key, tm.Time)
				w.Keyed(c.keys.KeyGroup(tm.Key.key), key, operators.AppendUvarint(val[:0], uint64(i)))
			}
		}
		return nil
	}
	if err := operators.DeferStateOf[K](w, timers); err != nil {
		return o.wrap(err)
	}
	if p := o.panes; p != nil {
		for rank, k := range keysInArrivalOrder(p.keys, func(pk *paneKey[ACC]) uint64 { return pk.seq }) {
			pk := p.keys[k]
			kg := c.keys.KeyGroup(k)
			key = c.keys.Append(key[:0], tagPaneKey, k)
			val = operators.AppendVarint(operators.AppendUvarint(val[:0], uint64(rank)), pk.next)
			w.Keyed(kg, key, val)
			for _, pn := range pk.panes {
				key = operators.AppendTimeKey(c.keys.Append(key[:0], tagPane, k), pn.start)
				w.Keyed(kg, key, c.acc.Append(val[:0], pn.acc))
			}
		}
		for i, tm := range p.q.Registered() {
			key = operators.AppendTimeKey(c.keys.Append(key[:0], tagPaneTimer, tm.Key), tm.Time)
			w.Keyed(c.keys.KeyGroup(tm.Key), key, operators.AppendUvarint(val[:0], uint64(i)))
		}
	}
	operators.SnapshotEventTime(w, o.wm)
	return nil
}

// keysInArrivalOrder returns the keys of m in the order of their arrival
// numbers, so that a key's rank in a checkpoint is its place in that
// order: a restored operator then snapshots as the original did.
func keysInArrivalOrder[K comparable, V any](m map[K]V, seq func(V) uint64) []K {
	type keySeq struct {
		k   K
		seq uint64
	}
	ks := make([]keySeq, 0, len(m))
	for k, v := range m {
		ks = append(ks, keySeq{k, seq(v)})
	}
	slices.SortFunc(ks, func(a, b keySeq) int { return cmp.Compare(a.seq, b.seq) })
	keys := make([]K, len(ks))
	for i, e := range ks {
		keys[i] = e.k
	}
	return keys
}

// appendWinState appends the encoding of a window state.
func (o *Operator[K, IN, ACC, OUT]) appendWinState(dst []byte, c *stateCodecs[K, IN, ACC], st *winState[IN, ACC]) []byte {
	if st.has && !o.listMode {
		dst = c.acc.Append(append(dst, hasAccumulator), st.acc)
	} else {
		dst = append(dst, 0)
	}
	if o.listMode {
		dst = operators.AppendUvarint(dst, uint64(len(st.vals)))
		for i, v := range st.vals {
			dst = operators.AppendVarint(c.in.Append(dst, v), st.times[i])
		}
	} else {
		dst = operators.AppendUvarint(dst, 0)
	}
	dst = operators.AppendUvarint(dst, uint64(len(st.vars)))
	for _, tv := range st.vars {
		dst = operators.AppendVarint(codec.String().Append(dst, tv.name), tv.v)
	}
	return dst
}

// readWinState decodes a window state into st.
func (o *Operator[K, IN, ACC, OUT]) readWinState(d *operators.StateDecoder, c *stateCodecs[K, IN, ACC], st *winState[IN, ACC]) error {
	switch flags := d.Byte(); {
	case d.Err() != nil:
	case flags&^hasAccumulator != 0:
		return operators.CorruptState("window state flags %#x", flags)
	case flags&hasAccumulator != 0:
		if o.listMode {
			return operators.CorruptState("accumulator in the state of a window that keeps records")
		}
		st.acc, st.has = operators.Decode(d, c.acc), true
	}
	n := d.Count()
	if n > 0 && !o.listMode {
		return operators.CorruptState("records in the state of a window that keeps an accumulator")
	}
	for range n {
		v := operators.Decode(d, c.in)
		ts := d.Varint()
		if d.Err() != nil {
			break
		}
		st.vals, st.times = append(st.vals, v), append(st.times, ts)
	}
	nv := d.Count()
	for range nv {
		name := operators.Decode(d, codec.String())
		v := d.Varint()
		if d.Err() != nil {
			break
		}
		if _, dup := getVar(st, name); dup {
			return operators.CorruptState("trigger value %q twice", name)
		}
		st.vars = append(st.vars, triggerVar{name: name, v: v})
	}
	return d.End()
}

// restoredKey is a key read from a checkpoint, before keys are numbered.
type restoredKey[K comparable] struct {
	key    K
	rank   uint64
	ranked bool
}

// restoring collects what RestoreState reads before it builds the
// operator's state.
type restoring[K comparable, IN, ACC any] struct {
	keys                  map[K]*restoredKey[K]
	order                 []*restoredKey[K]
	states                map[K]*keyState[IN, ACC]
	panes                 map[K]*paneKey[ACC]
	event, proc, paneTime []rankedTimer[K]
}

// rankedTimer is a timer read from a checkpoint with its rank.
type rankedTimer[K comparable] struct {
	key  K
	w    Window
	t    int64
	rank uint64
}

// key returns the restored key k, adding it.
func (r *restoring[K, IN, ACC]) key(k K) *restoredKey[K] {
	rk := r.keys[k]
	if rk == nil {
		rk = &restoredKey[K]{key: k}
		r.keys[k] = rk
		r.order = append(r.order, rk)
	}
	return rk
}

// RestoreState implements operators.Checkpointed.
func (o *Operator[K, IN, ACC, OUT]) RestoreState(r operators.StateReader) (err error) {
	defer o.catch(&err)
	rs := &restoring[K, IN, ACC]{
		keys:   make(map[K]*restoredKey[K]),
		states: make(map[K]*keyState[IN, ACC]),
		panes:  make(map[K]*paneKey[ACC]),
	}
	err = r.Keyed(func(kg int, key, value []byte) error {
		c, err := o.stateCodecs()
		if err != nil {
			return err
		}
		if err := o.restoreEntry(rs, c, kg, key, value); err != nil {
			return fmt.Errorf("restore key group %d: %w", kg, err)
		}
		return nil
	})
	if err != nil {
		return o.wrap(fmt.Errorf("window: %w", err))
	}
	if err := o.buildRestored(rs); err != nil {
		return o.wrap(fmt.Errorf("window: %w", err))
	}
	if o.st != nil {
		if err := o.indexStore(); err != nil {
			return o.wrap(fmt.Errorf("window: restore from the store: %w", err))
		}
	}
	times, ok, err := operators.RestoreEventTime(r, 1)
	if err != nil {
		return o.wrap(fmt.Errorf("window: %w", err))
	}
	if ok {
		o.wm = times[0]
	}
	return nil
}

// errPaneMismatch reports a checkpoint of the other evaluation path of
// sliding windows.
var errPaneMismatch = errors.New("the checkpoint's sliding windows were evaluated with shared panes on one side only: restore with the same window configuration")

// restoreEntry reads one keyed entry into rs.
func (o *Operator[K, IN, ACC, OUT]) restoreEntry(rs *restoring[K, IN, ACC], c *stateCodecs[K, IN, ACC], kg int, key, value []byte) error {
	kd := operators.NewStateDecoder(key)
	vd := operators.NewStateDecoder(value)
	tag := kd.Byte()
	k := c.keys.Read(&kd, kg)
	if kd.Err() != nil {
		return kd.Err()
	}
	switch tag {
	case tagPaneKey, tagPane, tagPaneTimer:
		if o.panes == nil {
			return errPaneMismatch
		}
	case tagKey, tagWindow, tagMerging, tagEventTimer, tagProcTimer:
		if o.panes != nil {
			return errPaneMismatch
		}
	default:
		return operators.UnknownTag(tag)
	}
	switch tag {
	case tagKey:
		rk := rs.key(k)
		if rk.ranked {
			return operators.CorruptState("key %v restored twice", k)
		}
		rk.rank, rk.ranked = vd.Uvarint(), true
	case tagWindow:
		w := readWindow(&kd)
		if err := kd.End(); err != nil {
			return err
		}
		if o.st != nil {
			rs.key(k)
			return o.restoreToStore(kg, tag, key, value)
		}
		ks := rs.keyState(k)
		if _, exists := ks.find(w); exists {
			return operators.CorruptState("window %v of key %v restored twice", w, k)
		}
		st, _ := ks.slot(w)
		return o.readWinState(&vd, c, st)
	case tagMerging:
		w := readWindow(&kd)
		sw := readWindow(&vd)
		ks := rs.keyState(k)
		if ks.merging == nil {
			ks.merging = &mergingSet{}
		}
		if _, exists := ks.merging.find(w); exists {
			return operators.CorruptState("merging window %v of key %v restored twice", w, k)
		}
		ks.merging.put(w, sw)
	case tagEventTimer, tagProcTimer:
		tm := rankedTimer[K]{key: k, w: readWindow(&kd), t: kd.Time(), rank: vd.Uvarint()}
		if tag == tagEventTimer {
			rs.event = append(rs.event, tm)
		} else {
			rs.proc = append(rs.proc, tm)
		}
	case tagPaneKey:
		rk := rs.key(k)
		if rk.ranked {
			return operators.CorruptState("pane key %v restored twice", k)
		}
		rk.rank, rk.ranked = vd.Uvarint(), true
		rs.paneKey(k).next = vd.Varint()
	case tagPane:
		start := kd.Time()
		if o.st != nil {
			if err := kd.End(); err != nil {
				return err
			}
			rs.key(k)
			return o.restoreToStore(kg, tag, key, value)
		}
		acc := operators.Decode(&vd, c.acc)
		pk := rs.paneKey(k)
		i := pk.search(start)
		if i < len(pk.panes) && pk.panes[i].start == start {
			return operators.CorruptState("pane %d of key %v restored twice", start, k)
		}
		pk.panes = slices.Insert(pk.panes, i, pane[ACC]{start: start, acc: acc})
	case tagPaneTimer:
		rs.paneTime = append(rs.paneTime, rankedTimer[K]{key: k, t: kd.Time(), rank: vd.Uvarint()})
	}
	if err := kd.End(); err != nil {
		return err
	}
	return vd.End()
}

// keyState returns the restored state of key k, adding it.
func (r *restoring[K, IN, ACC]) keyState(k K) *keyState[IN, ACC] {
	r.key(k)
	ks := r.states[k]
	if ks == nil {
		ks = &keyState[IN, ACC]{}
		r.states[k] = ks
	}
	return ks
}

// paneKey returns the restored panes of key k, adding them.
func (r *restoring[K, IN, ACC]) paneKey(k K) *paneKey[ACC] {
	r.key(k)
	pk := r.panes[k]
	if pk == nil {
		pk = &paneKey[ACC]{}
		r.panes[k] = pk
	}
	return pk
}

// buildRestored installs what RestoreState read: keys numbered in rank
// order, timers registered in rank order.
func (o *Operator[K, IN, ACC, OUT]) buildRestored(rs *restoring[K, IN, ACC]) error {
	slices.SortStableFunc(rs.order, func(a, b *restoredKey[K]) int { return cmp.Compare(a.rank, b.rank) })
	for _, rk := range rs.order {
		if !rk.ranked {
			return operators.CorruptState("window state of key %v without its key entry", rk.key)
		}
	}
	if o.panes != nil {
		return o.buildPanes(rs)
	}
	for _, rk := range rs.order {
		if _, exists := o.keys[rk.key]; exists {
			return fmt.Errorf("restore into an operator that has state of key %v", rk.key)
		}
		ks := rs.states[rk.key]
		if ks == nil {
			ks = &keyState[IN, ACC]{}
		}
		ks.seq = o.nextSeq
		o.nextSeq++
		o.keys[rk.key] = ks
	}
	for _, q := range [...]struct {
		q  *operators.TimerQueue[winKey[K]]
		ts []rankedTimer[K]
	}{{o.eventQ, rs.event}, {o.procQ, rs.proc}} {
		slices.SortStableFunc(q.ts, func(a, b rankedTimer[K]) int { return cmp.Compare(a.rank, b.rank) })
		for _, tm := range q.ts {
			if !q.q.Register(winKey[K]{tm.key, tm.w}, tm.t) {
				return operators.CorruptState("timer of window %v of key %v at %d restored twice", tm.w, tm.key, tm.t)
			}
		}
	}
	return nil
}

// buildPanes installs the restored state of the shared-pane path, whose
// keys rs.order holds in rank order.
func (o *Operator[K, IN, ACC, OUT]) buildPanes(rs *restoring[K, IN, ACC]) error {
	p := o.panes
	for _, rk := range rs.order {
		if _, exists := p.keys[rk.key]; exists {
			return fmt.Errorf("restore into an operator that has state of key %v", rk.key)
		}
		pk := rs.panes[rk.key]
		pk.seq = p.seq
		p.seq++
		p.keys[rk.key] = pk
	}
	slices.SortStableFunc(rs.paneTime, func(a, b rankedTimer[K]) int { return cmp.Compare(a.rank, b.rank) })
	for _, tm := range rs.paneTime {
		if !p.q.Register(tm.key, tm.t) {
			return operators.CorruptState("pane timer of key %v at %d restored twice", tm.key, tm.t)
		}
	}
	return nil
}
