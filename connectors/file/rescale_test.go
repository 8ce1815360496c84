package file

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

// stage is one run of the job at a parallelism: each subtask polls a few
// times, then positions are taken.
type stage struct {
	par   int
	polls func(sub int) int // polls per subtask; the last stage reads all
}

// runRescaled reads path through the stages: the first opens fresh
// subtasks, each later one resumes from the positions of the one before,
// with SeekRescaled when the parallelism changed and Seek when it did
// not. The last stage reads to the end. It returns every line read.
func runRescaled(t *testing.T, path string, stages []stage, max int, opts ...LineOption) []string {
	t.Helper()
	var positions [][]byte
	var lines []string
	for si, st := range stages {
		last := si == len(stages)-1
		next := make([][]byte, st.par)
		for i := range st.par {
			src := Lines(path, opts...)
			if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: st.par}); err != nil {
				t.Fatal(err)
			}
			switch {
			case si == 0:
			case len(positions) == st.par:
				if err := src.Seek(positions[i]); err != nil {
					t.Fatalf("stage %d subtask %d: Seek: %v", si, i, err)
				}
			default:
				if err := src.SeekRescaled(positions); err != nil {
					t.Fatalf("stage %d subtask %d: SeekRescaled: %v", si, i, err)
				}
			}
			k := 1 << 20
			if !last {
				k = st.polls(i)
			}
			read, done := pollLines(t, src, k, max)
			if last && !done {
				t.Fatalf("stage %d subtask %d never Done", si, i)
			}
			lines = append(lines, read...)
			pos, err := src.Position()
			if err != nil {
				t.Fatal(err)
			}
			next[i] = pos
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
		}
		positions = next
	}
	return lines
}

// sameMultiset reports whether got holds the lines of want, each as often.
func sameMultiset(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func TestLinesRescaleReadsEveryLineOnce(t *testing.T) {
	huge := strings.Repeat("h", 100)
	contents := []struct{ name, content string }{
		{"empty", ""},
		{"one line no newline", "a"},
		{"fewer lines than subtasks", "a\nb\n"},
		{"empty lines", "\n\n\na\n\n\nb\n\n"},
		{"crlf no trailing", "alpha\r\n\r\nbeta\r\ngamma"},
		{"random short lines", randomLines(300, 40, 7)},
		{"random long lines", randomLines(40, 400, 8)},
		{"long lines between", "a\nb\n" + huge + "\nc\n" + huge + huge + "\nd"},
		{"same line repeated", strings.Repeat("same\n", 50)},
	}
	chains := [][]int{{1, 3}, {2, 1}, {2, 3}, {3, 2}, {2, 3, 1}, {2, 3, 2}, {3, 3, 1}, {1, 4, 4, 2}, {3, 1, 5}}
	for _, c := range contents {
		path := writeFile(t, c.content)
		want := expectedLines(c.content)
		for _, chain := range chains {
			for _, polls := range []int{0, 1, 2, 7} {
				for _, rd := range []struct {
					name string
					max  int
					opts []LineOption
				}{{"max1", 1, nil}, {"tiny buffer", 3, []LineOption{BufferSize(16)}}} {
					name := fmt.Sprintf("%s/%v/polls=%d/%s", c.name, chain, polls, rd.name)
					t.Run(name, func(t *testing.T) {
						stages := make([]stage, len(chain))
						for i, p := range chain {
							// Subtasks progress unevenly: subtask i polls
							// polls*(i+1) times.
							stages[i] = stage{par: p, polls: func(sub int) int { return polls * (sub + 1) }}
						}
						got := runRescaled(t, path, stages, rd.max, rd.opts...)
						if !sameMultiset(got, want) {
							t.Fatalf("got %d lines, want %d\n got %.300q\nwant %.300q", len(got), len(want), got, want)
						}
					})
				}
			}
		}
	}
}

func TestLinesRescaleRandom(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 2))
		content := randomLines(1+r.IntN(200), 1+r.IntN(60), seed)
		if r.IntN(3) == 0 {
			content = strings.ReplaceAll(content, "\n", "\r\n")
		}
		if r.IntN(3) == 0 {
			content = strings.TrimSuffix(content, "\n")
		}
		chain := make([]int, 2+r.IntN(4))
		for i := range chain {
			chain[i] = 1 + r.IntN(5)
		}
		max := 1 + r.IntN(8)
		t.Run(fmt.Sprintf("seed=%d/%v/max=%d", seed, chain, max), func(t *testing.T) {
			path := writeFile(t, content)
			stages := make([]stage, len(chain))
			for i, p := range chain {
				stages[i] = stage{par: p, polls: func(int) int { return r.IntN(6) }}
			}
			got := runRescaled(t, path, stages, max, BufferSize(16+r.IntN(64)))
			if want := expectedLines(content); !sameMultiset(got, want) {
				t.Fatalf("got %d lines, want %d", len(got), len(want))
			}
		})
	}
}

