// Package lru is the list of cached entries, least recently used first,
// that the write-back caches of the Pebble state backend keep in front of
// the store (the window operator's and the joins'). It is a map of entries
// threaded on a doubly linked list, with the entries' total weight and the
// number of dirty ones, so that a cache can bound both; what an entry
// weighs and when it is written back is the cache's business.
package lru

// Entry is one cached value of a List.
type Entry[K comparable, V any] struct {
	Key   K
	Value V
	// Stored reports that the store holds a value for Key.
	Stored bool
	// dirty reports that Value may differ from the store (MarkDirty,
	// MarkClean); weight is what the entry counts against the List's
	// weight (SetWeight).
	dirty      bool
	weight     int
	prev, next *Entry[K, V]
}

// Dirty reports whether the entry may differ from the store.
func (e *Entry[K, V]) Dirty() bool { return e.dirty }

// Weight returns what the entry counts against its List's weight.
func (e *Entry[K, V]) Weight() int { return e.weight }

// List is a map of entries in least-recently-used order. Removed entries
// are kept for reuse, their values emptied by Reset (zeroed without it).
// The zero List is not usable: call Init.
type List[K comparable, V any] struct {
	// Reset, if set, empties a removed entry's value keeping its storage.
	Reset func(*V)

	m      map[K]*Entry[K, V]
	head   Entry[K, V] // sentinel: head.next is the newest
	weight int
	dirty  int
	free   []*Entry[K, V]
}

// maxFree bounds the removed entries kept for reuse.
const maxFree = 64

// Init makes l an empty list.
func (l *List[K, V]) Init() {
	l.m = make(map[K]*Entry[K, V])
	l.head.next, l.head.prev = &l.head, &l.head
}

// Len returns the number of entries.
func (l *List[K, V]) Len() int { return len(l.m) }

// Weight returns the sum of the entries' weights.
func (l *List[K, V]) Weight() int { return l.weight }

// Dirty returns the number of dirty entries.
func (l *List[K, V]) Dirty() int { return l.dirty }

// Peek returns the entry of k, or nil, leaving its place unchanged.
func (l *List[K, V]) Peek(k K) *Entry[K, V] { return l.m[k] }

// Get returns the entry of k made the newest, or nil.
func (l *List[K, V]) Get(k K) *Entry[K, V] {
	e := l.m[k]
	if e != nil {
		l.Touch(e)
	}
	return e
}

// Touch makes e the newest entry.
func (l *List[K, V]) Touch(e *Entry[K, V]) {
	if l.head.next != e {
		e.unlink()
		l.pushFront(e)
	}
}

// Add adds an entry for k, which must have none, as the newest, clean and
// of weight 1.
func (l *List[K, V]) Add(k K) *Entry[K, V] {
	var e *Entry[K, V]
	if n := len(l.free); n > 0 {
		e, l.free = l.free[n-1], l.free[:n-1]
	} else {
		e = new(Entry[K, V])
	}
	e.Key, e.weight = k, 1
	l.weight++
	l.m[k] = e
	l.pushFront(e)
	return e
}

// Remove drops e, keeping it for reuse.
func (l *List[K, V]) Remove(e *Entry[K, V]) {
	l.MarkClean(e)
	delete(l.m, e.Key)
	e.unlink()
	l.weight -= e.weight
	var zero K
	e.Key, e.Stored, e.weight = zero, false, 0
	if l.Reset != nil {
		l.Reset(&e.Value)
	} else {
		var v V
		e.Value = v
	}
	if len(l.free) < maxFree {
		l.free = append(l.free, e)
	}
}

// Oldest returns the least recently used entry, or nil.
func (l *List[K, V]) Oldest() *Entry[K, V] { return l.entry(l.head.prev) }

// Newest returns the most recently used entry, or nil.
func (l *List[K, V]) Newest() *Entry[K, V] { return l.entry(l.head.next) }

// Newer returns the entry used next after e, or nil.
func (l *List[K, V]) Newer(e *Entry[K, V]) *Entry[K, V] { return l.entry(e.prev) }

// Older returns the entry used last before e, or nil.
func (l *List[K, V]) Older(e *Entry[K, V]) *Entry[K, V] { return l.entry(e.next) }

func (l *List[K, V]) entry(e *Entry[K, V]) *Entry[K, V] {
	if e == &l.head {
		return nil
	}
	return e
}

// SetWeight sets the weight of e.
func (l *List[K, V]) SetWeight(e *Entry[K, V], w int) {
	l.weight += w - e.weight
	e.weight = w
}

// MarkDirty records that e may differ from the store.
func (l *List[K, V]) MarkDirty(e *Entry[K, V]) {
	if !e.dirty {
		e.dirty = true
		l.dirty++
	}
}

// MarkClean records that e was written to the store.
func (l *List[K, V]) MarkClean(e *Entry[K, V]) {
	if e.dirty {
		e.dirty = false
		l.dirty--
	}
}

func (l *List[K, V]) pushFront(e *Entry[K, V]) {
	e.prev, e.next = &l.head, l.head.next
	e.next.prev = e
	l.head.next = e
}

func (e *Entry[K, V]) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
