package snapshot

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

// SavepointInfo describes one savepoint of a store.
type SavepointInfo struct {
	Name string
	Dir  string
	// Manifest is the savepoint's manifest, nil if Err is set.
	Manifest *Manifest
	// Err says why the savepoint cannot be restored (it matches
	// ErrCorrupt or ErrIncomplete), nil if it can.
	Err error
}

// SavepointDir returns the directory of savepoint name.
func (s *Store) SavepointDir(name string) string {
	return filepath.Join(s.dir, savepointsDir, name)
}

// Savepoint copies complete checkpoint fromCheckpoint into the savepoint
// name (ASCII letters, digits, '-', '_' and '.', not starting with '.', at
// most 200 bytes). The savepoint is self-contained: its state files are hard
// links to the checkpoint's (copies where the FS cannot link), its manifest
// is the checkpoint's, and it is kept until DeleteSavepoint, whatever
// Retain deletes. It is assembled under a hidden name, verified in full and
// renamed into place, so a savepoint that exists is complete.
func (s *Store) Savepoint(name string, fromCheckpoint int64) (*Manifest, error) {
	m, err := s.savepoint(name, fromCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("savepoint %q of checkpoint %d: %w", name, fromCheckpoint, err)
	}
	return m, nil
}

func (s *Store) savepoint(name string, id int64) (m *Manifest, err error) {
	if !validSavepointName(name) {
		return nil, fmt.Errorf("snapshot: savepoint name %q not allowed", name)
	}
	root := filepath.Join(s.dir, savepointsDir)
	if err := mkdirAllDurable(s.fs, root); err != nil {
		return nil, err
	}
	final := s.SavepointDir(name)
	if _, err := s.fs.Stat(final); err == nil {
		return nil, ErrSavepointExists
	} else if !isNotExist(err) {
		return nil, err
	}
	defer s.pin(id)()
	src, err := s.loadCheckpoint(id, false)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(root, "."+name+".tmp")
	if err := s.fs.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := s.fs.Mkdir(tmp); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.fs.RemoveAll(tmp))
		}
	}()
	for _, h := range src.Files() {
		if err := linkOrCopy(s.fs, filepath.Join(src.Dir, h.File), filepath.Join(tmp, h.File)); err != nil {
			return nil, err
		}
	}
	for _, d := range src.KeyedStores() {
		if err := linkOrCopyDir(s.fs, filepath.Join(src.Dir, d), filepath.Join(tmp, d)); err != nil {
			return nil, err
		}
	}
	data, err := src.Encode()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(s.fs, filepath.Join(tmp, manifestFileName), data); err != nil {
		return nil, err
	}
	if _, err := loadManifestDir(s.fs, tmp, true); err != nil {
		return nil, fmt.Errorf("verify copy: %w", err)
	}
	if err := s.fs.Rename(tmp, final); err != nil {
		if _, serr := s.fs.Stat(final); serr == nil {
			return nil, ErrSavepointExists
		}
		return nil, err
	}
	if err := s.fs.SyncDir(root); err != nil {
		return nil, err
	}
	src.Dir = final
	return src, nil
}

// ListSavepoints describes the savepoints of the store, by name.
func (s *Store) ListSavepoints() ([]SavepointInfo, error) {
	names, err := s.fs.ReadDir(filepath.Join(s.dir, savepointsDir))
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list savepoints: %w", err)
	}
	var infos []SavepointInfo
	for _, name := range names {
		if !validSavepointName(name) {
			continue // a savepoint being made or deleted
		}
		info := SavepointInfo{Name: name, Dir: s.SavepointDir(name)}
		info.Manifest, info.Err = loadManifestDir(s.fs, info.Dir, false)
		if info.Err != nil && !errors.Is(info.Err, ErrCorrupt) && !errors.Is(info.Err, ErrIncomplete) {
			return nil, fmt.Errorf("list savepoints: %w", info.Err)
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// DeleteSavepoint deletes savepoint name. It first renames it to a hidden
// name, so that a deletion cut short never leaves a damaged savepoint
// under its name.
func (s *Store) DeleteSavepoint(name string) error {
	if !validSavepointName(name) {
		return fmt.Errorf("delete savepoint: snapshot: savepoint name %q not allowed", name)
	}
	root := filepath.Join(s.dir, savepointsDir)
	final := s.SavepointDir(name)
	if _, err := s.fs.Stat(final); err != nil {
		if isNotExist(err) {
			return fmt.Errorf("delete savepoint %q: %w", name, ErrSavepointNotFound)
		}
		return fmt.Errorf("delete savepoint %q: %w", name, err)
	}
	trash := filepath.Join(root, "."+name+".deleting")
	err := s.fs.RemoveAll(trash)
	if err == nil {
		err = s.fs.Rename(final, trash)
	}
	if err == nil {
		err = s.fs.SyncDir(root)
	}
	if err == nil {
		err = s.fs.RemoveAll(trash)
	}
	if err != nil {
		return fmt.Errorf("delete savepoint %q: %w", name, err)
	}
	return nil
}

// OpenManifest opens the checkpoint or savepoint at path (its directory or
// its _manifest file), as for restoring a job from a given path. It checks
// the manifest and that every state file it names is present and matches;
// Verify reads the files in full. The returned manifest's Dir is the
// directory.
func OpenManifest(fsys FS, path string) (*Manifest, error) {
	if fsys == nil {
		fsys = OSFS()
	}
	dir, err := manifestDir(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	m, err := loadManifestDir(fsys, dir, false)
	if err != nil {
		return nil, fmt.Errorf("open manifest %s: %w", path, err)
	}
	return m, nil
}

// manifestDir resolves a checkpoint path to its directory.
func manifestDir(fsys FS, path string) (string, error) {
	fi, err := fsys.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return path, nil
	}
	if filepath.Base(path) != manifestFileName {
		return "", fmt.Errorf("snapshot: %s is neither a checkpoint directory nor a %s file", path, manifestFileName)
	}
	return filepath.Dir(path), nil
}

// linkOrCopyDir makes dst a directory holding links to (or copies of) the
// files of directory src, which has no subdirectories: a keyed store
// checkpoint.
func linkOrCopyDir(fsys FS, src, dst string) error {
	names, err := fsys.ReadDir(src)
	if err != nil {
		return err
	}
	if err := fsys.Mkdir(dst); err != nil {
		return err
	}
	for _, n := range names {
		if err := linkOrCopy(fsys, filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
			return err
		}
	}
	return fsys.SyncDir(dst)
}

// linkOrCopy makes dst a hard link to src, or a synced copy where the FS
// cannot link.
func linkOrCopy(fsys FS, src, dst string) (err error) {
	if fsys.Link(src, dst) == nil {
		return nil
	}
	in, err := fsys.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsys.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return errors.Join(err, out.Close())
	}
	if err := out.Sync(); err != nil {
		return errors.Join(err, out.Close())
	}
	return out.Close()
}

func validSavepointName(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
