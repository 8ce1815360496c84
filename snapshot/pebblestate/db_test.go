package pebblestate

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stromhq/strom/snapshot"
)

func TestGetPutDelete(t *testing.T) {
	db := openTest(t, testOptions(nil))
	if _, ok, err := db.Get("op", 3, "v", []byte("k")); ok || err != nil {
		t.Fatalf("get of missing key: %v %v", ok, err)
	}
	must(t, db.Put("op", 3, "v", []byte("k"), []byte("one")))
	must(t, db.Put("op", 3, "v", []byte(""), []byte("empty key")))
	must(t, db.Put("op", 3, "w", []byte("k"), []byte("")))
	v, ok, err := db.Get("op", 3, "v", []byte("k"))
	if err != nil || !ok || string(v) != "one" {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	v[0] = 'X' // a copy: the DB is unaffected
	if v, _, _ := db.Get("op", 3, "v", []byte("k")); string(v) != "one" {
		t.Fatalf("get after modifying the returned slice: %q", v)
	}
	if v, ok, _ := db.Get("op", 3, "v", nil); !ok || string(v) != "empty key" {
		t.Fatalf("empty key: %q %v", v, ok)
	}
	if v, ok, _ := db.Get("op", 3, "w", []byte("k")); !ok || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, ok)
	}
	// Other key groups, states and operators are other keys.
	for _, c := range []struct {
		op    string
		kg    int
		state string
	}{{"op", 4, "v"}, {"op", 2, "v"}, {"op", 3, "vv"}, {"opx", 3, "v"}, {"o", 3, "v"}} {
		if _, ok, _ := db.Get(c.op, c.kg, c.state, []byte("k")); ok {
			t.Errorf("%+v: found", c)
		}
	}
	must(t, db.Put("op", 3, "v", []byte("k"), []byte("two")))
	if v, _, _ := db.Get("op", 3, "v", []byte("k")); string(v) != "two" {
		t.Fatalf("overwrite: %q", v)
	}
	must(t, db.Delete("op", 3, "v", []byte("k")))
	if _, ok, _ := db.Get("op", 3, "v", []byte("k")); ok {
		t.Fatal("deleted key found")
	}
	must(t, db.Delete("op", 3, "v", []byte("never there")))

	// A long key does not fit the stack buffer.
	long := bytes.Repeat([]byte("x"), 10000)
	must(t, db.Put("op", 3, "v", long, long))
	if v, ok, _ := db.Get("op", 3, "v", long); !ok || !bytes.Equal(v, long) {
		t.Fatal("long key")
	}
}

func TestInvalidArguments(t *testing.T) {
	db := openTest(t, testOptions(nil))
	long := strings.Repeat("s", MaxStateName+1)
	longOp := strings.Repeat("o", MaxOperatorUID+1)
	for _, c := range []struct {
		op    string
		kg    int
		state string
	}{{"", 0, "v"}, {longOp, 0, "v"}, {"op", -1, "v"}, {"op", snapshot.MaxMaxParallelism, "v"}, {"op", 0, ""}, {"op", 0, long}} {
		if err := db.Put(c.op, c.kg, c.state, nil, nil); err == nil {
			t.Errorf("put %q %d %q: no error", c.op, c.kg, c.state)
		}
		if _, _, err := db.Get(c.op, c.kg, c.state, nil); err == nil {
			t.Errorf("get %q %d %q: no error", c.op, c.kg, c.state)
		}
		if err := db.NewBatch().Put(c.op, c.kg, c.state, nil, nil); err == nil {
			t.Errorf("batch put %q %d %q: no error", c.op, c.kg, c.state)
		}
	}
	for _, r := range []snapshot.KeyGroupRange{{Start: -1, End: 2}, {Start: 3, End: 2}, {Start: 0, End: snapshot.MaxMaxParallelism + 1}} {
		if err := db.DeleteRange("op", r); err == nil {
			t.Errorf("delete range %v: no error", r)
		}
		if err := db.Iterate("op", r, func(int, string, []byte, []byte) error { return nil }); err == nil {
			t.Errorf("iterate %v: no error", r)
		}
	}
	// The extremes are fine.
	must(t, db.Put(strings.Repeat("o", MaxOperatorUID), snapshot.MaxMaxParallelism-1, strings.Repeat("s", MaxStateName), nil, []byte("x")))
}

