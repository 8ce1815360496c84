// Package jobs holds the jobs compiled into the strom binary, registered by
// name with the stream package so that `strom run NAME` and every node of a
// cluster can build them.
package jobs

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/stromhq/strom/connectors/file"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

func init() {
	stream.Register(&stream.Job{
		Name:        "wordcount",
		Description: "count the words of a text file: one `WORD COUNT` line per distinct word",
		Params: slices.Concat(fileParams, []stream.Param{
			{Name: "output", Usage: "file to write (required)"},
		}),
		Build: buildWordCount,
	})
}

func buildWordCount(env *stream.Environment, args stream.Args) error {
	lines, out, err := readInput(env, args)
	if err != nil {
		return err
	}
	words := stream.FlatMap(lines, "split", SplitWords)
	counts := stream.Sum(stream.KeyBy(words, identity[string]), "count", one[string])
	stream.SinkTo(counts, "write", func() operators.Sink[stream.KV[string, int64]] {
		return file.NewSink(out, FormatCount)
	}).SetParallelism(1)
	return nil
}

// SplitWords emits the words of a line: maximal runs of Unicode letters and
// digits, lowercased.
func SplitWords(line string, out stream.Collector[string]) error {
	start := -1
	for i, r := range line {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out.Collect(strings.ToLower(line[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out.Collect(strings.ToLower(line[start:]))
	}
	return nil
}

// FormatCount formats a count as `WORD COUNT`.
func FormatCount(kv stream.KV[string, int64]) string {
	return kv.Key + " " + strconv.FormatInt(kv.Value, 10)
}

func identity[T any](v T) T { return v }

func one[T any](T) int64 { return 1 }
