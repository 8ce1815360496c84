package pebblestate

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

func TestTTLExpiry(t *testing.T) {
	clock := newTestClock()
	db := openTest(t, testOptions(clock))
	all := snapshot.KeyGroupRange{Start: 0, End: 128}
	t0 := clock.Now()
	must(t, db.PutExpiring("op", 1, "v", []byte("short"), []byte("s"), t0.Add(10*time.Second)))
	must(t, db.PutExpiring("op", 1, "v", []byte("long"), []byte("l"), t0.Add(time.Hour)))
	must(t, db.Put("op", 1, "v", []byte("forever"), []byte("f")))
	must(t, db.PutExpiring("op", 1, "v", []byte("renewed"), []byte("r"), t0.Add(10*time.Second)))

	live := func() string {
		t.Helper()
		var s string
		must(t, db.Scan("op", 1, "v", nil, func(key, value []byte) error {
			s += string(key) + " "
			return nil
		}))
		var it string
		must(t, db.Iterate("op", all, func(kg int, state string, key, value []byte) error {
			it += string(key) + " "
			return nil
		}))
		var ex string
		must(t, db.Export("op", all, func(kg int, key, value []byte) error {
			_, _, k, err := ParseEntryKey(key)
			ex += string(k) + " "
			return err
		}))
		if s != it || s != ex {
			t.Fatalf("scan %q, iterate %q, export %q", s, it, ex)
		}
		for _, k := range []string{"short", "long", "forever", "renewed"} {
			_, ok, err := db.Get("op", 1, "v", []byte(k))
			must(t, err)
			_, bok, err := db.NewBatch().Get("op", 1, "v", []byte(k))
			must(t, err)
			if ok != bok {
				t.Fatalf("%s: get %v, batch get %v", k, ok, bok)
			}
		}
		return s
	}
	if got := live(); got != "forever long renewed short " {
		t.Fatalf("at t0: %q", got)
	}
	clock.Advance(10*time.Second - time.Millisecond)
	// A write without TTL makes an entry permanent.
	must(t, db.Put("op", 1, "v", []byte("renewed"), []byte("r")))
	if got := live(); got != "forever long renewed short " {
		t.Fatalf("just before expiry: %q", got)
	}
	clock.Advance(time.Millisecond) // expiry is inclusive
	if got := live(); got != "forever long renewed " {
		t.Fatalf("at expiry: %q", got)
	}
	if v, ok, _ := db.Get("op", 1, "v", []byte("long")); !ok || string(v) != "l" {
		t.Fatalf("long: %q %v", v, ok)
	}
	clock.Advance(time.Hour)
	if got := live(); got != "forever renewed " {
		t.Fatalf("after an hour: %q", got)
	}
	// Expired entries are still stored until cleaned up.
	if n := rawCount(t, db); n != 4 {
		t.Fatalf("stored %d", n)
	}
}

func TestCleanupExpired(t *testing.T) {
	clock := newTestClock()
	db := openTest(t, testOptions(clock))
	const n = 3000
	expiring := 0
	for i := range n {
		key := fmt.Appendf(nil, "k%05d", i)
		op := []string{"a", "b"}[i%2]
		switch i % 3 {
		case 0:
			must(t, db.Put(op, i%128, "v", key, key))
		case 1:
			must(t, db.PutExpiring(op, i%128, "v", key, key, clock.Now().Add(time.Minute)))
			expiring++
		case 2:
			must(t, db.PutExpiring(op, i%128, "v", key, key, clock.Now().Add(time.Hour)))
		}
		if i == n/2 {
			must(t, db.Flush())
		}
	}
	if _, err := db.CleanupExpired(0); err == nil {
		t.Fatal("cleanup of 0 entries")
	}
	// Nothing has expired yet: a full pass deletes nothing.
	st, err := db.CleanupExpired(n + 1)
	must(t, err)
	if st.Scanned != n || st.Deleted != 0 || !st.Wrapped {
		t.Fatalf("pass before expiry: %+v", st)
	}

	clock.Advance(2 * time.Minute)
	const limit = 250
	deleted, scanned, calls := 0, 0, 0
	for {
		st, err := db.CleanupExpired(limit)
		must(t, err)
		calls++
		if st.Scanned > limit || st.Deleted > st.Scanned {
			t.Fatalf("call %d: %+v exceeds the bound %d", calls, st, limit)
		}
		deleted += st.Deleted
		scanned += st.Scanned
		// Writes between calls are fine (same goroutine).
		must(t, db.Put("a", 0, "v", []byte("written meanwhile"), nil))
		if st.Wrapped {
			break
		}
		if calls > n {
			t.Fatal("cleanup never wraps")
		}
	}
	if deleted != expiring || calls != (n+limit-1)/limit {
		t.Fatalf("deleted %d of %d expired in %d calls (scanned %d)", deleted, expiring, calls, scanned)
	}
	if got := rawCount(t, db); got != n-expiring+1 {
		t.Fatalf("%d stored after cleanup, want %d", got, n-expiring+1)
	}
	for i := range n {
		key := fmt.Appendf(nil, "k%05d", i)
		_, ok, err := db.Get([]string{"a", "b"}[i%2], i%128, "v", key)
		must(t, err)
		if ok != (i%3 != 1) {
			t.Fatalf("%s: present %v", key, ok)
		}
	}

	// The next pass starts over; after an hour the rest expires.
	clock.Advance(time.Hour)
	deleted = 0
	for {
		st, err := db.CleanupExpired(limit)
		must(t, err)
		deleted += st.Deleted
		if st.Wrapped {
			break
		}
	}
	if want := n / 3; deleted != want {
		t.Fatalf("second pass deleted %d, want %d", deleted, want)
	}
}

func TestTTLSurvivesCheckpoint(t *testing.T) {
	clock := newTestClock()
	opts := testOptions(clock)
	db := openTest(t, opts)
	must(t, db.PutExpiring("op", 1, "v", []byte("k"), []byte("x"), clock.Now().Add(time.Minute)))
	dir := t.TempDir()
	_, err := db.Checkpoint(filepath.Join(dir, "ck"))
	must(t, err)
	r, err := Restore(filepath.Join(dir, "ck"), filepath.Join(dir, "r"), opts)
	must(t, err)
	defer closeQuietly(t, r)
	if _, ok, _ := r.Get("op", 1, "v", []byte("k")); !ok {
		t.Fatal("missing before expiry")
	}
	clock.Advance(time.Minute)
	if _, ok, _ := r.Get("op", 1, "v", []byte("k")); ok {
		t.Fatal("present after expiry")
	}
}
