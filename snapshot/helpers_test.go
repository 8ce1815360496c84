package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// kv is one keyed entry of test state.
type kv struct {
	KG         int
	Key, Value string
}

// opList is one operator state list of test state.
type opList struct {
	Mode    RedistributionMode
	Entries []string
}

// content is the state of one subtask, as the tests write and read it.
type content struct {
	Keyed []kv // ascending key group, write order within one
	Ops   map[string]opList
}

// genContent makes deterministic test state for a subtask owning kgs: up to
// perKG entries in about two thirds of the key groups, and two operator
// state lists.
func genContent(seed uint64, kgs KeyGroupRange, perKG int) content {
	rng := rand.New(rand.NewPCG(seed, 7))
	var c content
	for kg := kgs.Start; kg < kgs.End; kg++ {
		if rng.IntN(3) == 0 {
			continue
		}
		for i := range 1 + rng.IntN(perKG) {
			v := make([]byte, rng.IntN(40))
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
			c.Keyed = append(c.Keyed, kv{KG: kg, Key: fmt.Sprintf("k%d-%d-%d", seed, kg, i), Value: string(v)})
		}
	}
	c.Ops = map[string]opList{
		"offsets": {Mode: Union, Entries: []string{fmt.Sprintf("off-%d", seed)}},
		"buffer":  {Mode: EvenSplit},
	}
	for i := range rng.IntN(5) {
		e := c.Ops["buffer"]
		e.Entries = append(e.Entries, fmt.Sprintf("buf-%d-%d", seed, i))
		c.Ops["buffer"] = e
	}
	return c
}

