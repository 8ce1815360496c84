package window

import "slices"

// mergingSet is the set of live windows of one key under a merging
// assigner, Flink's MergingWindowSet. Each live window keeps its contents
// under a state window: the window that first held them. Merging windows
// keeps the contents of one of them where they are and merges the others'
// into it, so a merge moves no more state than it must.
//
// The set is a slice sorted by window start: keys rarely have more than a
// few live sessions.
type mergingSet struct {
	entries []mergeEntry
	// scratch for add.
	cands  []Window
	groups []mergeGroup
}

type mergeEntry struct {
	window, state Window
}

type mergeGroup struct {
	windows []Window
	result  Window
}

// mergeFunc is called when windows merge: result replaces the windows
// merged (without the new window, which had no state); contents move from
// the state windows mergedState into stateResult.
type mergeFunc func(result Window, merged []Window, stateResult Window, mergedState []Window) error

func (s *mergingSet) len() int { return len(s.entries) }

func (s *mergingSet) find(w Window) (int, bool) {
	return slices.BinarySearchFunc(s.entries, w, func(e mergeEntry, w Window) int {
		if e.window.Start != w.Start {
			if e.window.Start < w.Start {
				return -1
			}
			return 1
		}
		switch {
		case e.window.End < w.End:
			return -1
		case e.window.End > w.End:
			return 1
		}
		return 0
	})
}

// stateWindow returns the window under which the contents of live window w
// are kept.
func (s *mergingSet) stateWindow(w Window) (Window, bool) {
	if i, ok := s.find(w); ok {
		return s.entries[i].state, true
	}
	return Window{}, false
}

func (s *mergingSet) put(w, state Window) {
	i, ok := s.find(w)
	if ok {
		s.entries[i].state = state
		return
	}
	s.entries = slices.Insert(s.entries, i, mergeEntry{window: w, state: state})
}

// retire removes w from the live windows, returning its state window.
func (s *mergingSet) retire(w Window) (Window, bool) {
	i, ok := s.find(w)
	if !ok {
		return Window{}, false
	}
	st := s.entries[i].state
	s.entries = slices.Delete(s.entries, i, i+1)
	return st, true
}

// addOverlapping is add for assigners that merge intersecting windows
// (MergeOverlapping), when w intersects at most one live window: the
// common case of a record that falls into or extends one session. The
// live windows of such an assigner never intersect each other, so no
// sorting or grouping is needed. It reports done=false when w intersects
// several live windows, for add to merge them in general.
func (s *mergingSet) addOverlapping(w Window, merge mergeFunc) (Window, bool, error) {
	hit := -1
	for i := range s.entries {
		if s.entries[i].window.Intersects(w) {
			if hit >= 0 {
				return Window{}, false, nil
			}
			hit = i
		}
	}
	if hit < 0 {
		s.put(w, w)
		return w, true, nil
	}
	e := s.entries[hit]
	cover := e.window.Cover(w)
	if cover == e.window {
		return cover, true, nil // w falls inside a live window
	}
	s.entries = slices.Delete(s.entries, hit, hit+1)
	s.put(cover, e.state)
	return cover, true, merge(cover, []Window{e.window}, e.state, nil)
}

// add adds the window of a new record and merges it with the live windows
// it overlaps, calling merge for each merge. It returns the window the
// record belongs to: the new window or the one it merged into.
func (s *mergingSet) add(a MergingAssigner, w Window, merge mergeFunc) (Window, error) {
	if _, ok := a.(Session); ok {
		if result, done, err := s.addOverlapping(w, merge); done {
			return result, err
		}
	}
	s.cands = s.cands[:0]
	for _, e := range s.entries {
		s.cands = append(s.cands, e.window)
	}
	s.cands = append(s.cands, w)
	s.groups = s.groups[:0]
	a.MergeWindows(s.cands, func(group []Window, result Window) {
		s.groups = append(s.groups, mergeGroup{windows: slices.Clone(group), result: result})
	})

	result, mergedNew := w, false
	for _, g := range s.groups {
		merged := g.windows
		if i := slices.Index(merged, w); i >= 0 {
			merged = slices.Delete(merged, i, i+1)
			mergedNew, result = true, g.result
		}
		if len(merged) == 0 {
			continue
		}
		// The state window of the first merged window keeps the contents.
		target, ok := s.stateWindow(merged[0])
		if !ok {
			target = merged[0]
		}
		var mergedState []Window
		for _, m := range merged {
			if st, ok := s.retire(m); ok && st != target {
				mergedState = append(mergedState, st)
			}
		}
		s.put(g.result, target)
		// A window merged with itself (the new one fell inside it)
		// changes nothing.
		if len(merged) == 1 && merged[0] == g.result {
			continue
		}
		if err := merge(g.result, merged, target, mergedState); err != nil {
			return Window{}, err
		}
	}
	if len(s.groups) == 0 || (result == w && !mergedNew) {
		s.put(w, w)
	}
	return result, nil
}
