package nexmark

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/stream"
)

// buildJob adds query q over events [0, events) of the default generator
// to env, as the runner does.
func buildJob(env *stream.Environment, q Query, events int64, out *Results) {
	var opts []stream.SourceOption[Event]
	if q.EventTime {
		opts = append(opts, stream.WithWatermarks(stream.ForBoundedOutOfOrderness[Event](WatermarkLag)))
	}
	q.Build(stream.FromSource(env, "nexmark", Sources(GeneratorConfig{Seed: DefaultSeed}, events), true, opts...), out)
}

// TestQueriesResumeFromSavepoint stops each stateful query's job at p=2
// (but q12, whose rows depend on processing time)
// with a savepoint about a third of the way in and runs it again from that
// savepoint: the digest at the end is that of an uninterrupted run, so the
// state of every operator, the sources' positions and the sink's digest so
// far are all in the savepoint, each exactly once.
func TestQueriesResumeFromSavepoint(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, c := range []struct {
		query  string
		events int64
	}{{"q3", 5_000_000}, {"q4", 1_000_000}, {"q5", 600_000}, {"q7", 400_000}, {"q8", 1_000_000},
		{"q9", 400_000}, {"q11", 300_000}, {"q15", 1_000_000}, {"q16", 250_000}, {"q17", 600_000},
		{"q18", 400_000}, {"q19", 400_000}, {"q20", 300_000}} {
		t.Run(c.query, func(t *testing.T) {
			q, _ := Lookup(c.query)
			want, err := Run(context.Background(), Config{Query: c.query, Events: c.events, Generator: GeneratorConfig{Seed: DefaultSeed}})
			if err != nil {
				t.Fatal(err)
			}

			dir := t.TempDir()
			metrics := &actors.Metrics{}
			var first Results
			env := stream.NewEnvironment(stream.WithParallelism(2), stream.WithLogger(stream.DiscardLogger()), stream.WithMetrics(metrics),
				stream.WithCheckpointing(dir, 20*time.Millisecond), stream.WithSavepointOnStop("sp"))
			buildJob(env, q, c.events, &first)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			go func() {
				for metrics.Snapshot().SourceRecords < c.events/3 && ctx.Err() == nil {
					time.Sleep(100 * time.Microsecond)
				}
				cancel()
			}()
			if err := env.Execute(ctx); err == nil {
				t.Skip("the first run finished before it was stopped")
			}
			stoppedAt := metrics.Snapshot().SourceRecords
			sp := filepath.Join(dir, "savepoints", "sp")
			if _, err := os.Stat(filepath.Join(sp, "_manifest")); err != nil {
				t.Fatalf("no savepoint after the stop: %v", err)
			}

			var second Results
			env = stream.NewEnvironment(stream.WithParallelism(2), stream.WithLogger(stream.DiscardLogger()), stream.WithRestore(sp))
			buildJob(env, q, c.events, &second)
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := second.Digest(); got.String() != want.ResultDigest || got.Count != want.Results {
				t.Errorf("resumed: %d rows, digest %s; uninterrupted: %d rows, digest %s", got.Count, got, want.Results, want.ResultDigest)
			}
			t.Logf("stopped after %d of %d events; %d rows", stoppedAt, c.events, want.Results)
		})
	}
}
