package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/stromhq/strom/bench"
	"github.com/stromhq/strom/bench/nexmark"
	"github.com/stromhq/strom/stream/cli"
)

const benchUsage = `usage: strom bench SUITE [flags]

suites:
  micro    chained map/filter pipeline and keyed shuffle against hand-written
           loops (strom bench micro -h for its flags)
  nexmark  one Nexmark query over generated auction events, on Strom or as
           its hand-written baseline (strom bench nexmark -h for its flags)
  window   event-time sliding-window aggregation and tumbling-window join
           against hand-written loops (strom bench window -h for its flags)
`

// runBench runs `strom bench SUITE [flags]`.
func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return cli.UsageError{Err: errors.New("bench: name a suite")}
	}
	switch args[0] {
	case "micro":
		return benchMicro(args[1:], stdout, stderr)
	case "nexmark":
		return benchNexmark(args[1:], stdout, stderr)
	case "window":
		return benchWindow(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, benchUsage)
		return flag.ErrHelp
	}
	if strings.HasPrefix(args[0], "-") {
		return cli.UsageError{Err: fmt.Errorf("bench: name a suite before flags, not %q (strom bench -h lists suites)", args[0])}
	}
	return cli.UsageError{Err: fmt.Errorf("bench: no suite named %q (strom bench -h lists suites)", args[0])}
}

// microReport is the JSON object `strom bench micro --json` prints.
type microReport struct {
	Suite      string         `json:"suite"`
	Date       string         `json:"date"`
	GoVersion  string         `json:"go_version"`
	GOOS       string         `json:"goos"`
	GOARCH     string         `json:"goarch"`
	NumCPU     int            `json:"num_cpu"`
	GOMAXPROCS int            `json:"gomaxprocs"`
	Results    []bench.Result `json:"results"`
}

func benchMicro(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("strom bench micro", flag.ContinueOnError)
	fs.SetOutput(stderr)
	records := fs.Int64("records", bench.DefaultRecords, "input records per run of every workload")
	repeat := fs.Int("repeat", bench.DefaultRepeat, "runs of each side; the median is reported")
	par := fs.Int("parallelism", bench.DefaultParallelism, "parallelism of the parallel variants (every workload also runs at 1)")
	keys := fs.Int64("keys", bench.DefaultKeys, "distinct keys of the shuffle")
	batch := fs.Int("batch-size", 0, "records per batch (0: the runtime's default)")
	asJSON := fs.Bool("json", false, "print one JSON object with every result instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: strom bench micro [flags]\n\nRuns every workload at parallelism 1 and at --parallelism against a\nhand-written single-goroutine loop, and reports medians.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseBenchFlags(fs, "micro", args); err != nil {
		return err
	}
	switch {
	case *records < 1:
		return cli.UsageError{Err: fmt.Errorf("--records %d: must be at least 1", *records)}
	case *repeat < 1:
		return cli.UsageError{Err: fmt.Errorf("--repeat %d: must be at least 1", *repeat)}
	case *par < 1:
		return cli.UsageError{Err: fmt.Errorf("--parallelism %d: must be at least 1", *par)}
	case *keys < 1:
		return cli.UsageError{Err: fmt.Errorf("--keys %d: must be at least 1", *keys)}
	case *batch < 0:
		return cli.UsageError{Err: fmt.Errorf("--batch-size %d: must not be negative", *batch)}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "micro: %d records, %d runs each, %s, GOMAXPROCS %d\n", *records, *repeat, runtime.Version(), runtime.GOMAXPROCS(0))
	results, err := bench.RunMicro(ctx, bench.MicroConfig{
		Records: *records, Repeat: *repeat, Parallelism: *par, Keys: *keys, BatchSize: *batch,
		Progress: progress(stderr),
	})
	if err != nil {
		return err
	}
	return reportResults(stdout, "micro", results, *asJSON)
}

