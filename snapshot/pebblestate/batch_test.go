package pebblestate

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

func TestBatchReadsItsOwnWrites(t *testing.T) {
	clock := newTestClock()
	db := openTest(t, testOptions(clock))
	must(t, db.Put("op", 1, "v", []byte("old"), []byte("db value")))
	must(t, db.Put("op", 1, "v", []byte("gone"), []byte("db value")))

	b := db.NewBatch()
	defer b.Close()
	must(t, b.Put("op", 1, "v", []byte("new"), []byte("1")))
	must(t, b.Put("op", 1, "v", []byte("new"), []byte("2"))) // the last write wins
	must(t, b.Put("op", 1, "v", []byte("old"), []byte("batch value")))
	must(t, b.Delete("op", 1, "v", []byte("gone")))
	must(t, b.PutExpiring("op", 1, "v", []byte("ttl"), []byte("soon"), clock.Now().Add(time.Second)))
	if b.Len() != 4 {
		t.Fatalf("len %d, want 4 keys", b.Len())
	}

	get := func(g func(string, int, string, []byte) ([]byte, bool, error), key string) string {
		t.Helper()
		v, ok, err := g("op", 1, "v", []byte(key))
		must(t, err)
		if !ok {
			return "<absent>"
		}
		return string(v)
	}
	for key, want := range map[string]string{"new": "2", "old": "batch value", "gone": "<absent>", "ttl": "soon", "other": "<absent>"} {
		if got := get(b.Get, key); got != want {
			t.Errorf("batch get %q: %q, want %q", key, got, want)
		}
	}
	// Nothing is visible before the commit.
	for key, want := range map[string]string{"new": "<absent>", "old": "db value", "gone": "db value", "ttl": "<absent>"} {
		if got := get(db.Get, key); got != want {
			t.Errorf("db get %q before commit: %q, want %q", key, got, want)
		}
	}
	must(t, b.Commit())
	if b.Len() != 0 {
		t.Fatalf("len after commit %d", b.Len())
	}
	for key, want := range map[string]string{"new": "2", "old": "batch value", "gone": "<absent>", "ttl": "soon"} {
		if got := get(db.Get, key); got != want {
			t.Errorf("db get %q after commit: %q, want %q", key, got, want)
		}
	}
	// The batch is reusable; Reset discards.
	must(t, b.Put("op", 1, "v", []byte("discarded"), []byte("x")))
	b.Reset()
	must(t, b.Commit())
	if got := get(db.Get, "discarded"); got != "<absent>" {
		t.Fatalf("reset batch committed: %q", got)
	}
	clock.Advance(time.Second)
	must(t, b.PutExpiring("op", 1, "v", []byte("ttl2"), []byte("x"), clock.Now()))
	if got := get(b.Get, "ttl2"); got != "<absent>" {
		t.Fatalf("expired pending write: %q", got)
	}
	if got := get(b.Get, "ttl"); got != "<absent>" {
		t.Fatalf("expired entry through batch: %q", got)
	}
}

// TestBatchAtomicity checks that readers never see part of a batch:
// batches set all keys to the same generation, and concurrent readers
// must always see a single generation over all keys.
func TestBatchAtomicity(t *testing.T) {
	db := openTest(t, testOptions(nil))
	const keys = 500
	const generations = 200
	all := snapshot.KeyGroupRange{Start: 0, End: 128}
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				seen := map[uint64]int{}
				err := db.Iterate("op", all, func(kg int, state string, key, value []byte) error {
					seen[binary.BigEndian.Uint64(value)]++
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(seen) > 1 {
					t.Errorf("a read saw generations %v", seen)
					return
				}
				for g, n := range seen {
					if n != keys {
						t.Errorf("a read saw %d keys of generation %d, want %d", n, g, keys)
						return
					}
				}
				reads.Add(1)
			}
		}()
	}
	b := db.NewBatch()
	for g := range uint64(generations) {
		for i := range keys {
			must(t, b.Put("op", i%128, "v", fmt.Appendf(nil, "key%d", i), binary.BigEndian.AppendUint64(nil, g)))
		}
		must(t, b.Commit())
		if g%50 == 0 {
			must(t, db.Flush())
		}
	}
	done.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reads ran")
	}
	t.Logf("%d consistent reads", reads.Load())
}

func TestBatchCommitFailsAfterClose(t *testing.T) {
	db := openTest(t, testOptions(nil))
	b := db.NewBatch()
	must(t, b.Put("op", 1, "v", []byte("k"), []byte("v")))
	must(t, db.Close())
	if err := b.Commit(); err != ErrClosed {
		t.Fatalf("commit after close: %v", err)
	}
	if b.Len() != 1 {
		t.Fatal("a failed commit dropped the writes")
	}
	if _, _, err := b.Get("op", 1, "v", []byte("k")); err != ErrClosed {
		t.Fatalf("batch get after close: %v", err)
	}
}
