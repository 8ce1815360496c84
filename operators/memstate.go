package operators

import (
	"fmt"
	"slices"

	"github.com/stromhq/strom/snapshot"
)

// MemState is an in-memory checkpoint of one operator subtask, for tests
// and tools: a StateWriter that keeps keyed entries per key group in the
// order they were written and operator state lists per name, and that
// reads them back as a StateReader (Reader, RescaledReader).
type MemState struct {
	keyed map[int][]MemEntry
	ops   map[string]*memList
	names []string
}

// MemEntry is one keyed state entry of a MemState.
type MemEntry struct {
	Key, Value []byte
}

type memList struct {
	mode    snapshot.RedistributionMode
	entries [][]byte
}

var _ StateWriter = (*MemState)(nil)

// NewMemState returns an empty MemState.
func NewMemState() *MemState {
	return &MemState{keyed: make(map[int][]MemEntry), ops: make(map[string]*memList)}
}

// Keyed implements StateWriter.
func (m *MemState) Keyed(kg int, key, value []byte) {
	m.keyed[kg] = append(m.keyed[kg], MemEntry{Key: slices.Clone(key), Value: slices.Clone(value)})
}

// Operator implements StateWriter.
func (m *MemState) Operator(name string, mode snapshot.RedistributionMode, entry []byte) {
	l := m.ops[name]
	if l == nil {
		l = &memList{mode: mode}
		m.ops[name] = l
		m.names = append(m.names, name)
	}
	l.entries = append(l.entries, slices.Clone(entry))
}

// KeyGroups returns the key groups that hold entries, in order.
func (m *MemState) KeyGroups() []int {
	kgs := make([]int, 0, len(m.keyed))
	for kg := range m.keyed {
		kgs = append(kgs, kg)
	}
	slices.Sort(kgs)
	return kgs
}

// Entries returns the keyed entries of key group kg; a test may modify
// them in place.
func (m *MemState) Entries(kg int) []MemEntry { return m.keyed[kg] }

// Len returns the number of keyed entries.
func (m *MemState) Len() int {
	n := 0
	for _, es := range m.keyed {
		n += len(es)
	}
	return n
}

// Reader returns the state as a subtask owning key groups kgs reads it
// when restoring at the same parallelism: the keyed entries of kgs and
// every operator state list whole.
func (m *MemState) Reader(kgs snapshot.KeyGroupRange) StateReader {
	return RescaledReader([]*MemState{m}, kgs, 0, 1)
}

// RescaledReader returns what new subtask subtask of parallelism reads of
// the states of an operator's old subtasks (in subtask order) when it
// owns key groups kgs: their keyed entries of kgs, in key group order,
// and its share of each operator state list, redistributed by the list's
// mode as snapshot.RedistributeOperatorState does.
func RescaledReader(olds []*MemState, kgs snapshot.KeyGroupRange, subtask, parallelism int) StateReader {
	return &memReader{olds: olds, kgs: kgs, subtask: subtask, parallelism: parallelism}
}

type memReader struct {
	olds                 []*MemState
	kgs                  snapshot.KeyGroupRange
	subtask, parallelism int
}

// Keyed implements StateReader.
func (r *memReader) Keyed(fn func(kg int, key, value []byte) error) error {
	for kg := r.kgs.Start; kg < r.kgs.End; kg++ {
		for _, m := range r.olds {
			for _, e := range m.keyed[kg] {
				if err := fn(kg, e.Key, e.Value); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Operator implements StateReader.
func (r *memReader) Operator(name string) ([][]byte, error) {
	old := make([][][]byte, len(r.olds))
	var mode snapshot.RedistributionMode
	found := false
	for i, m := range r.olds {
		if l := m.ops[name]; l != nil {
			old[i], mode, found = l.entries, l.mode, true
		}
	}
	if !found {
		return nil, fmt.Errorf("%w %q", snapshot.ErrUnknownOperatorState, name)
	}
	return snapshot.RedistributeOperatorState(mode, old, r.parallelism)[r.subtask], nil
}
