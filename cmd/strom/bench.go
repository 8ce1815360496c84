package main

import (
	"fmt"
	"io"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	return usageError{fmt.Errorf("bench: no suites yet")}
}
