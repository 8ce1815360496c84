package operators

import (
	"errors"
	"fmt"

	"github.com/stromhq/strom/snapshot"
)

// keyedStatesList is the operator state list in which a keyed operator
// records the keyed states its function registers: one entry per state,
// its kind byte then its name (Union: every subtask gets every entry).
//
// With the heap backend, and on the portable path of the Pebble backend,
// the entries of a state tell a restore that the checkpoint holds it. A
// subtask that restores its own Pebble checkpoint receives no keyed entries
// at all, so without this list a state the function no longer registers,
// or registers as another kind, would be restored silently into the store,
// where it would take space or be misread later. The list makes that
// restore fail with ErrStateMismatch as the heap backend's does, and lets
// DiscardState delete the state's entries from the store.
const keyedStatesList = "keyed-states"

// snapshotNames writes the registered states into keyedStatesList.
func (r *stateRegistry[K]) snapshotNames(w StateWriter) {
	if r == nil {
		return
	}
	for _, st := range r.states {
		b := st.base()
		if b.kind == kindDiscarded {
			continue
		}
		w.Operator(keyedStatesList, snapshot.Union, append([]byte{b.kind}, b.name...))
	}
}

// checkNames compares the states a checkpoint recorded (keyedStatesList)
// with the registered ones: a state the function does not register, or
// registers as another kind, fails with ErrStateMismatch; the entries of a
// state registered by DiscardState are deleted from the store. A
// checkpoint without the list (written before it existed) is not checked
// here; its entries are, as they are restored.
func (r *stateRegistry[K]) checkNames(rd StateReader) error {
	entries, err := rd.Operator(keyedStatesList)
	if errors.Is(err, snapshot.ErrUnknownOperatorState) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", keyedStatesList, err)
	}
	seen := make(map[string]bool)
	for _, e := range entries {
		if len(e) < 2 {
			return fmt.Errorf("restore %s: %w", keyedStatesList, CorruptState("entry of %d bytes", len(e)))
		}
		kind, name := e[0], string(e[1:])
		if seen[name] {
			continue
		}
		seen[name] = true
		st, err := r.registered(name)
		if err != nil {
			return err
		}
		b := st.base()
		switch {
		case b.kind == kindDiscarded:
			if err := r.deleteStored(b); err != nil {
				return err
			}
		case b.kind != kind:
			return kindMismatch(name, kind, b.kind)
		}
	}
	return nil
}

// deleteStored deletes the entries of state b from the store, in the key
// groups of the subtask; without a store there is nothing to delete.
func (r *stateRegistry[K]) deleteStored(b *stateBase) error {
	if r.store == nil {
		return nil
	}
	var keys [][]byte
	kgs := ownedKeyGroups(r.task)
	for kg := kgs.Start; kg < kgs.End; kg++ {
		keys = keys[:0]
		if err := r.store.Scan(kg, tagUserState, b.prefix[1:], func(key, _ []byte) error {
			keys = append(keys, append([]byte(nil), key...))
			return nil
		}); err != nil {
			return b.wrap(err)
		}
		for _, k := range keys {
			if err := r.store.Delete(kg, tagUserState, k); err != nil {
				return b.wrap(err)
			}
		}
	}
	return nil
}
