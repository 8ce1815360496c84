package actors

import (
	"bytes"
	"fmt"
	"testing"
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
