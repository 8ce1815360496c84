package operators

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

func openTestStore(t *testing.T, uid string) *StateStore {
	t.Helper()
	db, err := pebblestate.Open(t.TempDir(), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStateStore(db, uid)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestStateStoreBatchAndScan checks that reads see uncommitted writes, that
// a scan sees everything written before it, and that the store's portable
// form is the entry keys and values it was given.
func TestStateStoreBatchAndScan(t *testing.T) {
	s := openTestStore(t, "op")
	for i := range 3 * storeBatchKeys / 2 {
		if err := s.Put(i%4, 'x', fmt.Appendf(nil, "k%06d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(1, 'x', []byte("k000001")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get(1, 'x', []byte("k000001")); err != nil || ok {
		t.Fatalf("deleted key: ok=%v err=%v", ok, err)
	}
	v, ok, err := s.Get(2, 'x', []byte("k000002"))
	if err != nil || !ok || string(v) != "v2" {
		t.Fatalf("Get = %q, %v, %v", v, ok, err)
	}
	n := 0
	if err := s.Scan(3, 'x', []byte("k"), func(k, v []byte) error {
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := 3 * storeBatchKeys / 2 / 4; n != want {
		t.Fatalf("scan of key group 3: %d entries, want %d", n, want)
	}

	// The other operator of the same instance sees none of it; entries
	// restored into it export as the entry keys they came with.
	o := NewStateStore(s.DB(), "other")
	defer o.Close()
	if err := o.RestoreEntry(5, []byte("xkey"), []byte("val")); err != nil {
		t.Fatal(err)
	}
	if err := o.RestoreEntry(5, nil, nil); err == nil {
		t.Fatal("an empty entry key was restored")
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.DB().Export("other", snapshot.KeyGroupRange{Start: 0, End: 8}, func(kg int, k, v []byte) error {
		got = append(got, fmt.Sprintf("%d %s=%s", kg, k, v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "5 xkey=val" {
		t.Fatalf("export of the other operator: %q", got)
	}
	if !bytes.Equal([]byte(tagNames['x']), []byte{'x'}) {
		t.Fatal("tag name")
	}
}
