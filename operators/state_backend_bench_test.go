//go:build unix

package operators

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot/pebblestate"
)

// BenchmarkKeyedStateUpdates measures read-modify-writes of a
// ReducingState (Add: a read and a write of the key's value) over 1M keys
// on both state backends, with a checkpoint (SnapshotState, and the
// store's Commit on Pebble) every 1M updates. Keys are drawn from a Zipf
// distribution (s = 1.1: a few hot keys and a long tail, as in most keyed
// streams) or uniformly (every access misses the Pebble cache's 64K keys
// nearly always: the bound of the store's reads). On Pebble every key is
// in the store before the timing starts.
//
// It reports updates/cpu-s: updates per second of CPU time of the whole
// process (user and system, getrusage), which includes Pebble's
// background flushes and compactions.
func BenchmarkKeyedStateUpdates(b *testing.B) {
	const keys = 1 << 20
	for _, c := range []struct {
		name   string
		pebble bool
		zipf   bool
	}{
		{"heap/zipf", false, true},
		{"heap/uniform", false, false},
		{"pebble/zipf", true, true},
		{"pebble/uniform", true, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			draws := make([]int64, 1<<22)
			z := rand.NewZipf(r, 1.1, 1, keys-1)
			for i := range draws {
				if c.zipf {
					// Scatter the ranks, so that hot keys are not
					// neighbours in the store.
					draws[i] = int64(z.Uint64() * 0x9E3779B97F4A7C15 % keys)
				} else {
					draws[i] = r.Int64N(keys)
				}
			}
			var red *ReducingState[int64, int64]
			op := &KeyedProcess[int64, int, int]{Key: Key[int64, int]{Selector: func(int) int64 { return 0 }},
				Fn: &openFunc[int64]{open: func(ctx *TaskContext) (err error) {
					red, err = NewReducingState[int64](ctx, "sum", func(a, b int64) int64 { return a + b })
					return err
				}}, Out: lineOut[int]{new([]string)}}
			ctx := opTask("bench", &virtualMillis{})
			var st *StateStore
			if c.pebble {
				db, err := pebblestate.Open(b.TempDir(), pebblestate.Options{})
				if err != nil {
					b.Fatal(err)
				}
				st = NewStateStore(db, "bench")
				b.Cleanup(func() {
					_ = st.Close()
					if err := db.Close(); err != nil {
						b.Error(err)
					}
				})
				ctx.Store = st
			}
			if err := op.Open(ctx); err != nil {
				b.Fatal(err)
			}
			checkpoint := func() {
				if err := op.SnapshotState(1, discardWriter{}); err != nil {
					b.Fatal(err)
				}
				if st != nil {
					if err := st.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
			for k := range int64(keys) {
				red.Add(op.core.element(k, 0), 1)
			}
			checkpoint()
			if st != nil {
				if err := st.DB().Flush(); err != nil {
					b.Fatal(err)
				}
			}
			start := cpuTime(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				red.Add(op.core.element(draws[i&(len(draws)-1)], 0), 1)
				if i%(1<<20) == 1<<20-1 {
					checkpoint()
				}
			}
			b.StopTimer()
			if err := op.core.failed(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/(cpuTime(b)-start).Seconds(), "updates/cpu-s")
		})
	}
}

// cpuTime returns the CPU time the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
