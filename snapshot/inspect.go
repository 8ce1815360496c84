package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Inspection describes what a checkpoint or savepoint holds, for
// `strom savepoint inspect PATH`. It is built from the manifest and the
// index of each state file; Problems lists files that are missing or do
// not match the manifest.
type Inspection struct {
	Path           string
	CheckpointID   int64
	JobName        string
	Epoch          uint64
	Timestamp      time.Time
	MaxParallelism int
	TotalSize      int64
	Operators      []OperatorInspection
	// KeyedStores lists the keyed store checkpoints (Pebble) the
	// manifest names.
	KeyedStores []KeyedStoreInspection
	Problems    []string
}

// KeyedStoreInspection is one keyed store checkpoint of an Inspection:
// its directory, the operators that keep entries in it, and the number
// and total size of its files (table files are often shared with other
// checkpoints through hard links, so the sizes of several checkpoints do
// not add up).
type KeyedStoreInspection struct {
	Dir       string
	Operators []string
	Files     int
	Size      int64
}

// OperatorInspection is one operator of an Inspection.
type OperatorInspection struct {
	UID          string
	Parallelism  int
	Size         int64
	KeyedEntries int64
	Subtasks     []SubtaskInspection
}

// SubtaskInspection is one subtask of an OperatorInspection.
type SubtaskInspection struct {
	Subtask         int
	KeyGroups       KeyGroupRange
	File            string
	Size            int64
	KeyedEntries    int64
	OperatorStates  []OperatorStateInfo
	SourcePositions int // bytes
}

// Inspect describes the checkpoint or savepoint at path (its directory or
// its _manifest file). It fails only if the manifest cannot be read; state
// files that are missing or damaged are listed in Problems.
func Inspect(fsys FS, path string) (*Inspection, error) {
	if fsys == nil {
		fsys = OSFS()
	}
	dir, err := manifestDir(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	mpath := filepath.Join(dir, manifestFileName)
	b, err := readFile(fsys, mpath, maxManifestSize)
	if err != nil {
		if isNotExist(err) {
			err = fmt.Errorf("%s: %w", dir, ErrIncomplete)
		}
		return nil, fmt.Errorf("inspect: %w", err)
	}
	m, err := decodeManifest(mpath, b)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	m.Dir = dir
	in := &Inspection{
		Path: dir, CheckpointID: m.CheckpointID, JobName: m.JobName, Epoch: m.Epoch,
		Timestamp: m.Timestamp, MaxParallelism: m.MaxParallelism, TotalSize: m.Size(),
	}
	for _, op := range m.Operators {
		oi := OperatorInspection{UID: op.UID, Parallelism: op.Parallelism}
		for _, st := range op.Subtasks {
			si := SubtaskInspection{
				Subtask: st.Subtask, KeyGroups: st.KeyGroups, File: st.State.File,
				Size: st.State.Size, KeyedEntries: st.State.KeyedEntries,
				OperatorStates: st.State.OperatorStates, SourcePositions: len(st.SourcePositions),
			}
			oi.Size += si.Size
			oi.KeyedEntries += si.KeyedEntries
			oi.Subtasks = append(oi.Subtasks, si)
			if st.State.IsZero() {
				continue
			}
			r, err := OpenStateHandle(fsys, dir, &st.State)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					return nil, fmt.Errorf("inspect: %w", err)
				}
				in.Problems = append(in.Problems, err.Error())
				continue
			}
			r.Close()
		}
		in.Operators = append(in.Operators, oi)
	}
	for _, d := range m.KeyedStores() {
		ks := KeyedStoreInspection{Dir: d}
		for _, op := range m.Operators {
			for _, st := range op.Subtasks {
				if st.KeyedStore == d {
					ks.Operators = append(ks.Operators, fmt.Sprintf("%s[%d]", op.UID, st.Subtask))
				}
			}
		}
		names, err := fsys.ReadDir(filepath.Join(dir, d))
		if err != nil {
			in.Problems = append(in.Problems, fmt.Sprintf("keyed store %s: %v", d, err))
		}
		for _, n := range names {
			if fi, err := fsys.Stat(filepath.Join(dir, d, n)); err == nil {
				ks.Files++
				ks.Size += fi.Size()
			}
		}
		in.KeyedStores = append(in.KeyedStores, ks)
	}
	if err := checkKeyedStores(m, false); err != nil {
		in.Problems = append(in.Problems, err.Error())
	}
	return in, nil
}

// String renders the inspection as a report.
func (in *Inspection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "path:            %s\n", in.Path)
	fmt.Fprintf(&b, "job:             %s\n", in.JobName)
	fmt.Fprintf(&b, "checkpoint:      %d (epoch %d)\n", in.CheckpointID, in.Epoch)
	if !in.Timestamp.IsZero() {
		fmt.Fprintf(&b, "taken:           %s\n", in.Timestamp.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "max parallelism: %d\n", in.MaxParallelism)
	fmt.Fprintf(&b, "state size:      %d bytes\n", in.TotalSize)
	for _, op := range in.Operators {
		fmt.Fprintf(&b, "\noperator %q: parallelism %d, %d bytes, %d keyed entries\n", op.UID, op.Parallelism, op.Size, op.KeyedEntries)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  subtask\tkey groups\tfile\tbytes\tkeyed entries\toperator state\tsource positions")
		for _, st := range op.Subtasks {
			file := st.File
			if file == "" {
				file = "-"
			}
			var ops []string
			for _, o := range st.OperatorStates {
				ops = append(ops, fmt.Sprintf("%s(%s, %d)", o.Name, o.Mode, o.Entries))
			}
			opStates := strings.Join(ops, " ")
			if opStates == "" {
				opStates = "-"
			}
			fmt.Fprintf(tw, "  %d\t[%d, %d)\t%s\t%d\t%d\t%s\t%d bytes\n",
				st.Subtask, st.KeyGroups.Start, st.KeyGroups.End, file, st.Size, st.KeyedEntries, opStates, st.SourcePositions)
		}
		tw.Flush()
	}
	if len(in.KeyedStores) > 0 {
		fmt.Fprintf(&b, "\nkeyed stores (Pebble checkpoints; their entries are not counted above):\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  directory\tfiles\tbytes\toperators")
		for _, ks := range in.KeyedStores {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", ks.Dir, ks.Files, ks.Size, strings.Join(ks.Operators, " "))
		}
		tw.Flush()
	}
	if len(in.Problems) > 0 {
		fmt.Fprintf(&b, "\nproblems:\n")
		for _, p := range in.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	return b.String()
}
