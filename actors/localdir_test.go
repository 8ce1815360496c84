package actors

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stromhq/strom/snapshot"
)

// TestLocalDirsOfStoppedProcessesAreSwept checks that creating a working
// directory removes the ones nobody holds (left by a killed process) and
// keeps those in use.
func TestLocalDirsOfStoppedProcessesAreSwept(t *testing.T) {
	if !snapshot.LocksAcrossProcesses {
		t.Skip("no flock on this platform")
	}
	base := t.TempDir()
	inUse, err := newLocalDir(base, "strom-state-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer inUse.remove()
	// A directory left by a process that died: its lock file exists, and
	// nobody holds it.
	stale := filepath.Join(base, "strom-state-dead")
	if err := os.MkdirAll(filepath.Join(stale, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, localDirLock), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(base, "unrelated")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}

	d, err := newLocalDir(base, "strom-state-", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the stale directory is still there: %v", err)
	}
	for _, dir := range []string{inUse.path, other, d.path} {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s was removed: %v", dir, err)
		}
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.path); !os.IsNotExist(err) {
		t.Fatalf("remove left %s: %v", d.path, err)
	}
}
