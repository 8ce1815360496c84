package pebblestate

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

// testClock is a settable TTL clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testOptions are small options for tests: small memtables so that tests
// produce several table files.
func testOptions(clock *testClock) Options {
	o := Options{MemTableSize: 1 << 20, CacheSize: 8 << 20, fileSize: 256 << 10}
	if clock != nil {
		o.Clock = clock.Now
	}
	return o
}

// openTest opens a DB in a new temporary directory, closed at the end of
// the test unless the test closed it.
func openTest(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeQuietly(t, db) })
	return db
}

func closeQuietly(t testing.TB, db *DB) {
	if err := db.Close(); err != nil && err != ErrClosed {
		t.Errorf("close: %v", err)
	}
}

// entry is one entry of a dump.
type entry struct {
	op    string
	kg    int
	state string
	key   string
	value string
}

func (e entry) String() string {
	return fmt.Sprintf("%s/%d/%s/%q=%q", e.op, e.kg, e.state, e.key, e.value)
}

// dump returns all live entries of the operators ops, in key order.
func dump(t testing.TB, db *DB, ops ...string) []entry {
	t.Helper()
	var out []entry
	for _, op := range ops {
		err := db.Iterate(op, snapshot.KeyGroupRange{Start: 0, End: snapshot.MaxMaxParallelism}, func(kg int, state string, key, value []byte) error {
			out = append(out, entry{op, kg, state, string(key), string(value)})
			return nil
		})
		if err != nil {
			t.Fatalf("dump %s: %v", op, err)
		}
	}
	return out
}

// model is the expected content of a DB.
type model map[entry]string // entry without value → value

func (m model) put(op string, kg int, state, key, value string) {
	m[entry{op: op, kg: kg, state: state, key: key}] = value
}

func (m model) del(op string, kg int, state, key string) {
	delete(m, entry{op: op, kg: kg, state: state, key: key})
}

// entries returns the model's entries of ops as dump returns them: by
// operator in the order given, then in key order.
func (m model) entries(ops ...string) []entry {
	var out []entry
	for _, op := range ops {
		var es []entry
		for k, v := range m {
			if k.op == op {
				k.value = v
				es = append(es, k)
			}
		}
		slices.SortFunc(es, func(a, b entry) int {
			ka, _ := appendKey(nil, a.op, a.kg, a.state, []byte(a.key))
			kb, _ := appendKey(nil, b.op, b.kg, b.state, []byte(b.key))
			return bytes.Compare(ka, kb)
		})
		out = append(out, es...)
	}
	return out
}

func (m model) clone() model {
	c := make(model, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func diffEntries(t testing.TB, got, want []entry) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "got %d entries, want %d\n", len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		if g != w {
			fmt.Fprintf(&b, "  [%d] got %s, want %s\n", i, g, w)
			if b.Len() > 2000 {
				break
			}
		}
	}
	t.Fatal(b.String())
}

// rawCount counts the stored entries, expired ones included.
func rawCount(t testing.TB, db *DB) int {
	t.Helper()
	n := 0
	if err := db.iterate("count", nil, nil, func(k, v []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
