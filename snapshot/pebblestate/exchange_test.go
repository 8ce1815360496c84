package pebblestate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

func TestEntryKey(t *testing.T) {
	for _, c := range []struct {
		state    string
		expiring bool
		key      string
		want     string
	}{
		// The operators' layout: tag, then the key.
		{"v", false, "key", "vkey"},
		{"v", false, "", "v"},
		{"\xff", false, "k", "\xffk"},
		// Everything else: the long form.
		{"v", true, "key", "\x00\x01\x01vkey"},
		{"\x00", false, "k", "\x00\x00\x01\x00k"},
		{"values", false, "k", "\x00\x00\x06valuesk"},
		{"values", true, "", "\x00\x01\x06values"},
		{strings.Repeat("s", 200), false, "k", "\x00\x00\xc8\x01" + strings.Repeat("s", 200) + "k"},
	} {
		got := AppendEntryKey([]byte("prefix"), c.state, c.expiring, []byte(c.key))
		if string(got) != "prefix"+c.want {
			t.Errorf("%q %v %q: %q, want %q", c.state, c.expiring, c.key, got[6:], c.want)
		}
		state, expiring, key, err := ParseEntryKey(got[6:])
		if err != nil || string(state) != c.state || expiring != c.expiring || string(key) != c.key {
			t.Errorf("parse %q: %q %v %q %v", c.want, state, expiring, key, err)
		}
	}
	for _, bad := range []string{"", "\x00", "\x00\x02\x01vk", "\x00\x03\x01vk", "\x00\x00", "\x00\x00\x00k", "\x00\x00\x05abc", "\x00\x00\x80\x02" + strings.Repeat("s", 256)} {
		if _, _, _, err := ParseEntryKey([]byte(bad)); !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("parse %q: %v", bad, err)
		}
	}
}

// keyGroupOf assigns a key to its key group as the runtime does.
func keyGroupOf(key []byte, maxP int) int {
	return snapshot.KeyGroupFor(snapshot.HashBytes(key), maxP)
}

