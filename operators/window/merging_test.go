package window

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// generalSession is the session assigner seen as any merging assigner, so
// that mergingSet.add takes its general path.
type generalSession struct{ Session }

// TestSessionFastPathMergesAsTheGeneralPath adds random session windows to
// two merging sets, one through the fast path for sessions and one through
// the general path, and requires the same live windows, state windows,
// results and merge calls.
func TestSessionFastPathMergesAsTheGeneralPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for round := range 300 {
		gap := int64(1 + r.IntN(20))
		s := EventTimeSession(msOf(gap))
		var fast, general mergingSet
		var fastLog, generalLog []string
		logTo := func(log *[]string) mergeFunc {
			return func(result Window, merged []Window, stateResult Window, mergedState []Window) error {
				*log = append(*log, fmt.Sprint(result, merged, stateResult, mergedState))
				return nil
			}
		}
		for step := range 40 {
			ts := int64(r.IntN(200))
			w := Window{Start: ts, End: ts + gap}
			got, err := fast.add(s, w, logTo(&fastLog))
			if err != nil {
				t.Fatal(err)
			}
			want, err := general.add(generalSession{s}, w, logTo(&generalLog))
			if err != nil {
				t.Fatal(err)
			}
			if got != want || !slices.Equal(fast.entries, general.entries) || !slices.Equal(fastLog, generalLog) {
				t.Fatalf("round %d step %d, window %v: fast path gives %v %v %v, general %v %v %v",
					round, step, w, got, fast.entries, fastLog, want, general.entries, generalLog)
			}
			if r.IntN(8) == 0 && len(fast.entries) > 0 {
				// A session fires and goes, as at the watermark.
				gone := fast.entries[r.IntN(len(fast.entries))].window
				fast.retire(gone)
				general.retire(gone)
			}
		}
	}
}
