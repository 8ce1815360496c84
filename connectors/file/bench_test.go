package file

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

// BenchmarkLinesPoll measures polling 1024 lines of 80 bytes at a time from
// a 16 MiB file, reopening it whenever it is exhausted.
func BenchmarkLinesPoll(b *testing.B) {
	const lineLen, size, max = 80, 16 << 20, 1024
	path := filepath.Join(b.TempDir(), "big.txt")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	pad := strings.Repeat("the quick brown fox jumps over the lazy dog ", 2)
	for i := 0; i < size/lineLen; i++ {
		s := strconv.Itoa(i) + " " + pad
		w.WriteString(s[:lineLen-1])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()

	src := Lines(path)
	if err := src.Open(nil); err != nil {
		b.Fatal(err)
	}
	defer func() { src.Close() }()
	batch := operators.NewBatch[string](max)
	b.SetBytes(max * lineLen)
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		res, err := src.Poll(batch, max)
		if err != nil {
			b.Fatal(err)
		}
		if res.Done {
			src.Close()
			if err := src.Open(nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkSinkWrite(b *testing.B) {
	const max = 1024
	s := NewLineSink(filepath.Join(b.TempDir(), "out"))
	if err := s.Open(nil); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := operators.NewBatch[string](max)
	line := strings.Repeat("x", 79)
	for range max {
		batch.Append(line, operators.NoTimestamp)
	}
	b.SetBytes(max * 80)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(batch); err != nil {
			b.Fatal(err)
		}
	}
}
