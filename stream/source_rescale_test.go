package stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/connectors/file"
	"github.com/stromhq/strom/operators"
)

// TestFileSourceRescalesFromSavepoint reads a file with the line source at
// parallelism 2 into the exactly-once file sink at parallelism 1, stops the
// job with a savepoint midway and restores it with the source at another
// parallelism (again stopped midway, for the chained case). The sink keeps
// parallelism 1, so its in-progress file resumes across the runs; once the
// last run finished, the output must hold every input line exactly once.
func TestFileSourceRescalesFromSavepoint(t *testing.T) {
	var sb strings.Builder
	for i := range 4000 {
		switch {
		case i%97 == 0:
			sb.WriteString("\n") // empty lines
		case i%101 == 0:
			sb.WriteString("the same line\r\n") // repeated, CRLF
		default:
			fmt.Fprintf(&sb, "line %d %s\n", i, strings.Repeat("x", i%37))
		}
	}
	sb.WriteString("last line without a newline")
	content := sb.String()
	want := splitLines(content)

	for _, chain := range [][]int{{2, 3}, {2, 1}, {2, 3, 1}} {
		t.Run(fmt.Sprint(chain), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.txt")
			out := filepath.Join(dir, "out.txt")
			if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			restore := ""
			for run, p := range chain {
				last := run == len(chain)-1
				opts := []Option{WithParallelism(p), WithLogger(DiscardLogger()), WithBatchSize(32)}
				if restore != "" {
					opts = append(opts, WithRestore(restore))
				}
				var lineOpts []file.LineOption
				if !last {
					// Slow enough that checkpoints complete while the
					// file is read.
					ckDir := filepath.Join(dir, fmt.Sprintf("checkpoints-%d", run))
					opts = append(opts, WithCheckpointing(ckDir, 20*time.Millisecond), WithSavepointOnStop("sp"))
					lineOpts = append(lineOpts, file.Rate(4000))
					restore = filepath.Join(ckDir, "savepoints", "sp")
				}
				env := NewEnvironment(opts...)
				lines := FromSource(env, "read", func() operators.Source[string] { return file.Lines(in, lineOpts...) }, true).
					SetParallelism(p).UID("read")
				SinkTo(lines.Rebalance(), "write", func() operators.Sink[string] { return file.NewLineSink(out) }).
					SetParallelism(1).UID("write")
				if last {
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					if err := env.Execute(ctx); err != nil {
						t.Fatalf("run %d at parallelism %d: %v", run, p, err)
					}
					break
				}
				err := runUntilCheckpoints(env, 2)
				if err == nil {
					t.Fatalf("run %d finished before it was stopped; slow it down", run)
				}
				if _, statErr := os.Stat(filepath.Join(restore, "_manifest")); statErr != nil {
					t.Fatalf("run %d: no savepoint after stop: %v (job: %v)", run, statErr, err)
				}
				partial, readErr := os.ReadFile(out + ".inprogress")
				if readErr != nil {
					t.Fatalf("run %d left no output in progress: %v", run, readErr)
				}
				if n := strings.Count(string(partial), "\n"); n == 0 || n >= len(want) {
					t.Fatalf("run %d wrote %d of %d lines before it was stopped; want it stopped midway", run, n, len(want))
				}
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := splitLines(string(data))
			if len(got) != len(want) {
				t.Fatalf("output has %d lines, want %d", len(got), len(want))
			}
			slices.Sort(got)
			sorted := slices.Clone(want)
			slices.Sort(sorted)
			for i := range got {
				if got[i] != sorted[i] {
					t.Fatalf("the output's lines differ from the input's: %q where %q (sorted)", got[i], sorted[i])
				}
			}
		})
	}
}

// splitLines splits text into lines without their "\n" or "\r\n", the
// way the line source reads them.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
