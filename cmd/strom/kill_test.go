package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildStrom builds the binary once per test run.
func buildStrom(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "strom")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func sortedLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	slices.Sort(lines)
	return lines
}

// TestKilledRunsMatchAnUninterruptedRun kills `strom run` with SIGKILL at
// random moments of a checkpointed run, with either state backend, runs the same command again each
// time, and requires the final output to equal that of a run that was never
// killed: exactly once, end to end.
func TestKilledRunsMatchAnUninterruptedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildStrom(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	var input bytes.Buffer
	for i := 0; i < 16000; i++ {
		ts := i*7 + r.IntN(60)
		if i%501 == 500 {
			ts -= 3000 // late
		}
		fmt.Fprintf(&input, "%d,k%d,%d\n", ts, r.IntN(40), r.IntN(100))
		if i%1999 == 1000 {
			input.WriteString("malformed\n")
		}
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, input.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs := []struct {
		name string
		args []string
		outs []string
	}{
		{"windowagg", []string{"--window", "sliding:500ms,100ms", "--out-of-orderness", "100ms", "--parallelism", "1"}, []string{"", ".late", ".rejected"}},
		{"wordcount", []string{"--parallelism", "2"}, []string{""}},
	}
	for _, c := range []struct {
		job     int
		backend string
	}{{0, "heap"}, {1, "heap"}, {0, "pebble"}, {1, "pebble"}} {
		job := jobs[c.job]
		t.Run(job.name+"/"+c.backend, func(t *testing.T) {
			run := func(out string, extra ...string) *exec.Cmd {
				args := append([]string{"run", job.name, "--input", in, "--output", out, "--progress", "0"}, job.args...)
				cmd := exec.Command(bin, append(args, extra...)...)
				cmd.Stderr = &bytes.Buffer{}
				return cmd
			}
			ref := filepath.Join(t.TempDir(), "ref")
			if cmd := run(ref); cmd.Run() != nil {
				t.Fatalf("uninterrupted run: %s", cmd.Stderr)
			}

			out := filepath.Join(t.TempDir(), "out")
			ckpt := filepath.Join(t.TempDir(), "ckpt")
			local := t.TempDir()
			extra := []string{"--checkpoint-dir", ckpt, "--checkpoint-interval", "50ms", "--rate", "8000", "--log-level", "info",
				"--state-backend", c.backend, "--local-state-dir", local}
			var logs []*bytes.Buffer
			kills, finished := 0, false
			for !finished {
				cmd := run(out, extra...)
				logs = append(logs, cmd.Stderr.(*bytes.Buffer))
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				wait := time.Duration(150+r.IntN(450)) * time.Millisecond
				if kills == 4 {
					wait = time.Minute // the last run goes to the end
				}
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("run %d: %v\n%s", len(logs), err, cmd.Stderr)
					}
					finished = true
				case <-time.After(wait):
					_ = cmd.Process.Signal(syscall.SIGKILL)
					<-done
					kills++
				}
			}
			if kills == 0 {
				t.Fatal("the job finished before it could be killed; slow it down")
			}
			resumed := 0
			for _, l := range logs[1:] {
				if strings.Contains(l.String(), "resuming from checkpoint") {
					resumed++
				}
			}
			if resumed == 0 {
				t.Fatalf("no run after a kill resumed from a checkpoint")
			}
			for _, suffix := range job.outs {
				got, want := sortedLines(t, out+suffix), sortedLines(t, ref+suffix)
				if !slices.Equal(got, want) {
					t.Fatalf("after %d kills, output%s has %d lines, the uninterrupted run %d", kills, suffix, len(got), len(want))
				}
			}
			// The killed runs' working directories were swept by the next
			// run, and the last one removed its own.
			if left, err := os.ReadDir(local); err != nil || len(left) != 0 {
				t.Fatalf("local state directory holds %d entries after the last run (%v)", len(left), err)
			}
			t.Logf("%d kills, %d resumed runs, output identical", kills, resumed)
		})
	}
}
