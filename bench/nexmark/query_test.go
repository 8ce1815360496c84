package nexmark

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/stream/cli"
)

// agreeEvents is the number of events of TestQueriesAgreeWithBaseline per
// query: enough for several windows (10 s of event time is 100,000
// events) where a query has windows, few elsewhere.
var agreeEvents = map[string]int64{"q4": 60_000, "q5": 150_000, "q7": 150_000, "q8": 150_000,
	"q9": 60_000, "q11": 250_000, "q18": 60_000, "q19": 60_000, "q20": 60_000}

// TestQueriesAgreeWithBaseline checks, for every query, that the Strom job
// at parallelism 1 and 2 and the baseline produce the same rows. Queries
// on processing time (q12) are checked by TestProcessingTimeQueries.
func TestQueriesAgreeWithBaseline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range Queries() {
		if q.ProcessingTime {
			continue
		}
		t.Run(q.Name, func(t *testing.T) {
			events := int64(20_000)
			if n, ok := agreeEvents[q.Name]; ok {
				events = n
			}
			base, err := Run(ctx, Config{Query: q.Name, Events: events, Baseline: true})
			if err != nil {
				t.Fatal(err)
			}
			if base.Results == 0 || base.Parallelism != 1 || base.Engine != "baseline" {
				t.Fatalf("baseline: %+v", base)
			}
			for _, p := range []int{1, 2} {
				res, err := Run(ctx, Config{Query: q.Name, Events: events, Parallelism: p})
				if err != nil {
					t.Fatal(err)
				}
				if res.ResultDigest != base.ResultDigest || res.Results != base.Results {
					t.Errorf("p=%d: %d rows, digest %s; baseline: %d rows, digest %s", p, res.Results, res.ResultDigest, base.Results, base.ResultDigest)
				}
			}
			t.Logf("%d events: %d rows, digest %s", events, base.Results, base.ResultDigest)
		})
	}
}

func TestExpectedRowCounts(t *testing.T) {
	const events = 5000
	evs, _ := generate(t, GeneratorConfig{Seed: DefaultSeed}, events, 0, 1)
	var bids, q2 int64
	for _, e := range evs {
		if e.Kind == KindBid {
			bids++
			if e.Bid.Auction%Q2Modulus == 0 {
				q2++
			}
		}
	}
	for name, want := range map[string]int64{"q0": bids, "q1": bids, "q2": q2} {
		q, _ := Lookup(name)
		d, err := RunBaseline(context.Background(), q, GeneratorConfig{Seed: DefaultSeed}, events, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Count != want {
			t.Errorf("%s: %d rows, want %d", name, d.Count, want)
		}
	}
}

func TestToEuroCents(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{{0, 0}, {100, 91}, {1000, 908}, {125, 114}, {1_000_000, 908_000}, {100_000_000, 90_800_000}} {
		if got := ToEuroCents(c.in); got != c.want {
			t.Errorf("ToEuroCents(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestRegistry(t *testing.T) {
	names := QueryNames()
	if !slices.Equal(names[:3], []string{"q0", "q1", "q2"}) {
		t.Fatalf("queries %v", names)
	}
	if _, ok := Lookup("q99"); ok {
		t.Fatal("q99 found")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering q0 twice did not panic")
		}
	}()
	q, _ := Lookup("q0")
	Register(q)
}

func TestDigestIsOrderIndependent(t *testing.T) {
	rows := []AuctionPrice{{1, 2}, {2, 1}, {3, 3}}
	var h Hasher
	var a, b, c Digest
	for _, r := range rows {
		Add(&h, &a, r)
	}
	for _, r := range slices.Backward(rows) {
		Add(&h, &b, r)
	}
	for _, r := range []AuctionPrice{{1, 2}, {1, 2}, {3, 3}} {
		Add(&h, &c, r)
	}
	if a != b {
		t.Fatal("digest depends on order")
	}
	if a.Sum == c.Sum {
		t.Fatal("digest does not tell rows apart")
	}
	var m Digest
	m.Merge(a)
	m.Merge(c)
	if m.Count != 6 || m.Sum != a.Sum+c.Sum || fmt.Sprint(len(m.String())) != "16" {
		t.Fatalf("merge: %+v %q", m, m.String())
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []Config{
		{Query: "q0", Events: 0},
		{Query: "nope", Events: 10},
		{Query: "q0", Events: 10, Parallelism: -1},
		{Query: "q0", Events: 10, CheckpointInterval: -time.Second},
		{Query: "q0", Events: 10, StateBackend: "rocksdb"},
		{Query: "q0", Events: 10, Generator: GeneratorConfig{Rate: -5}},
	} {
		if _, err := Run(ctx, c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	var ue cli.UsageError
	if _, err := Run(ctx, Config{Query: "q2", Events: 10, StateBackend: "rocksdb"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "rocksdb") {
		t.Fatalf("rocksdb: %v, want a usage error naming it", err)
	}
	// Keyed state on the Pebble backend gives the rows of the heap's.
	heap, err := Run(ctx, Config{Query: "q3", Events: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	pebble, err := Run(ctx, Config{Query: "q3", Events: 100_000, Parallelism: 2, CheckpointInterval: time.Second, StateBackend: BackendPebble})
	if err != nil || pebble.ResultDigest != heap.ResultDigest || pebble.StateBackend != BackendPebble {
		t.Fatalf("pebble: %+v, %v; heap digest %s", pebble, err, heap.ResultDigest)
	}
	res, err := Run(ctx, Config{Query: "q2", Events: 100, CheckpointInterval: time.Hour})
	if err != nil || res.Checkpoints != 0 || res.CheckpointIntervalSeconds != 3600 || res.StateBackend != BackendHeap {
		t.Fatalf("%+v, %v", res, err)
	}
}

// TestCheckpointsComplete runs stateful queries with checkpoints every few
// milliseconds: checkpoints complete, the digest is that of a run without
// them, and the checkpoint directory is removed.
func TestCheckpointsComplete(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx := context.Background()
	for _, c := range []struct {
		query  string
		events int64
	}{{"q3", 1_000_000}, {"q4", 300_000}, {"q5", 300_000}, {"q7", 150_000}, {"q8", 600_000}} {
		want, err := Run(ctx, Config{Query: c.query, Events: c.events})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Run(ctx, Config{Query: c.query, Events: c.events, Parallelism: 2, CheckpointInterval: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if got.Checkpoints < 1 || got.ResultDigest != want.ResultDigest || got.Results != want.Results {
			t.Errorf("%s: %d checkpoints, %d rows, digest %s; without checkpoints %d rows, digest %s",
				c.query, got.Checkpoints, got.Results, got.ResultDigest, want.Results, want.ResultDigest)
		}
		t.Logf("%s: %d checkpoints in %.3fs", c.query, got.Checkpoints, got.WallSeconds)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}

func TestRunReportsProgressAndStopsOnCancel(t *testing.T) {
	var calls int
	_, err := Run(context.Background(), Config{Query: "q0", Events: 1000, Baseline: true,
		Progress: func(Progress) { calls++ }, ProgressInterval: time.Hour})
	if err != nil || calls != 0 {
		t.Fatalf("err %v, %d progress calls within an hour's interval", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, base := range []bool{false, true} {
		if _, err := Run(ctx, Config{Query: "q0", Events: 1 << 40, Baseline: base}); err == nil {
			t.Errorf("baseline=%v: cancelled run returned no error", base)
		}
	}
}
