package actors

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
	"github.com/stromhq/strom/snapshot/pebblestate"
)

// The Pebble state backend of a subtask. A chain with a keyed operator
// opens one Pebble instance (pebblestate.DB) in a fresh local directory,
// and every operator of the chain gets its part of it as
// TaskContext.Store before it opens. Operators that keep keyed state in
// the store write it there as they process; the rest of their state
// (timers, operator state) still goes into the state file of each
// checkpoint.
//
// A checkpoint commits the operators' buffered writes and takes a Pebble
// checkpoint of the instance into the checkpoint directory in its
// synchronous part (a flush and hard links); its descriptor is written
// asynchronously with the state files, and every operator of the chain
// names the directory in its acknowledgement (OperatorSnapshot.keyed_store),
// so the manifest lists it and checks, keeps, copies and deletes it with
// the state files. Consecutive checkpoints share the table files that did
// not change.
//
// A restore takes the fast path when the checkpoint is the chain's own:
// every stateful operator at the same parallelism, with this subtask's
// Pebble checkpoint. The instance is then assembled from that checkpoint
// (links, not copies) before the operators open, and the operators read
// only their state files. Any other checkpoint (a heap one, another
// parallelism, a chain that changed) starts an empty instance, and each
// operator receives the entries of the old Pebble checkpoints that fall in
// its key groups together with its state files' (storeSources), in the
// portable entry format, which heap-backed operators read as well: each
// backend restores the other's checkpoints.

// keyedStore is a subtask's Pebble instance.
type keyedStore struct {
	db *pebblestate.DB
	// local is the local directory that holds the instance; it is
	// removed when the subtask stops.
	local *localDir
	// name is the base name of the instance's checkpoints in checkpoint
	// directories.
	name   string
	stores []*operators.StateStore
}

// chainIsKeyed reports whether a vertex of the chain reads a keyed
// stream: only then does the chain get a Pebble instance.
func chainIsKeyed(c *Chain) bool {
	for _, v := range c.Vertices {
		for _, e := range v.Inputs {
			if e.Partitioning == Hash {
				return true
			}
		}
	}
	return false
}

// keyedStoreName is the base name of the Pebble checkpoints of the chain's
// subtask in checkpoint directories.
func keyedStoreName(c *Chain, subtask int) string {
	uid := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return '_'
	}, c.Vertices[0].UID)
	if len(uid) > 64 {
		uid = uid[:64]
	}
	return fmt.Sprintf("pebble-%s-%d", uid, subtask)
}

// ownKeyedStore returns the Pebble checkpoint of m that is this subtask's
// own, as the fast path of a restore needs: every operator of the chain
// that m holds has the chain's parallelism and names the same keyed store
// for this subtask. It returns "" when the restore must take the general
// path.
func (t *subtask) ownKeyedStore(m *snapshot.Manifest) string {
	if m == nil {
		return ""
	}
	own := ""
	for _, v := range t.chain.Vertices {
		op := m.Operator(v.UID)
		if op == nil {
			continue
		}
		if op.Parallelism != v.Parallelism || t.index >= len(op.Subtasks) {
			return ""
		}
		s := op.Subtasks[t.index].KeyedStore
		if s == "" || (own != "" && s != own) {
			return ""
		}
		own = s
	}
	return own
}

// openKeyedStore opens the subtask's Pebble instance, restored from the
// keyed store checkpoint own of m when own is set, else empty.
func (t *subtask) openKeyedStore(m *snapshot.Manifest, own string) (err error) {
	local, err := newLocalDir(t.cfg.LocalStateDir, "strom-state-", t.log)
	if err != nil {
		return fmt.Errorf("state backend pebble: local state directory: %w", err)
	}
	defer func() {
		if err != nil {
			local.remove()
		}
	}()
	ks := &keyedStore{local: local, name: keyedStoreName(t.chain, t.index)}
	opts := pebblestate.Options{Logger: t.log, Clock: func() time.Time { return time.UnixMilli(t.cfg.Clock.NowMillis()) }}
	dbDir := filepath.Join(local.path, "db")
	if own != "" {
		ks.db, err = pebblestate.Restore(filepath.Join(m.Dir, own), dbDir, opts)
	} else {
		ks.db, err = pebblestate.Open(dbDir, opts)
	}
	if err != nil {
		return fmt.Errorf("state backend pebble: %w", err)
	}
	t.store = ks
	return nil
}

