package actors

import "fmt"

// Chain is a run of forward-connected operators of equal parallelism fused
// into one subtask: records pass between them by plain calls. Vertices[0]
// is the head; the rest follow in topological order.
type Chain struct {
	Index       int
	Vertices    []*Vertex
	Parallelism int
	// Inputs are the network edges into the head; Outputs the network
	// edges out of any vertex of the chain.
	Inputs  []*Edge
	Outputs []*Edge
}

// Name is the chain's display name: its operators joined by " -> ".
func (c *Chain) Name() string {
	s := ""
	for i, v := range c.Vertices {
		if i > 0 {
			s += " -> "
		}
		s += v.Name
	}
	return s
}

// Plan is the physical plan of a job: its chains and the channels between
// their subtasks.
type Plan struct {
	Graph  *JobGraph
	Chains []*Chain
	// chainOf maps a vertex ID to its chain.
	chainOf []*Chain
}

// ChainOf returns the chain holding vertex v.
func (p *Plan) ChainOf(v *Vertex) *Chain { return p.chainOf[v.ID] }

// chainable reports whether e fuses its two ends into one subtask.
func chainable(e *Edge) bool {
	return (e.Partitioning == Forward || e.Partitioning == PartitionDefault) &&
		e.Source.Parallelism == e.Target.Parallelism &&
		len(e.Target.Inputs) == 1 &&
		!e.Target.DisableChaining
}

// NewPlan validates g, resolves default partitioning and fuses chains.
func NewPlan(g *JobGraph) (*Plan, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	for _, e := range g.Edges {
		if e.Partitioning == PartitionDefault {
			if e.Source.Parallelism == e.Target.Parallelism {
				e.Partitioning = Forward
			} else {
				e.Partitioning = Rebalance
			}
		}
	}
	p := &Plan{Graph: g, chainOf: make([]*Chain, len(g.Vertices))}
	for _, v := range g.Vertices {
		if len(v.Inputs) == 1 && chainable(v.Inputs[0]) {
			c := p.chainOf[v.Inputs[0].Source.ID]
			if c == nil {
				return nil, fmt.Errorf("vertex %q precedes its input", v.Name)
			}
			c.Vertices = append(c.Vertices, v)
			p.chainOf[v.ID] = c
			continue
		}
		c := &Chain{Index: len(p.Chains), Vertices: []*Vertex{v}, Parallelism: v.Parallelism}
		for _, e := range v.Inputs {
			if p.chainOf[e.Source.ID] == nil {
				return nil, fmt.Errorf("vertex %q precedes its input %q", v.Name, e.Source.Name)
			}
		}
		c.Inputs = append(c.Inputs, v.Inputs...)
		p.Chains = append(p.Chains, c)
		p.chainOf[v.ID] = c
	}
	for _, e := range g.Edges {
		if p.chainOf[e.Source.ID] != p.chainOf[e.Target.ID] {
			c := p.chainOf[e.Source.ID]
			c.Outputs = append(c.Outputs, e)
		}
	}
	return p, nil
}

// connected reports whether subtask src of e's producer sends to subtask dst
// of its consumer.
func connected(e *Edge, src, dst int) bool {
	if e.Partitioning == Forward {
		return src == dst
	}
	return true
}
