package snapshot

import (
	"testing"
)

func TestRangeForInvertsSubtaskFor(t *testing.T) {
	for _, maxP := range []int{1, 2, 7, 128, 1000} {
		for p := 1; p <= maxP && p <= 64; p++ {
			covered := 0
			for s := 0; s < p; s++ {
				r := RangeFor(s, maxP, p)
				if r.Len() < 1 {
					t.Fatalf("maxP=%d p=%d subtask %d owns no key group: %+v", maxP, p, s, r)
				}
				for kg := r.Start; kg < r.End; kg++ {
					if got := SubtaskFor(kg, maxP, p); got != s {
						t.Fatalf("maxP=%d p=%d: key group %d in range of %d but routed to %d", maxP, p, kg, s, got)
					}
				}
				if r.Start != covered {
					t.Fatalf("maxP=%d p=%d: ranges not contiguous at subtask %d: %+v after %d", maxP, p, s, r, covered)
				}
				covered = r.End
			}
			if covered != maxP {
				t.Fatalf("maxP=%d p=%d: ranges cover %d key groups", maxP, p, covered)
			}
		}
	}
}

func TestKeyGroupForIsInRangeAndSpread(t *testing.T) {
	h, _ := HasherFor[int64]()
	const maxP = 128
	counts := make([]int, maxP)
	for k := int64(0); k < 128_000; k++ {
		kg := KeyGroupFor(h(k), maxP)
		if kg < 0 || kg >= maxP {
			t.Fatalf("key group %d out of range", kg)
		}
		counts[kg]++
	}
	for kg, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("key group %d got %d of 128000 keys; want about 1000", kg, n)
		}
	}
}

func TestHashersAreStable(t *testing.T) {
	// Key groups must not change between versions: state is stored by them.
	hs, _ := HasherFor[string]()
	hi, _ := HasherFor[int]()
	cases := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"string", hs("strom"), 0xc2f00580b27be3dc},
		{"int", hi(42), 0xa759ea27d4727622},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: hash %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if _, ok := HasherFor[struct{ A int }](); ok {
		t.Error("struct keys must go through their encoding")
	}
}

func TestValidateParallelism(t *testing.T) {
	for _, c := range []struct {
		p, maxP int
		ok      bool
	}{{1, 128, true}, {128, 128, true}, {129, 128, false}, {0, 128, false}, {1, 0, false}, {1, MaxMaxParallelism + 1, false}} {
		if err := ValidateParallelism(c.p, c.maxP); (err == nil) != c.ok {
			t.Errorf("ValidateParallelism(%d, %d) = %v", c.p, c.maxP, err)
		}
	}
}
