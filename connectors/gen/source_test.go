package gen

import (
	"fmt"
	"slices"
	"testing"
	"time"

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

// fakeClock is a settable clock.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func TestRateLimit(t *testing.T) {
	tests := []struct {
		rate     float64 // total
		p        int
		max      int
		duration time.Duration
	}{
		{rate: 10, p: 1, max: 100, duration: 10 * time.Second},
		{rate: 1000, p: 1, max: 64, duration: 3 * time.Second},
		{rate: 1000, p: 4, max: 64, duration: 3 * time.Second},
		{rate: 3, p: 2, max: 1, duration: 20 * time.Second},
		{rate: 1e6, p: 3, max: 1024, duration: 2 * time.Second},
		{rate: 0.5, p: 1, max: 10, duration: time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("rate=%g/P=%d/max=%d", tt.rate, tt.p, tt.max), func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			src := Sequence(Rate(tt.rate), WithClock(clock.Now))
			if err := src.Open(&operators.TaskContext{Subtask: 0, Parallelism: tt.p}); err != nil {
				t.Fatal(err)
			}
			end := clock.now.Add(tt.duration)
			b := operators.NewBatch[int64](0)
			waits := 0
			// Act like the runtime: poll again at once after records,
			// after the Wait when there were none.
			for {
				before := b.Len()
				res, err := src.Poll(b, tt.max)
				if err != nil {
					t.Fatal(err)
				}
				if got := b.Len() - before; got > 0 {
					if res.Wait != 0 {
						t.Fatalf("records and a Wait in one poll")
					}
					continue
				}
				if res.Wait <= 0 {
					t.Fatal("no records and no Wait")
				}
				waits++
				if clock.now.Add(res.Wait).After(end) {
					break
				}
				clock.Advance(res.Wait)
			}
			perSubtask := tt.rate / float64(tt.p)
			// One token at the start, then one per 1/perSubtask seconds.
			want := 1 + int(perSubtask*tt.duration.Seconds()+1e-9)
			if b.Len() < want-1 || b.Len() > want {
				t.Fatalf("%d records over %v, want %d", b.Len(), tt.duration, want)
			}
			if waits == 0 {
				t.Fatal("never asked to wait")
			}
		})
	}
}

func TestRateLimitWaitAndBurst(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	src := Sequence(Rate(100), WithClock(clock.Now)) // one per 10ms
	if err := src.Open(nil); err != nil {
		t.Fatal(err)
	}
	b := operators.NewBatch[int64](0)
	poll := func(max int) (int, time.Duration) {
		t.Helper()
		b.Reset()
		res, err := src.Poll(b, max)
		if err != nil || res.Done {
			t.Fatalf("poll: %v, %v", res, err)
		}
		return b.Len(), res.Wait
	}
	if n, _ := poll(50); n != 1 {
		t.Fatalf("first poll: %d records, want the one initial token", n)
	}
	if n, wait := poll(50); n != 0 || wait != 10*time.Millisecond {
		t.Fatalf("out of tokens: %d records, wait %v; want 0, 10ms", n, wait)
	}
	clock.Advance(4 * time.Millisecond)
	if n, wait := poll(50); n != 0 || wait != 6*time.Millisecond {
		t.Fatalf("partial token: %d records, wait %v; want 0, 6ms", n, wait)
	}
	clock.Advance(36 * time.Millisecond)
	if n, _ := poll(50); n != 4 {
		t.Fatalf("after 40ms: %d records, want 4", n)
	}
	// A long pause builds up at most one poll's worth.
	clock.Advance(time.Hour)
	if n, _ := poll(50); n != 50 {
		t.Fatalf("after a pause: %d records, want 50", n)
	}
	if n, wait := poll(50); n != 0 || wait != 10*time.Millisecond {
		t.Fatalf("burst spent: %d records, wait %v", n, wait)
	}
	// A clock that steps back does not produce tokens.
	clock.Advance(-time.Minute)
	if n, _ := poll(50); n != 0 {
		t.Fatalf("clock stepped back: %d records", n)
	}
}

func TestRateWithCount(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
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