// fill writes n random entries into db and m for the operators ops over
// key groups [0, maxKG), in states "a", "bb", "\x00": in runs of 50
// writes, each either direct or in one batch.
func fill(t testing.TB, db *DB, m model, rng *rand.Rand, n int, maxKG int, ops ...string) {
	t.Helper()
	states := []string{"a", "bb", "\x00"}
	b := db.NewBatch()
	defer b.Close()
	direct := true
	for i := range n {
		if i%50 == 0 {
			must(t, b.Commit())
			direct = rng.IntN(2) == 0
		}
		op := ops[rng.IntN(len(ops))]
		kg := rng.IntN(maxKG)
		state := states[rng.IntN(len(states))]
		key := fmt.Sprintf("k%d", rng.IntN(n))
		value := fmt.Sprintf("v%d-%d", i, rng.Int())
		if direct {
			must(t, db.Put(op, kg, state, []byte(key), []byte(value)))
		} else {
			must(t, b.Put(op, kg, state, []byte(key), []byte(value)))
		}
		m.put(op, kg, state, key, value)
		if rng.IntN(10) == 0 {
			key := fmt.Sprintf("k%d", rng.IntN(n))
			if direct {
				must(t, db.Delete(op, kg, state, []byte(key)))
			} else {
				must(t, b.Delete(op, kg, state, []byte(key)))
			}
			m.del(op, kg, state, key)
		}
	}
	must(t, b.Commit())
}

func TestIterateAndDeleteRangeBoundaries(t *testing.T) {
	db := openTest(t, testOptions(nil))
	m := model{}
	rng := rand.New(rand.NewPCG(1, 2))
	// Operators whose names are prefixes of each other, or that differ
	// in the length byte only, must not mix.
	ops := []string{"x", "xy", "x\x00", "y"}
	fill(t, db, m, rng, 4000, 128, ops...)
	// Entries at the last key group.
	for _, op := range ops {
		must(t, db.Put(op, snapshot.MaxMaxParallelism-1, "a", []byte("last"), []byte("kg max")))
		m.put(op, snapshot.MaxMaxParallelism-1, "a", "last", "kg max")
	}
	must(t, db.Flush()) // part in tables, part in the memtable
	fill(t, db, m, rng, 1000, 128, ops...)

	diffEntries(t, dump(t, db, ops...), m.entries(ops...))

	within := func(r snapshot.KeyGroupRange, op string) []entry {
		var out []entry
		for _, e := range m.entries(op) {
			if r.Contains(e.kg) {
				out = append(out, e)
			}
		}
		return out
	}
	ranges := []snapshot.KeyGroupRange{
		{Start: 0, End: 1}, {Start: 10, End: 20}, {Start: 127, End: 128}, {Start: 5, End: 5},
		{Start: 0, End: 128}, {Start: 128, End: snapshot.MaxMaxParallelism}, {Start: snapshot.MaxMaxParallelism - 1, End: snapshot.MaxMaxParallelism},
	}
	for _, r := range ranges {
		for _, op := range ops {
			var got []entry
			must(t, db.Iterate(op, r, func(kg int, state string, key, value []byte) error {
				got = append(got, entry{op, kg, state, string(key), string(value)})
				return nil
			}))
			diffEntries(t, got, within(r, op))
		}
	}

	// DeleteRange removes exactly its key groups of its operator.
	must(t, db.DeleteRange("x", snapshot.KeyGroupRange{Start: 10, End: 20}))
	must(t, db.DeleteRange("xy", snapshot.KeyGroupRange{Start: 0, End: 1}))
	must(t, db.DeleteRange("y", snapshot.KeyGroupRange{Start: 127, End: snapshot.MaxMaxParallelism}))
	must(t, db.DeleteRange("x\x00", snapshot.KeyGroupRange{Start: 50, End: 50}))
	for k := range m {
		if (k.op == "x" && k.kg >= 10 && k.kg < 20) || (k.op == "xy" && k.kg == 0) || (k.op == "y" && k.kg >= 127) {
			delete(m, k)
		}
	}
	diffEntries(t, dump(t, db, ops...), m.entries(ops...))
	// Writes after a range deletion are visible.
	must(t, db.Put("x", 15, "a", []byte("new"), []byte("after")))
	m.put("x", 15, "a", "new", "after")
	must(t, db.Flush())
	diffEntries(t, dump(t, db, ops...), m.entries(ops...))
}

func TestScan(t *testing.T) {
	db := openTest(t, testOptions(nil))
	keys := []string{"a", "a1", "a2", "ab", "b", "\xff", "\xffa", "\xff\xff", "\xff\xff\x00"}
	for _, k := range keys {
		must(t, db.Put("op", 7, "t", []byte(k), []byte("v"+k)))
		must(t, db.Put("op", 7, "tt", []byte(k), []byte("other state")))
		must(t, db.Put("op", 8, "t", []byte(k), []byte("other key group")))
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"", keys},
		{"a", []string{"a", "a1", "a2", "ab"}},
		{"a1", []string{"a1"}},
		{"c", nil},
		{"\xff", []string{"\xff", "\xffa", "\xff\xff", "\xff\xff\x00"}},
		{"\xff\xff", []string{"\xff\xff", "\xff\xff\x00"}},
	} {
		var got []string
		must(t, db.Scan("op", 7, "t", []byte(c.prefix), func(key, value []byte) error {
			if string(value) != "v"+string(key) {
				t.Errorf("value of %q: %q", key, value)
			}
			got = append(got, string(key))
			return nil
		}))
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("scan %q: %q, want %q", c.prefix, got, c.want)
		}
	}
	// An error from the callback stops the scan and is returned.
	stop := errors.New("stop")
	n := 0
	err := db.Scan("op", 7, "t", nil, func(key, value []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("scan stopped: %v after %d", err, n)
	}
	// Writing during a scan is allowed; the scan does not see it.
	n = 0
	must(t, db.Scan("op", 7, "t", []byte("a"), func(key, value []byte) error {
		n++
		return db.Put("op", 7, "t", append([]byte("a"), key...), nil)
	}))
	if n != 4 {
		t.Fatalf("scan with writes saw %d entries", n)
	}
}

