package snapshot

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// rescaleManifest is a manifest of operator "op" at parallelism p whose
// subtask i has keyed entries and opCounts[i] entries of an even-split list
// "split" and a union list "all".
func rescaleManifest(t *testing.T, maxP, p int, opCounts []int64) *Manifest {
	t.Helper()
	m := NewManifest("j", maxP, time.Time{})
	m.CheckpointID = 1
	for st := range p {
		kgs := RangeFor(st, maxP, p)
		h := StateHandle{
			File: StateFileName("op", st), KeyGroups: kgs, Size: 100, KeyedEntries: 1,
			OperatorStates: []OperatorStateInfo{{Name: "all", Mode: Union, Entries: opCounts[st]}, {Name: "split", Mode: EvenSplit, Entries: opCounts[st]}},
		}
		if err := m.AddSubtask("op", p, st, h, []byte{byte(st)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlanRescaleKeyGroups(t *testing.T) {
	type read struct{ old, start, end int }
	cases := []struct {
		name     string
		from, to int
		want     [][]read // by new subtask; nil: checked by the invariants only
	}{
		{"1 to 3", 1, 3, [][]read{{{0, 0, 43}}, {{0, 43, 86}}, {{0, 86, 128}}}},
		{"4 to 2", 4, 2, [][]read{{{0, 0, 32}, {1, 32, 64}}, {{2, 64, 96}, {3, 96, 128}}}},
		{"3 to 5", 3, 5, [][]read{
			{{0, 0, 26}},
			{{0, 26, 43}, {1, 43, 52}},
			{{1, 52, 77}},
			{{1, 77, 86}, {2, 86, 103}},
			{{2, 103, 128}},
		}},
		{"3 to 3", 3, 3, [][]read{{{0, 0, 43}}, {{1, 43, 86}}, {{2, 86, 128}}}},
		{"5 to 3", 5, 3, nil},
		{"7 to 128", 7, 128, nil},
		{"128 to 1", 128, 1, nil},
		{"127 to 128", 127, 128, nil},
	}
	const maxP = 128
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := rescaleManifest(t, maxP, tc.from, make([]int64, tc.from))
			p, err := PlanRescale(m, "op", tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if p.OldParallelism != tc.from || p.NewParallelism != tc.to || len(p.Subtasks) != tc.to || len(p.Handles) != tc.from || len(p.SourcePositions) != tc.from {
				t.Fatalf("plan shape: %+v", p)
			}
			readBy := make([]int, maxP) // key group -> times read
			for j, sr := range p.Subtasks {
				if sr.Subtask != j || sr.KeyGroups != RangeFor(j, maxP, tc.to) {
					t.Fatalf("new subtask %d: %+v", j, sr)
				}
				var got []read
				next := sr.KeyGroups.Start
				for _, kr := range sr.Keyed {
					old := m.Operators[0].Subtasks[kr.OldSubtask]
					if kr.File != old.State.File || kr.KeyGroups.Start < old.KeyGroups.Start || kr.KeyGroups.End > old.KeyGroups.End {
						t.Fatalf("new subtask %d reads %+v outside old subtask %d's %v", j, kr, kr.OldSubtask, old.KeyGroups)
					}
					if kr.KeyGroups.Start != next || kr.KeyGroups.Len() < 1 {
						t.Fatalf("new subtask %d: reads not contiguous at %d: %+v", j, next, sr.Keyed)
					}
					next = kr.KeyGroups.End
					for kg := kr.KeyGroups.Start; kg < kr.KeyGroups.End; kg++ {
						readBy[kg]++
					}
					got = append(got, read{kr.OldSubtask, kr.KeyGroups.Start, kr.KeyGroups.End})
				}
				if next != sr.KeyGroups.End {
					t.Fatalf("new subtask %d reads up to %d of %v", j, next, sr.KeyGroups)
				}
				if tc.want != nil && !slices.Equal(got, tc.want[j]) {
					t.Errorf("new subtask %d reads %v, want %v", j, got, tc.want[j])
				}
			}
			for kg, n := range readBy {
				if n != 1 {
					t.Fatalf("key group %d read %d times", kg, n)
				}
			}
		})
	}
}

func TestPlanRescaleOperatorState(t *testing.T) {
	type read struct{ old, from, to int64 }
	cases := []struct {
		name      string
		counts    []int64
		to        int
		wantSplit [][]read
	}{
		{"1 to 3", []int64{7}, 3, [][]read{{{0, 0, 3}}, {{0, 3, 5}}, {{0, 5, 7}}}},
		{"4 to 2", []int64{1, 2, 0, 3}, 2, [][]read{{{0, 0, 1}, {1, 0, 2}}, {{3, 0, 3}}}},
		{"3 to 5", []int64{2, 0, 5}, 5, [][]read{{{0, 0, 2}}, {{2, 0, 2}}, {{2, 2, 3}}, {{2, 3, 4}}, {{2, 4, 5}}}},
		{"fewer entries than subtasks", []int64{1, 1}, 4, [][]read{{{0, 0, 1}}, {{1, 0, 1}}, nil, nil}},
		{"no entries", []int64{0, 0}, 3, [][]read{nil, nil, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := rescaleManifest(t, 128, len(tc.counts), tc.counts)
			p, err := PlanRescale(m, "op", tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, c := range tc.counts {
				total += c
			}
			want := []OperatorStateInfo{{Name: "all", Mode: Union, Entries: total}, {Name: "split", Mode: EvenSplit, Entries: total}}
			if !slices.Equal(p.OperatorStates, want) {
				t.Fatalf("operator states %v, want %v", p.OperatorStates, want)
			}
			var dealt int64
			for j, sr := range p.Subtasks {
				var split, union []read
				for _, r := range sr.OperatorState {
					rd := read{int64(r.OldSubtask), r.From, r.To}
					if r.File != StateFileName("op", r.OldSubtask) {
						t.Fatalf("read of %+v names file %q", rd, r.File)
					}
					switch r.Name {
					case "split":
						split = append(split, rd)
						dealt += r.To - r.From
					case "all":
						union = append(union, rd)
					}
				}
				if !slices.Equal(split, tc.wantSplit[j]) {
					t.Errorf("new subtask %d: even split reads %v, want %v", j, split, tc.wantSplit[j])
				}
				var wantUnion []read
				for i, c := range tc.counts {
					if c > 0 {
						wantUnion = append(wantUnion, read{int64(i), 0, c})
					}
				}
				if !slices.Equal(union, wantUnion) {
					t.Errorf("new subtask %d: union reads %v, want %v", j, union, wantUnion)
				}
			}
			if dealt != total {
				t.Fatalf("even split dealt %d of %d entries", dealt, total)
			}
		})
	}
}

func TestPlanRescaleErrors(t *testing.T) {
	m := rescaleManifest(t, 8, 2, []int64{0, 0})
	if _, err := PlanRescale(m, "other", 2); !errors.Is(err, ErrUnknownOperator) {
		t.Fatalf("unknown operator: %v", err)
	}
	for _, p := range []int{0, 9} {
		if _, err := PlanRescale(m, "op", p); err == nil {
			t.Fatalf("parallelism %d accepted", p)
		}
	}
}

// TestRescaleRestore writes a checkpoint at parallelism 3 and restores it
// at 1, 2, 3 and 5: every keyed entry arrives exactly once, at the subtask
// that owns its key group; even-split lists are dealt in order; union lists
// reach everyone.
func TestRescaleRestore(t *testing.T) {
	mfs := newMemFS()
	s := mustOpen(t, "/job", mfs)
	e := mustEpoch(t, s)
	if err := testJob.checkpoint(t, s, 1, e); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Latest()
	if err != nil {
		t.Fatal(err)
	}
	var (
		wantKeyed          []kv
		wantBuffer, wantOf []string
	)
	for st := range 3 {
		c := testJob.content(1, 0, st)
		wantKeyed = append(wantKeyed, c.Keyed...)
		wantBuffer = append(wantBuffer, c.Ops["buffer"].Entries...)
		wantOf = append(wantOf, c.Ops["offsets"].Entries...)
	}
	for _, newP := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(newP), func(t *testing.T) {
			plan, err := PlanRescale(m, "counts", newP)
			if err != nil {
				t.Fatal(err)
			}
			var keyed []kv
			var buffer []string
			for j := range newP {
				own := RangeFor(j, m.MaxParallelism, newP)
				err := plan.ReadKeyed(mfs, j, func(kg int, k, v []byte) error {
					if !own.Contains(kg) {
						return fmt.Errorf("subtask %d of %d got key group %d", j, newP, kg)
					}
					keyed = append(keyed, kv{KG: kg, Key: string(k), Value: string(v)})
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				b, err := plan.ReadOperatorState(mfs, j, "buffer")
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range b {
					buffer = append(buffer, string(e))
				}
				of, err := plan.ReadOperatorState(mfs, j, "offsets")
				if err != nil {
					t.Fatal(err)
				}
				var ofs []string
				for _, e := range of {
					ofs = append(ofs, string(e))
				}
				if !slices.Equal(ofs, wantOf) {
					t.Fatalf("subtask %d: union list %q, want %q", j, ofs, wantOf)
				}
			}
			if !slices.Equal(keyed, wantKeyed) {
				t.Fatalf("restored %d keyed entries, want %d", len(keyed), len(wantKeyed))
			}
			if !slices.Equal(buffer, wantBuffer) {
				t.Fatalf("even-split list %q, want %q", buffer, wantBuffer)
			}
		})
	}
}

func TestRedistributeOperatorState(t *testing.T) {
	b := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	old := [][][]byte{b("a", "b"), nil, b("c", "d", "e")}
	if got, want := RedistributeOperatorState(EvenSplit, old, 2), [][][]byte{b("a", "b", "c"), b("d", "e")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("even split to 2: %q", got)
	}
	if got, want := RedistributeOperatorState(EvenSplit, old, 4), [][][]byte{b("a", "b"), b("c"), b("d"), b("e")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("even split to 4: %q", got)
	}
	got := RedistributeOperatorState(Union, old, 3)
	for j := range got {
		if want := b("a", "b", "c", "d", "e"); !reflect.DeepEqual(got[j], want) {
			t.Fatalf("union subtask %d: %q", j, got[j])
		}
	}
	// Appending to one subtask's share never changes another's.
	parts := RedistributeOperatorState(EvenSplit, old, 2)
	_ = append(parts[0], []byte("x"))
	if string(parts[1][0]) != "d" {
		t.Fatal("shares alias each other")
	}
	// Property: for any sizes, the even split deals every entry once, in
	// order, in chunks differing by at most one.
	for total := range int64(40) {
		for p := 1; p <= 9; p++ {
			var next int64
			lo, hi := total, int64(0)
			for j := range p {
				from, to := evenSplit(total, p, j)
				if from != next || to < from {
					t.Fatalf("total %d p %d: subtask %d gets [%d, %d) after %d", total, p, j, from, to, next)
				}
				next = to
				lo, hi = min(lo, to-from), max(hi, to-from)
			}
			if next != total || hi-lo > 1 {
				t.Fatalf("total %d p %d: dealt %d, chunk sizes %d..%d", total, p, next, lo, hi)
			}
		}
	}
}
