// Package cli is the command line of a Strom binary. The strom command is
// built on it, and so can any binary that compiles its own jobs in:
//
//	func main() {
//		stream.Register(&stream.Job{Name: "myjob", Build: buildMyJob})
//		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
//	}
//
// gives `mybinary jobs` and `mybinary run myjob [flags]` with the runtime
// flags every job takes (--parallelism, --mode, --buffer-timeout, ...),
// the job's own parameters as flags, a progress line and clean stops on
// --duration or Ctrl-C. Extra subcommands are passed as Commands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/stream"
)

// prog is the name the binary was run by, for messages and help.
var prog = progName()

func progName() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return "strom"
	}
	return filepath.Base(os.Args[0])
}

// Command is an extra subcommand of a binary.
type Command struct {
	Name string
	// Usage is the one-line synopsis shown in the help, e.g.
	// "bench SUITE [flags]   run a benchmark suite".
	Usage string
	// Run runs the subcommand with the arguments after its name. A
	// UsageError exits with code 2, any other error with code 1.
	Run func(args []string, stdout, stderr io.Writer) error
}

func usage(extra []Command) string {
	var b strings.Builder
	b.WriteString("usage:\n")
	fmt.Fprintf(&b, "  %s jobs                  list the jobs this binary knows\n", prog)
	fmt.Fprintf(&b, "  %[1]s run JOB [flags]       run a job on an in-process cluster (%[1]s run JOB -h for its flags)\n", prog)
	fmt.Fprintf(&b, "  %[1]s savepoint CMD ...     create, list, delete or inspect savepoints (%[1]s savepoint -h)\n", prog)
	for _, c := range extra {
		fmt.Fprintf(&b, "  %s %s\n", prog, c.Usage)
	}
	return b.String()
}

// Main runs the command line args and returns the exit code: 0 on
// success (also when --duration or a signal stopped an unbounded job), 1
// when the job failed, 2 for a mistake on the command line.
func Main(args []string, stdout, stderr io.Writer, extra ...Command) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage(extra))
		return 2
	}
	var err error
	switch args[0] {
	case "jobs":
		for _, j := range stream.Jobs() {
			fmt.Fprintf(stdout, "%-12s %s\n", j.Name, j.Description)
		}
		return 0
	case "run":
		err = runJob(args[1:], stdout, stderr)
	case "savepoint":
		err = runSavepoint(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage(extra))
		return 0
	default:
		found := false
		for _, c := range extra {
			if c.Name == args[0] {
				err, found = c.Run(args[1:], stdout, stderr), true
			}
		}
		if !found {
			fmt.Fprintf(stderr, "%s: unknown command %q\n%s", prog, args[0], usage(extra))
			return 2
		}
	}
	var ue UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
}

// UsageError is a mistake on the command line; Main exits with code 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }

func (e UsageError) Unwrap() error { return e.Err }

func runJob(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return UsageError{fmt.Errorf("run: name a job (strom jobs lists them)")}
	}
	job, ok := stream.Lookup(args[0])
	if !ok {
		return UsageError{fmt.Errorf("run: no job named %q (strom jobs lists them)", args[0])}
	}
	fs := flag.NewFlagSet(prog+" run "+job.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := map[string]*string{}
	for _, p := range append(append([]stream.Param{}, stream.RuntimeParams...), job.Params...) {
		values[p.Name] = fs.String(p.Name, p.Default, p.Usage)
	}
	duration := fs.Duration("duration", 0, "stop the job after this long (0: run until its input ends)")
	progress := fs.Duration("progress", time.Second, "interval of the progress line on stderr (0: none)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	savepointOnStop := fs.String("savepoint-on-stop", "", "when --duration or a signal stops the job, take a final checkpoint and keep it as this savepoint (needs --checkpoint-dir)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	if fs.NArg() > 0 {
		return UsageError{fmt.Errorf("run %s: unexpected argument %q", job.Name, fs.Arg(0))}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return UsageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)}
	}
	if *duration < 0 {
		return UsageError{fmt.Errorf("--duration %v: must not be negative", *duration)}
	}
	jobArgs := stream.Args{}
	fs.Visit(func(f *flag.Flag) {
		if v, ok := values[f.Name]; ok {
			jobArgs[f.Name] = *v
		}
	})
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	metrics := &actors.Metrics{}
	opts := []stream.Option{stream.WithLogger(logger), stream.WithMetrics(metrics)}
	if *savepointOnStop != "" {
		if jobArgs["checkpoint-dir"] == "" {
			return UsageError{Err: fmt.Errorf("--savepoint-on-stop: needs --checkpoint-dir")}
		}
		opts = append(opts, stream.WithSavepointOnStop(*savepointOnStop))
	}
	env, err := stream.NewJobEnvironment(job, jobArgs, opts...)
	if err != nil {
		return UsageError{err}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	start := time.Now()
	var rep *progressReporter
	if *progress > 0 {
		rep = startProgress(stderr, metrics, *progress)
	}
	err = env.Execute(ctx)
	if rep != nil {
		rep.stop()
	}
	s := metrics.Snapshot()
	wall := time.Since(start)
	fmt.Fprintf(stderr, "%s: %d records from sources in %v (%s/s)\n", job.Name, s.SourceRecords, wall.Round(time.Millisecond), FormatRate(float64(s.SourceRecords)/wall.Seconds()))
	counters := metrics.Counters()
	names := make([]string, 0, len(counters))
	for name := range counters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if counters[name] != 0 {
			fmt.Fprintf(stderr, "%s: %s: %d\n", job.Name, name, counters[name])
		}
	}
	if errors.Is(err, actors.ErrCancelled) && ctx.Err() != nil {
		// Stopped by --duration or a signal: a normal end for a stream.
		return nil
	}
	return err
}