// TestRescale exports the state of two subtasks into a checkpoint of the
// snapshot store and restores it at parallelism 3 (and back at 2), the way
// the runtime would: snapshot.PlanRescale says which sections of which old
// files each new subtask loads.
func TestRescale(t *testing.T) {
	const maxP = 128
	const uid = "counts"
	clock := newTestClock()
	opts := testOptions(clock)
	rng := rand.New(rand.NewPCG(9, 10))

	// The old subtasks' state: each holds the keys of its key groups, in
	// two states, some with a TTL, plus state of another operator.
	olds := make([]*DB, 2)
	want := model{}
	for i := range olds {
		olds[i] = openTest(t, opts)
	}
	for n := range 3000 {
		key := fmt.Appendf(nil, "user-%d", n)
		kg := keyGroupOf(key, maxP)
		db := olds[snapshot.SubtaskFor(kg, maxP, 2)]
		value := fmt.Appendf(nil, "%d", rng.IntN(1000))
		switch n % 4 {
		case 0, 1:
			must(t, db.Put(uid, kg, "v", key, value))
			want.put(uid, kg, "v", string(key), string(value))
		case 2:
			must(t, db.Put(uid, kg, "timers", append(key, 0, 0, 0, 1), nil))
			want.put(uid, kg, "timers", string(key)+"\x00\x00\x00\x01", "")
		case 3:
			// Expires after the restore, or before the export.
			if n%8 == 3 {
				must(t, db.PutExpiring(uid, kg, "v", key, value, clock.Now().Add(time.Hour)))
				want.put(uid, kg, "v", string(key), string(value))
			} else {
				must(t, db.PutExpiring(uid, kg, "v", key, value, clock.Now().Add(time.Minute)))
			}
		}
		must(t, db.Put("other", kg, "v", key, []byte("not exported")))
	}
	clock.Advance(2 * time.Minute)

	// Checkpoint: each old subtask writes its state file.
	store, err := snapshot.Open(t.TempDir(), snapshot.OSFS())
	must(t, err)
	epoch, err := store.BeginEpoch()
	must(t, err)
	writeCheckpoint := func(id int64, dbs []*DB) {
		t.Helper()
		p, err := store.NewCheckpoint(id, epoch)
		must(t, err)
		m := snapshot.NewManifest("job", maxP, clock.Now())
		for i, db := range dbs {
			kgs := snapshot.RangeFor(i, maxP, len(dbs))
			w, err := p.Create(uid, i, kgs)
			must(t, err)
			must(t, db.WriteKeyGroups(w, uid, kgs))
			h, err := w.Close()
			must(t, err)
			must(t, m.AddSubtask(uid, len(dbs), i, h, nil))
		}
		must(t, p.Commit(m))
	}
	writeCheckpoint(1, olds)

	restore := func(parallelism int) []*DB {
		t.Helper()
		m, skipped, err := store.Latest()
		must(t, err)
		if len(skipped) > 0 {
			t.Fatalf("skipped %v", skipped)
		}
		plan, err := snapshot.PlanRescale(m, uid, parallelism)
		must(t, err)
		news := make([]*DB, parallelism)
		for j := range news {
			news[j] = openTest(t, opts)
			kgs := plan.Subtasks[j].KeyGroups
			if j%2 == 0 {
				// File by file, section by section.
				for _, kr := range plan.Subtasks[j].Keyed {
					r, err := snapshot.OpenStateHandle(snapshot.OSFS(), plan.Dir, &plan.Handles[kr.OldSubtask])
					must(t, err)
					must(t, news[j].LoadKeyGroups(r, uid, kr.KeyGroups))
					must(t, r.Close())
				}
			} else {
				// Through the plan's reader, as a source.
				must(t, news[j].Load(uid, kgs, func(fn func(kg int, key, value []byte) error) error {
					return plan.ReadKeyed(snapshot.OSFS(), j, fn)
				}))
			}
		}
		return news
	}
	check := func(news []*DB) {
		t.Helper()
		var got []entry
		for j, db := range news {
			kgs := snapshot.RangeFor(j, maxP, len(news))
			for _, e := range dump(t, db, uid, "other") {
				if !kgs.Contains(e.kg) {
					t.Fatalf("subtask %d of %d holds key group %d, outside %v", j, len(news), e.kg, kgs)
				}
				got = append(got, e)
			}
		}
		diffEntries(t, got, want.entries(uid))
	}

	threes := restore(3)
	check(threes)
	// The TTL survived: the entries that expire in an hour still do.
	clock.Advance(2 * time.Hour)
	for k := range want {
		if strings.HasPrefix(k.key, "user-") && k.state == "v" {
			var n int
			fmt.Sscanf(k.key, "user-%d", &n)
			if n%4 == 3 {
				delete(want, k)
			}
		}
	}
	check(threes)

	// And back from 3 to 2.
	writeCheckpoint(2, threes)
	check(restore(2))
}

