// Command strom runs Strom jobs compiled into this binary.
//
//	strom jobs                    list the jobs this binary knows
//	strom run JOB [flags]         run a job on an in-process cluster
//	strom bench SUITE [flags]     run a benchmark suite
//
// The binary is a thin shell: it parses flags into library configurations
// and calls the library. Users build the same CLI around their own jobs by
// registering them with stream.Register and calling cli.Main.
package main

import (
	"os"

	_ "github.com/stromhq/strom/examples/jobs"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
