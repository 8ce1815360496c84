package actors

import (
	"fmt"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/snapshot"
)

// Partitioning decides which downstream subtask receives a record.
type Partitioning int

const (
	// PartitionDefault is Forward when both ends have equal parallelism and
	// Rebalance otherwise, decided when the plan is built.
	PartitionDefault Partitioning = iota
	// Forward sends subtask i's records to subtask i of the consumer.
	Forward
	// Rebalance deals records round-robin over all consumer subtasks.
	Rebalance
	// Hash routes each record by the key group of its key.
	Hash
	// Broadcast sends every record to every consumer subtask.
	Broadcast
)

func (p Partitioning) String() string {
	switch p {
	case PartitionDefault:
		return "default"
	case Forward:
		return "forward"
	case Rebalance:
		return "rebalance"
	case Hash:
		return "hash"
	case Broadcast:
		return "broadcast"
	}
	return fmt.Sprintf("partitioning(%d)", int(p))
}

// JobGraph is the logical graph of a job: one vertex per operator, with its
// parallelism. The stream package builds it; Plan turns it into chains of
// subtasks. Vertices are kept in the order they were created, which is a
// topological order, so that every node rebuilding the same job from code
// gets the same IDs.
type JobGraph struct {
	Name           string
	Vertices       []*Vertex
	Edges          []*Edge
	MaxParallelism int
	// BatchMode makes keyed reductions emit only final results.
	BatchMode bool
}

// Vertex is one operator of the logical graph. Its typed parts are closures
// made by the stream package, so that the runtime handles records only as
// batches whose type it never names.
type Vertex struct {
	ID          int
	UID         string
	Name        string
	Parallelism int
	// DisableChaining keeps this vertex at the head of its own chain.
	DisableChaining bool
	Inputs          []*Edge
	Outputs         []*Edge

	// NewSource builds the source operator of a source vertex; out is the
	// operators.Input[T] of what follows it.
	NewSource func(out any) (operators.SourceTask, error)
	// NewOperator builds a non-source operator. outs holds the
	// operators.Input of each output: the main output first, then the side
	// outputs in order. It returns the operator's lifecycle and, per
	// logical input (gate), its operators.Input[IN].
	NewOperator func(outs []any) (op operators.Operator, inputs []any, err error)
	// Out describes the type of the records the vertex emits; SideOutputs
	// the types of its side outputs (output 1, 2, ...).
	Out         StreamType
	SideOutputs []StreamType
	// Bounded marks a source whose input ends.
	Bounded bool
}

// Edge connects a producer vertex to one logical input (Gate) of a consumer.
type Edge struct {
	ID     int
	Source *Vertex
	Target *Vertex
	Gate   int
	// Output is the producer's output the edge carries: 0 for the main
	// output, i for side output i.
	Output       int
	Partitioning Partitioning
	// KeyHash is the func(T) uint64 hashing a record's key on Hash edges.
	KeyHash any
}

// Type returns the type of the records e carries.
func (e *Edge) Type() StreamType { return e.Source.OutputType(e.Output) }

// OutputType returns the type of output i of v (0: main).
func (v *Vertex) OutputType(i int) StreamType {
	if i == 0 {
		return v.Out
	}
	return v.SideOutputs[i-1]
}

// AddVertex appends a vertex with the next ID.
func (g *JobGraph) AddVertex(v *Vertex) *Vertex {
	v.ID = len(g.Vertices)
	g.Vertices = append(g.Vertices, v)
	return v
}

// Connect adds an edge from output of src to gate of dst.
func (g *JobGraph) Connect(src *Vertex, output int, dst *Vertex, gate int, p Partitioning, keyHash any) *Edge {
	e := &Edge{ID: len(g.Edges), Source: src, Output: output, Target: dst, Gate: gate, Partitioning: p, KeyHash: keyHash}
	g.Edges = append(g.Edges, e)
	src.Outputs = append(src.Outputs, e)
	dst.Inputs = append(dst.Inputs, e)
	return e
}

// Validate checks the graph before it is planned.
func (g *JobGraph) Validate() error {
	if len(g.Vertices) == 0 {
		return fmt.Errorf("job %q has no operators", g.Name)
	}
	uids := make(map[string]string, len(g.Vertices))
	hasSink := false
	for _, v := range g.Vertices {
		if err := snapshot.ValidateParallelism(v.Parallelism, g.MaxParallelism); err != nil {
			return fmt.Errorf("operator %q: %w", v.Name, err)
		}
		if other, dup := uids[v.UID]; dup {
			return fmt.Errorf("operators %q and %q share the id %q", other, v.Name, v.UID)
		}
		uids[v.UID] = v.Name
		if v.NewSource == nil && len(v.Inputs) == 0 {
			return fmt.Errorf("operator %q has no input", v.Name)
		}
		if len(v.Outputs) == 0 {
			hasSink = true
		}
	}
	if !hasSink {
		return fmt.Errorf("job %q has no sink", g.Name)
	}
	for _, e := range g.Edges {
		if e.Partitioning == Forward && e.Source.Parallelism != e.Target.Parallelism {
			return fmt.Errorf("forward edge %q -> %q joins parallelism %d to %d", e.Source.Name, e.Target.Name, e.Source.Parallelism, e.Target.Parallelism)
		}
		if e.Output < 0 || e.Output > len(e.Source.SideOutputs) || e.Type() == nil {
			return fmt.Errorf("edge %q -> %q reads output %d that %q does not have", e.Source.Name, e.Target.Name, e.Output, e.Source.Name)
		}
		if e.Partitioning == Hash && e.KeyHash == nil {
			return fmt.Errorf("hash edge %q -> %q has no key", e.Source.Name, e.Target.Name)
		}
	}
	return nil
}
