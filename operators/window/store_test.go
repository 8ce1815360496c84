package window

import (
	"fmt"
	"testing"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// backends are the state backends the tests run the operator on.
var backends = []string{"heap", "pebble"}

// testDB is a Pebble instance of one test that hands out a state store,
// under its own operator UID, to each operator instance.
type testDB struct {
	t      testing.TB
	db     *pebblestate.DB
	stores []*operators.StateStore
}

// newBackend returns nil for the heap backend, else a Pebble instance in
// t.TempDir that t closes at its end.
func newBackend(t testing.TB, backend string) *testDB {
	if backend == "heap" {
		return nil
	}
	return openTestDB(t, t.TempDir())
}

func openTestDB(t testing.TB, dir string) *testDB {
	t.Helper()
	db, err := pebblestate.Open(dir, pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	d := &testDB{t: t, db: db}
	t.Cleanup(d.close)
	return d
}

func (d *testDB) close() {
	for _, s := range d.stores {
		if err := s.Close(); err != nil {
			d.t.Error(err)
		}
	}
	d.stores = nil
	if d.db != nil {
		if err := d.db.Close(); err != nil {
			d.t.Error(err)
		}
		d.db = nil
	}
}

// store returns the store of a new operator instance.
func (d *testDB) store() *operators.StateStore {
	return d.storeOf(fmt.Sprintf("op%d", len(d.stores)))
}

// storeOf returns a store of operator uid.
func (d *testDB) storeOf(uid string) *operators.StateStore {
	s := operators.NewStateStore(d.db, uid)
	d.stores = append(d.stores, s)
	return s
}

var allKeyGroups = snapshot.KeyGroupRange{Start: 0, End: snapshot.MaxMaxParallelism}

// snapshotFull snapshots op as the runtime does with the Pebble backend
// and returns the portable checkpoint: the state file plus the store's
// export. With s nil it is the heap backend's snapshot.
func snapshotFull(t testing.TB, op operators.Checkpointed, s *operators.StateStore) *operators.MemState {
	t.Helper()
	m := operators.NewMemState()
	if err := op.SnapshotState(1, m); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return m
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	inFile := make(map[string]bool)
	for _, kg := range m.KeyGroups() {
		for _, e := range m.Entries(kg) {
			inFile[string(e.Key)] = true
		}
	}
	if err := s.DB().Export(s.UID(), allKeyGroups, func(kg int, k, v []byte) error {
		if inFile[string(k)] {
			return fmt.Errorf("entry %q both in the state file and in the store", k)
		}
		m.Keyed(kg, k, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}
