package nexmark

import (
	"math"
	"reflect"
	"testing"

	"github.com/stromhq/strom/operators"
)

// generate returns events [0, n) of cfg as subtask sub of par generates
// them, with their timestamps.
func generate(t testing.TB, cfg GeneratorConfig, n int64, sub, par int) ([]Event, []int64) {
	t.Helper()
	src := NewSource(cfg, n)
	if err := src.Open(&operators.TaskContext{Subtask: sub, Parallelism: par}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	b := operators.NewBatch[Event](0)
	for {
		res, err := src.Poll(b, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if res.Done {
			return b.Values, b.Times
		}
	}
}

func TestSameEventsAtAnyParallelism(t *testing.T) {
	const n = 10_000
	cfg := GeneratorConfig{Seed: 7}
	want, wantTS := generate(t, cfg, n, 0, 1)
	if len(want) != n {
		t.Fatalf("p=1 generated %d events, want %d", len(want), n)
	}
	const par = 3
	got, gotTS := make([]Event, n), make([]int64, n)
	for s := range par {
		evs, ts := generate(t, cfg, n, s, par)
		if wantLen := (n - s + par - 1) / par; len(evs) != wantLen {
			t.Fatalf("subtask %d of %d generated %d events, want %d", s, par, len(evs), wantLen)
		}
		for i := range evs {
			got[s+i*par], gotTS[s+i*par] = evs[i], ts[i]
			if i > 0 && ts[i] < ts[i-1] {
				t.Fatalf("subtask %d: event time goes back at its event %d", s, i)
			}
		}
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) || gotTS[i] != wantTS[i] {
			t.Fatalf("event %d differs at p=%d:\n%+v\nat p=1:\n%+v", i, par, got[i], want[i])
		}
	}
}

func TestDeterministicBySeed(t *testing.T) {
	const n = 2000
	a, _ := generate(t, GeneratorConfig{Seed: 1}, n, 0, 1)
	b, _ := generate(t, GeneratorConfig{Seed: 1}, n, 0, 1)
	c, _ := generate(t, GeneratorConfig{Seed: 2}, n, 0, 1)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different events")
	}
	same := 0
	for i := range a {
		if reflect.DeepEqual(a[i], c[i]) {
			same++
		}
	}
	if same > n/100 {
		t.Fatalf("seeds 1 and 2 agree on %d of %d events", same, n)
	}
}

func TestKindsIDsAndTimes(t *testing.T) {
	const n = 50_000
	evs, ts := generate(t, GeneratorConfig{}, n, 0, 1)
	count := map[Kind]int{}
	nextPerson, nextAuction := int64(FirstPersonID), int64(FirstAuctionID)
	for i, e := range evs {
		count[e.Kind]++
		if k := KindOf(int64(i)); e.Kind != k {
			t.Fatalf("event %d is a %v, KindOf says %v", i, e.Kind, k)
		}
		if want := int64(DefaultBaseTime + i/10); ts[i] != want { // 100 µs per event
			t.Fatalf("event %d at %d, want %d", i, ts[i], want)
		}
		switch e.Kind {
		case KindPerson:
			if e.Person.ID != nextPerson || e.Person.DateTime != ts[i] || e.Auction != nil || e.Bid != (Bid{}) {
				t.Fatalf("event %d: %+v, want person %d", i, e, nextPerson)
			}
			nextPerson++
		case KindAuction:
			a := e.Auction
			if a.ID != nextAuction || a.DateTime != ts[i] || e.Person != nil || e.Bid != (Bid{}) {
				t.Fatalf("event %d: %+v, want auction %d", i, e, nextAuction)
			}
			if a.Seller < FirstPersonID || a.Seller >= nextPerson+personIDLead {
				t.Fatalf("auction %d sold by person %d, latest is %d", a.ID, a.Seller, nextPerson-1)
			}
			if a.Category < FirstCategoryID || a.Category >= FirstCategoryID+NumCategories || a.Expires <= a.DateTime {
				t.Fatalf("auction %+v", a)
			}
			nextAuction++
		case KindBid:
			b := e.Bid
			if e.Person != nil || e.Auction != nil || b.DateTime != ts[i] {
				t.Fatalf("event %d: %+v", i, e)
			}
			if b.Auction < FirstAuctionID || b.Auction >= nextAuction+auctionIDLead {
				t.Fatalf("bid %d on auction %d, latest is %d", i, b.Auction, nextAuction-1)
			}
			if b.Bidder < FirstPersonID || b.Bidder >= nextPerson+personIDLead {
				t.Fatalf("bid %d by person %d, latest is %d", i, b.Bidder, nextPerson-1)
			}
			if b.Channel == "" || b.URL == "" {
				t.Fatalf("bid %d: %+v", i, b)
			}
		default:
			t.Fatalf("event %d has kind %v", i, e.Kind)
		}
	}
	if count[KindPerson] != n/50 || count[KindAuction] != 3*n/50 || count[KindBid] != 46*n/50 {
		t.Fatalf("kinds %v, want 1:3:46", count)
	}
}

