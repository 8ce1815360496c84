package stream

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/stromhq/strom/actors"
)

// Job is a job compiled into a binary and known by name, so that every node
// of a cluster can rebuild it from its name and arguments: no code is
// shipped.
type Job struct {
	Name        string
	Description string
	// Params are the job's own arguments, turned into command-line flags.
	Params []Param
	// Build adds the job's operators to env.
	Build func(env *Environment, args Args) error
}

// Param declares one argument of a job.
type Param struct {
	Name    string
	Default string
	Usage   string
}

// Args are a job's arguments by name.
type Args map[string]string

// String returns the argument, or "" when absent.
func (a Args) String(name string) string { return a[name] }

// Int parses an integer argument; absent is 0.
func (a Args) Int(name string) (int, error) {
	s, ok := a[name]
	if !ok || s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: not an integer", name, s)
	}
	return n, nil
}

// Float parses a floating-point argument; absent is 0.
func (a Args) Float(name string) (float64, error) {
	s, ok := a[name]
	if !ok || s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: not a number", name, s)
	}
	return f, nil
}

// Duration parses a duration argument in Go syntax; absent is 0.
func (a Args) Duration(name string) (time.Duration, error) {
	s, ok := a[name]
	if !ok || s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: not a duration", name, s)
	}
	return d, nil
}

// RuntimeParams are the arguments every job takes; they configure the
// environment.
var RuntimeParams = []Param{
	{Name: "parallelism", Default: "1", Usage: "default number of subtasks per operator"},
	{Name: "max-parallelism", Default: "128", Usage: "number of key groups"},
	{Name: "mode", Default: "auto", Usage: "streaming, batch, or auto (batch when every source is bounded)"},
	{Name: "buffer-timeout", Default: "5ms", Usage: "longest a record waits in a partly filled batch; 0 sends each record at once"},
	{Name: "batch-size", Default: "1024", Usage: "records per network batch"},
	{Name: "checkpoint-dir", Usage: "directory of the job's checkpoints; a job run again with the same directory resumes from its latest complete checkpoint"},
	{Name: "checkpoint-interval", Default: "1s", Usage: "time between checkpoints (with --checkpoint-dir)"},
	{Name: "state-backend", Default: "heap", Usage: "where keyed state lives: heap (Go memory, fastest) or pebble (an LSM store on local disk, for state larger than memory)"},
	{Name: "local-state-dir", Usage: "directory of the working Pebble instances of --state-backend pebble (default: the system temporary directory); discarded when the job stops"},
	{Name: "restore", Usage: "checkpoint or savepoint directory to start from"},
	{Name: "restart-strategy", Default: "auto", Usage: "none, fixed:ATTEMPTS,DELAY, exponential:INITIAL,MAX, failure-rate:MAX,INTERVAL,DELAY, or auto (fixed:10,100ms with checkpoints, else none)"},
}

var registry = struct {
	sync.Mutex
	jobs map[string]*Job
}{jobs: make(map[string]*Job)}

// Register makes a job known by its name. It panics on a duplicate name, a
// programming error found at start-up.
func Register(j *Job) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.jobs[j.Name]; dup {
		panic(fmt.Sprintf("stream: job %q registered twice", j.Name))
	}
	registry.jobs[j.Name] = j
}

// Lookup returns the job registered under name.
func Lookup(name string) (*Job, bool) {
	registry.Lock()
	defer registry.Unlock()
	j, ok := registry.jobs[name]
	return j, ok
}

// Jobs returns the registered jobs sorted by name.
func Jobs() []*Job {
	registry.Lock()
	defer registry.Unlock()
	js := make([]*Job, 0, len(registry.jobs))
	for _, j := range registry.jobs {
		js = append(js, j)
	}
	sort.Slice(js, func(a, b int) bool { return js[a].Name < js[b].Name })
	return js
}