// storeFor returns the part of the subtask's Pebble instance of operator
// uid, nil without one.
func (t *subtask) storeFor(uid string) *operators.StateStore {
	if t.store == nil {
		return nil
	}
	s := operators.NewStateStore(t.store.db, uid)
	t.store.stores = append(t.store.stores, s)
	return s
}

// startStoreCheckpoint runs the synchronous part of the checkpoint of the
// subtask's Pebble instance into checkpoint directory dir: it commits the
// operators' buffered writes, flushes and links. It returns nil without an
// instance.
func (t *subtask) startStoreCheckpoint(dir string) (*pebblestate.PendingCheckpoint, error) {
	if t.store == nil {
		return nil, nil
	}
	for _, s := range t.store.stores {
		if err := s.Commit(); err != nil {
			return nil, err
		}
	}
	p, err := t.store.db.StartCheckpoint(filepath.Join(dir, t.store.name))
	if err != nil {
		return nil, fmt.Errorf("checkpoint of the keyed store: %w", err)
	}
	return p, nil
}

// closeKeyedStore closes the subtask's Pebble instance and removes its
// local directory. Checkpoints being finished do not need the instance.
func (t *subtask) closeKeyedStore() error {
	ks := t.store
	if ks == nil {
		return nil
	}
	t.store = nil
	var errs []error
	for _, s := range ks.stores {
		errs = append(errs, s.Close())
	}
	errs = append(errs, ks.db.Close(), ks.local.remove())
	return errors.Join(errs...)
}

// storeSources opens the old Pebble checkpoints a general restore reads,
// each once for all operators of the chain, in temporary directories
// removed by close.
type storeSources struct {
	tmp  *localDir
	base string
	dbs  map[string]*pebblestate.DB
}

// read calls fn for every entry of operator uid in the key groups of each
// read of reads, from the old checkpoints under checkpoint directory dir.
func (s *storeSources) read(dir, uid string, reads []snapshot.KeyedStoreRead, fn func(kg int, key, value []byte) error) error {
	for _, r := range reads {
		db, err := s.open(filepath.Join(dir, r.Dir))
		if err != nil {
			return err
		}
		if err := db.Export(uid, r.KeyGroups, fn); err != nil {
			return fmt.Errorf("read keyed store %s: %w", r.Dir, err)
		}
	}
	return nil
}

func (s *storeSources) open(cp string) (*pebblestate.DB, error) {
	if db := s.dbs[cp]; db != nil {
		return db, nil
	}
	if s.tmp == nil {
		tmp, err := newLocalDir(s.base, "strom-restore-", nil)
		if err != nil {
			return nil, fmt.Errorf("read keyed store %s: %w", cp, err)
		}
		s.tmp, s.dbs = tmp, make(map[string]*pebblestate.DB)
	}
	db, err := pebblestate.Restore(cp, filepath.Join(s.tmp.path, fmt.Sprint(len(s.dbs))), pebblestate.Options{})
	if err != nil {
		return nil, fmt.Errorf("read keyed store %s: %w", cp, err)
	}
	s.dbs[cp] = db
	return db, nil
}

// close closes the opened checkpoints and removes their directories.
func (s *storeSources) close() error {
	var errs []error
	for _, db := range s.dbs {
		errs = append(errs, db.Close())
	}
	if s.tmp != nil {
		errs = append(errs, s.tmp.remove())
	}
	s.dbs, s.tmp = nil, nil
	return errors.Join(errs...)
}
