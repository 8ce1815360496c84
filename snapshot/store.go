package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Names inside a store directory.
const (
	epochFileName    = "_epoch"
	lockFileName     = "_lock"
	manifestFileName = "_manifest"
	savepointsDir    = "savepoints"
	checkpointPrefix = "chk-"
)

// Store is the checkpoint storage of one job: a directory holding the
// completed and in-progress checkpoints, the savepoints and the coordinator
// epoch. See the package documentation for the layout and the protocol.
//
// A Store is safe for concurrent use. Directory-wide steps (BeginEpoch,
// NewCheckpoint, the commit point of Commit, Retain) take a lock file, so
// several Stores, in this process or others, may share a directory.
type Store struct {
	dir string
	fs  FS

	// dirMu serialises this Store's holders of the directory lock.
	dirMu sync.Mutex
	mu    struct {
		sync.Mutex
		pending map[int64]bool // checkpoints begun here and not yet committed or aborted
		pinned  map[int64]int  // checkpoints being copied into savepoints
	}
}

// Open opens the store in dir, creating the directory if needed. A nil fs
// means OSFS().
func Open(dir string, fs FS) (*Store, error) {
	if fs == nil {
		fs = OSFS()
	}
	if err := mkdirAllDurable(fs, dir); err != nil {
		return nil, fmt.Errorf("open checkpoint store: %w", err)
	}
	s := &Store{dir: dir, fs: fs}
	s.mu.pending = make(map[int64]bool)
	s.mu.pinned = make(map[int64]int)
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// CheckpointDir returns the directory of checkpoint id.
func (s *Store) CheckpointDir(id int64) string {
	return filepath.Join(s.dir, checkpointPrefix+strconv.FormatInt(id, 10))
}

// BeginEpoch increments the epoch recorded in the directory and returns the
// new one. A coordinator calls it once when it starts, before Latest;
// from then on checkpoints of older epochs can neither begin nor commit.
func (s *Store) BeginEpoch() (uint64, error) {
	unlock, err := s.lock()
	if err != nil {
		return 0, fmt.Errorf("begin epoch: %w", err)
	}
	defer unlock()
	cur, err := readEpoch(s.fs, s.epochPath())
	if err != nil {
		return 0, fmt.Errorf("begin epoch: %w", err)
	}
	if err := writeFileAtomic(s.fs, s.epochPath(), encodeEpoch(cur+1)); err != nil {
		return 0, fmt.Errorf("begin epoch: %w", err)
	}
	return cur + 1, nil
}

// Epoch returns the epoch recorded in the directory, 0 before the first
// BeginEpoch.
func (s *Store) Epoch() (uint64, error) {
	e, err := readEpoch(s.fs, s.epochPath())
	if err != nil {
		return 0, fmt.Errorf("read epoch: %w", err)
	}
	return e, nil
}

// NewCheckpoint starts checkpoint id for a coordinator of the given epoch.
// It fails with ErrStaleEpoch if a newer coordinator has begun, and with
// ErrCheckpointExists if the id has a directory already (see
// NextCheckpointID).
func (s *Store) NewCheckpoint(id int64, epoch uint64) (*PendingCheckpoint, error) {
	if id < 1 {
		return nil, fmt.Errorf("snapshot: checkpoint id %d, want at least 1", id)
	}
	if epoch < 1 {
		return nil, errors.New("snapshot: epoch 0: call BeginEpoch first")
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, fmt.Errorf("new checkpoint %d: %w", id, err)
	}
	defer unlock()
	if err := s.checkEpochLocked(epoch); err != nil {
		return nil, fmt.Errorf("new checkpoint %d: %w", id, err)
	}
	dir := s.CheckpointDir(id)
	if err := s.fs.Mkdir(dir); err != nil {
		if isExist(err) {
			return nil, fmt.Errorf("new checkpoint %d: %w", id, ErrCheckpointExists)
		}
		return nil, fmt.Errorf("new checkpoint %d: %w", id, err)
	}
	s.mu.Lock()
	s.mu.pending[id] = true
	s.mu.Unlock()
	p := &PendingCheckpoint{store: s, id: id, epoch: epoch, dir: dir}
	p.mu.files = make(map[string]bool)
	return p, nil
}

// NextCheckpointID returns one more than the largest checkpoint id with a
// directory, complete or not (1 for an empty store). A coordinator that
// restored from a savepoint should also stay above the savepoint's id.
func (s *Store) NextCheckpointID() (int64, error) {
	ids, err := s.CheckpointIDs()
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 1, nil
	}
	return ids[0] + 1, nil
}

// CheckpointIDs returns the ids of all checkpoint directories, complete or
// not, newest first.
func (s *Store) CheckpointIDs() ([]int64, error) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var ids []int64
	for _, name := range names {
		if id, ok := parseCheckpointName(name); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids, nil
}

// lock takes the directory lock; the returned function releases it.
func (s *Store) lock() (unlock func() error, err error) {
	s.dirMu.Lock()
	c, err := s.fs.Lock(filepath.Join(s.dir, lockFileName))
	if err != nil {
		s.dirMu.Unlock()
		return nil, err
	}
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			err = c.Close()
			s.dirMu.Unlock()
		})
		return err
	}, nil
}

// checkEpochLocked fails unless epoch is the directory's current epoch.
// The caller holds the directory lock.
func (s *Store) checkEpochLocked(epoch uint64) error {
	cur, err := readEpoch(s.fs, s.epochPath())
	if err != nil {
		return err
	}
	if epoch < cur {
		return fmt.Errorf("%w: coordinator epoch %d, directory epoch %d", ErrStaleEpoch, epoch, cur)
	}
	if epoch > cur {
		return fmt.Errorf("snapshot: epoch %d was never begun (directory epoch %d)", epoch, cur)
	}
	return nil
}

func (s *Store) epochPath() string { return filepath.Join(s.dir, epochFileName) }

func (s *Store) isPending(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.pending[id]
}

func (s *Store) isPinned(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.pinned[id] > 0
}

func (s *Store) pin(id int64) (unpin func()) {
	s.mu.Lock()
	s.mu.pinned[id]++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.mu.pinned[id]--; s.mu.pinned[id] == 0 {
			delete(s.mu.pinned, id)
		}
		s.mu.Unlock()
	}
}

func (s *Store) finishPending(id int64) {
	s.mu.Lock()
	delete(s.mu.pending, id)
	s.mu.Unlock()
}

// parseCheckpointName parses "chk-<id>" with a canonical decimal id >= 1.
func parseCheckpointName(name string) (int64, bool) {
	digits, ok := strings.CutPrefix(name, checkpointPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != digits {
		return 0, false
	}
	return id, true
}
