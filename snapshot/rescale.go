package snapshot

import (
	"fmt"
	"slices"
)

// RescalePlan says what each subtask of an operator reads from a checkpoint
// when the operator is restored at a new parallelism (the same parallelism
// gives each subtask its own old file).
//
// Keyed state moves by key group: new subtask j owns RangeFor(j, maxP,
// newParallelism) and reads, from every old file whose range overlaps it,
// the sections of the overlap, so every key group is read by exactly one
// new subtask. Operator state lists move by their RedistributionMode.
type RescalePlan struct {
	UID            string
	Dir            string // the checkpoint directory
	MaxParallelism int
	OldParallelism int
	NewParallelism int
	// Subtasks is indexed by new subtask.
	Subtasks []SubtaskRestore
	// OperatorStates lists the operator state lists of the operator, by
	// name, with their total entry counts over all old subtasks.
	OperatorStates []OperatorStateInfo
	// SourcePositions holds the old subtasks' source positions, by old
	// subtask. They are opaque here: a source decides which of them a new
	// subtask resumes from.
	SourcePositions [][]byte
	// Handles holds the old subtasks' state files, by old subtask.
	Handles []StateHandle
}

// SubtaskRestore is what one new subtask reads.
type SubtaskRestore struct {
	Subtask int
	// KeyGroups is the range the subtask owns at the new parallelism.
	KeyGroups KeyGroupRange
	// Keyed lists the old files and key group sections to read, in key
	// group order. Files without keyed entries are left out.
	Keyed []KeyedRead
	// OperatorState lists the slices of old operator state lists to read,
	// by name and then old subtask.
	OperatorState []OperatorStateRead
	// KeyedStores lists the old keyed store checkpoints (see
	// SubtaskState.KeyedStore) and the key groups to read from each, in
	// key group order: keyed entries in addition to those of Keyed.
	KeyedStores []KeyedStoreRead
}

// KeyedStoreRead is a range of key groups of one old subtask's keyed store
// checkpoint.
type KeyedStoreRead struct {
	OldSubtask int
	// Dir is the checkpoint's base name in the checkpoint directory.
	Dir       string
	KeyGroups KeyGroupRange
}

// KeyedRead is a run of key group sections of one old state file.
type KeyedRead struct {
	OldSubtask int
	File       string
	KeyGroups  KeyGroupRange
}

// OperatorStateRead is the entries [From, To) of one old subtask's
// operator state list.
type OperatorStateRead struct {
	Name       string
	Mode       RedistributionMode
	OldSubtask int
	File       string
	From, To   int64
}

// PlanRescale plans the restore of operator uid from m at newParallelism.
// It fails with ErrUnknownOperator if m holds no state for uid.
func PlanRescale(m *Manifest, uid string, newParallelism int) (*RescalePlan, error) {
	op := m.Operator(uid)
	if op == nil {
		return nil, fmt.Errorf("plan rescale of %q: %w", uid, ErrUnknownOperator)
	}
	if err := ValidateParallelism(newParallelism, m.MaxParallelism); err != nil {
		return nil, fmt.Errorf("plan rescale of %q: %w", uid, err)
	}
	p := &RescalePlan{
		UID: uid, Dir: m.Dir, MaxParallelism: m.MaxParallelism,
		OldParallelism: op.Parallelism, NewParallelism: newParallelism,
		Subtasks: make([]SubtaskRestore, newParallelism),
	}
	for _, st := range op.Subtasks {
		p.SourcePositions = append(p.SourcePositions, st.SourcePositions)
		p.Handles = append(p.Handles, st.State)
	}

	// Keyed state: intersect each new range with the old ranges.
	for j := range p.Subtasks {
		r := RangeFor(j, m.MaxParallelism, newParallelism)
		p.Subtasks[j] = SubtaskRestore{Subtask: j, KeyGroups: r}
		for i, st := range op.Subtasks {
			lo, hi := max(r.Start, st.KeyGroups.Start), min(r.End, st.KeyGroups.End)
			if lo < hi && st.State.KeyedEntries > 0 {
				p.Subtasks[j].Keyed = append(p.Subtasks[j].Keyed, KeyedRead{OldSubtask: i, File: st.State.File, KeyGroups: KeyGroupRange{Start: lo, End: hi}})
			}
			if lo < hi && st.KeyedStore != "" {
				p.Subtasks[j].KeyedStores = append(p.Subtasks[j].KeyedStores, KeyedStoreRead{OldSubtask: i, Dir: st.KeyedStore, KeyGroups: KeyGroupRange{Start: lo, End: hi}})
			}
		}
	}

	// Operator state: per name, deal the concatenated lists.
	modes := make(map[string]RedistributionMode)
	for _, st := range op.Subtasks {
		for _, info := range st.State.OperatorStates {
			modes[info.Name] = info.Mode
		}
	}
	names := make([]string, 0, len(modes))
	for name := range modes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		mode := modes[name]
		counts := make([]int64, len(op.Subtasks))
		var total int64
		for i, st := range op.Subtasks {
			for _, info := range st.State.OperatorStates {
				if info.Name == name {
					counts[i] = info.Entries
				}
			}
			total += counts[i]
		}
		p.OperatorStates = append(p.OperatorStates, OperatorStateInfo{Name: name, Mode: mode, Entries: total})
		for j := range p.Subtasks {
			from, to := int64(0), total // Union: everything
			if mode == EvenSplit {
				from, to = evenSplit(total, newParallelism, j)
			}
			var base int64 // global index of old subtask i's first entry
			for i, n := range counts {
				lo, hi := max(from, base), min(to, base+n)
				if lo < hi {
					p.Subtasks[j].OperatorState = append(p.Subtasks[j].OperatorState, OperatorStateRead{
						Name: name, Mode: mode, OldSubtask: i, File: op.Subtasks[i].State.File,
						From: lo - base, To: hi - base,
					})
				}
				base += n
			}
		}
	}
	return p, nil
}

