package nexmark

import (
	"context"
	"testing"
)

// The reference implementations below compute the rows of the event-time
// queries straight from their definitions, over all events at once, with
// none of the baselines' reliance on event order; the test checks the
// baselines against them (and TestQueriesAgreeWithBaseline checks the
// Strom jobs against the baselines).

func refQ3(evs []Event) []LocalItem {
	persons := map[int64]*Person{}
	for _, e := range evs {
		if e.Kind == KindPerson {
			persons[e.Person.ID] = e.Person
		}
	}
	var rows []LocalItem
	for _, e := range evs {
		if e.Kind != KindAuction || e.Auction.Category != 10 {
			continue
		}
		if p := persons[e.Auction.Seller]; p != nil && (p.State == "OR" || p.State == "ID" || p.State == "CA") {
			rows = append(rows, LocalItem{Name: p.Name, City: p.City, State: p.State, Auction: e.Auction.ID})
		}
	}
	return rows
}

func refQ4(evs []Event) []CategoryPrice {
	auctions := map[int64]*Auction{}
	for _, e := range evs {
		if e.Kind == KindAuction {
			auctions[e.Auction.ID] = e.Auction
		}
	}
	best := map[int64]int64{}
	for _, e := range evs {
		if e.Kind != KindBid {
			continue
		}
		a := auctions[e.Bid.Auction]
		if a == nil || e.Bid.DateTime < a.DateTime || e.Bid.DateTime > a.Expires {
			continue
		}
		if p, ok := best[a.ID]; !ok || e.Bid.Price > p {
			best[a.ID] = e.Bid.Price
		}
	}
	sum, n := map[int64]int64{}, map[int64]int64{}
	for id, p := range best {
		sum[auctions[id].Category] += p
		n[auctions[id].Category]++
	}
	var rows []CategoryPrice
	for c := range sum {
		rows = append(rows, CategoryPrice{Category: c, Auctions: n[c], Average: sum[c] / n[c]})
	}
	return rows
}

func refQ5(evs []Event) []HotItem {
	size, slide := Q5Size.Milliseconds(), Q5Slide.Milliseconds()
	counts := map[int64]map[int64]int64{} // window start → auction → bids
	for _, e := range evs {
		if e.Kind != KindBid {
			continue
		}
		ts := e.Bid.DateTime
		for s := ts - ts%slide; s > ts-size; s -= slide {
			if counts[s] == nil {
				counts[s] = map[int64]int64{}
			}
			counts[s][e.Bid.Auction]++
		}
	}
	var rows []HotItem
	for s, c := range counts {
		var most int64
		for _, n := range c {
			most = max(most, n)
		}
		for a, n := range c {
			if n == most {
				rows = append(rows, HotItem{WindowStart: s, Auction: a, Bids: n})
			}
		}
	}
	return rows
}

func refQ7(evs []Event) []HighestBid {
	size := Q7Window.Milliseconds()
	top := map[int64]int64{}
	for _, e := range evs {
		if e.Kind == KindBid {
			s := e.Bid.DateTime - e.Bid.DateTime%size
			if p, ok := top[s]; !ok || e.Bid.Price > p {
				top[s] = e.Bid.Price
			}
		}
	}
	var rows []HighestBid
	for _, e := range evs {
		if e.Kind == KindBid && e.Bid.Price == top[e.Bid.DateTime-e.Bid.DateTime%size] {
			rows = append(rows, toHighestBid(e))
		}
	}
	return rows
}

func refQ8(evs []Event) []NewUser {
	size := Q8Window.Milliseconds()
	type key struct{ id, start int64 }
	sold := map[key]bool{}
	for _, e := range evs {
		if e.Kind == KindAuction {
			sold[key{e.Auction.Seller, e.Auction.DateTime - e.Auction.DateTime%size}] = true
		}
	}
	var rows []NewUser
	for _, e := range evs {
		if e.Kind == KindPerson {
			s := e.Person.DateTime - e.Person.DateTime%size
			if sold[key{e.Person.ID, s}] {
				rows = append(rows, NewUser{ID: e.Person.ID, Name: e.Person.Name, WindowStart: s})
			}
		}
	}
	return rows
}

func digestOf[T Row](rows []T) Digest {
	var h Hasher
	var d Digest
	for _, r := range rows {
		Add(&h, &d, r)
	}
	return d
}

// TestBaselinesMatchReference checks the baselines of the stateful queries
// (but q12) against the reference implementations, and that the rows are
// not trivially few.
func TestBaselinesMatchReference(t *testing.T) {
	const events = 150_000
	cfg := GeneratorConfig{Seed: DefaultSeed}
	evs, _ := generate(t, cfg, events, 0, 1)
	for _, c := range []struct {
		query   string
		want    Digest
		minRows int64
	}{
		{"q3", digestOf(refQ3(evs)), 100},
		{"q4", digestOf(refQ4(evs)), NumCategories},
		{"q5", digestOf(refQ5(evs)), 12},
		{"q7", digestOf(refQ7(evs)), 2},
		{"q8", digestOf(refQ8(evs)), 100},
		{"q9", digestOf(refQ9(evs)), 1000},
		{"q11", digestOf(refQ11(evs)), 1000},
		{"q15", digestOf(refQ15(evs)), 1},
		{"q16", digestOf(refQ16(evs)), 1000},
		{"q17", digestOf(refQ17(evs)), 1000},
		{"q18", digestOf(refQ18(evs)), 1000},
		{"q19", digestOf(refQ19(evs)), 1000},
		{"q20", digestOf(refQ20(evs)), 1000},
	} {
		q, ok := Lookup(c.query)
		if !ok {
			t.Fatalf("no %s", c.query)
		}
		got, err := RunBaseline(context.Background(), q, cfg, events, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: baseline %d rows, digest %s; reference %d rows, digest %s", c.query, got.Count, got, c.want.Count, c.want)
		}
		if got.Count < c.minRows {
			t.Errorf("%s: %d rows, want at least %d", c.query, got.Count, c.minRows)
		}
	}
}
