package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/stream"
)

const usage = `usage:
  strom jobs                  list the jobs this binary knows
  strom run JOB [flags]       run a job on an in-process cluster (strom run JOB -h for its flags)
  strom bench SUITE [flags]   run a benchmark suite (strom bench -h)
`

// Main runs the command line args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
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
	case "bench":
		err = runBench(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "strom: unknown command %q\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "strom: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "strom: %v\n", err)
		return 1
	}
}

// usageError is a mistake on the command line.
type usageError struct{ error }

func runJob(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{fmt.Errorf("run: name a job (strom jobs lists them)")}
	}
	job, ok := stream.Lookup(args[0])
	if !ok {
		return usageError{fmt.Errorf("run: no job named %q (strom jobs lists them)", args[0])}
	}
	fs := flag.NewFlagSet("strom run "+job.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := map[string]*string{}
	for _, p := range append(append([]stream.Param{}, stream.RuntimeParams...), job.Params...) {
		values[p.Name] = fs.String(p.Name, p.Default, p.Usage)
	}
	duration := fs.Duration("duration", 0, "stop the job after this long (0: run until its input ends)")
	progress := fs.Duration("progress", time.Second, "interval of the progress line on stderr (0: none)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("run %s: unexpected argument %q", job.Name, fs.Arg(0))}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)}
	}
	if *duration < 0 {
		return usageError{fmt.Errorf("--duration %v: must not be negative", *duration)}
	}
	jobArgs := stream.Args{}
	fs.Visit(func(f *flag.Flag) {
		if v, ok := values[f.Name]; ok {
			jobArgs[f.Name] = *v
		}
	})
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	metrics := &actors.Metrics{}
	env, err := stream.NewJobEnvironment(job, jobArgs, stream.WithLogger(logger), stream.WithMetrics(metrics))
	if err != nil {
		return usageError{err}
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
	fmt.Fprintf(stderr, "%s: %d records from sources in %v (%s/s)\n", job.Name, s.SourceRecords, wall.Round(time.Millisecond), human(float64(s.SourceRecords)/wall.Seconds()))
	if errors.Is(err, actors.ErrCancelled) && ctx.Err() != nil {
		// Stopped by --duration or a signal: a normal end for a stream.
		return nil
	}
	return err
}
