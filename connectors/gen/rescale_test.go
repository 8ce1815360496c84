package gen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

// runRescaled runs a generator of count records through parallelisms
// pars: the first stage opens fresh subtasks, each later one resumes from
// the positions of the one before, with SeekRescaled when the parallelism
// changed and Seek when it did not. Subtask i of each stage but the last
// polls polls(i) times; the last stage polls lastPolls times (until Done
// when bounded). Records carry event time 10*index, which is checked.
func runRescaled(t *testing.T, count int64, pars []int, polls func(sub int) int, lastPolls, max int) []int64 {
	t.Helper()
	var positions [][]byte
	var got []int64
	for si, par := range pars {
		last := si == len(pars)-1
		next := make([][]byte, par)
		for i := range par {
			src := Sequence(Count(count), Timestamps(func(i int64) int64 { return 10 * i }))
			if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: par}); err != nil {
				t.Fatal(err)
			}
			switch {
			case si == 0:
			case len(positions) == par:
				if err := src.Seek(positions[i]); err != nil {
					t.Fatalf("stage %d subtask %d: Seek: %v", si, i, err)
				}
			default:
				if err := src.SeekRescaled(positions); err != nil {
					t.Fatalf("stage %d subtask %d: SeekRescaled: %v", si, i, err)
				}
			}
			k := polls(i)
			if last {
				k = lastPolls
			}
			b := operators.NewBatch[int64](max)
			done := false
			for range k {
				b.Reset()
				res, err := src.Poll(b, max)
				if err != nil {
					t.Fatal(err)
				}
				if b.Len() > max {
					t.Fatalf("poll appended %d records, max %d", b.Len(), max)
				}
				for j, v := range b.Values {
					if b.Times[j] != 10*v {
						t.Fatalf("index %d has event time %d", v, b.Times[j])
					}
				}
				got = append(got, b.Values...)
				if done = res.Done; done {
					break
				}
			}
			if last && count > 0 && !done {
				t.Fatalf("stage %d subtask %d never Done", si, i)
			}
			pos, err := src.Position()
			if err != nil {
				t.Fatal(err)
			}
			next[i] = pos
			src.Close()
		}
		positions = next
	}
	return got
}

// checkExactlyOnce fails unless got holds each of 0..n-1 exactly once.
func checkExactlyOnce(t *testing.T, got []int64, n int64) {
	t.Helper()
	got = slices.Clone(got)
	slices.Sort(got)
	if int64(len(got)) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("the %dth smallest index is %d: indices lost or generated twice", i, v)
		}
	}
}

func TestRescaleBounded(t *testing.T) {
	chains := [][]int{{1, 3}, {2, 1}, {2, 3}, {3, 2}, {2, 3, 1}, {2, 3, 2}, {2, 2, 3}, {1, 4, 4, 2}, {3, 1, 5, 2}}
	for _, n := range []int64{1, 2, 7, 103} {
		for _, chain := range chains {
			for _, polls := range []int{0, 1, 3, 100} {
				for _, max := range []int{1, 4} {
					t.Run(fmt.Sprintf("n=%d/%v/polls=%d/max=%d", n, chain, polls, max), func(t *testing.T) {
						// Subtasks progress unevenly: subtask i polls
						// polls*(i+1) times.
						got := runRescaled(t, n, chain, func(sub int) int { return polls * (sub + 1) }, 1<<20, max)
						checkExactlyOnce(t, got, n)
					})
				}
			}
		}
	}
}

func TestRescaleRandom(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 3))
		n := int64(1 + r.IntN(500))
		chain := make([]int, 2+r.IntN(5))
		for i := range chain {
			chain[i] = 1 + r.IntN(6)
		}
		max := 1 + r.IntN(10)
		t.Run(fmt.Sprintf("seed=%d/n=%d/%v/max=%d", seed, n, chain, max), func(t *testing.T) {
			got := runRescaled(t, n, chain, func(int) int { return r.IntN(8) }, 1<<20, max)
			checkExactlyOnce(t, got, n)
		})
	}
}

func TestRescaleUnbounded(t *testing.T) {
	// Ending at parallelism 1 after the pieces are consumed, the indices
	// generated are exactly 0..N-1 for some N.
	for _, chain := range [][]int{{2, 1}, {3, 2, 1}, {2, 3, 2, 1}, {1, 4, 1}} {
		t.Run(fmt.Sprint(chain), func(t *testing.T) {
			got := runRescaled(t, 0, chain, func(sub int) int { return 2 * sub }, 200, 5)
			checkExactlyOnce(t, got, int64(len(got)))
			if len(got) < 1000 {
				t.Fatalf("only %d records", len(got))
			}
		})
	}
}

