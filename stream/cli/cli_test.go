package cli_test

import (
	"bytes"

	_ "github.com/stromhq/strom/examples/jobs"
	"github.com/stromhq/strom/stream/cli"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cli.Main(args, &o, &e)
	return code, o.String(), e.String()
}

func TestRunWordCountContract(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("b a, B!\nc a\n\nA"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"1", "2", "4"} {
		out := filepath.Join(dir, "out-"+p+".txt")
		code, _, stderr := runCLI("run", "wordcount", "--input", in, "--output", out, "--parallelism", p, "--progress", "0")
		if code != 0 {
			t.Fatalf("p=%s: exit %d: %s", p, code, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		sort.Strings(lines)
		if got, want := strings.Join(lines, "|"), "a 3|b 2|c 1"; got != want {
			t.Fatalf("p=%s: output %q, want %q", p, got, want)
		}
	}
}

func TestBadCommandLinesAreRefusedByName(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"launch"}, 2, `unknown command "launch"`},
		{[]string{"run"}, 2, "name a job"},
		{[]string{"run", "nosuchjob"}, 2, `no job named "nosuchjob"`},
		{[]string{"run", "wordcount", "--bogus", "1"}, 2, "-bogus"},
		{[]string{"run", "wordcount", "--input", "/dev/null", "--output", "/tmp/x", "--parallelism", "-3"}, 2, "--parallelism -3"},
		{[]string{"run", "wordcount", "--input", "/dev/null", "--output", "/tmp/x", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"run", "wordcount", "--input", "/dev/null", "--output", "/tmp/x", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"run", "demo", "--rate", "-1"}, 2, "--rate"},
		{[]string{"run", "wordcount", "--input", "/dev/null", "--output", "/tmp/x", "--state-backend", "rocksdb"}, 2, `--state-backend "rocksdb"`},
		{[]string{"run", "wordcount", "--input", "/dev/null", "--output", "/tmp/x", "--state-backend", "pebble", "--local-state-dir", "/dev/null/x"}, 2, "--local-state-dir /dev/null/x"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("strom %v: exit %d, stderr %q; want exit %d naming %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestJobsListsRegisteredJobs(t *testing.T) {
	code, out, _ := runCLI("jobs")
	if code != 0 || !strings.Contains(out, "wordcount") || !strings.Contains(out, "demo") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestDemoRunsAndStopsByItself(t *testing.T) {
	code, out, stderr := runCLI("run", "demo", "--parallelism", "2", "--duration", "1500ms", "--progress", "500ms", "--every", "20000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "progress:") || !strings.Contains(stderr, "events/s") || !strings.Contains(stderr, "backpressure") {
		t.Fatalf("no progress line: %q", stderr)
	}
	_ = out // live results depend on timing; the progress line is the contract here
}

func TestRunWindowAggContract(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("1000,a,1\n1500,b,2\n2500,a,3\nbogus\n12000,a,4\n11000,b,5\n500,a,100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	code, _, stderr := runCLI("run", "windowagg", "--input", in, "--output", out, "--window", "tumbling:10s", "--progress", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		sort.Strings(lines)
		return strings.Join(lines, "|")
	}
	if got, want := read(out), "0,10000,a,2,4|0,10000,b,1,2|10000,20000,a,1,4|10000,20000,b,1,5"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if got := read(out + ".late"); got != "500,a,100" {
		t.Errorf("late %q", got)
	}
	if got := read(out + ".rejected"); got != "bogus" {
		t.Errorf("rejected %q", got)
	}
	if !strings.Contains(stderr, "rejected records: 1") || !strings.Contains(stderr, "late records: 1") {
		t.Errorf("counters not reported: %q", stderr)
	}
}