// ReadKeyed calls fn for every keyed entry new subtask reads, by key group.
func (p *RescalePlan) ReadKeyed(fsys FS, subtask int, fn func(kg int, key, value []byte) error) error {
	if subtask < 0 || subtask >= len(p.Subtasks) {
		return fmt.Errorf("snapshot: subtask %d of %d", subtask, len(p.Subtasks))
	}
	for _, kr := range p.Subtasks[subtask].Keyed {
		r, err := OpenStateHandle(fsys, p.Dir, &p.Handles[kr.OldSubtask])
		if err != nil {
			return fmt.Errorf("restore %q subtask %d: %w", p.UID, subtask, err)
		}
		err = r.ReadKeyGroups(kr.KeyGroups, fn)
		r.Close()
		if err != nil {
			return fmt.Errorf("restore %q subtask %d: %w", p.UID, subtask, err)
		}
	}
	return nil
}

// ReadOperatorState returns the entries of operator state list name that
// new subtask receives, in order (copies, owned by the caller).
func (p *RescalePlan) ReadOperatorState(fsys FS, subtask int, name string) ([][]byte, error) {
	if subtask < 0 || subtask >= len(p.Subtasks) {
		return nil, fmt.Errorf("snapshot: subtask %d of %d", subtask, len(p.Subtasks))
	}
	var entries [][]byte
	for _, rd := range p.Subtasks[subtask].OperatorState {
		if rd.Name != name {
			continue
		}
		r, err := OpenStateHandle(fsys, p.Dir, &p.Handles[rd.OldSubtask])
		if err != nil {
			return nil, fmt.Errorf("restore %q subtask %d: %w", p.UID, subtask, err)
		}
		var i int64
		err = r.ReadOperatorState(name, func(e []byte) error {
			if i >= rd.From && i < rd.To {
				entries = append(entries, slices.Clone(e))
			}
			i++
			return nil
		})
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("restore %q subtask %d: %w", p.UID, subtask, err)
		}
	}
	return entries, nil
}

// RedistributeOperatorState hands the operator state lists of the old
// subtasks (old[i] is subtask i's list) to newParallelism subtasks by mode:
// EvenSplit deals the concatenation in contiguous chunks whose sizes differ
// by at most one, the larger first; Union gives each new subtask the whole
// concatenation. The entries are shared, not copied.
func RedistributeOperatorState(mode RedistributionMode, old [][][]byte, newParallelism int) [][][]byte {
	all := slices.Concat(old...)
	out := make([][][]byte, newParallelism)
	for j := range out {
		if mode == Union {
			out[j] = slices.Clip(all)
			continue
		}
		from, to := evenSplit(int64(len(all)), newParallelism, j)
		out[j] = all[from:to:to]
	}
	return out
}

// evenSplit returns the entries [from, to) of total that subtask j of
// parallelism receives under EvenSplit.
func evenSplit(total int64, parallelism, j int) (from, to int64) {
	p, jj := int64(parallelism), int64(j)
	base, extra := total/p, total%p
	from = jj*base + min(jj, extra)
	to = from + base
	if jj < extra {
		to++
	}
	return from, to
}
