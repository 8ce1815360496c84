package jobs

import (
	"fmt"
	"os"

	"github.com/stromhq/strom/connectors/file"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// fileParams are the arguments of the jobs that read a text file and write
// a result file.
var fileParams = []stream.Param{
	{Name: "input", Usage: "file to read (required)"},
	{Name: "rate", Default: "0", Usage: "records per second read from the input by all source subtasks together (0: as fast as possible)"},
}

// readInput checks --input, --output and --rate and adds the source that
// reads the input's lines; it returns the lines and the output path.
func readInput(env *stream.Environment, args stream.Args) (*stream.DataStream[string], string, error) {
	in, out := args.String("input"), args.String("output")
	if in == "" {
		return nil, "", fmt.Errorf("--input is required")
	}
	if out == "" {
		return nil, "", fmt.Errorf("--output is required")
	}
	if _, err := os.Stat(in); err != nil {
		return nil, "", fmt.Errorf("--input: %w", err)
	}
	rate, err := args.Float("rate")
	if err != nil {
		return nil, "", err
	}
	if rate < 0 {
		return nil, "", fmt.Errorf("--rate %v: must not be negative", rate)
	}
	var opts []file.LineOption
	if rate > 0 {
		opts = append(opts, file.Rate(rate))
	}
	lines := stream.FromSource(env, "read", func() operators.Source[string] { return file.Lines(in, opts...) }, true)
	return lines, out, nil
}