func TestRescaleSharesEvenly(t *testing.T) {
	// Of 120 indices at parallelism 2, subtask 0 generated 40 (up to 80)
	// and subtask 1 none. At parallelism 3 each new subtask gets a third
	// of the 80 left.
	positions := make([][]byte, 2)
	for i, polls := range []int{4, 0} {
		src := Sequence(Count(120))
		src.Open(&operators.TaskContext{Subtask: i, Parallelism: 2})
		for range polls {
			src.Poll(operators.NewBatch[int64](0), 10)
		}
		positions[i], _ = src.Position()
	}
	for j := range 3 {
		src := Sequence(Count(120))
		src.Open(&operators.TaskContext{Subtask: j, Parallelism: 3})
		if err := src.SeekRescaled(positions); err != nil {
			t.Fatal(err)
		}
		if left := src.left(); left < 26 || left > 27 {
			t.Fatalf("subtask %d of 3 has %d indices left, want 26 or 27", j, left)
		}
	}
}

func TestRescaleWords(t *testing.T) {
	// Records depend on their index alone: a rescaled run generates the
	// same words as an uninterrupted one.
	const n = 500
	words := Words(7)
	positions := make([][]byte, 3)
	got := map[string]int{}
	b := operators.NewBatch[string](0)
	for i := range 3 {
		src := New(words, Count(n))
		src.Open(&operators.TaskContext{Subtask: i, Parallelism: 3})
		for range i + 1 {
			src.Poll(b, 17)
		}
		positions[i], _ = src.Position()
	}
	for j := range 2 {
		src := New(words, Count(n))
		src.Open(&operators.TaskContext{Subtask: j, Parallelism: 2})
		if err := src.SeekRescaled(positions); err != nil {
			t.Fatal(err)
		}
		for {
			res, err := src.Poll(b, 64)
			if err != nil {
				t.Fatal(err)
			}
			if res.Done {
				break
			}
		}
	}
	for _, w := range b.Values {
		got[w]++
	}
	want := map[string]int{}
	for i := range int64(n) {
		want[words(i)]++
	}
	if len(b.Values) != n || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rescaled run generated %d words, not those of an uninterrupted run", len(b.Values))
	}
}

// encodePosition writes a position of the current version.
func encodePosition(par, sub, count, next int64, pieces ...progression) []byte {
	b := []byte{positionKind, positionVersion}
	for _, v := range []int64{par, sub, count, next, int64(len(pieces))} {
		b = appendUvarint(b, v)
	}
	for _, p := range pieces {
		b = appendUvarint(appendUvarint(appendUvarint(b, p.next), p.stride), p.end)
	}
	return b
}

func appendUvarint(b []byte, v int64) []byte {
	for uint64(v) >= 0x80 {
		b = append(b, byte(v)|0x80)
		v = int64(uint64(v) >> 7)
	}
	return append(b, byte(v))
}

