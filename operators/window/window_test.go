package window

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stromhq/strom/operators"
)

// The scenario tests in testdata/*.txt drive a window operator with
// commands and compare what it emits, in the style of raft's interaction
// tests. Each command is one line; what it emits follows under "----"
// until a blank line (no "----" means it emits nothing). Setup commands
// come before the first event and build the operator:
//
//	assigner tumbling 10ms [offset 2ms] | sliding 10ms 5ms [offset 1ms] |
//	         session 5ms | global | tumbling-processing 10ms |
//	         sliding-processing 10ms 5ms | session-processing 5ms
//	trigger event | processing | never | count 3 | continuous-event 5ms |
//	        continuous-processing 5ms | purging <trigger>
//	evictor count 2 [after] | time 5ms [after]
//	lateness 5ms
//	late-output          send late records to a side output (else dropped)
//	function sum | count | list | reduce | aggregate
//	panes off            disable shared panes for sliding windows
//	show watermarks      print watermarks the operator forwards
//
// Events: "element KEY VALUE at TS" (one record; without "at TS" it has no
// timestamp), "batch KEY VALUE at TS, KEY VALUE at TS, ..." (one batch),
// "watermark TS", "processing-time TS" (sets the virtual clock and fires
// due timers as the runtime does), "end-input" (the final watermark, then
// EndInput), "stats" (counters) and "reset" (start a new scenario).
//
// Output lines: "fired KEY [START,END) RESULT at TS" from the process
// functions (sum, count, list), "out KEY RESULT at TS" from the plain
// ones (reduce, aggregate), "late KEY VALUE at TS" from the late side
// output, "watermark TS" and "error: ...".
//
// go test -run TestScenarios -rewrite regenerates the expectations.

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scenarios")

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, backend := range backends {
		if backend == "pebble" && *rewrite {
			continue
		}
		t.Run(backend, func(t *testing.T) {
			db := newBackend(t, backend)
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenarioFile(t, f, db) })
			}
		})
	}
}

// runScenarioFile runs the scenarios of a file, on the heap, or in db's
// state stores with a cache of one window when db is not nil.
func runScenarioFile(t *testing.T, path string, db *testDB) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var outFile []string
	sc := newScenario()
	sc.db = db
	for i := 0; i < len(lines); {
		line := lines[i]
		i++
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			outFile = append(outFile, line)
			continue
		}
		var want []string
		if i < len(lines) && lines[i] == "----" {
			i++
			for i < len(lines) && lines[i] != "" {
				want = append(want, lines[i])
				i++
			}
		}
		got := sc.run(line)
		outFile = append(outFile, line)
		if len(got) > 0 {
			outFile = append(outFile, "----")
			outFile = append(outFile, got...)
			if i < len(lines) && lines[i] != "" {
				outFile = append(outFile, "")
			}
		}
		if !*rewrite && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, i, line, indent(got), indent(want))
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(outFile, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func indent(lines []string) string {
	if len(lines) == 0 {
		return "  (nothing)"
	}
	return "  " + strings.Join(lines, "\n  ")
}

// rec is the record type of the scenarios.
type rec struct {
	Key string
	Val int64
}

// harness is what the tests need of an Operator of any type parameters.
type harness interface {
	operators.OneInputOperator[rec]
	operators.ProcessingTimer
	LateRecords() int64
	DroppedLateRecords() int64
	UsesPanes() bool
}

type vclock struct{ now int64 }

func (c *vclock) NowMillis() int64 { return c.now }

type scenario struct {
	cfg            Config[string, rec]
	fn             string
	lateOut        bool
	showWatermarks bool
	clock          vclock
	op             harness
	out            []string
	// db, when set, holds the operators' state in Pebble.
	db *testDB
}

func newScenario() *scenario {
	return &scenario{cfg: Config[string, rec]{Key: operators.Key[string, rec]{Selector: func(r rec) string { return r.Key }}}, fn: "sum"}
}

// lineSink formats what reaches it into the scenario's output.
type lineSink[T any] struct {
	sc     *scenario
	format func(v T, ts int64) string
	wms    bool
}

func (s *lineSink[T]) ProcessBatch(b *operators.Batch[T]) error {
	for i, v := range b.Values {
		s.sc.out = append(s.sc.out, s.format(v, b.Times[i]))
	}
	return nil
}

func (s *lineSink[T]) ProcessWatermark(wm int64) error {
	if s.wms && s.sc.showWatermarks {
		s.sc.out = append(s.sc.out, "watermark "+fmtTime(wm))
	}
	return nil
}

func fmtTime(ts int64) string {
	switch ts {
	case operators.MaxWatermark:
		return "max"
	case operators.NoTimestamp:
		return "none"
	}
	return strconv.FormatInt(ts, 10)
}

func (sc *scenario) run(line string) []string {
	sc.out = nil
	f := strings.Fields(line)
	if err := sc.exec(f); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		sc.out = append(sc.out, "error: "+msg)
	}
	return sc.out
}

func (sc *scenario) exec(f []string) error {
	setup := map[string]bool{"assigner": true, "trigger": true, "evictor": true, "lateness": true,
		"late-output": true, "function": true, "panes": true, "show": true}
	if setup[f[0]] && sc.op != nil {
		return fmt.Errorf("%s after the first event", f[0])
	}
	var err error
	switch f[0] {
	case "assigner":
		sc.cfg.Assigner, err = parseAssigner(f[1:])
	case "trigger":
		sc.cfg.Trigger, err = parseTrigger(f[1:])
	case "evictor":
		sc.cfg.Evictor, err = parseEvictor(f[1:])
	case "lateness":
		sc.cfg.AllowedLateness, err = time.ParseDuration(f[1])
	case "late-output":
		sc.lateOut = true
	case "function":
		sc.fn = f[1]
	case "panes":
		sc.cfg.DisablePanes = f[1] == "off"
	case "show":
		sc.showWatermarks = true
	case "reset":
		db := sc.db
		*sc = *newScenario()
		sc.db = db
	default:
		return sc.event(f)
	}
	return err
}

func (sc *scenario) event(f []string) error {
	if sc.op == nil {
		if err := sc.build(); err != nil {
			return err
		}
	}
	switch f[0] {
	case "element", "batch":
		b, err := parseBatch(strings.Join(f[1:], " "))
		if err != nil {
			return err
		}
		return sc.op.ProcessBatch(b)
	case "watermark":
		wm, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return err
		}
		return sc.op.ProcessWatermark(wm)
	case "processing-time":
		now, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return err
		}
		sc.clock.now = now
		if sc.op.NextProcessingTime() <= now {
			return sc.op.OnProcessingTime(now)
		}
		return nil
	case "end-input":
		if err := sc.op.ProcessWatermark(operators.MaxWatermark); err != nil {
			return err
		}
		return sc.op.EndInput()
	case "stats":
		sc.out = append(sc.out, fmt.Sprintf("late=%d dropped=%d panes=%v", sc.op.LateRecords(), sc.op.DroppedLateRecords(), sc.op.UsesPanes()))
		return nil
	}
	return fmt.Errorf("unknown command %q", f[0])
}