// TestHeapEntriesInterchange loads entries as a heap-backed operator
// writes them (a tag byte, the record key, a sub-key) and exports them
// back: the bytes are the same.
func TestHeapEntriesInterchange(t *testing.T) {
	const maxP = 128
	kgs := snapshot.RangeFor(0, maxP, 1)
	path := filepath.Join(t.TempDir(), "heap.state")
	w, err := snapshot.NewStateWriter(snapshot.OSFS(), path, kgs)
	must(t, err)
	type kv struct{ k, v []byte }
	byKG := map[int][]kv{}
	for n := range 500 {
		record := fmt.Appendf(nil, "\x05key%d", n) // a length-prefixed string key
		kg := keyGroupOf(record, maxP)
		byKG[kg] = append(byKG[kg], kv{append([]byte{'v'}, record...), binary.AppendUvarint(nil, uint64(n))})
		timer := binary.BigEndian.AppendUint64(append([]byte{'e'}, record...), uint64(n)^1<<63)
		byKG[kg] = append(byKG[kg], kv{timer, nil})
	}
	var kgList []int
	for kg := range byKG {
		kgList = append(kgList, kg)
	}
	slices.Sort(kgList)
	for _, kg := range kgList {
		must(t, w.StartKeyGroup(kg))
		for _, e := range byKG[kg] {
			must(t, w.Put(e.k, e.v))
		}
	}
	_, err = w.Close()
	must(t, err)

	r, err := snapshot.OpenStateFile(snapshot.OSFS(), path)
	must(t, err)
	defer r.Close()
	db := openTest(t, testOptions(nil))
	must(t, db.LoadKeyGroups(r, "op", kgs))
	// The state name is the tag, the user key the rest.
	record := []byte("\x05key7")
	if v, ok, err := db.Get("op", keyGroupOf(record, maxP), "v", record); err != nil || !ok || !bytes.Equal(v, binary.AppendUvarint(nil, 7)) {
		t.Fatalf("get: %v %v %v", v, ok, err)
	}
	n := 0
	must(t, db.Scan("op", keyGroupOf(record, maxP), "e", record, func(key, value []byte) error {
		n++
		return nil
	}))
	if n != 1 {
		t.Fatalf("scan of the timers of one key: %d", n)
	}
	// Exported back, entries are byte for byte what the heap wrote (in
	// key order within a key group).
	got := map[int][]kv{}
	must(t, db.Export("op", kgs, func(kg int, key, value []byte) error {
		got[kg] = append(got[kg], kv{slices.Clone(key), slices.Clone(value)})
		return nil
	}))
	for kg, es := range byKG {
		slices.SortFunc(es, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
		if fmt.Sprint(got[kg]) != fmt.Sprint(es) {
			t.Fatalf("key group %d: exported %v, heap wrote %v", kg, got[kg], es)
		}
	}
	if len(got) != len(byKG) {
		t.Fatalf("%d key groups exported, %d written", len(got), len(byKG))
	}
}

func TestLoadRejects(t *testing.T) {
	kgs := snapshot.KeyGroupRange{Start: 10, End: 20}
	source := func(kg int, key, value string) func(func(int, []byte, []byte) error) error {
		return func(fn func(int, []byte, []byte) error) error { return fn(kg, []byte(key), []byte(value)) }
	}
	db := openTest(t, testOptions(nil))
	for _, c := range []struct {
		name string
		src  func(func(int, []byte, []byte) error) error
		want error
	}{
		{"key group outside", source(20, "vk", ""), nil},
		{"key group below", source(9, "vk", ""), nil},
		{"empty key", source(10, "", ""), ErrMalformedEntry},
		{"bad flags", source(10, "\x00\x04\x01vk", ""), ErrMalformedEntry},
		{"expiring value too short", source(10, "\x00\x01\x01vk", "1234567"), ErrMalformedEntry},
	} {
		err := db.Load("op", kgs, c.src)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	stop := errors.New("source failed")
	if err := db.Load("op", kgs, func(func(int, []byte, []byte) error) error { return stop }); err != stop {
		t.Errorf("source error: %v", err)
	}
	if n := rawCount(t, db); n != 0 {
		t.Fatalf("%d entries loaded", n)
	}
}

// TestLoadLarge loads more than one batch.
func TestLoadLarge(t *testing.T) {
	src := openTest(t, testOptions(nil))
	value := bytes.Repeat([]byte("x"), 1000)
	for i := range 10000 {
		must(t, src.Put("op", i%64, "v", fmt.Appendf(nil, "k%d", i), value))
	}
	dst := openTest(t, testOptions(nil))
	all := snapshot.KeyGroupRange{Start: 0, End: 64}
	must(t, dst.Load("op", all, func(fn func(int, []byte, []byte) error) error {
		return src.Export("op", all, fn)
	}))
	diffEntries(t, dump(t, dst, "op"), dump(t, src, "op"))
}
