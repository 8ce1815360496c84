package window

import (
	"fmt"
	"math"
	"slices"
)

// Reference models for the property tests: brute-force versions of
// Flink's window semantics, written for clarity, not speed.

// referenceAligned is a brute-force model of tumbling and sliding
// event-time windows with the event-time trigger and allowed lateness.
func referenceAligned(size, slide, offset, lateness int64, steps []step) []string {
	type wk struct {
		key   string
		start int64
	}
	state := map[wk]sumCount{}
	var out []string
	wm := int64(math.MinInt64)
	for _, s := range steps {
		if s.batch == nil {
			for k, sc := range state {
				if end := k.start + size - 1; end > wm && end <= s.wm {
					out = append(out, fmtResult(k.key, Window{k.start, k.start + size}, sc, end))
				}
			}
			wm = s.wm
			continue
		}
		for i, r := range s.batch.Values {
			ts := s.batch.Times[i]
			assigned, live := false, false
			for start := ts - size - slide; start <= ts; start++ {
				if floorMod(start-offset, slide) != 0 || ts >= start+size {
					continue
				}
				assigned = true
				maxTs := start + size - 1
				if maxTs+lateness <= wm {
					continue
				}
				live = true
				k := wk{r.Key, start}
				sc := state[k]
				sc.sum += r.Val
				sc.n++
				state[k] = sc
				if maxTs <= wm {
					out = append(out, fmtResult(r.Key, Window{start, start + size}, sc, maxTs))
				}
			}
			if assigned && !live {
				out = append(out, fmt.Sprintf("late %s %d at %d", r.Key, r.Val, ts))
			}
		}
	}
	slices.Sort(out)
	return out
}

// referenceSessions is a naive model of event-time session windows with
// the event-time trigger and allowed lateness: each key's live sessions
// in a list, merged by scanning.
func referenceSessions(gap, lateness int64, steps []step) []string {
	type session struct {
		w  Window
		sc sumCount
	}
	live := map[string][]session{}
	var out []string
	wm := int64(math.MinInt64)
	for _, s := range steps {
		if s.batch == nil {
			for k, ss := range live {
				kept := ss[:0]
				for _, se := range ss {
					if m := se.w.End - 1; m > wm && m <= s.wm {
						out = append(out, fmtResult(k, se.w, se.sc, m))
					}
					if se.w.End-1+lateness > s.wm {
						kept = append(kept, se)
					}
				}
				live[k] = kept
			}
			wm = s.wm
			continue
		}
		for i, r := range s.batch.Values {
			ts := s.batch.Times[i]
			cur := session{w: Window{ts, ts + gap}, sc: sumCount{r.Val, 1}}
			merged := false
			for changed := true; changed; {
				changed = false
				ss := live[r.Key]
				for j, se := range ss {
					if se.w.Intersects(cur.w) {
						cur.w = cur.w.Cover(se.w)
						cur.sc = sumCount{cur.sc.sum + se.sc.sum, cur.sc.n + se.sc.n}
						live[r.Key] = slices.Delete(ss, j, j+1)
						merged, changed = true, true
						break
					}
				}
			}
			if !merged && cur.w.End-1+lateness <= wm {
				out = append(out, fmt.Sprintf("late %s %d at %d", r.Key, r.Val, ts))
				continue
			}
			live[r.Key] = append(live[r.Key], cur)
			if m := cur.w.End - 1; m <= wm {
				out = append(out, fmtResult(r.Key, cur.w, cur.sc, m))
			}
		}
	}
	slices.Sort(out)
	return out
}
