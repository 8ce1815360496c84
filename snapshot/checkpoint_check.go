package snapshot

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
)

// loadManifestDir reads the manifest in dir and checks the state files it
// names; with verify, it reads them in full.
func loadManifestDir(fsys FS, dir string, verify bool) (*Manifest, error) {
	path := filepath.Join(dir, manifestFileName)
	b, err := readFile(fsys, path, maxManifestSize)
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("%s: %w", dir, ErrIncomplete)
		}
		return nil, err
	}
	m, err := decodeManifest(path, b)
	if err != nil {
		return nil, err
	}
	m.Dir = dir
	if err := checkFiles(fsys, m, verify); err != nil {
		return nil, err
	}
	return m, nil
}

// keyedStoreCheck checks a keyed store checkpoint; see
// RegisterKeyedStoreCheck.
var keyedStoreCheck struct {
	sync.RWMutex
	fn func(dir string, full bool) error
}

// RegisterKeyedStoreCheck installs the check of the keyed store
// checkpoints that manifests name (SubtaskState.KeyedStore): fn checks the
// checkpoint in directory dir against its own descriptor, file sizes only
// or, with full, every byte, and reports damage with an error matching
// ErrCorrupt. Package pebblestate registers its check when it is linked
// in; without one, a manifest naming a keyed store does not load.
func RegisterKeyedStoreCheck(fn func(dir string, full bool) error) {
	keyedStoreCheck.Lock()
	keyedStoreCheck.fn = fn
	keyedStoreCheck.Unlock()
}

// checkKeyedStores checks the keyed store checkpoints of m.
func checkKeyedStores(m *Manifest, verify bool) error {
	stores := m.KeyedStores()
	if len(stores) == 0 {
		return nil
	}
	keyedStoreCheck.RLock()
	fn := keyedStoreCheck.fn
	keyedStoreCheck.RUnlock()
	if fn == nil {
		return fmt.Errorf("%s names keyed store checkpoints, and no keyed store backend is linked in to check them", m.Dir)
	}
	for _, s := range stores {
		if err := fn(filepath.Join(m.Dir, s), verify); err != nil {
			return err
		}
	}
	return nil
}

// checkFiles opens every state file of m and compares it with its handle,
// and checks its keyed store checkpoints; with verify, it reads all in
// full.
func checkFiles(fsys FS, m *Manifest, verify bool) error {
	if err := checkKeyedStores(m, verify); err != nil {
		return err
	}
	for _, h := range m.Files() {
		r, err := OpenStateHandle(fsys, m.Dir, h)
		if err != nil {
			return err
		}
		if verify {
			err = r.Verify()
		}
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Verify reads every state file of m in full and checks all checksums.
func Verify(fsys FS, m *Manifest) error { return checkFiles(fsys, m, true) }

// OpenStateHandle opens the state file h in dir and checks that it is the
// file the handle describes: size, whole-file checksum, key group range and
// index contents. A missing or different file is reported as corruption.
func OpenStateHandle(fsys FS, dir string, h *StateHandle) (*StateReader, error) {
	path := filepath.Join(dir, h.File)
	if !validFileName(h.File) {
		return nil, corruptf(path, -1, "state file name not allowed")
	}
	r, err := OpenStateFile(fsys, path)
	if err != nil {
		if isNotExist(err) {
			return nil, &CorruptError{Path: path, Offset: -1, What: "state file missing", Err: err}
		}
		return nil, err
	}
	var what string
	switch {
	case r.Size() != h.Size:
		what = fmt.Sprintf("size %d, manifest says %d", r.Size(), h.Size)
	case r.Checksum() != h.Checksum:
		what = fmt.Sprintf("checksum %#08x, manifest says %#08x", r.Checksum(), h.Checksum)
	case r.KeyGroupRange() != h.KeyGroups:
		what = fmt.Sprintf("key groups %v, manifest says %v", r.KeyGroupRange(), h.KeyGroups)
	case r.KeyedEntries() != h.KeyedEntries:
		what = fmt.Sprintf("%d keyed entries, manifest says %d", r.KeyedEntries(), h.KeyedEntries)
	case !slices.Equal(r.OperatorStates(), h.OperatorStates):
		what = "operator states differ from the manifest"
	}
	if what != "" {
		r.Close()
		return nil, corruptf(path, -1, "%s", what)
	}
	return r, nil
}
