package file

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

func batchOf[T any](vs ...T) *operators.Batch[T] {
	b := operators.NewBatch[T](len(vs))
	for _, v := range vs {
		b.Append(v, operators.NoTimestamp)
	}
	return b
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSinkAtomicFinish(t *testing.T) {
	tests := []struct {
		name     string
		previous string // existing output; "" for none
	}{
		{"new output", ""},
		{"replaces previous output", "old\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "out.txt")
			if tt.previous != "" {
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, []byte(tt.previous), 0o644)
			}
			s := NewSink(path, strconv.Itoa)
			if err := s.Open(&operators.TaskContext{Parallelism: 1}); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := s.Write(batchOf(i*2, i*2+1)); err != nil {
					t.Fatal(err)
				}
			}
			if !exists(path + ".inprogress") {
				t.Fatal("no in-progress file while writing")
			}
			// Until Finish a reader sees only the previous output.
			if got := exists(path); got != (tt.previous != "") {
				t.Fatalf("target exists before Finish: %v", got)
			}
			if tt.previous != "" && readString(t, path) != tt.previous {
				t.Fatal("previous output changed before Finish")
			}
			if err := s.Finish(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, path); got != "0\n1\n2\n3\n4\n5\n" {
				t.Fatalf("output %q", got)
			}
			if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"out.txt"}) {
				t.Fatalf("directory holds %q", names)
			}
			if err := s.Write(batchOf(9)); err == nil {
				t.Fatal("Write after Finish succeeded")
			}
		})
	}
}

func TestSinkPartFiles(t *testing.T) {
	for _, p := range []int{2, 3, 7} {
		t.Run("P="+strconv.Itoa(p), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			sinks := make([]*Sink[string], p)
			for i := range p {
				sinks[i] = NewLineSink(dir)
				if err := sinks[i].Open(&operators.TaskContext{Subtask: i, Parallelism: p}); err != nil {
					t.Fatal(err)
				}
			}
			for i, s := range sinks {
				if err := s.Write(batchOf("from", strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for i, s := range sinks {
				if err := s.Finish(); err != nil {
					t.Fatal(err)
				}
				s.Close()
				want = append(want, "part-"+strconv.Itoa(i))
				if s.Target() != filepath.Join(dir, "part-"+strconv.Itoa(i)) {
					t.Fatalf("target %s", s.Target())
				}
			}
			slices.Sort(want)
			if names := dirNames(t, dir); !slices.Equal(names, want) {
				t.Fatalf("directory holds %q, want %q", names, want)
			}
			for i := range p {
				got := readString(t, filepath.Join(dir, "part-"+strconv.Itoa(i)))
				if got != "from\n"+strconv.Itoa(i)+"\n" {
					t.Fatalf("part-%d: %q", i, got)
				}
			}
		})
	}
}

func TestSinkCloseWithoutFinish(t *testing.T) {
	tests := []struct {
		name     string
		p        int
		previous bool
	}{
		{"single file", 1, false},
		{"single file keeps previous output", 1, true},
		{"part files", 3, false},
		{"part files keep previous output", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			target := path
			if tt.p > 1 {
				target = filepath.Join(path, "part-1")
			}
			if tt.previous {
				os.MkdirAll(filepath.Dir(target), 0o755)
				os.WriteFile(target, []byte("old\n"), 0o644)
			}
			s := NewLineSink(path)
			if err := s.Open(&operators.TaskContext{Subtask: 1, Parallelism: tt.p}); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(batchOf(strings.Repeat("z", 100_000))); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if exists(target + ".inprogress") {
				t.Fatal("in-progress file left behind")
			}
			if tt.previous {
				if got := readString(t, target); got != "old\n" {
					t.Fatalf("previous output became %q", got)
				}
			} else if exists(target) {
				t.Fatal("target written without Finish")
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

func TestSinkOpenError(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	s := NewLineSink(filepath.Join(blocker, "out"))
	err := s.Open(&operators.TaskContext{Parallelism: 1})
	if err == nil || !strings.Contains(err.Error(), "create output directory") {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSinkRoundTrip(t *testing.T) {
	// Lines written at P=3 and read back at P=2 lose nothing.
	dir := filepath.Join(t.TempDir(), "out")
	var want []string
	for i := range 3 {
		s := NewLineSink(dir)
		if err := s.Open(&operators.TaskContext{Subtask: i, Parallelism: 3}); err != nil {
			t.Fatal(err)
		}
		b := operators.NewBatch[string](0)
		for j := range 1000 {
			line := strconv.Itoa(i) + "-" + strconv.Itoa(j)
			b.Append(line, operators.NoTimestamp)
			want = append(want, line)
		}
		if err := s.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	var got []string
	for i := range 3 {
		part := filepath.Join(dir, "part-"+strconv.Itoa(i))
		for j := range 2 {
			got = append(got, readSubtask(t, part, j, 2, 100)...)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read back %d lines, want %d", len(got), len(want))
	}
}
