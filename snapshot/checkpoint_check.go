package snapshot

import (
	"fmt"
	"path/filepath"
	"slices"
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

// checkFiles opens every state file of m and compares it with its handle;
// with verify, it also reads each in full.
func checkFiles(fsys FS, m *Manifest, verify bool) error {
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
