package nexmark

import (
	"time"

	"github.com/stromhq/strom/operators/window"
	"github.com/stromhq/strom/stream"
)

// NewUser is a row of q8: a person who put an auction up for sale in the
// tumbling window in which they joined.
type NewUser struct {
	ID   int64
	Name string
	// WindowStart is the start of the window, Unix milliseconds.
	WindowStart int64
}

// AppendCanonical implements Row.
func (x NewUser) AppendCanonical(b []byte) []byte {
	return appendInt(appendString(appendInt(b, x.ID), x.Name), x.WindowStart)
}

// Q8Window is the size of q8's tumbling windows.
const Q8Window = 10 * time.Second

// q8Person is what q8 keeps of a person.
type q8Person struct {
	ID       int64
	Name     string
	DateTime int64
}

// q8: monitor new users. The persons who joined and put up an auction in
// the same tumbling 10 s window of event time. The standard's SQL joins
// the persons of each window with the sellers of that window, both
// grouped, so that a person appears once per window however many auctions
// they put up:
//
//	SELECT P.id, P.name, P.starttime
//	FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
//	      FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//	      GROUP BY id, name, window_start, window_end) P
//	JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
//	      FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//	      GROUP BY seller, window_start, window_end) A
//	ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime
//
// (rows: NewUser). Person IDs are unique, so only the sellers need
// grouping.
//
// The job: the sellers of each window (auctions keyed by seller into
// tumbling windows, reduced to one record, stamped with the window's last
// millisecond) and the persons, joined on id = seller in tumbling 10 s
// join windows.
func init() {
	Register(Query{
		Name:        "q8",
		Description: "monitor new users: persons who put up an auction in the 10s window they joined in",
		Stateful:    true,
		EventTime:   true,
		Build: func(events *stream.DataStream[Event], out *Results) {
			persons := stream.Map(stream.Filter(events, "persons", func(e Event) bool { return e.Kind == KindPerson }),
				"person", func(e Event) q8Person {
					return q8Person{ID: e.Person.ID, Name: e.Person.Name, DateTime: e.Person.DateTime}
				})
			sellers := stream.Map(stream.Filter(events, "auctions", func(e Event) bool { return e.Kind == KindAuction }),
				"seller", func(e Event) int64 { return e.Auction.Seller })
			perWindow := stream.WindowReduce(
				stream.Window(stream.KeyBy(sellers, func(s int64) int64 { return s }), window.TumblingEventTime(Q8Window)),
				"sellers-per-window", func(a, _ int64) int64 { return a })
			size := Q8Window.Milliseconds()
			joined := stream.JoinWindow(persons, perWindow, "new-sellers",
				func(p q8Person) int64 { return p.ID }, func(s int64) int64 { return s },
				stream.TumblingJoinWindows(Q8Window),
				func(p q8Person, _ int64) NewUser {
					return NewUser{ID: p.ID, Name: p.Name, WindowStart: window.StartOf(p.DateTime, 0, size)}
				})
			Blackhole(joined, out)
		},
		NewBaseline: func() Baseline {
			return &q8Baseline{start: -1, persons: map[int64]string{}, sellers: map[int64]struct{}{}}
		},
	})
}

// q8Baseline keeps the persons and the sellers of the current window and
// joins them when event time leaves it.
type q8Baseline struct {
	start   int64
	persons map[int64]string
	sellers map[int64]struct{}
}

func (b *q8Baseline) Process(ev *Event, ts int64, h *Hasher, d *Digest) {
	if ev.Kind == KindBid {
		return
	}
	if s := window.StartOf(ts, 0, Q8Window.Milliseconds()); s != b.start {
		b.Finish(h, d)
		b.start = s
	}
	if ev.Kind == KindPerson {
		b.persons[ev.Person.ID] = ev.Person.Name
	} else {
		b.sellers[ev.Auction.Seller] = struct{}{}
	}
}

func (b *q8Baseline) Finish(h *Hasher, d *Digest) {
	for id, name := range b.persons {
		if _, ok := b.sellers[id]; ok {
			Add(h, d, NewUser{ID: id, Name: name, WindowStart: b.start})
		}
	}
	clear(b.persons)
	clear(b.sellers)
}
