package file

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/connectors/internal/ratelimit/ratelimittest"
	"github.com/stromhq/strom/operators"
)

// pollLines polls src up to k times for max lines each.
func pollLines(t *testing.T, src *LineSource, k, max int) (lines []string, done bool) {
	t.Helper()
	b := operators.NewBatch[string](max)
	for range k {
		b.Reset()
		res, err := src.Poll(b, max)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b.Values...)
		if res.Done {
			return lines, true
		}
	}
	return lines, false
}

// resumeAt opens a new instance of subtask i of p and seeks it to pos.
func resumeAt(t *testing.T, path string, i, p int, pos []byte, opts ...LineOption) *LineSource {
	t.Helper()
	src := Lines(path, opts...)
	if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: p}); err != nil {
		t.Fatal(err)
	}
	if err := src.Seek(pos); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestLinesResumeFromPosition(t *testing.T) {
	huge := strings.Repeat("h", 100)
	contents := []struct{ name, content string }{
		{"empty", ""},
		{"one line no newline", "a"},
		{"empty lines", "\n\n\na\n\n\nb\n\n"},
		{"crlf no trailing", "alpha\r\n\r\nbeta\r\ngamma"},
		{"random short lines", randomLines(300, 40, 7)},
		{"random long lines", randomLines(40, 400, 8)},
		{"long lines between", "a\nb\n" + huge + "\nc\n" + huge + huge + "\nd"},
	}
	readers := []struct {
		name string
		max  int
		opts []LineOption
	}{
		{"max1", 1, nil},
		{"tiny buffer", 3, []LineOption{BufferSize(16)}},
		{"default", 1000, nil},
	}
	for _, c := range contents {
		path := writeFile(t, c.content)
		want := expectedLines(c.content)
		for _, rd := range readers {
			for p := 1; p <= 4; p++ {
				for _, polls := range []int{0, 1, 2, 5, 1000} {
					t.Run(fmt.Sprintf("%s/%s/P=%d/polls=%d", c.name, rd.name, p, polls), func(t *testing.T) {
						var got []string
						for i := range p {
							ctx := &operators.TaskContext{Subtask: i, Parallelism: p}
							first := Lines(path, rd.opts...)
							if err := first.Open(ctx); err != nil {
								t.Fatal(err)
							}
							before, _ := pollLines(t, first, polls, rd.max)
							pos, err := first.Position()
							if err != nil {
								t.Fatal(err)
							}
							// Resume twice: once after a few more polls
							// that are then lost, as when the job fails
							// after the checkpoint, and once more from a
							// position of the resumed instance.
							lost := resumeAt(t, path, i, p, pos, rd.opts...)
							pollLines(t, lost, 2, rd.max)
							lost.Close()
							second := resumeAt(t, path, i, p, pos, rd.opts...)
							middle, done := pollLines(t, second, 1, rd.max)
							pos2, err := second.Position()
							if err != nil {
								t.Fatal(err)
							}
							second.Close()
							var after []string
							if !done {
								third := resumeAt(t, path, i, p, pos2, rd.opts...)
								if after, done = pollLines(t, third, 1<<20, rd.max); !done {
									t.Fatal("resumed source never Done")
								}
								third.Close()
							}
							got = slices.Concat(got, before, middle, after)
							first.Close()
						}
						if !slices.Equal(got, want) {
							t.Fatalf("got %d lines, want %d\n got %.200q\nwant %.200q", len(got), len(want), got, want)
						}
					})
				}
			}
		}
	}
}

func TestLinesPositionAtEnd(t *testing.T) {
	path := writeFile(t, "a\nb\nc")
	src := Lines(path)
	src.Open(nil)
	if _, done := pollLines(t, src, 10, 10); !done {
		t.Fatal("not done")
	}
	pos, _ := src.Position()
	again := resumeAt(t, path, 0, 1, pos)
	defer again.Close()
	if lines, done := pollLines(t, again, 1, 10); !done || len(lines) != 0 {
		t.Fatalf("resumed at the end: %q, done %v", lines, done)
	}
}

