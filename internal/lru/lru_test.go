package lru

import (
	"slices"
	"testing"
)

func order(l *List[int, []int]) (newestFirst []int) {
	for e := l.Newest(); e != nil; e = l.Older(e) {
		newestFirst = append(newestFirst, e.Key)
	}
	var oldestFirst []int
	for e := l.Oldest(); e != nil; e = l.Newer(e) {
		oldestFirst = append(oldestFirst, e.Key)
	}
	slices.Reverse(oldestFirst)
	if !slices.Equal(newestFirst, oldestFirst) {
		panic("the two directions disagree")
	}
	return newestFirst
}

// TestListKeepsOrderWeightAndDirtyCount drives a list through adds,
// touches, weights, dirty marks and removals, checking the order both
// ways, the total weight, the dirty count and the reuse of removed
// entries.
func TestListKeepsOrderWeightAndDirtyCount(t *testing.T) {
	var l List[int, []int]
	resets := 0
	l.Init()
	l.Reset = func(v *[]int) { *v = (*v)[:0]; resets++ }
	for k := range 5 {
		e := l.Add(k)
		e.Value = append(e.Value, k)
	}
	if got := order(&l); !slices.Equal(got, []int{4, 3, 2, 1, 0}) {
		t.Fatalf("order %v", got)
	}
	l.Get(1)
	l.Touch(l.Peek(3))
	if got := order(&l); !slices.Equal(got, []int{3, 1, 4, 2, 0}) {
		t.Fatalf("order after touches %v", got)
	}
	l.Peek(0) // no touch
	if l.Oldest().Key != 0 {
		t.Fatalf("oldest %d", l.Oldest().Key)
	}
	l.SetWeight(l.Peek(2), 10)
	l.MarkDirty(l.Peek(2))
	l.MarkDirty(l.Peek(2))
	l.MarkDirty(l.Peek(4))
	if l.Weight() != 14 || l.Dirty() != 2 || !l.Peek(2).Dirty() || l.Peek(2).Weight() != 10 {
		t.Fatalf("weight %d, dirty %d", l.Weight(), l.Dirty())
	}
	l.MarkClean(l.Peek(4))
	l.MarkClean(l.Peek(4))
	e := l.Peek(2)
	e.Stored = true
	l.Remove(e)
	if l.Weight() != 4 || l.Dirty() != 0 || l.Len() != 4 || l.Peek(2) != nil || resets != 1 {
		t.Fatalf("after remove: weight %d, dirty %d, len %d, resets %d", l.Weight(), l.Dirty(), l.Len(), resets)
	}
	if got := order(&l); !slices.Equal(got, []int{3, 1, 4, 0}) {
		t.Fatalf("order after remove %v", got)
	}
	r := l.Add(7)
	if r != e || r.Stored || r.Dirty() || r.Weight() != 1 || len(r.Value) != 0 || cap(r.Value) == 0 {
		t.Fatalf("the removed entry was not reused clean: %+v", r)
	}
	for _, k := range []int{7, 3, 1, 4, 0} {
		l.Remove(l.Peek(k))
	}
	if l.Len() != 0 || l.Weight() != 0 || l.Oldest() != nil || l.Newest() != nil {
		t.Fatalf("not empty: len %d weight %d", l.Len(), l.Weight())
	}
}
