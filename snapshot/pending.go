package snapshot

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
)

// PendingCheckpoint is a checkpoint being written: subtasks write their
// state files into it (Create), then the coordinator commits it with the
// manifest or aborts it.
//
// Create is safe for concurrent use; each subtask gets its own file and
// StateWriter. Commit and Abort may be called once, by the coordinator;
// after a failed Commit the coordinator calls Abort.
type PendingCheckpoint struct {
	store *Store
	id    int64
	epoch uint64
	dir   string

	mu struct {
		sync.Mutex
		files     map[string]bool
		committed bool
		aborted   bool
	}
}

// ID returns the checkpoint id.
func (p *PendingCheckpoint) ID() int64 { return p.id }

// Epoch returns the coordinator epoch the checkpoint belongs to.
func (p *PendingCheckpoint) Epoch() uint64 { return p.epoch }

// Dir returns the checkpoint directory.
func (p *PendingCheckpoint) Dir() string { return p.dir }

// Create starts the state file of subtask of operator uid, which owns
// keyGroups. The file is named StateFileName(uid, subtask); a second file
// for the same subtask fails with ErrDuplicateFile.
func (p *PendingCheckpoint) Create(uid string, subtask int, keyGroups KeyGroupRange) (*StateWriter, error) {
	if uid == "" || subtask < 0 {
		return nil, fmt.Errorf("snapshot: state file for operator %q subtask %d", uid, subtask)
	}
	name := StateFileName(uid, subtask)
	p.mu.Lock()
	switch {
	case p.mu.committed || p.mu.aborted:
		p.mu.Unlock()
		return nil, fmt.Errorf("create state file in checkpoint %d: %w", p.id, ErrFinished)
	case p.mu.files[name]:
		p.mu.Unlock()
		return nil, fmt.Errorf("create state file of %q subtask %d in checkpoint %d: %w", uid, subtask, p.id, ErrDuplicateFile)
	}
	p.mu.files[name] = true
	p.mu.Unlock()
	w, err := NewStateWriter(p.store.fs, filepath.Join(p.dir, name), keyGroups)
	if err != nil {
		p.mu.Lock()
		delete(p.mu.files, name)
		p.mu.Unlock()
		return nil, err
	}
	return w, nil
}

// Commit completes the checkpoint with manifest m, which names the state
// files by the handles their writers returned. It fills in m's checkpoint
// id and epoch if they are zero (and refuses different ones), checks that
// every named file is present and matches its handle, syncs the directory,
// and then, holding the directory lock, checks that the epoch is still
// current (else ErrStaleEpoch) and writes the manifest crash-safely. The
// rename of the manifest is the commit point.
func (p *PendingCheckpoint) Commit(m *Manifest) error {
	p.mu.Lock()
	if p.mu.committed || p.mu.aborted {
		p.mu.Unlock()
		return fmt.Errorf("commit checkpoint %d: %w", p.id, ErrFinished)
	}
	p.mu.committed = true // refuses Create from now on; reset on failure
	p.mu.Unlock()
	err := p.commit(m)
	if err != nil {
		p.mu.Lock()
		p.mu.committed = false
		p.mu.Unlock()
		return fmt.Errorf("commit checkpoint %d: %w", p.id, err)
	}
	p.store.finishPending(p.id)
	return nil
}

func (p *PendingCheckpoint) commit(m *Manifest) error {
	if m.CheckpointID == 0 {
		m.CheckpointID = p.id
	}
	if m.Epoch == 0 {
		m.Epoch = p.epoch
	}
	if m.CheckpointID != p.id || m.Epoch != p.epoch {
		return fmt.Errorf("%w: manifest of checkpoint %d epoch %d", ErrInvalidManifest, m.CheckpointID, m.Epoch)
	}
	data, err := m.Encode()
	if err != nil {
		return err
	}
	m.Dir = p.dir
	if err := checkFiles(p.store.fs, m, false); err != nil {
		return err
	}
	if err := p.store.fs.SyncDir(p.dir); err != nil {
		return fmt.Errorf("sync checkpoint directory: %w", err)
	}
	unlock, err := p.store.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := p.store.checkEpochLocked(p.epoch); err != nil {
		return err
	}
	if err := writeFileAtomic(p.store.fs, filepath.Join(p.dir, manifestFileName), data); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	// The checkpoint directory was created by NewCheckpoint; make its
	// entry durable too.
	if err := p.store.fs.SyncDir(p.store.dir); err != nil {
		return fmt.Errorf("sync store directory: %w", err)
	}
	return nil
}

// Abort discards the checkpoint and its files. Writers still open fail when
// they close. Abort after a successful Commit fails with ErrFinished; a
// second Abort does nothing.
func (p *PendingCheckpoint) Abort() error {
	p.mu.Lock()
	if p.mu.aborted {
		p.mu.Unlock()
		return nil
	}
	if p.mu.committed {
		p.mu.Unlock()
		return fmt.Errorf("abort checkpoint %d: %w", p.id, ErrFinished)
	}
	p.mu.aborted = true
	p.mu.Unlock()
	defer p.store.finishPending(p.id)
	if err := p.store.removeCheckpointDir(p.dir); err != nil {
		return fmt.Errorf("abort checkpoint %d: %w", p.id, err)
	}
	return nil
}

// StateFileName returns the name of the state file of subtask of operator
// uid: "op-<uid>-<subtask>.state", with the bytes of uid other than ASCII
// letters, digits, '-', '_' and '.' written as %XX. A UID whose escaped form
// exceeds 150 bytes is cut to 120 and followed by '~' and a hash of the
// whole UID.
func StateFileName(uid string, subtask int) string {
	var b strings.Builder
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	esc := b.String()
	if len(esc) > 150 {
		var h [8]byte
		sum := xxhash.Sum64String(uid)
		for i := range h {
			h[i] = byte(sum >> (56 - 8*i))
		}
		esc = esc[:120] + "~" + hex.EncodeToString(h[:])
	}
	return "op-" + esc + "-" + strconv.Itoa(subtask) + ".state"
}
