package operators

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stromhq/strom/snapshot/pebblestate"
)

// TestOwnPebbleRestoreChecksRegisteredStates restores keyed state as a
// subtask restoring its own Pebble checkpoint does (the store from the
// Pebble checkpoint, only the state file through RestoreState): a state
// the function no longer registers, or registers as another kind, must fail
// the restore as it does on the heap, and DiscardState must delete the
// state's entries from the store.
func TestOwnPebbleRestoreChecksRegisteredStates(t *testing.T) {
	var a *ValueState[int64, int64]
	op, st := pebbleStateOp[int64](t, &virtualMillis{}, 16, func(ctx *TaskContext) (err error) {
		a, err = NewValueState[int64, int64](ctx, "a")
		return err
	})
	for k := range int64(100) {
		a.Set(at(op, k), k)
	}
	file := NewMemState()
	if err := op.SnapshotState(1, file); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "cp")
	if _, err := st.DB().Checkpoint(cp); err != nil {
		t.Fatal(err)
	}

	restore := func(open func(ctx *TaskContext) error) (*StateStore, error) {
		db, err := pebblestate.Restore(cp, filepath.Join(t.TempDir(), "db"), pebblestate.Options{CacheSize: 16 << 20, MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		s := NewStateStore(db, "op")
		t.Cleanup(func() {
			s.Close()
			db.Close()
		})
		op := &KeyedProcess[int64, int, int]{
			Key: Key[int64, int]{Selector: func(int) int64 { return 0 }},
			Fn:  &openFunc[int64]{open: open}, Out: lineOut[int]{new([]string)},
		}
		ctx := opTask("op", &virtualMillis{})
		ctx.Store = s
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return s, op.RestoreState(file.Reader(allKeyGroups))
	}

	if _, err := restore(func(*TaskContext) error { return nil }); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("restore without the state: %v, want ErrStateMismatch", err)
	}
	if _, err := restore(func(ctx *TaskContext) error {
		_, err := NewListState[int64, int64](ctx, "a")
		return err
	}); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("restore of a ValueState as a ListState: %v, want ErrStateMismatch", err)
	}
	s, err := restore(func(ctx *TaskContext) error { return DiscardState[int64](ctx, "a") })
	if err != nil {
		t.Fatalf("restore with DiscardState: %v", err)
	}
	if n := storedEntries(t, s); n != 0 {
		t.Fatalf("%d entries of the discarded state left in the store", n)
	}
	s, err = restore(func(ctx *TaskContext) (err error) {
		a, err = NewValueState[int64, int64](ctx, "a")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := storedEntries(t, s); n != 100 {
		t.Fatalf("%d entries restored, want 100", n)
	}
}
