package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/stromhq/strom/stream/cli"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/stromhq/strom/bench"
)

const benchUsage = `usage: strom bench SUITE [flags]

suites:
  micro    chained map/filter pipeline and keyed shuffle against hand-written
           loops (strom bench micro -h for its flags)
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return cli.UsageError{Err: fmt.Errorf("bench micro: unexpected argument %q", fs.Arg(0))}
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
		Progress: func(r bench.Result) {
			fmt.Fprintf(stderr, "  %-14s strom %s/s  baseline %s/s  ratio %.3f\n", r.Name(), cli.FormatRate(r.Strom.RecordsPerSec), cli.FormatRate(r.Baseline.RecordsPerSec), r.Ratio)
		},
	})
	if err != nil {
		return err
	}
	if *asJSON {
		rep := microReport{
			Suite: "micro", Date: time.Now().UTC().Format(time.RFC3339),
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
	return printMicro(stdout, results)
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
