package stream_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNode starts an actor system with remoting on loopback and a node
// agent in it.
func startNode(t *testing.T) (*actor.ActorSystem, *actors.Metrics) {
	t.Helper()
	sys := stream.NewActorSystem(stream.DiscardLogger())
	r := remote.NewRemote(sys, remote.Configure("127.0.0.1", freePort(t)))
	r.Start()
	cfg := actors.DefaultConfig()
	cfg.Logger = stream.DiscardLogger()
	cfg.Metrics = &actors.Metrics{}
	agent, err := actors.NewNodeAgent(stream.Resolver(stream.WithLogger(stream.DiscardLogger())), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Spawn(sys); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Shutdown(true)
		sys.Shutdown()
	})
	return sys, cfg.Metrics
}

func TestJobAcrossTwoActorSystems(t *testing.T) {
	const n = 50_000
	want := map[int64]int64{}
	for i := int64(0); i < n; i++ {
		v := i * i % 1000
		want[v%17] += v
	}
	a, _ := startNode(t)
	b, bm := startNode(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			run := fmt.Sprintf("%s-%d", t.Name(), p)
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
	a, _ := startNode(t)
	b, _ := startNode(t)
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
