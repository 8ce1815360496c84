package stdout

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
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

func TestSinkFormats(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		batches [][]int
		want    string
	}{
		{"plain", nil, [][]int{{1, 2}, {3}}, "1\n2\n3\n"},
		{"prefix", []Option{Prefix("> ")}, [][]int{{1}, {}, {2, 3}}, "> 1\n> 2\n> 3\n"},
		{"empty batches", nil, [][]int{{}, {}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := NewSink(strconv.Itoa, append(tt.opts, Writer(&buf))...)
			if err := s.Open(&operators.TaskContext{Parallelism: 1}); err != nil {
				t.Fatal(err)
			}
			for _, vs := range tt.batches {
				if err := s.Write(batchOf(vs...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Finish(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Fatalf("output %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestSinkDefaultsToStdout(t *testing.T) {
	if s := NewSink(strconv.Itoa); s.w != os.Stdout {
		t.Fatalf("default writer %v", s.w)
	}
	if s := NewSink(strconv.Itoa, Writer(nil)); s.w != os.Stdout {
		t.Fatalf("Writer(nil) gave %v", s.w)
	}
}

// TestConcurrentSinksKeepLinesIntact runs parallel subtasks that print to
// one bytes.Buffer, which is not safe for concurrent use on its own: run
// it with -race.
func TestConcurrentSinksKeepLinesIntact(t *testing.T) {
	const subtasks, batches = 8, 200
	var buf bytes.Buffer
	pad := strings.Repeat("x", 100)
	var wg sync.WaitGroup
	for sub := range subtasks {
		wg.Go(func() {
			s := NewSink(func(seq int) string {
				return fmt.Sprintf("%d %d %s", sub, seq, pad[:seq%len(pad)])
			}, Writer(&buf), Prefix("| "))
			if err := s.Open(&operators.TaskContext{Subtask: sub, Parallelism: subtasks}); err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			seq := 0
			for i := range batches {
				b := operators.NewBatch[int](0)
				for range i%7 + 1 {
					b.Append(seq, operators.NoTimestamp)
					seq++
				}
				if err := s.Write(b); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	next := make([]int, subtasks) // next sequence number per subtask
	for n, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		f := strings.SplitN(strings.TrimPrefix(line, "| "), " ", 3)
		if len(f) != 3 {
			t.Fatalf("line %d is mangled: %q", n, line)
		}
		sub, err1 := strconv.Atoi(f[0])
		seq, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || sub < 0 || sub >= subtasks {
			t.Fatalf("line %d is mangled: %q", n, line)
		}
		if want := fmt.Sprintf("| %d %d %s", sub, seq, pad[:seq%len(pad)]); line != want {
			t.Fatalf("line %d is %q, want %q", n, line, want)
		}
		if seq != next[sub] {
			t.Fatalf("subtask %d: line %d out of order, want %d", sub, seq, next[sub])
		}
		next[sub]++
	}
	want := 0
	for i := range batches {
		want += i%7 + 1
	}
	for sub, n := range next {
		if n != want {
			t.Fatalf("subtask %d wrote %d lines, want %d", sub, n, want)
		}
	}
	if len(registry) != 0 {
		t.Fatalf("registry keeps %d writers after Close", len(registry))
	}
}

// funcWriter is an io.Writer that cannot be a map key.
type funcWriter func([]byte) (int, error)

func (f funcWriter) Write(p []byte) (int, error) { return f(p) }

func TestSinkWriterErrorsAndUncomparableWriters(t *testing.T) {
	boom := errors.New("disk on fire")
	s := NewSink(strconv.Itoa, Writer(funcWriter(func([]byte) (int, error) { return 0, boom })))
	if err := s.Write(batchOf(1)); err == nil {
		t.Fatal("Write before Open succeeded")
	}
	if err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err := s.Write(batchOf(1))
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "write output: ") {
		t.Fatalf("Write: %v", err)
	}
}

func BenchmarkSinkWrite1024(b *testing.B) {
	var n int
	s := NewSink(strconv.Itoa, Writer(funcWriter(func(p []byte) (int, error) { n += len(p); return len(p), nil })))
	if err := s.Open(nil); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := operators.NewBatch[int](1024)
	for i := range 1024 {
		batch.Append(i, operators.NoTimestamp)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(batch); err != nil {
			b.Fatal(err)
		}
	}
}
