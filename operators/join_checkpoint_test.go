package operators

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomJoinSteps returns records of both sides (gate 0 left, gate 1
// right) of up to keys keys, out of order by up to disorder, with
// watermarks that sometimes overtake records, ending with the final
// watermark.
func randomJoinSteps(r *rand.Rand, n, keys int, disorder int64) []ckStep[jrec] {
	var steps []ckStep[jrec]
	var ts, maxTs int64
	wm := NoTimestamp
	id := 0
	for range n {
		if r.IntN(4) == 0 {
			if w := maxTs - r.Int64N(disorder+1); w > wm {
				wm = w
				steps = append(steps, ckStep[jrec]{kind: stepWatermark, t: w})
			}
			continue
		}
		s := ckStep[jrec]{kind: stepRecords, gate: r.IntN(2)}
		for range 1 + r.IntN(3) {
			ts += r.Int64N(4)
			t := ts - r.Int64N(disorder+1)
			maxTs = max(maxTs, t)
			id++
			s.vals = append(s.vals, jrec{ID: id, Key: r.IntN(keys)})
			s.times = append(s.times, t)
		}
		steps = append(steps, s)
	}
	return append(steps, ckStep[jrec]{kind: stepWatermark, t: MaxWatermark}, ckStep[jrec]{kind: stepEnd})
}

func jrecKey(r jrec) int { return r.Key }

func windowJoinCase(w JoinWindows) ckCase[jrec] {
	return ckCase[jrec]{
		name: fmt.Sprintf("window-join %+v", w),
		make: func(out *[]string) ckInstance[jrec] {
			op := newWindowJoin(w, lineOut[jpair]{out})
			return ckInstance[jrec]{op: op, inputs: []Input[jrec]{op.Input1(), op.Input2()}}
		},
		keyGroup: keyGroupOf(jrecKey),
	}
}

func intervalJoinCase(lower, upper int64) ckCase[jrec] {
	return ckCase[jrec]{
		name: fmt.Sprintf("interval-join [%d,%d]", lower, upper),
		make: func(out *[]string) ckInstance[jrec] {
			op := newIntervalJoin(lower, upper, lineOut[jpair]{out})
			return ckInstance[jrec]{op: op, inputs: []Input[jrec]{op.Input1(), op.Input2()}}
		},
		keyGroup: keyGroupOf(jrecKey),
	}
}

func randomJoinCase(r *rand.Rand) ckCase[jrec] {
	if r.IntN(2) == 0 {
		size := 1 + r.Int64N(20)
		slide := size
		if r.IntN(2) == 0 {
			slide = 1 + r.Int64N(size)
		}
		return windowJoinCase(JoinWindows{Size: size, Slide: slide, Offset: r.Int64N(slide)})
	}
	lower := r.Int64N(30) - 20
	return intervalJoinCase(lower, lower+r.Int64N(25))
}

func TestJoinsRestore(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for range 150 {
		c := randomJoinCase(r)
		checkRestores(t, r, c, randomJoinSteps(r, 5+r.IntN(50), 1+r.IntN(5), 15))
	}
}

func TestJoinsRescale(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 60 {
		c := randomJoinCase(r)
		steps := randomJoinSteps(r, 10+r.IntN(50), 4+r.IntN(10), 15)
		cut := r.IntN(len(steps) + 1)
		checkRescale(t, c, steps, cut, 1)
		checkRescale(t, c, steps, cut, 3)
	}
}

func TestJoinsRejectCorruptState(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	steps := randomJoinSteps(r, 20, 4, 5)
	steps = steps[:len(steps)-2] // keep the buffers
	checkCorruptionFails(t, windowJoinCase(JoinWindows{Size: 1000, Slide: 500}), steps)
	checkCorruptionFails(t, intervalJoinCase(-1000, 1000), steps)
}

// TestJoinsRestoreEventTime checks that records late before a checkpoint
// are late after it, before any watermark.
func TestJoinsRestoreEventTime(t *testing.T) {
	for _, c := range []ckCase[jrec]{windowJoinCase(JoinWindows{Size: 10}), intervalJoinCase(-5, 5)} {
		rec := func(gate, id int, ts int64) ckStep[jrec] {
			return ckStep[jrec]{kind: stepRecords, gate: gate, vals: []jrec{{ID: id, Key: 1}}, times: []int64{ts}}
		}
		steps := []ckStep[jrec]{
			rec(0, 1, 3), rec(1, 2, 4),
			{kind: stepWatermark, t: 20},
			rec(0, 3, 5), rec(1, 4, 6), // late
			rec(0, 5, 25), rec(1, 6, 26),
			{kind: stepWatermark, t: MaxWatermark},
		}
		want := runAll(t, c, steps)
		r := newRun(t, c)
		r.start(1, nil)
		for i, s := range steps[:3] {
			r.apply(i, s)
		}
		r.start(1, r.snapshot())
		for i, s := range steps[3:] {
			r.apply(3+i, s)
		}
		if d := lineDiff(r.out, want); d != "" {
			t.Fatalf("%s:\n%s", c.name, d)
		}
	}
}
