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