func TestRescaleFromVersion1(t *testing.T) {
	// Subtask 0 of 2 generated 0, 2, 4; subtask 1 nothing.
	positions := [][]byte{{'G', 1, 2, 0, 10, 6}, {'G', 1, 2, 1, 10, 1}}
	var got []int64
	for j := range 3 {
		src := Sequence(Count(10))
		src.Open(&operators.TaskContext{Subtask: j, Parallelism: 3})
		if err := src.SeekRescaled(positions); err != nil {
			t.Fatal(err)
		}
		vals, _ := pollN(t, src, 100, 3)
		got = append(got, vals...)
	}
	slices.Sort(got)
	if want := []int64{1, 3, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestRescaleRefused(t *testing.T) {
	positionsOf := func(count int64, p, polls int) [][]byte {
		out := make([][]byte, p)
		for i := range p {
			src := Sequence(Count(count))
			src.Open(&operators.TaskContext{Subtask: i, Parallelism: p})
			pollN(t, src, polls, 3)
			out[i], _ = src.Position()
		}
		return out
	}
	good := positionsOf(100, 2, 1)
	p0, p1 := good[0], good[1]
	tests := []struct {
		name      string
		positions [][]byte
		want      string
	}{
		{"none", nil, "no positions"},
		{"missing", [][]byte{p0, nil}, "no position for old subtask 1 of 2"},
		{"foreign", [][]byte{p0, []byte("L\x01abc")}, "not a generator position"},
		{"truncated", [][]byte{p0, p1[:len(p1)-1]}, "corrupt"},
		{"future version", [][]byte{p0, append([]byte{'G', 9}, p1[2:]...)}, "version 9"},
		{"swapped", [][]byte{p1, p0}, "is for subtask 1 of 2"},
		{"one left out", [][]byte{p0}, "is for subtask 0 of 2"},
		{"duplicated", [][]byte{p0, p1, p1}, "of 2"},
		{"other count", positionsOf(99, 2, 1), "count of 99"},
		{"unbounded", positionsOf(0, 2, 1), "count of 0"},
		{"same residue class", [][]byte{encodePosition(2, 0, 100, 10), encodePosition(2, 1, 100, 12)}, "residue class"},
		{"version 1 index of another subtask", [][]byte{p0, {'G', 1, 2, 1, 100, 6}}, "not one of subtask 1 of 2"},
		{"piece past the tail", [][]byte{encodePosition(2, 0, 100, 10, progression{1, 2, 12}), encodePosition(2, 1, 100, 11)}, "past the tail"},
		{"piece past another tail", [][]byte{encodePosition(2, 0, 100, 20, progression{12, 2, 16}), encodePosition(2, 1, 100, 11)}, "where a tail continues"},
		{"empty piece", [][]byte{encodePosition(2, 0, 100, 20, progression{4, 2, 4}), p1}, "empty"},
		{"zero stride", [][]byte{encodePosition(2, 0, 100, 20, progression{4, 0, 6}), p1}, "empty"},
		{"overlapping pieces", [][]byte{encodePosition(2, 0, 100, 20, progression{0, 2, 10}), encodePosition(2, 1, 100, 21, progression{4, 3, 10})}, "overlap"},
		{"too many pieces", [][]byte{append(encodePosition(2, 0, 100, 20), 0xff, 0xff, 0x7f), p1}, "corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sequence(Count(100))
			if err := src.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3}); err != nil {
				t.Fatal(err)
			}
			err := src.SeekRescaled(tt.positions)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SeekRescaled: %v, want an error containing %q", err, tt.want)
			}
			// A refused position leaves the source at its start.
			if got, _ := pollN(t, src, 1, 2); !slices.Equal(got, []int64{1, 4}) {
				t.Fatalf("after a refused SeekRescaled: %v", got)
			}
		})
	}
	t.Run("lifecycle", func(t *testing.T) {
		src := Sequence(Count(100))
		if err := src.SeekRescaled(good); err == nil || !strings.Contains(err.Error(), "not open") {
			t.Fatalf("SeekRescaled before Open: %v", err)
		}
		src.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3})
		src.Poll(operators.NewBatch[int64](0), 1)
		if err := src.SeekRescaled(good); err == nil || !strings.Contains(err.Error(), "already polled") {
			t.Fatalf("SeekRescaled after Poll: %v", err)
		}
	})
	t.Run("seek refuses overlapping pieces", func(t *testing.T) {
		src := Sequence(Count(100))
		src.Open(&operators.TaskContext{Subtask: 0, Parallelism: 2})
		err := src.Seek(encodePosition(2, 0, 100, 20, progression{0, 2, 10}, progression{4, 3, 10}))
		if err == nil || !strings.Contains(err.Error(), "overlap") {
			t.Fatalf("Seek: %v", err)
		}
	})
}

func TestOverlap(t *testing.T) {
	// Against brute force on small progressions.
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		a := progression{int64(r.IntN(40)), int64(1 + r.IntN(12)), 0}
		a.end = a.next + int64(r.IntN(60))
		b := progression{int64(r.IntN(40)), int64(1 + r.IntN(12)), 0}
		b.end = b.next + int64(r.IntN(60))
		want := false
		for x := a.next; x < a.end; x += a.stride {
			if x >= b.next && x < b.end && (x-b.next)%b.stride == 0 {
				want = true
			}
		}
		if got := overlap(a, b); got != want {
			t.Fatalf("overlap(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
	// Large values do not overflow.
	big := progression{1 << 61, 1<<31 - 1, 1<<62 - 1}
	if !overlap(big, progression{1<<61 + 5*(1<<31-1), 1<<31 - 3, 1 << 62}) {
		t.Fatal("large progressions sharing their first index do not overlap")
	}
}