func TestHotRatios(t *testing.T) {
	const n = 200_000
	evs, _ := generate(t, GeneratorConfig{Seed: 3}, n, 0, 1)
	var bids, hotAuction, hotBidder, auctions, hotSeller int
	for i, e := range evs {
		switch e.Kind {
		case KindBid:
			bids++
			if e.Bid.Auction == lastAuction(int64(i))/hotGroup*hotGroup+FirstAuctionID {
				hotAuction++
			}
			if e.Bid.Bidder == lastPerson(int64(i))/hotGroup*hotGroup+1+FirstPersonID {
				hotBidder++
			}
		case KindAuction:
			auctions++
			if e.Auction.Seller == lastPerson(int64(i))/hotGroup*hotGroup+FirstPersonID {
				hotSeller++
			}
		}
	}
	// The hot choice, plus the random choices that land on it.
	check := func(what string, got, of int, want float64) {
		t.Helper()
		if f := float64(got) / float64(of); math.Abs(f-want) > 0.03 {
			t.Errorf("%s: %.3f, want about %.2f", what, f, want)
		}
	}
	check("hot auctions", hotAuction, bids, 0.50)
	check("hot bidders", hotBidder, bids, 0.75)
	check("hot sellers", hotSeller, auctions, 0.75)
}

func TestAverageSizes(t *testing.T) {
	const n = 100_000
	evs, _ := generate(t, GeneratorConfig{Seed: 5}, n, 0, 1)
	sum, count := map[Kind]int{}, map[Kind]int{}
	for i := range evs {
		sum[evs[i].Kind] += evs[i].Size()
		count[evs[i].Kind]++
	}
	for k, want := range map[Kind]int{KindPerson: AvgPersonSize, KindAuction: AvgAuctionSize, KindBid: AvgBidSize} {
		avg := float64(sum[k]) / float64(count[k])
		if math.Abs(avg-float64(want)) > 0.15*float64(want) {
			t.Errorf("%v: average size %.1f, want %d ± 15%%", k, avg, want)
		}
		t.Logf("%v: average size %.1f bytes (target %d)", k, avg, want)
	}
}

func TestPrices(t *testing.T) {
	const n = 200_000
	evs, _ := generate(t, GeneratorConfig{Seed: 9}, n, 0, 1)
	var decades [7]int
	bids := 0
	for _, e := range evs {
		switch e.Kind {
		case KindBid:
			p := e.Bid.Price
			if p < 100 || p > 100_000_000 {
				t.Fatalf("bid price %d out of [100, 1e8]", p)
			}
			decades[int(math.Log10(float64(p)))-2]++
			bids++
		case KindAuction:
			a := e.Auction
			if a.InitialBid < 100 || a.InitialBid > 100_000_000 || a.Reserve <= a.InitialBid {
				t.Fatalf("auction prices %d, reserve %d", a.InitialBid, a.Reserve)
			}
		}
	}
	// Log-uniform over six decades: a sixth of the prices in each.
	for d := range 6 {
		if f := float64(decades[d]) / float64(bids); math.Abs(f-1.0/6) > 0.01 {
			t.Errorf("%.3f of the prices in [1e%d, 1e%d), want 1/6", f, d+2, d+3)
		}
	}
}

func TestSourceRejectsBadRate(t *testing.T) {
	if err := NewSource(GeneratorConfig{Rate: -1}, 10).Open(nil); err == nil {
		t.Fatal("negative rate accepted")
	}
	if _, err := NewSource(GeneratorConfig{}, 10).Poll(operators.NewBatch[Event](1), 1); err == nil {
		t.Fatal("poll before open accepted")
	}
}
