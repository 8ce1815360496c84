package actors

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// The checkpoint side of a subtask: Chandy–Lamport barriers as Flink
// takes them. A source subtask takes its snapshot when the master triggers
// it and emits the barrier on every output; any other subtask aligns: a
// channel that delivered barrier n is blocked (what it sends next is held)
// until every open channel delivered it; then the subtask snapshots its
// chain, forwards the barrier and flows on. In at-least-once mode nothing
// is blocked. The synchronous part encodes operator state in memory; a
// goroutine writes the state files and acknowledges to the master.

// alignment is the barrier alignment in progress.
type alignment struct {
	id      int64
	ts      int64
	dir     string
	arrived map[int32]bool
}

// onTrigger handles the master's trigger of checkpoint id, which every
// subtask receives. A running source takes its snapshot and emits the
// barrier. A subtask whose input ended (finishing or finished) takes its
// snapshot at once, without a barrier: everything it emitted is ahead of
// the end of input its consumers align on, so its final state is
// consistent with theirs. A running subtask with inputs starts (or joins)
// the alignment of id: barriers from upstream, or the end of channels whose
// upstream finished, complete it. This is what lets checkpoints go on
// once some subtasks finished, as in Flink since FLIP-147.
func (t *subtask) onTrigger(m *protos.TriggerCheckpoint) {
	id := m.CheckpointId
	switch {
	case t.state == taskFinishing || t.state == taskFinished:
		if id > t.lastCheckpoint {
			t.takeSnapshot(id, m.TimestampMs, m.Dir)
		}
	case t.state != taskRunning:
		t.decline(id, "subtask not running")
	case t.source != nil:
		t.takeSnapshot(id, m.TimestampMs, m.Dir)
	case id <= t.lastCheckpoint || (t.align != nil && t.align.id > id):
		// Taken already, or given up for a newer one.
	default:
		if t.align != nil && t.align.id < id {
			t.in.unblockAll()
			t.align = nil
		}
		if t.align == nil {
			t.align = &alignment{id: id, ts: m.TimestampMs, dir: m.Dir, arrived: make(map[int32]bool)}
		}
		t.checkAligned()
	}
}

// onBarrier handles barrier b from input channel ch.
func (t *subtask) onBarrier(ch int32, b *protos.Barrier) {
	if t.align != nil && b.CheckpointId < t.align.id {
		return // a barrier of a checkpoint given up for a newer one
	}
	if t.align != nil && b.CheckpointId > t.align.id {
		// The older checkpoint cannot complete here any more.
		t.in.unblockAll()
		t.align = nil
	}
	if t.align == nil {
		if b.CheckpointId <= t.lastCheckpoint {
			return
		}
		t.align = &alignment{id: b.CheckpointId, ts: b.TimestampMs, dir: b.Dir, arrived: make(map[int32]bool)}
	}
	t.align.arrived[ch] = true
	if !t.atLeastOnce {
		t.in.channels[ch].blocked = true
	}
	t.checkAligned()
}

// checkAligned completes the alignment once every open channel delivered
// the barrier.
func (t *subtask) checkAligned() {
	a := t.align
	if a == nil {
		return
	}
	for i, ch := range t.in.channels {
		if !ch.ended && !a.arrived[int32(i)] {
			return
		}
	}
	t.align = nil
	t.takeSnapshot(a.id, a.ts, a.dir)
	t.in.unblockAll()
}

