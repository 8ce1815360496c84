package gen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stromhq/strom/operators"
)

// pollN polls src k times for up to max records each and returns the
// values and whether it reported Done.
func pollN(t *testing.T, src *Source[int64], k, max int) ([]int64, bool) {
	t.Helper()
	var got []int64
	b := operators.NewBatch[int64](max)
	for range k {
		b.Reset()
		res, err := src.Poll(b, max)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Values...)
		if res.Done {
			return got, true
		}
	}
	return got, false
}

func TestPositionResume(t *testing.T) {
	const n = 103
	for p := 1; p <= 4; p++ {
		for _, polls := range []int{0, 1, 3, 100} {
			t.Run(fmt.Sprintf("P=%d/polls=%d", p, polls), func(t *testing.T) {
				seen := make([]int, n)
				for i := range p {
					ctx := &operators.TaskContext{Subtask: i, Parallelism: p}
					first := Sequence(Count(n))
					if err := first.Open(ctx); err != nil {
						t.Fatal(err)
					}
					before, _ := pollN(t, first, polls, 4)
					pos, err := first.Position()
					if err != nil {
						t.Fatal(err)
					}
					// The first instance is dropped without Close, as
					// after a crash.
					second := Sequence(Count(n))
					if err := second.Open(ctx); err != nil {
						t.Fatal(err)
					}
					if err := second.Seek(pos); err != nil {
						t.Fatal(err)
					}
					after, done := pollN(t, second, 1000, 7)
					if !done {
						t.Fatal("resumed source never Done")
					}
					for _, v := range append(before, after...) {
						seen[v]++
					}
					second.Close()
				}
				for v, c := range seen {
					if c != 1 {
						t.Fatalf("index %d produced %d times", v, c)
					}
				}
			})
		}
	}
}

func TestPositionUnbounded(t *testing.T) {
	ctx := &operators.TaskContext{Subtask: 2, Parallelism: 3}
	src := New(func(i int64) string { return fmt.Sprint(i) })
	if err := src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	src.Poll(operators.NewBatch[string](0), 10)
	pos, _ := src.Position()
	again := New(func(i int64) string { return fmt.Sprint(i) })
	again.Open(ctx)
	if err := again.Seek(pos); err != nil {
		t.Fatal(err)
	}
	b := operators.NewBatch[string](0)
	if res, err := again.Poll(b, 2); err != nil || res.Done || b.Values[0] != "32" || b.Values[1] != "35" {
		t.Fatalf("resumed with %q, %v, %v", b.Values, res, err)
	}
}

func TestPositionAtEnd(t *testing.T) {
	src := Sequence(Count(5))
	src.Open(nil)
	if _, done := pollN(t, src, 10, 10); !done {
		t.Fatal("not done")
	}
	pos, _ := src.Position()
	again := Sequence(Count(5))
	again.Open(nil)
	if err := again.Seek(pos); err != nil {
		t.Fatal(err)
	}
	b := operators.NewBatch[int64](0)
	if res, err := again.Poll(b, 10); err != nil || !res.Done || b.Len() != 0 {
		t.Fatalf("resumed at the end: %v, %v, %d records", res, err, b.Len())
	}
}

func TestPositionRefused(t *testing.T) {
	positionOf := func(opts []Option, sub, p, polls int) []byte {
		src := Sequence(opts...)
		src.Open(&operators.TaskContext{Subtask: sub, Parallelism: p})
		pollN(t, src, polls, 3)
		pos, err := src.Position()
		if err != nil {
			t.Fatal(err)
		}
		return pos
	}
	good := positionOf([]Option{Count(100)}, 1, 3, 2)
	tests := []struct {
		name string
		pos  []byte
		want string
	}{
		{"nil", nil, "empty position"},
		{"foreign", []byte("L\x01abc"), "not a generator position"},
		{"future version", append([]byte{'G', 9}, good[2:]...), "version 9"},
		{"truncated", good[:len(good)-1], "corrupt"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "trailing"},
		{"other subtask", positionOf([]Option{Count(100)}, 0, 3, 2), "subtask 0 of 3"},
		{"other parallelism", positionOf([]Option{Count(100)}, 1, 2, 2), "same parallelism"},
		{"other count", positionOf([]Option{Count(99)}, 1, 3, 2), "count of 99"},
		{"unbounded", positionOf(nil, 1, 3, 2), "count of 0"},
		{"index of another subtask", []byte{'G', 1, 3, 1, 100, 6}, "not one of subtask 1 of 3"},
		{"subtask beyond parallelism", []byte{'G', 1, 3, 3, 100, 6}, "subtask 3 of 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sequence(Count(100))
			if err := src.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3}); err != nil {
				t.Fatal(err)
			}
			err := src.Seek(tt.pos)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seek: %v, want an error containing %q", err, tt.want)
			}
			// A refused position leaves the source at its start.
			b := operators.NewBatch[int64](0)
			src.Poll(b, 1)
			if b.Values[0] != 1 {
				t.Fatalf("first index after a refused Seek: %d", b.Values[0])
			}
		})
	}
	t.Run("lifecycle", func(t *testing.T) {
		src := Sequence(Count(100))
		if _, err := src.Position(); err == nil {
			t.Fatal("Position before Open succeeded")
		}
		if err := src.Seek(good); err == nil {
			t.Fatal("Seek before Open succeeded")
		}
		src.Open(&operators.TaskContext{Subtask: 1, Parallelism: 3})
		src.Poll(operators.NewBatch[int64](0), 1)
		if err := src.Seek(good); err == nil || !strings.Contains(err.Error(), "already polled") {
			t.Fatalf("Seek after Poll: %v", err)
		}
	})
}
