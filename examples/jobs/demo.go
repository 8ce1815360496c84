package jobs

import (
	"fmt"
	"strconv"

	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/connectors/stdout"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

func init() {
	stream.Register(&stream.Job{
		Name:        "demo",
		Description: "live word counts over a generated stream of words (keyed, multi-stage)",
		Params: []stream.Param{
			{Name: "rate", Default: "500000", Usage: "words per second from all generator subtasks together (0: as fast as possible)"},
			{Name: "every", Default: "25000", Usage: "print a word's count each time it grows by this much"},
			{Name: "seed", Default: "42", Usage: "seed of the word generator"},
		},
		Build: buildDemo,
	})
}

// milestone is a word whose running count crossed a multiple of every.
type milestone struct {
	Word  string
	Count int64
}

func buildDemo(env *stream.Environment, args stream.Args) error {
	rate, err := args.Float("rate")
	if err != nil {
		return err
	}
	every, err := args.Int("every")
	if err != nil {
		return err
	}
	seed, err := args.Int("seed")
	if err != nil {
		return err
	}
	if rate < 0 {
		return fmt.Errorf("--rate %v: must not be negative", rate)
	}
	if every < 1 {
		return fmt.Errorf("--every %d: must be at least 1", every)
	}
	words := stream.FromSource(env, "words", func() operators.Source[string] {
		var opts []gen.Option
		if rate > 0 {
			opts = append(opts, gen.Rate(rate))
		}
		return gen.New(gen.Words(uint64(seed)), opts...)
	}, false)
	long := stream.Filter(words, "long-words", func(w string) bool { return len(w) >= 4 })
	counts := stream.Sum(stream.KeyBy(long, identity[string]), "count", one[string])
	step := int64(every)
	hits := stream.Process(stream.KeyBy(counts, func(kv stream.KV[string, int64]) string { return kv.Key }), "milestones",
		stream.ProcessFunc[string, stream.KV[string, int64], milestone](func(_ *stream.KeyedContext[string], kv stream.KV[string, int64], out stream.Collector[milestone]) error {
			if kv.Value%step == 0 {
				out.Collect(milestone{Word: kv.Key, Count: kv.Value})
			}
			return nil
		}))
	stream.SinkTo(hits, "print", func() operators.Sink[milestone] {
		return stdout.NewSink(func(m milestone) string {
			return "word " + strconv.Quote(m.Word) + " reached " + strconv.FormatInt(m.Count, 10)
		})
	}).SetParallelism(1)
	return nil
}