// takeSnapshot snapshots the chain, forwards the barrier, and persists and
// acknowledges asynchronously.
func (t *subtask) takeSnapshot(id, ts int64, dir string) {
	t.lastCheckpoint = max(t.lastCheckpoint, id)
	began := time.Now()
	snaps, err := t.snapshotChain(id)
	var storeCP *pebblestate.PendingCheckpoint
	if err == nil && t.store != nil {
		storeBegan := time.Now()
		storeCP, err = t.startStoreCheckpoint(dir)
		if t.cfg.Metrics != nil {
			t.cfg.Metrics.ObserveMax("checkpoint store sync max µs", time.Since(storeBegan).Microseconds())
		}
	}
	if t.cfg.Metrics != nil {
		t.cfg.Metrics.ObserveMax("checkpoint sync max µs", time.Since(began).Microseconds())
	}
	if err != nil {
		t.decline(id, err.Error())
		t.release(snaps)
		return
	}
	var storeName string
	if storeCP != nil {
		storeName = t.store.name
	}
	if t.state == taskRunning {
		t.flushWriters()
		t.out.broadcast(func() any { return &protos.Barrier{CheckpointId: id, TimestampMs: ts, Dir: dir} })
	}
	self, sys, master := t.self, t.system, t.master
	chain, index, attempt := t.chain.Index, t.index, t.attempt
	kgs := snapshot.RangeFor(t.index, t.plan.Graph.MaxParallelism, t.chain.Parallelism)
	t.persisting.Add(1)
	go func() {
		defer t.persisting.Done()
		ack := &protos.AcknowledgeCheckpoint{CheckpointId: id, Chain: int32(chain), Subtask: int32(index), Attempt: int32(attempt)}
		decline := func(err error) {
			sys.Root.Send(master, &protos.DeclineCheckpoint{CheckpointId: id, Chain: int32(chain), Subtask: int32(index), Attempt: int32(attempt), Reason: err.Error()})
		}
		if storeCP != nil {
			if _, err := storeCP.Finish(); err != nil {
				decline(errors.Join(fmt.Errorf("checkpoint of the keyed store: %w", err), storeCP.Abort()))
				releaseSnapshots(snaps)
				return
			}
		}
		for i, s := range snaps {
			os, err := s.persist(dir, index, kgs)
			if err != nil {
				decline(err)
				releaseSnapshots(snaps[i+1:])
				return
			}
			os.KeyedStore = storeName
			ack.Operators = append(ack.Operators, os)
		}
		sys.Root.Send(master, ack)
		_ = self
	}()
}

// release runs, off the subtask's goroutine, the asynchronous parts of
// snapshots that are given up, and drops what they write: the operators'
// copy-on-write state learns only from them that the frozen state is free
// again.
func (t *subtask) release(snaps []operatorSnapshot) {
	if len(snaps) == 0 {
		return
	}
	t.persisting.Add(1)
	go func() {
		defer t.persisting.Done()
		releaseSnapshots(snaps)
	}()
}

// releaseSnapshots runs the asynchronous parts of snapshots whose results
// are not wanted.
func releaseSnapshots(snaps []operatorSnapshot) {
	for _, s := range snaps {
		if s.state != nil {
			_ = s.state.runDeferred()
		}
	}
}

// decline tells the master this subtask cannot take checkpoint id.
func (t *subtask) decline(id int64, reason string) {
	t.log.Warn("decline checkpoint", "checkpoint", id, "reason", reason)
	t.report(&protos.DeclineCheckpoint{CheckpointId: id, Chain: int32(t.chain.Index), Subtask: int32(t.index), Attempt: int32(t.attempt), Reason: reason})
}

// operatorSnapshot is the in-memory snapshot of one operator.
type operatorSnapshot struct {
	uid         string
	parallelism int
	state       *memState // nil without state
	positions   []byte
}

// snapshotChain runs the synchronous part for every operator of the chain.
// On an error it returns the snapshots taken so far, whose asynchronous
// parts must be released.
func (t *subtask) snapshotChain(id int64) ([]operatorSnapshot, error) {
	var snaps []operatorSnapshot
	for i, v := range t.chain.Vertices {
		s := operatorSnapshot{uid: v.UID, parallelism: v.Parallelism}
		if i == 0 && t.source != nil {
			cs, ok := t.source.(operators.CheckpointedSource)
			if !ok {
				return snaps, fmt.Errorf("source %q cannot record its position", v.Name)
			}
			pos, err := cs.Position()
			if err != nil {
				return snaps, fmt.Errorf("source %q position: %w", v.Name, err)
			}
			s.positions = pos
		}
		if c, ok := t.ops[i].(operators.Checkpointed); ok {
			s.state = &memState{keyed: map[int][]kv{}}
			if err := c.SnapshotState(id, s.state); err != nil {
				return append(snaps, s), fmt.Errorf("snapshot %q: %w", v.Name, err)
			}
		}
		snaps = append(snaps, s)
	}
	return snaps, nil
}

