package actors

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stromhq/strom/operators"
)

// TestMemStateCopiesEntries writes entries from one reused buffer, small
// ones and ones larger than an arena chunk: each must keep the bytes it
// was given.
func TestMemStateCopiesEntries(t *testing.T) {
	m := &memState{keyed: map[int][]kv{}}
	var key, val []byte
	valueOf := func(i int) []byte {
		if i%500 == 0 {
			return bytes.Repeat([]byte{byte(i)}, memArenaChunk)
		}
		return fmt.Appendf(nil, "value-%d", i)
	}
	const n = 20000
	for i := range n {
		key = fmt.Appendf(key[:0], "key-%d", i)
		val = append(val[:0], valueOf(i)...)
		m.Keyed(i%7, key, val)
	}
	seen := 0
	for kg, es := range m.keyed {
		for j, e := range es {
			i := j*7 + kg
			if string(e.key) != fmt.Sprintf("key-%d", i) || !bytes.Equal(e.value, valueOf(i)) {
				t.Fatalf("entry %d of key group %d: %q = %.20q", j, kg, e.key, e.value)
			}
			seen++
		}
	}
	if seen != n {
		t.Fatalf("%d entries, want %d", seen, n)
	}
}

// TestMemStateRunsEveryDeferredPart checks that a failing asynchronous
// part does not keep the later ones from running: each releases state
// its operator froze.
func TestMemStateRunsEveryDeferredPart(t *testing.T) {
	m := &memState{keyed: map[int][]kv{}}
	ran := 0
	fail := fmt.Errorf("encoding failed")
	m.Defer(func(operators.StateWriter) error { ran++; return fail })
	m.Defer(func(w operators.StateWriter) error { ran++; w.Keyed(0, []byte("k"), nil); return nil })
	if err := m.runDeferred(); err != fail {
		t.Fatalf("runDeferred: %v, want the first failure", err)
	}
	if ran != 2 || len(m.keyed[0]) != 1 || len(m.deferred) != 0 {
		t.Fatalf("%d of 2 parts ran, %d entries, %d left", ran, len(m.keyed[0]), len(m.deferred))
	}
}
