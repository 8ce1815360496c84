package nexmark

import (
	"slices"

	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/stream"
)

// LocalItem is a row of q3: an auction of category Q3Category and the
// name, city and state of its seller, who lives in one of Q3States.
type LocalItem struct {
	Name    string
	City    string
	State   string
	Auction int64
}

// AppendCanonical implements Row.
func (x LocalItem) AppendCanonical(b []byte) []byte {
	b = appendString(b, x.Name)
	b = appendString(b, x.City)
	b = appendString(b, x.State)
	return appendInt(b, x.Auction)
}

// Q3Category is the category of q3's auctions.
const Q3Category = 10

// Q3States are the states of q3's sellers.
var Q3States = [...]string{"OR", "ID", "CA"}

func q3LocalState(s string) bool { return slices.Contains(Q3States[:], s) }

// q3Auction is what q3 keeps of an auction.
type q3Auction struct {
	ID     int64
	Seller int64
}

// q3Person is what q3 keeps of a person.
type q3Person struct {
	ID    int64
	Name  string
	City  string
	State string
}

// q3Seller is the state of q3 for one person ID: the keyed state of the
// Strom job, a map entry of the baseline.
type q3Seller struct {
	// Seen tells that the person has arrived, Local that they live in one
	// of Q3States (and then Person is set).
	Seen, Local bool
	Person      q3Person
	// Pending are the auctions that arrived before the person.
	Pending []int64
}

// auction joins auction id of category Q3Category with the seller s, or
// keeps it until the seller arrives; it reports whether s changed.
func (s *q3Seller) auction(id int64, emit func(LocalItem)) bool {
	switch {
	case s.Local:
		emit(LocalItem{Name: s.Person.Name, City: s.Person.City, State: s.Person.State, Auction: id})
	case !s.Seen:
		s.Pending = append(s.Pending, id)
		return true
	}
	return false
}

// person records that p arrived and joins the auctions that waited for
// them.
func (s *q3Seller) person(p q3Person, emit func(LocalItem)) {
	s.Seen, s.Local = true, q3LocalState(p.State)
	if s.Local {
		s.Person = p
		for _, a := range s.Pending {
			emit(LocalItem{Name: p.Name, City: p.City, State: p.State, Auction: a})
		}
	}
	s.Pending = nil
}

// q3Function is the keyed co-process function of q3: auctions on input 1,
// persons on input 2, both keyed by person ID. Its state is a keyed
// ValueState, which checkpoints hold.
type q3Function struct {
	sellers *operators.ValueState[int64, q3Seller]
}

func (f *q3Function) Open(ctx *operators.TaskContext) (err error) {
	f.sellers, err = operators.NewValueState[int64, q3Seller](ctx, "sellers")
	return err
}

func (f *q3Function) ProcessElement1(ctx *operators.KeyedContext[int64], a q3Auction, out operators.Collector[LocalItem]) error {
	s, _ := f.sellers.Get(ctx)
	if s.auction(a.ID, out.Collect) {
		f.sellers.Set(ctx, s)
	}
	return nil
}

func (f *q3Function) ProcessElement2(ctx *operators.KeyedContext[int64], p q3Person, out operators.Collector[LocalItem]) error {
	s, _ := f.sellers.Get(ctx)
	s.person(p, out.Collect)
	f.sellers.Set(ctx, s)
	return nil
}

// q3: local item suggestion. The auctions of category 10 whose seller
// lives in Oregon, Idaho or California, with the seller's name, city and
// state, as an incremental join of all auctions and persons (no windows):
//
//	SELECT P.name, P.city, P.state, A.id
//	FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
//	WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
//
// (rows: LocalItem). A row is emitted as soon as both sides are there: an
// auction whose seller has not arrived yet (the generator names sellers up
// to 10 persons ahead) waits for them.
//
// The job: the auctions of category 10 keyed by seller and every person
// keyed by ID, connected, into a keyed co-process function that keeps, per
// person ID, in a keyed ValueState that checkpoints hold, whether the
// person arrived and lives in one of the states (with name, city and
// state then) and the auctions waiting for them. Persons from elsewhere
// are kept as a mark, so that their auctions need not wait; that state
// grows by one entry per person, as a SQL join keeps every person. The
// query needs no event time.
func init() {
	Register(Query{
		Name:        "q3",
		Description: "local item suggestion: auctions of category 10 joined with their sellers in OR, ID or CA",
		Stateful:    true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			auctions := stream.Map(stream.Filter(events, "auctions-category-10", func(e Event) bool {
				return e.Kind == KindAuction && e.Auction.Category == Q3Category
			}), "auction", func(e Event) q3Auction { return q3Auction{ID: e.Auction.ID, Seller: e.Auction.Seller} })
			persons := stream.Map(stream.Filter(events, "persons", func(e Event) bool { return e.Kind == KindPerson }),
				"person", func(e Event) q3Person {
					p := e.Person
					if !q3LocalState(p.State) {
						return q3Person{ID: p.ID, State: p.State}
					}
					return q3Person{ID: p.ID, Name: p.Name, City: p.City, State: p.State}
				})
			joined := stream.KeyedCoProcess(stream.ConnectKeyed(
				stream.KeyBy(auctions, func(a q3Auction) int64 { return a.Seller }),
				stream.KeyBy(persons, func(p q3Person) int64 { return p.ID })),
				"join-sellers", func() stream.KeyedCoProcessFunction[int64, q3Auction, q3Person, LocalItem] {
					return &q3Function{}
				})
			Blackhole(joined, out)
		},
		NewBaseline: func() Baseline { return &q3Baseline{sellers: map[int64]*q3Seller{}} },
	})
}

// q3Baseline keeps the state of every person ID in a map.
type q3Baseline struct {
	sellers map[int64]*q3Seller
	h       *Hasher
	d       *Digest
	emit    func(LocalItem)
}

func (b *q3Baseline) seller(id int64) *q3Seller {
	s := b.sellers[id]
	if s == nil {
		s = &q3Seller{}
		b.sellers[id] = s
	}
	return s
}

func (b *q3Baseline) Process(ev *Event, _ int64, h *Hasher, d *Digest) {
	if b.emit == nil {
		b.emit = func(r LocalItem) { Add(b.h, b.d, r) }
	}
	b.h, b.d = h, d
	switch {
	case ev.Kind == KindAuction && ev.Auction.Category == Q3Category:
		b.seller(ev.Auction.Seller).auction(ev.Auction.ID, b.emit)
	case ev.Kind == KindPerson:
		p := ev.Person
		b.seller(p.ID).person(q3Person{ID: p.ID, Name: p.Name, City: p.City, State: p.State}, b.emit)
	}
}

func (*q3Baseline) Finish(*Hasher, *Digest) {}