// write writes c with w and closes it.
func (c content) write(t testing.TB, w *StateWriter) StateHandle {
	t.Helper()
	h, err := c.writeErr(w)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// readContent reads all of a state file.
func readContent(r *StateReader) (content, error) {
	var c content
	err := r.ReadKeyGroups(KeyGroupRange{Start: 0, End: MaxMaxParallelism}, func(kg int, k, v []byte) error {
		c.Keyed = append(c.Keyed, kv{KG: kg, Key: string(k), Value: string(v)})
		return nil
	})
	if err != nil {
		return content{}, err
	}
	c.Ops = map[string]opList{}
	for _, info := range r.OperatorStates() {
		l := opList{Mode: info.Mode}
		err := r.ReadOperatorState(info.Name, func(e []byte) error {
			l.Entries = append(l.Entries, string(e))
			return nil
		})
		if err != nil {
			return content{}, err
		}
		c.Ops[info.Name] = l
	}
	return c, nil
}

// keyedIn returns the entries of c in kgs.
func (c content) keyedIn(kgs KeyGroupRange) []kv {
	var out []kv
	for _, e := range c.Keyed {
		if kgs.Contains(e.KG) {
			out = append(out, e)
		}
	}
	return out
}

func equalContent(a, b content) bool {
	norm := func(c content) content {
		if len(c.Keyed) == 0 {
			c.Keyed = nil
		}
		ops := map[string]opList{}
		for n, l := range c.Ops {
			if len(l.Entries) == 0 {
				l.Entries = nil
			}
			ops[n] = l
		}
		c.Ops = ops
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// encodeContent writes c into a state file in memory and returns its bytes.
func encodeContent(t testing.TB, c content, kgs KeyGroupRange) []byte {
	t.Helper()
	mfs := newMemFS()
	w, err := NewStateWriter(mfs, "/f.state", kgs)
	if err != nil {
		t.Fatal(err)
	}
	c.write(t, w)
	f, err := mfs.Open("/f.state")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// job is a test job: operators with a parallelism each, whose subtasks'
// state is genContent seeded by (checkpoint, operator, subtask).
type job struct {
	name   string
	maxP   int
	ops    []jobOp
	perKG  int
	noKeys bool
}

type jobOp struct {
	uid         string
	parallelism int
}

var testJob = job{name: "wordcount", maxP: 128, perKG: 3, ops: []jobOp{{"counts", 3}, {"source", 2}}}

func (j job) content(chk int64, op, subtask int) content {
	o := j.ops[op]
	return genContent(uint64(chk)<<20|uint64(op)<<10|uint64(subtask), RangeFor(subtask, j.maxP, o.parallelism), j.perKG)
}

// checkpoint writes checkpoint id of j through s, its subtasks writing
// concurrently, and commits it. It returns the commit error.
func (j job) checkpoint(t testing.TB, s *Store, id int64, epoch uint64) error {
	t.Helper()
	p, err := s.NewCheckpoint(id, epoch)
	if err != nil {
		return err
	}
	m := NewManifest(j.name, j.maxP, time.UnixMilli(1_700_000_000_000+id))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first atomic.Value
	)
	for oi, o := range j.ops {
		for st := range o.parallelism {
			wg.Go(func() {
				kgs := RangeFor(st, j.maxP, o.parallelism)
				w, err := p.Create(o.uid, st, kgs)
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				h, err := j.content(id, oi, st).writeErr(w)
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if err := m.AddSubtask(o.uid, o.parallelism, st, h, fmt.Appendf(nil, "pos-%d-%d", id, st)); err != nil {
					first.CompareAndSwap(nil, err)
				}
			})
		}
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return errors.Join(err, p.Abort())
	}
	return p.Commit(m)
}

// writeErr is write returning errors instead of failing the test (for use
// in goroutines and under fault injection).
func (c content) writeErr(w *StateWriter) (StateHandle, error) {
	last := -1
	for _, e := range c.Keyed {
		if e.KG != last {
			if err := w.StartKeyGroup(e.KG); err != nil {
				return StateHandle{}, errors.Join(err, w.Abort())
			}
			last = e.KG
		}
		if err := w.Put([]byte(e.Key), []byte(e.Value)); err != nil {
			return StateHandle{}, errors.Join(err, w.Abort())
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Ops)) {
		l := c.Ops[name]
		if err := w.StartOperatorState(name, l.Mode); err != nil {
			return StateHandle{}, errors.Join(err, w.Abort())
		}
		for _, e := range l.Entries {
			if err := w.Append([]byte(e)); err != nil {
				return StateHandle{}, errors.Join(err, w.Abort())
			}
		}
	}
	return w.Close()
}

// checkJob fails unless m is checkpoint id of j and its files hold exactly
// what j wrote.
func (j job) checkJob(t testing.TB, fsys FS, m *Manifest, id int64) {
	t.Helper()
	if m.CheckpointID != id || m.JobName != j.name || m.MaxParallelism != j.maxP || len(m.Operators) != len(j.ops) {
		t.Fatalf("manifest: id %d job %q maxP %d, %d operators; want checkpoint %d of %q", m.CheckpointID, m.JobName, m.MaxParallelism, len(m.Operators), id, j.name)
	}
	for oi, o := range j.ops {
		op := m.Operator(o.uid)
		if op == nil || op.Parallelism != o.parallelism {
			t.Fatalf("operator %q missing or at the wrong parallelism: %+v", o.uid, op)
		}
		for st := range o.parallelism {
			sub := op.Subtasks[st]
			if want := fmt.Sprintf("pos-%d-%d", id, st); string(sub.SourcePositions) != want {
				t.Fatalf("%q/%d source positions %q, want %q", o.uid, st, sub.SourcePositions, want)
			}
			r, err := OpenStateHandle(fsys, m.Dir, &sub.State)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readContent(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := j.content(id, oi, st); !equalContent(got, want) {
				t.Fatalf("%q/%d of checkpoint %d: read\n%+v\nwant\n%+v", o.uid, st, id, got, want)
			}
		}
	}
}

func mustOpen(t testing.TB, dir string, fsys FS) *Store {
	t.Helper()
	s, err := Open(dir, fsys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustEpoch(t testing.TB, s *Store) uint64 {
	t.Helper()
	e, err := s.BeginEpoch()
	if err != nil {
		t.Fatal(err)
	}
	return e
}