// persist runs the snapshot's asynchronous part and writes its state
// file, if it has state.
func (s *operatorSnapshot) persist(dir string, subtask int, kgs snapshot.KeyGroupRange) (*protos.OperatorSnapshot, error) {
	out := &protos.OperatorSnapshot{Uid: s.uid, Parallelism: int32(s.parallelism), SourcePositions: s.positions}
	if s.state != nil {
		if err := s.state.runDeferred(); err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", s.uid, err)
		}
	}
	if s.state == nil || s.state.empty() {
		return out, nil
	}
	path := filepath.Join(dir, snapshot.StateFileName(s.uid, subtask))
	w, err := snapshot.NewStateWriter(snapshot.OSFS(), path, kgs)
	if err != nil {
		return nil, fmt.Errorf("write state of %q: %w", s.uid, err)
	}
	if err := s.state.writeTo(w); err != nil {
		return nil, errors.Join(fmt.Errorf("write state of %q: %w", s.uid, err), w.Abort())
	}
	h, err := w.Close()
	if err != nil {
		return nil, fmt.Errorf("write state of %q: %w", s.uid, err)
	}
	out.State = handleToProto(h)
	return out, nil
}

// onCheckpointComplete tells the chain's listeners.
func (t *subtask) onCheckpointComplete(id int64) error {
	for _, op := range t.ops {
		if l, ok := op.(operators.CheckpointListener); ok {
			if err := l.NotifyCheckpointComplete(id); err != nil {
				return err
			}
		}
	}
	return nil
}

type kv struct{ key, value []byte }

type opEntry struct {
	name  string
	mode  snapshot.RedistributionMode
	value []byte
}

// memState collects an operator's state in the synchronous part, and the
// functions of its asynchronous part (operators.AsyncStateWriter), which
// persist runs before it writes the state file.
type memState struct {
	keyed    map[int][]kv
	ops      []opEntry
	deferred []func(operators.StateWriter) error
	// arena holds the bytes of the keyed entries, copied in chunks so that
	// an entry costs no allocation of its own.
	arena []byte
}

// memArenaChunk is the size of the chunks of memState.arena; larger
// entries get their own.
const memArenaChunk = 256 << 10

// copyBytes copies b into the arena.
func (m *memState) copyBytes(b []byte) []byte {
	if len(b) > cap(m.arena)-len(m.arena) {
		if len(b) > memArenaChunk/4 {
			return slices.Clone(b)
		}
		m.arena = make([]byte, 0, memArenaChunk)
	}
	start := len(m.arena)
	m.arena = append(m.arena, b...)
	return m.arena[start:len(m.arena):len(m.arena)]
}

// Defer implements operators.AsyncStateWriter.
func (m *memState) Defer(fn func(operators.StateWriter) error) {
	m.deferred = append(m.deferred, fn)
}

// runDeferred runs the asynchronous part of the snapshot into m: every
// deferred function, even after one failed, since each releases state the
// operator froze for it. It returns the first error.
func (m *memState) runDeferred() error {
	var first error
	for _, fn := range m.deferred {
		if err := fn(m); err != nil && first == nil {
			first = err
		}
	}
	m.deferred = nil
	return first
}

func (m *memState) Keyed(kg int, key, value []byte) {
	m.keyed[kg] = append(m.keyed[kg], kv{m.copyBytes(key), m.copyBytes(value)})
}

func (m *memState) Operator(name string, mode snapshot.RedistributionMode, entry []byte) {
	m.ops = append(m.ops, opEntry{name, mode, slices.Clone(entry)})
}

func (m *memState) empty() bool { return len(m.keyed) == 0 && len(m.ops) == 0 }

// writeTo writes the state in key group order, then the operator lists.
func (m *memState) writeTo(w *snapshot.StateWriter) error {
	kgs := make([]int, 0, len(m.keyed))
	for kg := range m.keyed {
		kgs = append(kgs, kg)
	}
	slices.Sort(kgs)
	for _, kg := range kgs {
		if err := w.StartKeyGroup(kg); err != nil {
			return err
		}
		for _, e := range m.keyed[kg] {
			if err := w.Put(e.key, e.value); err != nil {
				return err
			}
		}
	}
	byName := slices.Clone(m.ops)
	slices.SortStableFunc(byName, func(a, b opEntry) int { return cmp.Compare(a.name, b.name) })
	for i, e := range byName {
		if i == 0 || byName[i-1].name != e.name {
			if err := w.StartOperatorState(e.name, e.mode); err != nil {
				return err
			}
		}
		if err := w.Append(e.value); err != nil {
			return err
		}
	}
	return nil
}

