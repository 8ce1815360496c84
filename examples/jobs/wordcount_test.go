package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/stream"
)

var vocabulary = []string{"Strom", "stream", "ÜBER", "straße", "Ωmega", "naïve", "x42", "42", "日本語", "der", "die", "das", "a", "I"}

// writeText writes a random text of n lines mixing words, digits,
// punctuation and case.
func writeText(t *testing.T, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seps := []string{" ", "  ", ", ", "; ", "! ", "-", "'", "\t", "... ", "—"}
	var b strings.Builder
	for i := 0; i < n; i++ {
		words := r.IntN(12)
		for w := 0; w < words; w++ {
			word := vocabulary[r.IntN(len(vocabulary))]
			if r.IntN(4) == 0 {
				word = strings.ToUpper(word)
			}
			if r.IntN(10) == 0 {
				word += strconv.Itoa(r.IntN(100))
			}
			b.WriteString(word)
			b.WriteString(seps[r.IntN(len(seps))])
		}
		if r.IntN(20) == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// referenceCount counts words the way the contract defines them, written
// independently of the job: runs of letters and digits, lowercased.
func referenceCount(t *testing.T, path string) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, w := range regexp.MustCompile(`[\p{L}\p{N}]+`).FindAllString(string(data), -1) {
		want[strings.ToLower(w)]++
	}
	return want
}

func readCounts(t *testing.T, path string) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		word, count, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(count, 10, 64)
		if !ok || err != nil || strings.Contains(count, " ") {
			t.Fatalf("malformed output line %q", line)
		}
		if _, dup := got[word]; dup {
			t.Fatalf("word %q written twice", word)
		}
		got[word] = n
	}
	return got
}

func TestWordCountMatchesReferenceAtEveryParallelism(t *testing.T) {
	job, ok := stream.Lookup("wordcount")
	if !ok {
		t.Fatal("wordcount not registered")
	}
	in := writeText(t, 5000, 7)
	want := referenceCount(t, in)
	for _, p := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "counts.txt")
			env, err := stream.NewJobEnvironment(job, stream.Args{"input": in, "output": out, "parallelism": fmt.Sprint(p)}, stream.WithLogger(stream.DiscardLogger()))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := env.Execute(ctx); err != nil {
				t.Fatal(err)
			}
			got := readCounts(t, out)
			if len(got) != len(want) {
				t.Fatalf("%d distinct words, want %d", len(got), len(want))
			}
			for w, n := range want {
				if got[w] != n {
					t.Errorf("%q: %d, want %d", w, got[w], n)
				}
			}
		})
	}
}

func TestWordCountRefusesBadArguments(t *testing.T) {
	job, _ := stream.Lookup("wordcount")
	cases := []struct {
		args stream.Args
		want string
	}{
		{stream.Args{"output": "x"}, "--input is required"},
		{stream.Args{"input": "/nonexistent/file", "output": "x"}, "--input"},
		{stream.Args{"input": "/dev/null"}, "--output is required"},
		{stream.Args{"input": "/dev/null", "output": "x", "parallelism": "0"}, "--parallelism 0"},
		{stream.Args{"input": "/dev/null", "output": "x", "parallelism": "two"}, "--parallelism"},
		{stream.Args{"input": "/dev/null", "output": "x", "mode": "fast"}, "--mode"},
	}
	for _, c := range cases {
		_, err := stream.NewJobEnvironment(job, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("args %v: got %v, want an error naming %q", c.args, err, c.want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"x42 42x -7 3.14", []string{"x42", "42x", "7", "3", "14"}},
		{"ÜBER straße", []string{"über", "straße"}},
		{"日本語のテキスト", []string{"日本語のテキスト"}},
		{"don't stop", []string{"don", "t", "stop"}},
		{"  trailing", []string{"trailing"}},
	}
	for _, c := range cases {
		var got sliceCollector
		if err := SplitWords(c.in, &got); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint([]string(got)) != fmt.Sprint(c.want) {
			t.Errorf("SplitWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

type sliceCollector []string

func (s *sliceCollector) Collect(v string) { *s = append(*s, v) }