func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := Open(dir, testOptions(nil))
	must(t, err)
	must(t, db.Put("op", 1, "v", []byte("k"), []byte("flushed by close")))
	must(t, db.Close())
	if err := db.Close(); err != ErrClosed {
		t.Fatalf("second close: %v", err)
	}
	if _, _, err := db.Get("op", 1, "v", nil); err != ErrClosed {
		t.Fatalf("get after close: %v", err)
	}
	if err := db.Put("op", 1, "v", nil, nil); err != ErrClosed {
		t.Fatalf("put after close: %v", err)
	}
	if err := db.NewBatch().Commit(); err != ErrClosed {
		t.Fatalf("commit after close: %v", err)
	}

	db, err = Open(dir, testOptions(nil))
	must(t, err)
	if v, ok, err := db.Get("op", 1, "v", []byte("k")); err != nil || !ok || string(v) != "flushed by close" {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
	// A second Open of an open directory fails (the marker, and Pebble's
	// lock).
	if _, err := Open(dir, testOptions(nil)); err == nil {
		t.Fatal("second open of an open directory")
	}
	must(t, db.Close())
}

func TestOpenRefusesUncleanDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := Open(dir, testOptions(nil))
	must(t, err)
	must(t, db.Put("op", 1, "v", []byte("k"), []byte("lost")))
	// Simulate a process death: the DB is closed without the clean close
	// (here: Pebble is closed directly, leaving the marker and losing the
	// memtable).
	db.closed.Store(true)
	must(t, db.pdb.Close())
	if _, err := Open(dir, testOptions(nil)); !errors.Is(err, ErrUnclean) {
		t.Fatalf("open of an unclean directory: %v", err)
	}
}

func TestOpenRefusesCheckpoint(t *testing.T) {
	db := openTest(t, testOptions(nil))
	ck := filepath.Join(t.TempDir(), "ck")
	_, err := db.Checkpoint(ck)
	must(t, err)
	if _, err := Open(ck, testOptions(nil)); err == nil || !strings.Contains(err.Error(), "Restore") {
		t.Fatalf("open of a checkpoint: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ck, openMarkerName)); err == nil {
		t.Fatal("open marked the checkpoint")
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []Options{{MemTableSize: 1000}, {CacheSize: -1}, {CacheSize: 32 << 20}, {MaxConcurrentCompactions: -1}} {
		if _, err := Open(filepath.Join(t.TempDir(), "db"), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestSharedCache(t *testing.T) {
	c := NewCache(16 << 20)
	dbs := make([]*DB, 3)
	for i := range dbs {
		o := testOptions(nil)
		o.Cache = c
		dbs[i] = openTest(t, o)
		must(t, dbs[i].Put("op", i, "v", []byte("k"), []byte{byte(i)}))
		must(t, dbs[i].Flush())
	}
	c.Close() // the DBs keep their references
	for i, db := range dbs {
		if v, ok, err := db.Get("op", i, "v", []byte("k")); err != nil || !ok || v[0] != byte(i) {
			t.Fatalf("db %d: %v %v %v", i, v, ok, err)
		}
		must(t, db.Close())
	}
}

func TestKeyCodec(t *testing.T) {
	for _, c := range []struct {
		op, state string
		kg        int
		key       string
	}{{"a", "v", 0, ""}, {strings.Repeat("o", 300), "s", 32767, "\x00\xff"}, {"op", strings.Repeat("s", 255), 128, "key"}} {
		k, err := appendKey(nil, c.op, c.kg, c.state, []byte(c.key))
		must(t, err)
		d, err := decodeKey(k)
		if err != nil || string(d.op) != c.op || d.kg != c.kg || string(d.state) != c.state || string(d.key) != c.key {
			t.Errorf("%+v: decoded %q %d %q %q %v", c, d.op, d.kg, d.state, d.key, err)
		}
		if prefixEnd(k) == nil {
			t.Errorf("%+v: no prefix end", c)
		}
	}
	for _, bad := range []string{"", "\x00", "\x05ab", "\x01a\x00", "\x01a\x00\x01\x00", "\x01a\x00\x01\x02s", "\x01a\xff\xff\x01s"} {
		if _, err := decodeKey([]byte(bad)); err == nil {
			t.Errorf("decodeKey(%q): no error", bad)
		}
	}
	if prefixEnd([]byte{0xff, 0xff}) != nil {
		t.Error("prefixEnd of all 0xff")
	}
}