func handleToProto(h snapshot.StateHandle) *protos.StateHandle {
	p := &protos.StateHandle{
		File: h.File, KeyGroupStart: int32(h.KeyGroups.Start), KeyGroupEnd: int32(h.KeyGroups.End),
		Size: h.Size, Checksum: h.Checksum, KeyedEntries: h.KeyedEntries,
	}
	for _, o := range h.OperatorStates {
		p.OperatorStates = append(p.OperatorStates, &protos.OperatorStateInfo{Name: o.Name, Mode: int32(o.Mode), Entries: o.Entries})
	}
	return p
}

func handleFromProto(p *protos.StateHandle) snapshot.StateHandle {
	if p == nil {
		return snapshot.StateHandle{}
	}
	h := snapshot.StateHandle{
		File: p.File, KeyGroups: snapshot.KeyGroupRange{Start: int(p.KeyGroupStart), End: int(p.KeyGroupEnd)},
		Size: p.Size, Checksum: p.Checksum, KeyedEntries: p.KeyedEntries,
	}
	for _, o := range p.OperatorStates {
		h.OperatorStates = append(h.OperatorStates, snapshot.OperatorStateInfo{Name: o.Name, Mode: snapshot.RedistributionMode(o.Mode), Entries: o.Entries})
	}
	return h
}

// restoreReader gives one operator subtask its share of a checkpoint: the
// keyed entries of its state files and, unless the subtask restored its
// own Pebble checkpoint (ownStore), of the old Pebble checkpoints.
type restoreReader struct {
	plan     *snapshot.RescalePlan
	subtask  int
	ownStore bool
	sources  *storeSources
}

func (r *restoreReader) Keyed(fn func(kg int, key, value []byte) error) error {
	if err := r.plan.ReadKeyed(snapshot.OSFS(), r.subtask, fn); err != nil {
		return err
	}
	if r.ownStore {
		return nil
	}
	return r.sources.read(r.plan.Dir, r.plan.UID, r.plan.Subtasks[r.subtask].KeyedStores, fn)
}

func (r *restoreReader) Operator(name string) ([][]byte, error) {
	return r.plan.ReadOperatorState(snapshot.OSFS(), r.subtask, name)
}

// restore brings the chain's state and source position back from the
// checkpoint or savepoint m; ownStore tells that the subtask's Pebble
// instance was assembled from its own Pebble checkpoint of m.
func (t *subtask) restore(m *snapshot.Manifest, ownStore bool) (err error) {
	sources := &storeSources{base: t.cfg.LocalStateDir}
	defer func() {
		if cerr := sources.close(); cerr != nil && err == nil {
			err = fmt.Errorf("restore from %s: %w", m.Dir, cerr)
		}
	}()
	for i, v := range t.chain.Vertices {
		if m.Operator(v.UID) == nil {
			continue // an operator the checkpoint does not know starts empty
		}
		plan, err := snapshot.PlanRescale(m, v.UID, v.Parallelism)
		if err != nil {
			return fmt.Errorf("restore %q: %w", v.Name, err)
		}
		if c, ok := t.ops[i].(operators.Checkpointed); ok {
			if err := c.RestoreState(&restoreReader{plan: plan, subtask: t.index, ownStore: ownStore, sources: sources}); err != nil {
				return fmt.Errorf("restore %q subtask %d: %w", v.Name, t.index, err)
			}
		}
		if i == 0 && t.source != nil {
			if plan.OldParallelism != plan.NewParallelism {
				rs, ok := t.source.(operators.RescalableSource)
				if !ok {
					return fmt.Errorf("restore source %q at parallelism %d from %d: %w", v.Name, plan.NewParallelism, plan.OldParallelism, operators.ErrNotRescalable)
				}
				if err := rs.SeekRescaled(plan.SourcePositions); err != nil {
					return fmt.Errorf("restore source %q subtask %d at parallelism %d (from %d): %w", v.Name, t.index, plan.NewParallelism, plan.OldParallelism, err)
				}
				continue
			}
			pos := plan.SourcePositions[t.index]
			if len(pos) == 0 {
				continue
			}
			cs, ok := t.source.(operators.CheckpointedSource)
			if !ok {
				return fmt.Errorf("restore source %q: it cannot resume from a position", v.Name)
			}
			if err := cs.Seek(pos); err != nil {
				return fmt.Errorf("restore source %q subtask %d: %w", v.Name, t.index, err)
			}
		}
	}
	return nil
}
