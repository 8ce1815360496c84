package operators

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTimerQueueFiresInTimeOrderOnce(t *testing.T) {
	q := NewTimerQueue[string]()
	q.Register("a", 30)
	q.Register("b", 10)
	if q.Register("b", 10) {
		t.Fatal("duplicate timer registered twice")
	}
	q.Register("c", 20)
	q.Register("a", 5)
	q.Delete("a", 5)
	if q.Len() != 3 || q.Next() != 10 {
		t.Fatalf("len %d next %d", q.Len(), q.Next())
	}
	var fired []Timer[string]
	for {
		tm, ok := q.PopDue(25)
		if !ok {
			break
		}
		fired = append(fired, tm)
		if tm == (Timer[string]{"b", 10}) {
			q.Register("b", 22) // a timer registered while firing
		}
	}
	want := []Timer[string]{{"b", 10}, {"c", 20}, {"b", 22}}
	if !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if q.Next() != 30 || q.Len() != 1 {
		t.Fatalf("left next %d len %d", q.Next(), q.Len())
	}
}

// TestTimerQueueMatchesSortedModel checks random register/delete/pop
// sequences against a sorted slice.
func TestTimerQueueMatchesSortedModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		q := NewTimerQueue[int]()
		model := map[Timer[int]]bool{}
		for step := 0; step < 300; step++ {
			tm := Timer[int]{Key: r.IntN(5), Time: int64(r.IntN(50))}
			switch r.IntN(4) {
			case 0, 1:
				q.Register(tm.Key, tm.Time)
				model[tm] = true
			case 2:
				q.Delete(tm.Key, tm.Time)
				delete(model, tm)
			case 3:
				due := int64(r.IntN(50))
				got, ok := q.PopDue(due)
				var min *Timer[int]
				for m := range model {
					if m.Time <= due && (min == nil || m.Time < min.Time) {
						mm := m
						min = &mm
					}
				}
				if ok != (min != nil) || (ok && got.Time != min.Time) {
					t.Fatalf("round %d step %d: PopDue(%d) = %v %v, model min %v", round, step, due, got, ok, min)
				}
				if ok {
					delete(model, got)
				}
			}
			if q.Len() != len(model) {
				t.Fatalf("len %d, model %d", q.Len(), len(model))
			}
		}
	}
}

// TestTimerQueueTiesAndRegistered checks that timers of equal time fire
// in registration order, also after a delete and a registration again,
// and that registering Registered into a new queue reproduces the order.
func TestTimerQueueTiesAndRegistered(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		q := NewTimerQueue[int]()
		for range 100 {
			k, tm := r.IntN(20), int64(r.IntN(5))
			if r.IntN(4) == 0 {
				q.Delete(k, tm)
			} else {
				q.Register(k, tm)
			}
		}
		copied := NewTimerQueue[int]()
		for _, tm := range q.Registered() {
			copied.Register(tm.Key, tm.Time)
		}
		reg := q.Registered()
		rank := map[Timer[int]]int{}
		for i, tm := range reg {
			rank[tm] = i
		}
		var prev Timer[int]
		for i := 0; ; i++ {
			a, ok := q.PopDue(10)
			b, _ := copied.PopDue(10)
			if !ok {
				break
			}
			if a != b {
				t.Fatalf("pop %d: %v from the queue, %v from its copy", i, a, b)
			}
			if i > 0 && prev.Time == a.Time && rank[prev] > rank[a] {
				t.Fatalf("%v fired before %v, registered later", prev, a)
			}
			prev = a
		}
	}
}
