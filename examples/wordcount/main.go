// Command wordcount counts the words of a text file with the Strom library
// and prints one `WORD COUNT` line per distinct word, in no particular order.
//
//	go run ./examples/wordcount FILE
//
// Words are maximal runs of Unicode letters and digits, lowercased (see
// jobs.SplitWords). The same job, registered by name, is `strom run
// wordcount`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/stromhq/strom/connectors/file"
	"github.com/stromhq/strom/connectors/stdout"
	"github.com/stromhq/strom/examples/jobs"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wordcount FILE")
		os.Exit(2)
	}
	// Ctrl-C cancels the job; Execute then returns an error.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) error {
	env := stream.NewEnvironment(stream.WithParallelism(2), stream.WithMode(stream.Batch))
	env.SetName("wordcount")
	lines := stream.FromSource(env, "read", func() operators.Source[string] { return file.Lines(path) }, true)
	words := stream.FlatMap(lines, "split", jobs.SplitWords)
	counts := stream.Sum(stream.KeyBy(words, func(w string) string { return w }), "count",
		func(string) int64 { return 1 })
	stream.SinkTo(counts, "print", func() operators.Sink[stream.KV[string, int64]] {
		return stdout.NewSink(jobs.FormatCount)
	})
	return env.Execute(ctx)
}
