// Command strom runs Strom jobs compiled into this binary.
//
//	strom jobs                    list the jobs this binary knows
//	strom run JOB [flags]         run a job on an in-process cluster
//	strom bench SUITE [flags]     run a benchmark suite
//
// The binary is a thin shell around package cli, which parses flags into
// library configurations and calls the library. Users build the same
// command line around their own jobs by registering them with
// stream.Register and calling cli.Main.
package main

import (
	"os"

	_ "github.com/stromhq/strom/examples/jobs"
	"github.com/stromhq/strom/stream/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr, cli.Command{
		Name:  "bench",
		Usage: "bench SUITE [flags]   run a benchmark suite (strom bench -h)",
		Run:   runBench,
	}))
}
