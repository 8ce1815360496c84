package file

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

// expectedLines splits content the way the source should.
func expectedLines(content string) []string {
	if content == "" {
		return nil
	}
	lines := strings.Split(content, "\n")
	last := len(lines) - 1 // the text after the last "\n"
	for i := range last {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	if lines[last] == "" {
		lines = lines[:last] // a trailing newline ends the last line
	}
	return lines
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readSubtask reads everything subtask i of p sees, polling max at a time.
func readSubtask(t testing.TB, path string, i, p, max int, opts ...LineOption) []string {
	t.Helper()
	src := Lines(path, opts...)
	if err := src.Open(&operators.TaskContext{Subtask: i, Parallelism: p}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []string
	b := operators.NewBatch[string](max)
	for polls := 0; ; polls++ {
		if polls > 1<<20 {
			t.Fatal("source never reported Done")
		}
		b.Reset()
		res, err := src.Poll(b, max)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > max {
			t.Fatalf("poll appended %d records, max %d", b.Len(), max)
		}
		for _, ts := range b.Times {
			if ts != operators.NoTimestamp {
				t.Fatalf("timestamp %d, want NoTimestamp", ts)
			}
		}
		got = append(got, b.Values...)
		if res.Done {
			break
		}
	}
	b.Reset()
	if res, err := src.Poll(b, max); err != nil || !res.Done || b.Len() != 0 {
		t.Fatalf("poll after Done: %v, %v, %d records", res, err, b.Len())
	}
	return got
}

func randomLines(n, maxLen int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "%d:", i)
		for range r.IntN(maxLen) {
			sb.WriteByte(byte('a' + r.IntN(26)))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func TestLinesEveryLineOnce(t *testing.T) {
	huge := strings.Repeat("x", 1<<20) // longer than the default buffer
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"one line no newline", "a"},
		{"one line", "a\n"},
		{"only newline", "\n"},
		{"no trailing newline", "alpha\nbeta\ngamma"},
		{"trailing newline", "alpha\nbeta\ngamma\n"},
		{"empty lines", "\n\n\na\n\n\nb\n\n"},
		{"crlf", "alpha\r\nbeta\r\ngamma\r\n"},
		{"crlf no trailing", "alpha\r\n\r\nbeta\r\ngamma"},
		{"lone cr kept", "a\rb\nc\r"},
		{"random short lines", randomLines(500, 40, 1)},
		{"random long lines", randomLines(60, 3000, 2)},
		{"huge line only", huge},
		{"huge line newline", huge + "\n"},
		{"huge line between", "a\nb\n" + huge + "\nc\nd"},
	}
	type reader struct {
		name string
		max  int
		opts []LineOption
	}
	readers := []reader{
		{"default", 1000, nil},
		{"max1", 1, nil},
		{"tiny buffer", 7, []LineOption{BufferSize(16)}},
	}
	for _, tt := range tests {
		want := expectedLines(tt.content)
		path := writeFile(t, tt.content)
		for _, rd := range readers {
			if rd.name != "default" && len(tt.content) >= 1<<20 {
				continue // same code paths as the small cases, only slower
			}
			for _, p := range []int{1, 2, 3, 4, 5, 6, 7, 16} {
				t.Run(fmt.Sprintf("%s/%s/P=%d", tt.name, rd.name, p), func(t *testing.T) {
					var got []string
					for i := range p {
						got = append(got, readSubtask(t, path, i, p, rd.max, rd.opts...)...)
					}
					// Subtask ranges are in file order, so the
					// concatenation is the file's lines in order.
					if !slices.Equal(got, want) {
						t.Fatalf("got %d lines, want %d\n got %.200q\nwant %.200q", len(got), len(want), got, want)
					}
				})
			}
		}
	}
}

func TestLinesMoreSubtasksThanLines(t *testing.T) {
	path := writeFile(t, "a\nb\nc\n")
	const p = 50
	var got []string
	busy := 0
	for i := range p {
		lines := readSubtask(t, path, i, p, 10)
		if len(lines) > 0 {
			busy++
		}
		got = append(got, lines...)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) || busy != 3 {
		t.Fatalf("got %q from %d subtasks", got, busy)
	}
}

func TestLinesErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.txt")
	tests := []struct {
		name    string
		path    string
		opts    []LineOption
		subtask int
		p       int
		openErr bool
		want    []string // substrings of the error
	}{
		{name: "missing file", path: missing, p: 1, openErr: true, want: []string{"open input", missing}},
		{name: "directory", path: t.TempDir(), p: 1, openErr: true, want: []string{"is a directory"}},
		{name: "line too long", path: writeFile(t, "short\n"+strings.Repeat("y", 100)+"\nz\n"),
			opts: []LineOption{MaxLineBytes(50), BufferSize(16)}, p: 1,
			want: []string{"in.txt", "offset 6", "longer than 50 bytes"}},
		{name: "line too long in buffer", path: writeFile(t, "short\n"+strings.Repeat("y", 100)+"\nz\n"),
			opts: []LineOption{MaxLineBytes(50)}, p: 1,
			want: []string{"in.txt", "offset 6", "longer than 50 bytes"}},
		{name: "line too long at eof", path: writeFile(t, "short\n"+strings.Repeat("y", 100)),
			opts: []LineOption{MaxLineBytes(50), BufferSize(16)}, p: 1,
			want: []string{"offset 6"}},
		{name: "line too long second subtask", path: writeFile(t, strings.Repeat("a\n", 50)+strings.Repeat("y", 100)),
			opts: []LineOption{MaxLineBytes(50)}, subtask: 1, p: 2,
			want: []string{"offset 100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Lines(tt.path, tt.opts...)
			defer src.Close()
			err := src.Open(&operators.TaskContext{Subtask: tt.subtask, Parallelism: tt.p})
			if tt.openErr {
				if err == nil {
					t.Fatal("Open succeeded")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				b := operators.NewBatch[string](4)
				for range 100 {
					var res operators.PollResult
					if res, err = src.Poll(b, 4); err != nil || res.Done {
						break
					}
				}
				if err == nil {
					t.Fatal("reading succeeded")
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLinesReopen(t *testing.T) {
	path := writeFile(t, "a\nb\n")
	src := Lines(path)
	if _, err := src.Poll(operators.NewBatch[string](1), 1); err == nil {
		t.Fatal("Poll before Open succeeded")
	}
	for range 2 {
		if err := src.Open(nil); err != nil {
			t.Fatal(err)
		}
		b := operators.NewBatch[string](4)
		res, err := src.Poll(b, 4)
		if err != nil || !res.Done || !slices.Equal(b.Values, []string{"a", "b"}) {
			t.Fatalf("got %q, %v, %v", b.Values, res, err)
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSplitPointLargeFile(t *testing.T) {
	const size = 1 << 62
	for p := 1; p <= 7; p++ {
		prev := int64(0)
		for i := range p {
			start, end := span(size, i, p)
			if start != prev || end < start {
				t.Fatalf("P=%d i=%d: [%d,%d) after %d", p, i, start, end, prev)
			}
			prev = end
		}
		if prev != size {
			t.Fatalf("P=%d ends at %d", p, prev)
		}
	}
}