// reportResults prints a suite's results as a table, or as one JSON object.
func reportResults(stdout io.Writer, suite string, results []bench.Result, asJSON bool) error {
	if !asJSON {
		return printMicro(stdout, results)
	}
	rep := microReport{
		Suite: suite, Date: time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Results: results,
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// progress prints one finished workload on stderr.
func progress(stderr io.Writer) func(bench.Result) {
	return func(r bench.Result) {
		fmt.Fprintf(stderr, "  %-14s strom %s/s  baseline %s/s  ratio %.3f\n", r.Name(), cli.FormatRate(r.Strom.RecordsPerSec), cli.FormatRate(r.Baseline.RecordsPerSec), r.Ratio)
	}
}

// printMicro prints the results as a table.
func printMicro(w io.Writer, results []bench.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\trecords\tstrom rec/s\tbaseline rec/s\tratio\tstrom rec/CPU-s\tbaseline rec/CPU-s\tCPU ratio\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.3f\t%s\t%s\t%.3f\t\n", r.Name(), r.Records,
			cli.FormatRate(r.Strom.RecordsPerSec), cli.FormatRate(r.Baseline.RecordsPerSec), r.Ratio,
			cli.FormatRate(r.Strom.RecordsPerCPUSec), cli.FormatRate(r.Baseline.RecordsPerCPUSec), r.CPURatio)
	}
	return tw.Flush()
}

