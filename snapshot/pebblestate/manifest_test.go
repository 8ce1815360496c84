package pebblestate_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// storeCheckpoints writes n checkpoints into a snapshot store, each of one
// operator whose subtask names a Pebble checkpoint of a DB that gains
// entries between them, and returns the store.
func storeCheckpoints(t *testing.T, n int) *snapshot.Store {
	t.Helper()
	st, err := snapshot.Open(filepath.Join(t.TempDir(), "ck"), nil)
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := st.BeginEpoch()
	if err != nil {
		t.Fatal(err)
	}
	db, err := pebblestate.Open(filepath.Join(t.TempDir(), "db"), pebblestate.Options{MemTableSize: 1 << 20, CacheSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id := int64(1); id <= int64(n); id++ {
		for i := range 2000 {
			if err := db.Put("op", i%16, "v", fmt.Appendf(nil, "key-%d-%d", id, i), []byte(strings.Repeat("x", 40))); err != nil {
				t.Fatal(err)
			}
		}
		p, err := st.NewCheckpoint(id, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Checkpoint(filepath.Join(p.Dir(), "pebble-op-0")); err != nil {
			t.Fatal(err)
		}
		m := snapshot.NewManifest("job", 16, time.UnixMilli(1_700_000_000_000))
		if err := m.AddSubtaskState("op", 1, 0, snapshot.StateHandle{}, nil, "pebble-op-0"); err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(m); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestDamagedKeyedStoreCheckpointIsSkipped damages the newest checkpoint's
// Pebble checkpoint in each way a crash or a disk can: the restore must
// report it and fall back to the checkpoint before, never load it.
func TestDamagedKeyedStoreCheckpointIsSkipped(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		// verifyOnly: only a full verification finds it.
		verifyOnly bool
	}{
		{"missing descriptor (crash before it was written)", func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, "STROM-CHECKPOINT"))
		}, false},
		{"missing directory", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"truncated table file", func(t *testing.T, dir string) {
			f := newestTable(t, dir)
			if err := os.Truncate(f, 100); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"flipped byte in the metadata", func(t *testing.T, dir string) {
			flip(t, glob1(t, dir, "MANIFEST-*"))
		}, true},
		{"flipped byte in a table file", func(t *testing.T, dir string) {
			flip(t, newestTable(t, dir))
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := storeCheckpoints(t, 3)
			c.damage(t, filepath.Join(st.CheckpointDir(3), "pebble-op-0"))

			m, skipped, err := st.LatestVerified()
			if err != nil {
				t.Fatal(err)
			}
			if m.CheckpointID != 2 || len(skipped) != 1 || skipped[0].ID != 3 {
				t.Fatalf("restored checkpoint %d, skipped %v; want 2, skipping 3", m.CheckpointID, skipped)
			}
			if !errors.Is(skipped[0].Err, snapshot.ErrCorrupt) && !errors.Is(skipped[0].Err, snapshot.ErrIncomplete) {
				t.Fatalf("skipped for %v, want corruption or incompleteness", skipped[0].Err)
			}
			m, _, err = st.Latest()
			if err != nil {
				t.Fatal(err)
			}
			if got := m.CheckpointID == 3; got != c.verifyOnly {
				t.Fatalf("Latest without verification chose checkpoint %d", m.CheckpointID)
			}
			// The checkpoint that remains restores.
			db, err := pebblestate.Restore(filepath.Join(st.CheckpointDir(2), "pebble-op-0"), filepath.Join(t.TempDir(), "r"), pebblestate.Options{VerifyRestore: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := db.Get("op", 1, "v", []byte("key-2-1")); err != nil || !ok {
				t.Fatalf("restored checkpoint 2 lacks its entry: %v %v", ok, err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSavepointCopiesKeyedStore takes a savepoint of a checkpoint with a
// Pebble checkpoint and requires it to be complete and restorable after
// the checkpoint is gone.
func TestSavepointCopiesKeyedStore(t *testing.T) {
	st := storeCheckpoints(t, 2)
	m, err := st.Savepoint("sp", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.KeyedStores(); len(got) != 1 || got[0] != "pebble-op-0" {
		t.Fatalf("savepoint keyed stores %v", got)
	}
	if err := os.RemoveAll(st.CheckpointDir(2)); err != nil {
		t.Fatal(err)
	}
	sp, err := snapshot.OpenManifest(snapshot.OSFS(), st.SavepointDir("sp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Verify(snapshot.OSFS(), sp); err != nil {
		t.Fatal(err)
	}
	in, err := snapshot.Inspect(nil, st.SavepointDir("sp"))
	if err != nil || len(in.KeyedStores) != 1 || len(in.Problems) != 0 || !strings.Contains(in.String(), "pebble-op-0") {
		t.Fatalf("inspect: %v, %+v", err, in)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func glob1(t *testing.T, dir, pattern string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no %s in %s (%v)", pattern, dir, err)
	}
	return names[len(names)-1]
}

// newestTable returns the table file written last, which only the newest
// checkpoint holds.
func newestTable(t *testing.T, dir string) string { return glob1(t, dir, "*.sst") }

func flip(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