func TestLinesPositionRefused(t *testing.T) {
	content := randomLines(50, 20, 3)
	path := writeFile(t, content)
	positionOf := func(path string, sub, p, polls int) []byte {
		t.Helper()
		src := Lines(path)
		if err := src.Open(&operators.TaskContext{Subtask: sub, Parallelism: p}); err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		pollLines(t, src, polls, 3)
		pos, err := src.Position()
		if err != nil {
			t.Fatal(err)
		}
		return pos
	}
	good := positionOf(path, 1, 3, 2)
	p, err := decodeLinePosition(good)
	if err != nil {
		t.Fatal(err)
	}
	// craft writes a position of version 1 of the same subtask.
	p.start, p.end = span(p.size, 1, 3)
	craft := func(edit func(*linePosition)) []byte {
		q := p
		edit(&q)
		b := []byte{positionKind, positionVersion1}
		for _, v := range []int64{q.sub, q.par, q.size, q.start, q.end, q.next} {
			b = appendUvarint(b, v)
		}
		return b
	}
	// The same file with a different line layout but the same size.
	shifted := writeFile(t, "x"+content[:len(content)-1])
	tests := []struct {
		name string
		path string // default path
		pos  []byte
		want string
	}{
		{"nil", "", nil, "empty position"},
		{"foreign", "", []byte{'G', 1, 3, 1, 100, 7}, "not a file source position"},
		{"future version", "", append([]byte{positionKind, 3}, good[2:]...), "version 3"},
		{"truncated", "", good[:len(good)-1], "corrupt"},
		{"trailing bytes", "", append(slices.Clone(good), 1), "trailing"},
		{"inconsistent", "", craft(func(q *linePosition) { q.start = q.end + 1 }), "corrupt"},
		{"other subtask", "", positionOf(path, 2, 3, 1), "subtask 2 of 3"},
		{"other parallelism", "", positionOf(path, 1, 2, 1), "same parallelism"},
		{"file grew", writeFile(t, content+"more\n"), good, "unchanged file"},
		{"mid-line", shifted, good, "not the start of a line"},
		{"offset before range", "", craft(func(q *linePosition) { q.next = q.start - 1 }), "outside"},
		{"offset past file", "", craft(func(q *linePosition) { q.next = q.size + 1 }), "outside"},
		{"other range", "", craft(func(q *linePosition) { q.end-- }), "this subtask reads"},
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
			err := src.Seek(tt.pos)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seek: %v, want an error containing %q", err, tt.want)
			}
			if in != path {
				return
			}
			// A refused position leaves the source at its start.
			if got, _ := pollLines(t, src, 1000, 10); !slices.Equal(got, want) {
				t.Fatalf("after a refused Seek: %q, want %q", got, want)
			}
		})
	}
	t.Run("lifecycle", func(t *testing.T) {
		src := Lines(path)
		if _, err := src.Position(); err == nil {
			t.Fatal("Position before Open succeeded")
		}
		if err := src.Seek(good); err == nil {
			t.Fatal("Seek before Open succeeded")
		}
		src.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3})
		defer src.Close()
		pollLines(t, src, 1, 1)
		if err := src.Seek(good); err == nil || !strings.Contains(err.Error(), "already polled") {
			t.Fatalf("Seek after Poll: %v", err)
		}
	})
}

func appendUvarint(b []byte, v int64) []byte {
	for uint64(v) >= 0x80 {
		b = append(b, byte(v)|0x80)
		v = int64(uint64(v) >> 7)
	}
	return append(b, byte(v))
}

// linesPoll adapts a line source to the shared rate-limit checks.
func linesPoll(t *testing.T, src *LineSource) ratelimittest.Poll {
	b := operators.NewBatch[string](0)
	return func(max int) (int, time.Duration, bool) {
		t.Helper()
		b.Reset()
		res, err := src.Poll(b, max)
		if err != nil {
			t.Fatal(err)
		}
		return b.Len(), res.Wait, res.Done
	}
}

func TestLinesRate(t *testing.T) {
	path := writeFile(t, strings.Repeat("line\n", 40_000))
	for _, c := range []ratelimittest.Case{
		{Rate: 10, P: 1, Max: 100, Duration: 10 * time.Second},
		{Rate: 1000, P: 1, Max: 64, Duration: 3 * time.Second},
		{Rate: 1000, P: 4, Max: 64, Duration: 3 * time.Second},
		{Rate: 3, P: 2, Max: 1, Duration: 20 * time.Second},
		{Rate: 0.5, P: 1, Max: 10, Duration: time.Minute},
	} {
		t.Run(fmt.Sprintf("rate=%g/P=%d/max=%d", c.Rate, c.P, c.Max), func(t *testing.T) {
			clock := ratelimittest.NewClock()
			src := Lines(path, Rate(c.Rate), WithClock(clock.Now))
			if err := src.Open(&operators.TaskContext{Subtask: c.P - 1, Parallelism: c.P}); err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			ratelimittest.CheckRate(t, clock, c, linesPoll(t, src))
		})
	}
}

func TestLinesRateWaitAndBurst(t *testing.T) {
	path := writeFile(t, strings.Repeat("line\n", 100))
	clock := ratelimittest.NewClock()
	src := Lines(path, Rate(100), WithClock(clock.Now))
	if err := src.Open(nil); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ratelimittest.CheckWaitAndBurst(t, clock, linesPoll(t, src))
}

func TestLinesRateReadsEverything(t *testing.T) {
	content := randomLines(200, 30, 5)
	path := writeFile(t, content)
	const p = 3
	var got []string
	for i := range p {
		clock := ratelimittest.NewClock()
		src := Lines(path, Rate(30), WithClock(clock.Now))
		if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: p}); err != nil {
			t.Fatal(err)
		}
		poll := linesPoll(t, src)
		b := operators.NewBatch[string](0)
		for {
			b.Reset()
			res, err := src.Poll(b, 16)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b.Values...)
			if res.Done {
				break
			}
			clock.Advance(res.Wait)
		}
		// Done stays Done and takes no token.
		if n, wait, done := poll(16); n != 0 || wait != 0 || !done {
			t.Fatalf("poll after Done: %d, %v, %v", n, wait, done)
		}
		src.Close()
	}
	if want := expectedLines(content); !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
}

func TestLinesRateAndResume(t *testing.T) {
	// A rate-limited source resumes from a position like any other.
	path := writeFile(t, randomLines(100, 10, 9))
	clock := ratelimittest.NewClock()
	src := Lines(path, Rate(1000), WithClock(clock.Now))
	src.Open(nil)
	first, _ := pollLines(t, src, 1, 100) // one token
	pos, _ := src.Position()
	src.Close()
	again := resumeAt(t, path, 0, 1, pos)
	rest, _ := pollLines(t, again, 1000, 100)
	again.Close()
	if got := append(first, rest...); !slices.Equal(got, readSubtask(t, path, 0, 1, 100)) {
		t.Fatalf("got %d lines", len(got))
	}
}