func TestLinesRescaleSharesEvenly(t *testing.T) {
	// 600 lines of 10 bytes, half read by subtask 0 of 2 and none by
	// subtask 1: 450 lines are left, 150 for each of 3 new subtasks.
	path := writeFile(t, strings.Repeat("123456789\n", 600))
	positions := make([][]byte, 2)
	for i, polls := range []int{15, 0} {
		src := Lines(path)
		if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: 2}); err != nil {
			t.Fatal(err)
		}
		pollLines(t, src, polls, 10)
		positions[i], _ = src.Position()
		src.Close()
	}
	for j := range 3 {
		src := Lines(path)
		if err := src.Open(&operators.TaskContext{Subtask: j, Parallelism: 3}); err != nil {
			t.Fatal(err)
		}
		if err := src.SeekRescaled(positions); err != nil {
			t.Fatal(err)
		}
		lines, done := pollLines(t, src, 1000, 64)
		src.Close()
		if !done || len(lines) != 150 {
			t.Fatalf("subtask %d of 3 read %d lines (done %v), want 150", j, len(lines), done)
		}
	}
}

func TestLinesRescaleAfterDone(t *testing.T) {
	// Positions taken after every line was read resume to nothing.
	path := writeFile(t, "a\nb\nc\nd\n")
	positions := make([][]byte, 2)
	for i := range 2 {
		src := Lines(path)
		src.Open(&operators.TaskContext{Subtask: i, Parallelism: 2})
		if _, done := pollLines(t, src, 10, 10); !done {
			t.Fatal("not done")
		}
		positions[i], _ = src.Position()
		src.Close()
	}
	for j := range 3 {
		src := Lines(path)
		src.Open(&operators.TaskContext{Subtask: j, Parallelism: 3})
		if err := src.SeekRescaled(positions); err != nil {
			t.Fatal(err)
		}
		if lines, done := pollLines(t, src, 1, 10); !done || len(lines) != 0 {
			t.Fatalf("subtask %d: %q, done %v", j, lines, done)
		}
		src.Close()
	}
}

// encodePosition writes a position of the current version.
func encodePosition(sub, par, size, next int64, ranges ...byteRange) []byte {
	b := []byte{positionKind, positionVersion}
	for _, v := range []int64{sub, par, size, next, int64(len(ranges))} {
		b = appendUvarint(b, v)
	}
	for _, r := range ranges {
		b = appendUvarint(appendUvarint(b, r.start), r.end)
	}
	return b
}

// encodeV1 writes a position of version 1.
func encodeV1(sub, par, size, start, end, next int64) []byte {
	b := []byte{positionKind, positionVersion1}
	for _, v := range []int64{sub, par, size, start, end, next} {
		b = appendUvarint(b, v)
	}
	return b
}

