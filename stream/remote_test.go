// protoactor's remote races with itself under the race detector (Start
// sets gRPC's global logger while gRPC goroutines read it; Shutdown stops
// endpoints unsynchronised), so these tests run without -race only; the
// runtime's own code is race-tested by the local tests.

//go:build !race

package stream_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stromhq/strom/actors"
	"github.com/stromhq/strom/connectors/gen"
	"github.com/stromhq/strom/internal/testutil"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// remoteOut collects the output of remoteJob runs by run name; both actor
// systems of the test live in this process.
var remoteOut = struct {
	sync.Mutex
	byRun map[string]*testutil.Collector[stream.KV[int64, int64]]
}{byRun: map[string]*testutil.Collector[stream.KV[int64, int64]]{}}

func remoteCollector(run string) *testutil.Collector[stream.KV[int64, int64]] {
	remoteOut.Lock()
	defer remoteOut.Unlock()
	c := remoteOut.byRun[run]
	if c == nil {
		c = &testutil.Collector[stream.KV[int64, int64]]{}
		remoteOut.byRun[run] = c
	}
	return c
}

var remoteJob = &stream.Job{
	Name:   "test-remote-sum",
	Params: []stream.Param{{Name: "run"}, {Name: "records", Default: "50000"}},
	Build: func(env *stream.Environment, args stream.Args) error {
		n, err := args.Int("records")
		if err != nil {
			return err
		}
		out := remoteCollector(args.String("run"))
		s := stream.FromSource(env, "seq", func() operators.Source[int64] { return gen.Sequence(gen.Count(int64(n))) }, true)
		sq := stream.Map(s, "square-mod", func(v int64) int64 { return v * v % 1000 })
		sums := stream.Sum(stream.KeyBy(sq, func(v int64) int64 { return v % 17 }), "sum", func(v int64) int64 { return v })
		stream.SinkTo(sums, "collect", out.Sink).SetParallelism(1)
		return nil
	},
}

func init() { stream.Register(remoteJob) }

// testNode is an actor system with remoting on loopback and a node agent.
type testNode struct {
	sys     *actor.ActorSystem
	remote  *remote.Remote
	metrics *actors.Metrics
	agent   *actors.NodeAgent
}

// nodes are the two nodes all remote tests share. protoactor's remote sets
// gRPC's global logger in Start, which races with gRPC servers already
// running; starting every node once, before any traffic, avoids that.
var nodes struct {
	once sync.Once
	a, b *testNode
	err  error
}

func startNode() (*testNode, error) {
	n := &testNode{sys: stream.NewActorSystem(stream.DiscardLogger()), metrics: &actors.Metrics{}}
	// Port 0: the remote advertises the port the kernel picked.
	n.remote = remote.NewRemote(n.sys, remote.Configure("127.0.0.1", 0))
	n.remote.Start()
	cfg := actors.DefaultConfig()
	cfg.Logger = stream.DiscardLogger()
	cfg.Metrics = n.metrics
	agent, err := actors.NewNodeAgent(stream.Resolver(stream.WithLogger(stream.DiscardLogger())), cfg)
	if err != nil {
		return nil, err
	}
	if _, err := agent.Spawn(n.sys); err != nil {
		return nil, err
	}
	n.agent = agent
	return n, nil
}

func (n *testNode) stop() {
	n.remote.Shutdown(true)
	n.sys.Shutdown()
}

// twoNodes returns the shared nodes, started on first use and stopped by
// TestMain.
func twoNodes(t *testing.T) (*testNode, *testNode) {
	t.Helper()
	nodes.once.Do(func() {
		if nodes.a, nodes.err = startNode(); nodes.err == nil {
			nodes.b, nodes.err = startNode()
		}
	})
	if nodes.err != nil {
		t.Fatal(nodes.err)
	}
	return nodes.a, nodes.b
}

func stopNodes() {
	if nodes.a != nil {
		nodes.a.stop()
	}
	if nodes.b != nil {
		nodes.b.stop()
	}
}

// remoteRuns numbers the runs of remote jobs, so that each has its own
// collector even when a test runs several times (go test -count).
var remoteRuns atomic.Int64

func TestJobAcrossTwoActorSystems(t *testing.T) {
	const n = 50_000
	want := map[int64]int64{}
	for i := int64(0); i < n; i++ {
		v := i * i % 1000
		want[v%17] += v
	}
	na, nb := twoNodes(t)
	a, b, bm := na.sys, nb.sys, nb.metrics
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			run := fmt.Sprintf("%s-%d-%d", t.Name(), p, remoteRuns.Add(1))
			args := stream.Args{"run": run, "records": fmt.Sprint(n), "parallelism": fmt.Sprint(p), "mode": "batch"}
			env, err := stream.NewJobEnvironment(remoteJob, args, stream.WithLogger(stream.DiscardLogger()))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dep := actors.Deployment{
				JobName: remoteJob.Name, JobArgs: args,
				Agents: []*actor.PID{actors.AgentPID(a.Address()), actors.AgentPID(b.Address())},
			}
			if err := env.ExecuteOn(ctx, a, dep); err != nil {
				t.Fatal(err)
			}
			if bm.Snapshot().RemoteBatches == 0 {
				t.Fatal("no batch crossed from one actor system to the other")
			}
			got := map[int64]int64{}
			var keys []int64
			for _, kv := range remoteCollector(run).Values() {
				if _, dup := got[kv.Key]; dup {
					t.Fatalf("key %d emitted twice in batch mode", kv.Key)
				}
				got[kv.Key] = kv.Value
				keys = append(keys, kv.Key)
			}
			slices.Sort(keys)
			if len(got) != len(want) {
				t.Fatalf("got %d keys %v, want %d", len(got), keys, len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("key %d: sum %d, want %d", k, got[k], v)
				}
			}
		})
	}
}

func TestRemoteDeployOfUnknownJobFails(t *testing.T) {
	na, nb := twoNodes(t)
	a, b := na.sys, nb.sys
	env := stream.NewEnvironment(stream.WithLogger(stream.DiscardLogger()))
	s := stream.FromSource(env, "seq", seq(10), true)
	stream.SinkTo(s, "drop", func() operators.Sink[int64] { return &testutil.NullSink[int64]{} })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := env.ExecuteOn(ctx, a, actors.Deployment{JobName: "no-such-job", Agents: []*actor.PID{actors.AgentPID(b.Address())}})
	if err == nil {
		t.Fatal("deploying an unknown job succeeded")
	}
	t.Log(err)
}

// cleanupNodes stops the shared nodes after the package's tests.
func cleanupNodes() { stopNodes() }