// NewJobEnvironment builds the environment of a registered job from its
// arguments (the runtime parameters among them) and runs the job's Build.
func NewJobEnvironment(j *Job, args Args, opts ...Option) (*Environment, error) {
	full := Args{}
	for _, p := range RuntimeParams {
		full[p.Name] = p.Default
	}
	for _, p := range j.Params {
		full[p.Name] = p.Default
	}
	for k, v := range args {
		full[k] = v
	}
	par, err := full.Int("parallelism")
	if err != nil {
		return nil, err
	}
	maxPar, err := full.Int("max-parallelism")
	if err != nil {
		return nil, err
	}
	mode, err := ParseMode(full["mode"])
	if err != nil {
		return nil, fmt.Errorf("--mode: %w", err)
	}
	bt, err := full.Duration("buffer-timeout")
	if err != nil {
		return nil, err
	}
	bs, err := full.Int("batch-size")
	if err != nil {
		return nil, err
	}
	if par < 1 {
		return nil, fmt.Errorf("--parallelism %d: must be at least 1", par)
	}
	if maxPar < par {
		return nil, fmt.Errorf("--max-parallelism %d: must be at least the parallelism %d", maxPar, par)
	}
	if bs < 1 {
		return nil, fmt.Errorf("--batch-size %d: must be at least 1", bs)
	}
	if bt < 0 {
		return nil, fmt.Errorf("--buffer-timeout %v: must not be negative", bt)
	}
	base := []Option{WithParallelism(par), WithMaxParallelism(maxPar), WithMode(mode), WithBufferTimeout(bt), WithBatchSize(bs)}
	cp, err := checkpointOptions(full)
	if err != nil {
		return nil, err
	}
	base = append(base, cp...)
	env := NewEnvironment(append(base, opts...)...)
	env.SetName(j.Name)
	if err := j.Build(env, full); err != nil {
		return nil, fmt.Errorf("job %q: %w", j.Name, err)
	}
	return env, nil
}

// checkWritableDir creates dir if needed and checks that files can be
// created in it.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".strom-check-")
	if err != nil {
		return err
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}

// checkpointOptions turns the checkpoint flags into options.
func checkpointOptions(args Args) ([]Option, error) {
	var opts []Option
	switch b := args["state-backend"]; b {
	case "", actors.BackendHeap, actors.BackendPebble:
		if dir := args["local-state-dir"]; dir != "" && b == actors.BackendPebble {
			if err := checkWritableDir(dir); err != nil {
				return nil, fmt.Errorf("--local-state-dir %s: %w", dir, err)
			}
		}
		opts = append(opts, WithStateBackend(b, args["local-state-dir"]))
	default:
		return nil, fmt.Errorf("--state-backend %q: want heap or pebble", b)
	}
	dir := args["checkpoint-dir"]
	interval, err := args.Duration("checkpoint-interval")
	if err != nil {
		return nil, err
	}
	if interval <= 0 && dir != "" {
		return nil, fmt.Errorf("--checkpoint-interval %v: must be positive", interval)
	}
	if dir != "" {
		opts = append(opts, WithCheckpointing(dir, interval))
	}
	if p := args["restore"]; p != "" {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("--restore: %w", err)
		}
		opts = append(opts, WithRestore(p))
	}
	rs := args["restart-strategy"]
	if rs == "" || rs == "auto" {
		rs = "none"
		if dir != "" {
			rs = "fixed:10,100ms"
		}
	}
	strategy, err := actors.ParseRestartStrategy(rs)
	if err != nil {
		return nil, fmt.Errorf("--restart-strategy: %w", err)
	}
	return append(opts, WithRestartStrategy(strategy)), nil
}

// Resolver returns the resolver node agents use to rebuild registered jobs.
func Resolver(opts ...Option) actors.Resolver {
	return func(name string, args map[string]string) (*actors.Plan, error) {
		j, ok := Lookup(name)
		if !ok {
			return nil, fmt.Errorf("no job named %q in this binary", name)
		}
		env, err := NewJobEnvironment(j, args, opts...)
		if err != nil {
			return nil, err
		}
		return env.Plan()
	}
}