func TestLinesRescaleFromVersion1(t *testing.T) {
	// Checkpoints written before the ranges encoding resume at another
	// parallelism too: subtask 0 of 2 read "a" and "b", subtask 1 read
	// nothing yet.
	content := "a\nb\nc\nd\ne\nf\n" // 12 bytes, splits [0, 6) and [6, 12)
	path := writeFile(t, content)
	positions := [][]byte{encodeV1(0, 2, 12, 0, 6, 4), encodeV1(1, 2, 12, 6, 12, 6)}
	var got []string
	for j := range 3 {
		src := Lines(path)
		src.Open(&operators.TaskContext{Subtask: j, Parallelism: 3})
		if err := src.SeekRescaled(positions); err != nil {
			t.Fatal(err)
		}
		lines, _ := pollLines(t, src, 100, 10)
		got = append(got, lines...)
		src.Close()
	}
	if want := []string{"c", "d", "e", "f"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// And through Seek at the same parallelism.
	src := resumeAt(t, path, 0, 2, positions[0])
	defer src.Close()
	if lines, _ := pollLines(t, src, 100, 10); !slices.Equal(lines, []string{"c"}) {
		t.Fatalf("Seek with a version 1 position: %q", lines)
	}
}

func TestLinesRescaleRefused(t *testing.T) {
	content := "one\ntwo\nthree\nfour\nfive\nsix\n" // 29 bytes
	path := writeFile(t, content)
	size := int64(len(content))
	// Valid positions of 2 subtasks that read nothing.
	s0, e0 := span(size, 0, 2)
	s1, e1 := span(size, 1, 2)
	p0 := positionsAt(t, path, 2, 0)[0]
	p1 := positionsAt(t, path, 2, 0)[1]
	if _, err := decodeLinePosition(p0); err != nil {
		t.Fatal(err)
	}
	shifted := writeFile(t, "x"+content[:len(content)-1])
	tests := []struct {
		name      string
		path      string
		positions [][]byte
		want      string
	}{
		{"none", "", nil, "no positions"},
		{"missing", "", [][]byte{p0, nil}, "no position for old subtask 1 of 2"},
		{"foreign", "", [][]byte{p0, {'G', 1, 2, 1, 0, 1}}, "not a file source position"},
		{"truncated", "", [][]byte{p0, p1[:len(p1)-1]}, "corrupt"},
		{"swapped", "", [][]byte{p1, p0}, "is for subtask 1 of 2"},
		{"one left out", "", [][]byte{p0}, "is for subtask 0 of 2"},
		{"duplicated", "", [][]byte{p0, p0, p1}, "of 2"},
		{"file grew", writeFile(t, content+"seven\n"), [][]byte{p0, p1}, "unchanged file"},
		{"mid-line", shifted, [][]byte{p0, p1}, "not the start of a line"},
		{"version 1 of another split", "", [][]byte{encodeV1(0, 2, size, s0, e0+1, 0), p1}, "its split"},
		{"overlap", "", [][]byte{encodePosition(0, 2, size, 0, byteRange{0, 20}), p1}, "overlap"},
		{"empty range", "", [][]byte{encodePosition(0, 2, size, 0, byteRange{0, 0}), p1}, "corrupt"},
		{"ranges out of order", "", [][]byte{encodePosition(0, 2, size, 8, byteRange{8, 10}, byteRange{0, 4}), p1}, "corrupt"},
		{"range past the end", "", [][]byte{p0, encodePosition(1, 2, size, s1, byteRange{s1, size + 1})}, "corrupt"},
		{"offset outside the range", "", [][]byte{encodePosition(0, 2, size, 8, byteRange{0, 4}), p1}, "outside"},
		{"offset past the file", "", [][]byte{encodePosition(0, 2, size, size+1), p1}, "outside"},
		{"too many ranges", "", [][]byte{append(encodePosition(0, 2, size, 0), 0xff, 0xff, 0x7f), p1}, "corrupt"},
		{"future version", "", [][]byte{p0, append([]byte{positionKind, 3}, p1[2:]...)}, "version 3"},
		{"version 1 offset before split", "", [][]byte{p0, encodeV1(1, 2, size, s1, e1, s1-1)}, "outside"},
	}
	want := readSubtask(t, path, 1, 3, 100)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := path
			if tt.path != "" {
				in = tt.path
			}
			src := Lines(in)
			if err := src.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3}); err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			err := src.SeekRescaled(tt.positions)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SeekRescaled: %v, want an error containing %q", err, tt.want)
			}
			if in != path {
				return
			}
			// A refused position leaves the source at its start.
			if got, _ := pollLines(t, src, 1000, 10); !slices.Equal(got, want) {
				t.Fatalf("after a refused SeekRescaled: %q, want %q", got, want)
			}
		})
	}
	t.Run("lifecycle", func(t *testing.T) {
		src := Lines(path)
		if err := src.SeekRescaled([][]byte{p0, p1}); err == nil || !strings.Contains(err.Error(), "not open") {
			t.Fatalf("SeekRescaled before Open: %v", err)
		}
		src.Open(&operators.TaskContext{Subtask: 0, Parallelism: 3})
		defer src.Close()
		pollLines(t, src, 1, 1)
		if err := src.SeekRescaled([][]byte{p0, p1}); err == nil || !strings.Contains(err.Error(), "already polled") {
			t.Fatalf("SeekRescaled after Poll: %v", err)
		}
	})
	t.Run("seek refuses a rescaled position of another subtask", func(t *testing.T) {
		src := Lines(path)
		src.Open(&operators.TaskContext{Subtask: 0, Parallelism: 3})
		if err := src.SeekRescaled([][]byte{p0, p1}); err != nil {
			t.Fatal(err)
		}
		pos, _ := src.Position()
		src.Close()
		other := Lines(path)
		other.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3})
		defer other.Close()
		if err := other.Seek(pos); err == nil || !strings.Contains(err.Error(), "subtask 0 of 3") {
			t.Fatalf("Seek: %v", err)
		}
	})
}

// positionsAt returns the positions of all p subtasks of path after each
// polled polls times, 3 lines at a time.
func positionsAt(t *testing.T, path string, p, polls int) [][]byte {
	t.Helper()
	out := make([][]byte, p)
	for i := range p {
		src := Lines(path)
		if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: p}); err != nil {
			t.Fatal(err)
		}
		pollLines(t, src, polls, 3)
		pos, err := src.Position()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = pos
		src.Close()
	}
	return out
}

func TestShare(t *testing.T) {
	ranges := []byteRange{{0, 10}, {20, 25}, {30, 45}} // 30 bytes
	want := [][]byteRange{{{0, 10}}, {{20, 25}, {30, 35}}, {{35, 45}}}
	for i, w := range want {
		if got := share(ranges, i, 3); !slices.Equal(got, w) {
			t.Errorf("share %d of 3: %v, want %v", i, got, w)
		}
	}
	if got := share(nil, 0, 2); len(got) != 0 {
		t.Errorf("share of nothing: %v", got)
	}
	merged, err := mergeRanges([]byteRange{{20, 25}, {0, 10}, {10, 15}, {25, 30}, {40, 41}})
	if err != nil || !slices.Equal(merged, []byteRange{{0, 15}, {20, 30}, {40, 41}}) {
		t.Errorf("merge: %v, %v", merged, err)
	}
	if _, err := mergeRanges([]byteRange{{0, 10}, {9, 12}}); err == nil {
		t.Error("overlapping ranges merged")
	}
}
