package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/stream"
)

// refWindowAgg computes the windowagg result the way the job defines it,
// independently of the job: records in file order, the watermark after
// each record is the highest event time so far minus out-of-orderness
// minus 1, a window takes a record unless its end-1 is at or below the
// watermark, and a record no window takes is late. Sessions are computed
// for inputs without late records only.
func refWindowAgg(events []Event, spec WindowSpec, ooo time.Duration) (results []string, late []string) {
	type wk struct {
		start, end int64
		key        string
	}
	acc := map[wk][2]int64{}
	wm, maxTs := int64(-1<<63), int64(-1<<63)
	size, slide := spec.Size.Milliseconds(), spec.Slide.Milliseconds()
	if spec.Kind == "tumbling" {
		slide = size
	}
	floorDiv := func(a, b int64) int64 {
		q := a / b
		if a%b != 0 && a < 0 {
			q--
		}
		return q
	}
	bySessionKey := map[string][]Event{}
	for _, e := range events {
		if spec.Kind == "session" {
			bySessionKey[e.Key] = append(bySessionKey[e.Key], e)
			continue
		}
		taken := false
		for start := floorDiv(e.Time, slide) * slide; start > e.Time-size; start -= slide {
			if start+size-1 <= wm {
				continue
			}
			k := wk{start, start + size, e.Key}
			a := acc[k]
			acc[k] = [2]int64{a[0] + 1, a[1] + e.Value}
			taken = true
		}
		if !taken {
			late = append(late, FormatEvent(e))
		}
		if e.Time > maxTs {
			maxTs = e.Time
			wm = maxTs - ooo.Milliseconds() - 1
		}
	}
	gap := spec.Gap.Milliseconds()
	for key, es := range bySessionKey {
		sort.Slice(es, func(i, j int) bool { return es[i].Time < es[j].Time })
		var cur wk
		var c, s int64
		for i, e := range es {
			// Windows that touch merge, as Flink's TimeWindow.intersects.
			if i > 0 && e.Time <= cur.end {
				cur.end = max(cur.end, e.Time+gap)
				c, s = c+1, s+e.Value
				continue
			}
			if i > 0 {
				acc[cur] = [2]int64{c, s}
			}
			cur, c, s = wk{e.Time, e.Time + gap, key}, 1, e.Value
		}
		if len(es) > 0 {
			acc[cur] = [2]int64{c, s}
		}
	}
	for k, a := range acc {
		results = append(results, FormatWindowResult(WindowResult{Start: k.start, End: k.end, Key: k.key, Count: a[0], Sum: a[1]}))
	}
	sort.Strings(results)
	sort.Strings(late)
	return results, late
}

func writeEvents(t *testing.T, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomEvents makes n events over keys with event time rising about 10 ms
// per event and jitter out of order by up to jitter ms; every lateEvery-th
// event (0: none) is thrown far back in time.
func randomEvents(seed uint64, n, keys int, jitter, lateEvery int) []Event {
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([]Event, n)
	for i := range out {
		ts := int64(i*10 + r.IntN(jitter+1))
		if lateEvery > 0 && i > 100 && i%lateEvery == 0 {
			ts -= 5000 + int64(r.IntN(5000))
		}
		out[i] = Event{Time: ts, Key: fmt.Sprintf("k%d", r.IntN(keys)), Value: int64(r.IntN(1000) - 100)}
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	sort.Strings(lines)
	return lines
}

func runWindowAgg(t *testing.T, args stream.Args) {
	t.Helper()
	job, _ := stream.Lookup("windowagg")
	env, err := stream.NewJobEnvironment(job, args, stream.WithLogger(stream.DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWindowAggMatchesReferenceAtEveryParallelism(t *testing.T) {
	events := randomEvents(1, 3000, 7, 40, 0)
	var lines []string
	for _, e := range events {
		lines = append(lines, FormatEvent(e))
	}
	in := writeEvents(t, lines)
	for _, spec := range []string{"tumbling:1s", "sliding:1s,250ms", "session:15ms"} {
		ws, _ := ParseWindowSpec(spec)
		want, wantLate := refWindowAgg(events, ws, 50*time.Millisecond)
		if len(wantLate) != 0 {
			t.Fatalf("reference found late records in an input meant to have none")
		}
		for _, p := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s/p=%d", spec, p), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out.csv")
				runWindowAgg(t, stream.Args{"input": in, "output": out, "window": spec, "out-of-orderness": "50ms", "parallelism": fmt.Sprint(p)})
				if got := readLines(t, out); !slices.Equal(got, want) {
					t.Fatalf("%d results, want %d; first: %v vs %v", len(got), len(want), first(got), first(want))
				}
				if late := readLines(t, out+".late"); len(late) != 0 {
					t.Fatalf("late records %v in an input without any", late)
				}
			})
		}
	}
}

func TestWindowAggLateAndRejectedRecords(t *testing.T) {
	events := randomEvents(2, 2000, 5, 30, 97)
	var lines []string
	for i, e := range events {
		lines = append(lines, FormatEvent(e))
		if i%500 == 250 {
			lines = append(lines, "not,a,number", "")
		}
	}
	in := writeEvents(t, lines)
	for _, spec := range []string{"tumbling:2s", "sliding:2s,500ms"} {
		t.Run(spec, func(t *testing.T) {
			ws, _ := ParseWindowSpec(spec)
			want, wantLate := refWindowAgg(events, ws, 20*time.Millisecond)
			if len(wantLate) == 0 {
				t.Fatal("input meant to have late records has none")
			}
			out := filepath.Join(t.TempDir(), "out.csv")
			runWindowAgg(t, stream.Args{"input": in, "output": out, "window": spec, "out-of-orderness": "20ms"})
			if got := readLines(t, out); !slices.Equal(got, want) {
				t.Fatalf("%d results, want %d", len(got), len(want))
			}
			if got := readLines(t, out+".late"); !slices.Equal(got, wantLate) {
				t.Fatalf("late %v, want %v", got, wantLate)
			}
			if got := readLines(t, out+".rejected"); len(got) != 4 || got[0] != "not,a,number" {
				t.Fatalf("rejected %q, want the 4 malformed lines", got)
			}
		})
	}
}

func TestWindowAggRefusesBadArguments(t *testing.T) {
	job, _ := stream.Lookup("windowagg")
	in := writeEvents(t, []string{"1,a,1"})
	for _, c := range []struct {
		args stream.Args
		want string
	}{
		{stream.Args{"output": "o", "window": "tumbling:1s"}, "--input is required"},
		{stream.Args{"input": in, "window": "tumbling:1s"}, "--output is required"},
		{stream.Args{"input": in, "output": "o"}, "--window is required"},
		{stream.Args{"input": in, "output": "o", "window": "hop:1s"}, "--window"},
		{stream.Args{"input": in, "output": "o", "window": "tumbling:1s", "out-of-orderness": "-1s"}, "--out-of-orderness"},
		{stream.Args{"input": in, "output": "o", "window": "tumbling:1s", "out-of-orderness": "soon"}, "--out-of-orderness"},
	} {
		if _, err := stream.NewJobEnvironment(job, c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("args %v: got %v, want an error naming %q", c.args, err, c.want)
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return "<none>"
	}
	return s[0]
}
