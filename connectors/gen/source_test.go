package gen

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stromhq/strom/connectors/internal/ratelimit/ratelimittest"
	"github.com/stromhq/strom/operators"
)

// drain polls subtask i of p until Done, max records at a time.
func drain[T any](t *testing.T, s *Source[T], i, p, max int) *operators.Batch[T] {
	t.Helper()
	if err := s.Open(&operators.TaskContext{Subtask: i, Parallelism: p}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := operators.NewBatch[T](0)
	b := operators.NewBatch[T](max)
	for polls := 0; ; polls++ {
		if polls > 1<<20 {
			t.Fatal("source never reported Done")
		}
		b.Reset()
		res, err := s.Poll(b, max)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > max {
			t.Fatalf("poll appended %d records, max %d", b.Len(), max)
		}
		if res.Wait != 0 {
			t.Fatalf("unexpected wait %v without a rate", res.Wait)
		}
		all.Values = append(all.Values, b.Values...)
		all.Times = append(all.Times, b.Times...)
		if res.Done {
			return all
		}
	}
}

func TestSequenceCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int64{1, 2, 7, 100, 1001} {
		for _, p := range []int{1, 2, 3, 4, 7, 16} {
			for _, max := range []int{1, 5, 1024} {
				t.Run(fmt.Sprintf("n=%d/P=%d/max=%d", n, p, max), func(t *testing.T) {
					seen := make([]int, n)
					for i := range p {
						b := drain(t, Sequence(Count(n)), i, p, max)
						for k, v := range b.Values {
							if v < 0 || v >= n {
								t.Fatalf("index %d out of [0,%d)", v, n)
							}
							if v%int64(p) != int64(i) {
								t.Fatalf("subtask %d produced index %d", i, v)
							}
							if b.Times[k] != operators.NoTimestamp {
								t.Fatalf("timestamp %d, want NoTimestamp", b.Times[k])
							}
							seen[v]++
						}
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
}

func TestNewAppliesFunctionAndTimestamps(t *testing.T) {
	src := New(func(i int64) string { return fmt.Sprint("r", i) },
		Count(10), Timestamps(func(i int64) int64 { return 1000 + i }))
	b := drain(t, src, 1, 3, 2)
	if want := []string{"r1", "r4", "r7"}; !slices.Equal(b.Values, want) {
		t.Fatalf("values %q, want %q", b.Values, want)
	}
	if want := []int64{1001, 1004, 1007}; !slices.Equal(b.Times, want) {
		t.Fatalf("times %v, want %v", b.Times, want)
	}
}

func TestUnboundedKeepsGoing(t *testing.T) {
	src := Sequence()
	if err := src.Open(&operators.TaskContext{Subtask: 0, Parallelism: 2}); err != nil {
		t.Fatal(err)
	}
	b := operators.NewBatch[int64](0)
	for range 100 {
		res, err := src.Poll(b, 10)
		if err != nil || res.Done || res.Wait != 0 {
			t.Fatalf("poll: %v, %v", res, err)
		}
	}
	if b.Len() != 1000 || b.Values[999] != 1998 {
		t.Fatalf("%d records, last %d", b.Len(), b.Values[b.Len()-1])
	}
}

func TestPollErrors(t *testing.T) {
	src := Sequence()
	if _, err := src.Poll(operators.NewBatch[int64](1), 1); err == nil {
		t.Fatal("Poll before Open succeeded")
	}
	if err := New[int](nil).Open(nil); err == nil {
		t.Fatal("Open without a function succeeded")
	}
}

// ratePoll adapts a source to the shared rate-limit checks.
func ratePoll(t *testing.T, src *Source[int64]) ratelimittest.Poll {
	b := operators.NewBatch[int64](0)
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

func TestRateLimit(t *testing.T) {
	for _, c := range []ratelimittest.Case{
		{Rate: 10, P: 1, Max: 100, Duration: 10 * time.Second},
		{Rate: 1000, P: 1, Max: 64, Duration: 3 * time.Second},
		{Rate: 1000, P: 4, Max: 64, Duration: 3 * time.Second},
		{Rate: 3, P: 2, Max: 1, Duration: 20 * time.Second},
		{Rate: 1e6, P: 3, Max: 1024, Duration: 2 * time.Second},
		{Rate: 0.5, P: 1, Max: 10, Duration: time.Minute},
	} {
		t.Run(fmt.Sprintf("rate=%g/P=%d/max=%d", c.Rate, c.P, c.Max), func(t *testing.T) {
			clock := ratelimittest.NewClock()
			src := Sequence(Rate(c.Rate), WithClock(clock.Now))
			if err := src.Open(&operators.TaskContext{Subtask: 0, Parallelism: c.P}); err != nil {
				t.Fatal(err)
			}
			ratelimittest.CheckRate(t, clock, c, ratePoll(t, src))
		})
	}
}

func TestRateLimitWaitAndBurst(t *testing.T) {
	clock := ratelimittest.NewClock()
	src := Sequence(Rate(100), WithClock(clock.Now)) // one per 10ms
	if err := src.Open(nil); err != nil {
		t.Fatal(err)
	}
	ratelimittest.CheckWaitAndBurst(t, clock, ratePoll(t, src))
}

func TestRateWithCount(t *testing.T) {
	clock := ratelimittest.NewClock()
	src := Sequence(Count(5), Rate(1000), WithClock(clock.Now))
	if err := src.Open(nil); err != nil {
		t.Fatal(err)
	}
	b := operators.NewBatch[int64](0)
	for range 100 {
		res, err := src.Poll(b, 100)
		if err != nil {
			t.Fatal(err)
		}
		if res.Done {
			if !slices.Equal(b.Values, []int64{0, 1, 2, 3, 4}) {
				t.Fatalf("values %v", b.Values)
			}
			return
		}
		clock.Advance(time.Second)
	}
	t.Fatal("never Done")
}
