package nexmark

import (
	"context"
	"strings"
	"testing"
)

func TestBidTimeType(t *testing.T) {
	const h = 3_600_000
	for _, c := range []struct {
		ms   int64
		want string
	}{
		{0, "nightTime"}, {6*h + h - 1, "nightTime"}, {7 * h, "otherTime"}, {8 * h, "dayTime"},
		{18*h + h - 1, "dayTime"}, {19 * h, "otherTime"}, {20 * h, "nightTime"}, {23 * h, "nightTime"},
		{DefaultBaseTime + 12*h, "dayTime"}, {-h, "nightTime"}, {-5 * h, "otherTime"}, {-6 * h, "dayTime"},
	} {
		if got := BidTimeType(c.ms); got != c.want {
			t.Errorf("BidTimeType(%d) = %q, want %q", c.ms, got, c.want)
		}
	}
}

func TestCountCharAndSelection(t *testing.T) {
	if n := CountChar("cacbcc", 'c'); n != 4 {
		t.Errorf("CountChar = %d, want 4", n)
	}
	// 0.908·price > 1,000,000 and < 50,000,000, exactly.
	for _, c := range []struct {
		price int64
		want  bool
	}{{1_101_321, false}, {1_101_322, true}, {55_066_079, true}, {55_066_080, false}, {100, false}} {
		if got := q14Selected(c.price); got != c.want {
			t.Errorf("q14Selected(%d) = %v, want %v", c.price, got, c.want)
		}
	}
}

func TestChannelID(t *testing.T) {
	for _, c := range []struct {
		channel, url, want string
		ok                 bool
	}{
		{"Google", "https://www.nexmark.com/google/ads/item", "1", true},
		{"BAIDU", "", "3", true},
		{"apple", "https://x/y?ch=7", "0", true},
		{"channel-12", "https://www.nexmark.com/ab/cde/fg?ch=12", "12", true},
		{"channel-12", "https://x/y?a=1&ch=99&b=2", "99", true},
		{"channel-12", "https://x/y?xch=1", "", false},
		{"channel-12", "https://x/y", "", false},
	} {
		got, ok := ChannelID(c.channel, c.url)
		if got != c.want || ok != c.ok {
			t.Errorf("ChannelID(%q, %q) = %q, %v; want %q, %v", c.channel, c.url, got, ok, c.want, c.ok)
		}
	}
}

func TestSplitIndex(t *testing.T) {
	const url = "https://www.nexmark.com/abc/de/fgh?ch=1"
	want := strings.Split(url, "/")
	for i := range len(want) + 2 {
		w := ""
		if i < len(want) {
			w = want[i]
		}
		if got := SplitIndex(url, '/', i); got != w {
			t.Errorf("SplitIndex(%d) = %q, want %q", i, got, w)
		}
	}
	for _, u := range []string{url, "https://www.nexmark.com/google/ads/item", "https://host/a", "https:", ""} {
		r := toURLDirs(&Bid{URL: u})
		if r.Dir1 != SplitIndex(u, '/', 3) || r.Dir2 != SplitIndex(u, '/', 4) || r.Dir3 != SplitIndex(u, '/', 5) {
			t.Errorf("toURLDirs(%q) = %+v", u, r)
		}
	}
}

// TestDailyQueriesSpanDays runs the per-day queries over events that span
// three days (one event per second of event time): the Strom job at p=2,
// whose timers close each day as the watermark passes it, gives the
// baseline's rows and the reference's, and q15 has a row per day.
func TestDailyQueriesSpanDays(t *testing.T) {
	const events = 200_000
	gc := GeneratorConfig{Seed: DefaultSeed, Rate: 1}
	evs, _ := generate(t, gc, events, 0, 1)
	refs := map[string]Digest{"q15": digestOf(refQ15(evs)), "q16": digestOf(refQ16(evs)), "q17": digestOf(refQ17(evs))}
	for _, name := range []string{"q15", "q16", "q17"} {
		base, err := Run(context.Background(), Config{Query: name, Events: events, Baseline: true, Generator: gc})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), Config{Query: name, Events: events, Parallelism: 2, Generator: gc})
		if err != nil {
			t.Fatal(err)
		}
		if res.ResultDigest != base.ResultDigest || res.Results != base.Results || base.ResultDigest != refs[name].String() {
			t.Errorf("%s: strom %d rows, digest %s; baseline %d rows, digest %s; reference %d rows, digest %s",
				name, res.Results, res.ResultDigest, base.Results, base.ResultDigest, refs[name].Count, refs[name])
		}
		if name == "q15" && base.Results != 3 {
			t.Errorf("q15: %d rows, want one per day (3)", base.Results)
		}
	}
}