// benchNexmark runs `strom bench nexmark`: one query, --repeat times, on
// Strom or as its baseline. With --json the last line of stdout is the
// JSON form of nexmark.Summary: nexmark.Result's keys, with the medians
// of the runs' figures, plus repeat and, for more than one run, runs.
func benchNexmark(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("strom bench nexmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	query := fs.String("query", "", "the query to run: "+strings.Join(nexmark.QueryNames(), ", "))
	events := fs.Int64("events", nexmark.DefaultEvents, "events to generate")
	par := fs.Int("parallelism", 1, "parallelism of every operator of the job (the baseline runs on one goroutine)")
	interval := fs.Duration("checkpoint-interval", 0, "interval of the Strom job's exactly-once checkpoints, 0 for none")
	backend := fs.String("state-backend", nexmark.BackendHeap, "state backend of keyed state: heap or pebble")
	baseline := fs.Bool("baseline", false, "run the hand-written single-goroutine implementation of the query instead")
	seed := fs.Uint64("seed", nexmark.DefaultSeed, "seed of the event generator")
	rate := fs.Int64("rate", nexmark.DefaultRate, "event-time rate of the generator in events per second (events are generated as fast as possible)")
	batch := fs.Int("batch-size", 0, "records per batch (0: the runtime's default)")
	progress := fs.Duration("progress", time.Second, "interval of the progress line on stderr (0: none)")
	repeat := fs.Int("repeat", 1, "runs of the query; the summary reports each run and the medians")
	asJSON := fs.Bool("json", false, "print the result as one JSON object, the last line of stdout")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: strom bench nexmark --query QUERY [flags]\n\n"+
			"Runs one Nexmark query over --events generated events into a blackhole sink\n"+
			"and reports events per second and per CPU-second, and a digest of the results\n"+
			"that is the same at any parallelism and for the baseline.\n\nqueries:\n")
		for _, q := range nexmark.Queries() {
			fmt.Fprintf(fs.Output(), "  %-4s %s\n", q.Name, q.Description)
		}
		fmt.Fprintf(fs.Output(), "\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseBenchFlags(fs, "nexmark", args); err != nil {
		return err
	}
	if *query == "" {
		return cli.UsageError{Err: fmt.Errorf("bench nexmark: name a query with --query (%s)", strings.Join(nexmark.QueryNames(), ", "))}
	}
	if _, ok := nexmark.Lookup(*query); !ok {
		return cli.UsageError{Err: fmt.Errorf("--query %q: no such query (have %s)", *query, strings.Join(nexmark.QueryNames(), ", "))}
	}
	switch {
	case *events < 1:
		return cli.UsageError{Err: fmt.Errorf("--events %d: must be at least 1", *events)}
	case *par < 1:
		return cli.UsageError{Err: fmt.Errorf("--parallelism %d: must be at least 1", *par)}
	case *interval < 0:
		return cli.UsageError{Err: fmt.Errorf("--checkpoint-interval %v: must not be negative", *interval)}
	case *backend != nexmark.BackendHeap && *backend != nexmark.BackendPebble:
		return cli.UsageError{Err: fmt.Errorf("--state-backend %q: want heap or pebble", *backend)}
	case *rate < 1:
		return cli.UsageError{Err: fmt.Errorf("--rate %d: must be at least 1", *rate)}
	case *batch < 0:
		return cli.UsageError{Err: fmt.Errorf("--batch-size %d: must not be negative", *batch)}
	case *progress < 0:
		return cli.UsageError{Err: fmt.Errorf("--progress %v: must not be negative", *progress)}
	case *repeat < 1:
		return cli.UsageError{Err: fmt.Errorf("--repeat %d: must be at least 1", *repeat)}
	}

	cfg := nexmark.Config{
		Query: *query, Events: *events, Parallelism: *par, Baseline: *baseline,
		CheckpointInterval: *interval, StateBackend: *backend, BatchSize: *batch,
		Generator: nexmark.GeneratorConfig{Seed: *seed, Rate: *rate},
	}
	if *progress > 0 {
		cfg.ProgressInterval = *progress
		cfg.Progress = func(p nexmark.Progress) {
			fmt.Fprintf(stderr, "progress: %6.1fs  %s events/s  %d of %d events (%.0f%%)\n",
				p.Elapsed.Seconds(), cli.FormatRate(p.EventsPerSecond), p.Events, *events, 100*float64(p.Events)/float64(*events))
		}
	}
	engine := fmt.Sprintf("strom, parallelism %d", *par)
	if *baseline {
		engine = "baseline, one goroutine"
	}
	runs := ""
	if *repeat > 1 {
		runs = fmt.Sprintf(", %d runs", *repeat)
	}
	fmt.Fprintf(stderr, "nexmark %s (%s): %d events%s, seed %d, %s, GOMAXPROCS %d\n", *query, engine, *events, runs, *seed, runtime.Version(), runtime.GOMAXPROCS(0))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	summary := stdout
	if *asJSON {
		summary = stderr
	}
	var results []nexmark.Result
	for i := range *repeat {
		res, err := nexmark.Run(ctx, cfg)
		if err != nil {
			return err
		}
		if *repeat > 1 {
			fmt.Fprintf(summary, "run %d of %d: %.3fs, %s events/s, CPU %.3fs, %s events/CPU-second, %d rows, digest %s, %d checkpoints\n",
				i+1, *repeat, res.WallSeconds, cli.FormatRate(res.EventsPerSecond), res.CPUSeconds,
				cli.FormatRate(res.EventsPerCPUSecond), res.Results, res.ResultDigest, res.Checkpoints)
		}
		results = append(results, res)
	}
	sum, err := nexmark.Summarize(results)
	if err != nil {
		return err
	}
	printNexmark(summary, sum)
	if *asJSON {
		b, err := json.Marshal(sum)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	return nil
}

// printNexmark prints the summary of the runs: the figures of the only
// run, or the medians of several.
func printNexmark(w io.Writer, s nexmark.Summary) {
	r := s.Result
	engine := fmt.Sprintf("strom, parallelism %d", r.Parallelism)
	if r.Engine == "baseline" {
		engine = "baseline, one goroutine"
	}
	cores := 0.0
	if r.WallSeconds > 0 {
		cores = r.CPUSeconds / r.WallSeconds
	}
	if s.Repeat > 1 {
		fmt.Fprintf(w, "nexmark %s (%s): %d events, median of %d runs: %.3fs\n", r.Query, engine, r.Events, s.Repeat, r.WallSeconds)
	} else {
		fmt.Fprintf(w, "nexmark %s (%s): %d events in %.3fs\n", r.Query, engine, r.Events, r.WallSeconds)
	}
	fmt.Fprintf(w, "  events/s             %s\n", cli.FormatRate(r.EventsPerSecond))
	fmt.Fprintf(w, "  CPU                  %.3fs (%.2f cores)\n", r.CPUSeconds, cores)
	fmt.Fprintf(w, "  events/CPU-second    %s\n", cli.FormatRate(r.EventsPerCPUSecond))
	if q, ok := nexmark.Lookup(r.Query); ok && q.ProcessingTime {
		fmt.Fprintf(w, "  results              %d rows, digest %s (depends on processing time)\n", r.Results, r.ResultDigest)
	} else {
		fmt.Fprintf(w, "  results              %d rows, digest %s\n", r.Results, r.ResultDigest)
	}
	if r.CheckpointIntervalSeconds > 0 {
		fmt.Fprintf(w, "  checkpoints          %d completed (every %v)\n",
			r.Checkpoints, time.Duration(r.CheckpointIntervalSeconds*float64(time.Second)))
	} else {
		fmt.Fprintf(w, "  checkpoints          %d\n", r.Checkpoints)
	}
	if q, ok := nexmark.Lookup(r.Query); ok && !q.Stateful {
		fmt.Fprintf(w, "  state backend        %s (unused: %s keeps no state)\n", r.StateBackend, r.Query)
	} else {
		fmt.Fprintf(w, "  state backend        %s\n", r.StateBackend)
	}
}

// benchWindow runs `strom bench window`: the event-time workloads, printed
// like the micro suite.
func benchWindow(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("strom bench window", flag.ContinueOnError)
	fs.SetOutput(stderr)
	records := fs.Int64("records", bench.DefaultWindowRecords, "input records per run of every workload (the join reads half of them per side)")
	repeat := fs.Int("repeat", bench.DefaultRepeat, "runs of each side; the median is reported")
	par := fs.Int("parallelism", bench.DefaultParallelism, "parallelism of the parallel variants (every workload also runs at 1)")
	keys := fs.Int64("keys", bench.DefaultWindowKeys, "distinct keys of both workloads")
	ooo := fs.Duration("out-of-order", bench.DefaultOutOfOrder, "out-of-orderness of the sliding workload's timestamps and bound of its watermarks (0: in order)")
	batch := fs.Int("batch-size", 0, "records per batch (0: the runtime's default)")
	asJSON := fs.Bool("json", false, "print one JSON object with every result instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: strom bench window [flags]\n\n"+
			"Runs a keyed sliding-window count and sum (10s windows every 2s) and a\n"+
			"tumbling-window join (1s) of two keyed streams, at parallelism 1 and at\n"+
			"--parallelism, against hand-written single-goroutine implementations,\n"+
			"and reports medians. Event time advances 1ms every %d records.\n\nflags:\n", bench.EventsPerMilli)
		fs.PrintDefaults()
	}
	if err := parseBenchFlags(fs, "window", args); err != nil {
		return err
	}
	switch {
	case *records < 2:
		return cli.UsageError{Err: fmt.Errorf("--records %d: must be at least 2", *records)}
	case *repeat < 1:
		return cli.UsageError{Err: fmt.Errorf("--repeat %d: must be at least 1", *repeat)}
	case *par < 1:
		return cli.UsageError{Err: fmt.Errorf("--parallelism %d: must be at least 1", *par)}
	case *keys < 1:
		return cli.UsageError{Err: fmt.Errorf("--keys %d: must be at least 1", *keys)}
	case *ooo < 0 || *ooo%time.Millisecond != 0:
		return cli.UsageError{Err: fmt.Errorf("--out-of-order %v: must be a whole number of milliseconds, not negative", *ooo)}
	case *batch < 0:
		return cli.UsageError{Err: fmt.Errorf("--batch-size %d: must not be negative", *batch)}
	}
	outOfOrder := *ooo
	if outOfOrder == 0 {
		outOfOrder = -1 // in order: WindowConfig reads 0 as the default
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "window: %d records, %d runs each, %d keys, out of order by up to %v, %s, GOMAXPROCS %d\n", *records, *repeat, *keys, *ooo, runtime.Version(), runtime.GOMAXPROCS(0))
	results, err := bench.RunWindow(ctx, bench.WindowConfig{
		Records: *records, Repeat: *repeat, Parallelism: *par, Keys: *keys, OutOfOrder: outOfOrder, BatchSize: *batch,
		Progress: progress(stderr),
	})
	if err != nil {
		return err
	}
	return reportResults(stdout, "window", results, *asJSON)
}

// parseBenchFlags parses the flags of `strom bench name`: help is
// returned as it is, and a bad flag or an extra argument is a usage error
// naming it.
func parseBenchFlags(fs *flag.FlagSet, name string, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return cli.UsageError{Err: fmt.Errorf("bench %s: unexpected argument %q", name, fs.Arg(0))}
	}
	return nil
}
