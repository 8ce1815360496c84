package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestStopWithSavepointAndRestore stops a rate-limited windowagg run with a
// savepoint, lists and inspects it, restores from it to the end, and
// requires the output of a run that never stopped.
func TestStopWithSavepointAndRestore(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, "%d,k%d,%d\n", i*3, i%7, i%11)
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	job := []string{"run", "windowagg", "--input", in, "--window", "tumbling:1s", "--progress", "0"}
	ref := filepath.Join(dir, "ref.csv")
	if code, _, stderr := runCLI(append(job, "--output", ref)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}

	out, ckpt := filepath.Join(dir, "out.csv"), filepath.Join(dir, "ckpt")
	code, _, stderr := runCLI(append(job, "--output", out, "--checkpoint-dir", ckpt, "--checkpoint-interval", "50ms",
		"--rate", "3000", "--duration", "400ms", "--savepoint-on-stop", "sp")...)
	if code != 0 {
		t.Fatalf("stopped run: exit %d: %s", code, stderr)
	}
	code, list, stderr := runCLI("savepoint", "list", "--checkpoint-dir", ckpt)
	if code != 0 || !strings.Contains(list, "sp\t") || !strings.Contains(list, "job windowagg") {
		t.Fatalf("savepoint list: exit %d: %q %s", code, list, stderr)
	}
	sp := filepath.Join(ckpt, "savepoints", "sp")
	code, inspect, stderr := runCLI("savepoint", "inspect", sp)
	if code != 0 || !strings.Contains(inspect, "windowagg") || !strings.Contains(inspect, "aggregate") {
		t.Fatalf("savepoint inspect: exit %d: %q %s", code, inspect, stderr)
	}

	code, _, stderr = runCLI(append(job, "--output", out, "--restore", sp)...)
	if code != 0 {
		t.Fatalf("restored run: exit %d: %s", code, stderr)
	}
	// It resumed where the savepoint was taken: it read fewer lines.
	var n int
	at := strings.Index(stderr, "windowagg: ")
	if at < 0 {
		t.Fatalf("no summary line: %s", stderr)
	}
	if _, err := fmt.Sscanf(stderr[at:], "windowagg: %d records from sources", &n); err != nil || n <= 0 || n >= 3000 {
		t.Fatalf("the restored run read %d of 3000 lines (%v): %s", n, err, stderr)
	}
	if read(out) != read(ref) {
		t.Fatal("the run restored from the savepoint wrote other output than an uninterrupted run")
	}
	if code, _, stderr := runCLI("savepoint", "delete", "--checkpoint-dir", ckpt, "--name", "sp"); code != 0 {
		t.Fatalf("savepoint delete: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(sp); !os.IsNotExist(err) {
		t.Fatalf("savepoint still there after delete: %v", err)
	}
	for _, bad := range [][]string{{"savepoint"}, {"savepoint", "create"}, {"savepoint", "create", "--checkpoint-dir", ckpt}, {"savepoint", "frob"}, {"savepoint", "inspect"}} {
		if code, _, _ := runCLI(bad...); code != 2 {
			t.Errorf("strom %v: exit %d, want 2", bad, code)
		}
	}
}
