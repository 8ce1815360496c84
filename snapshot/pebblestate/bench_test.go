package pebblestate

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stromhq/strom/snapshot"
)

// Benchmarks of the keyed state hot path and of checkpoints. They use the
// default Options (as the runtime would), not the small test options.
//
//	go test -run '^$' -bench . -benchtime 3s ./snapshot/pebblestate/
//
// STROM_PEBBLE_BENCH_MB sets the state size of the checkpoint and restore
// benchmarks (default 1024).

const benchMaxP = snapshot.DefaultMaxParallelism

// benchKG is the key group of counter i.
func benchKG(i uint64) int { return snapshot.KeyGroupFor(mix(i), benchMaxP) }

func mix(x uint64) uint64 {
	x ^= x >> 31
	x *= 0x7fb5d329728ea185
	x ^= x >> 27
	x *= 0x81dadef4bc2dd44d
	return x ^ x>>33
}

// reportCPU reports updates per second of wall time and per second of
// CPU time (user and system, all threads: Pebble's flushes and
// compactions included) since start, cpu0.
func reportCPU(b *testing.B, updates int64, start time.Time, cpu0 time.Duration) {
	wall := time.Since(start)
	b.ReportMetric(float64(updates)/wall.Seconds(), "updates/s")
	if cpu1, ok := cpuTime(); ok && cpu1 > cpu0 {
		b.ReportMetric(float64(updates)/(cpu1-cpu0).Seconds(), "updates/cpu-s")
	}
	b.ReportMetric(float64(wall.Nanoseconds())/float64(updates), "ns/update")
}

// BenchmarkKeyedStateUpdates measures the hot path of a keyed aggregation:
// read-modify-write of an 8-byte counter, uniformly random over 1M keys
// (about 30 MB of state, in table files and the block cache), in batches.
// One op is one batch.
func BenchmarkKeyedStateUpdates(b *testing.B) {
	const keys = 1 << 20
	for _, batchSize := range []int{100, 1000} {
		b.Run(fmt.Sprintf("keys=1M/batch=%d", batchSize), func(b *testing.B) {
			db, err := Open(filepath.Join(b.TempDir(), "db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var key [8]byte
			var zero [8]byte
			batch := db.NewBatch()
			for i := range uint64(keys) {
				binary.BigEndian.PutUint64(key[:], i)
				must(b, batch.Put("counts", benchKG(i), "v", key[:], zero[:]))
				if batch.Len() == 10000 {
					must(b, batch.Commit())
				}
			}
			must(b, batch.Commit())
			compactAll(b, db)

			rng := rand.New(rand.NewPCG(1, 2))
			var updates int64
			b.ReportAllocs()
			cpu0, _ := cpuTime()
			start := time.Now()
			for b.Loop() {
				for range batchSize {
					i := rng.Uint64N(keys)
					binary.BigEndian.PutUint64(key[:], i)
					kg := benchKG(i)
					v, ok, err := batch.Get("counts", kg, "v", key[:])
					if err != nil || !ok {
						b.Fatalf("get: %v %v", ok, err)
					}
					binary.BigEndian.PutUint64(v, binary.BigEndian.Uint64(v)+1)
					if err := batch.Put("counts", kg, "v", key[:], v); err != nil {
						b.Fatal(err)
					}
				}
				if err := batch.Commit(); err != nil {
					b.Fatal(err)
				}
				updates += int64(batchSize)
			}
			reportCPU(b, updates, start, cpu0)
		})
	}
}

// benchStateMB is the state size of the checkpoint benchmarks.
func benchStateMB(b *testing.B) int {
	if s := os.Getenv("STROM_PEBBLE_BENCH_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("STROM_PEBBLE_BENCH_MB=%q", s)
		}
		return n
	}
	return 1024
}

// bigDB writes mb MiB of 1 KiB values (1024 per MiB) into a new DB and
// reports how long that took.
func bigDB(b *testing.B, dir string, mb int) *DB {
	db, err := Open(filepath.Join(dir, "db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(3, 4))
	value := make([]byte, 1024)
	var key [8]byte
	batch := db.NewBatch()
	for i := range uint64(mb) * 1024 {
		for j := 0; j < len(value); j += 8 {
			binary.LittleEndian.PutUint64(value[j:], rng.Uint64()) // incompressible
		}
		binary.BigEndian.PutUint64(key[:], i)
		must(b, batch.Put("big", benchKG(i), "v", key[:], value))
		if batch.Len() == 1000 {
			must(b, batch.Commit())
		}
	}
	must(b, batch.Commit())
	must(b, db.Flush())
	wrote := time.Since(start)
	settle(b, db)
	b.Logf("wrote %d MiB in %v; compactions settled after %v", mb, wrote.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return db
}

// settle waits until Pebble has scheduled no compaction for a second (at
// most 5 minutes), so that benchmarks measure a DB in steady state rather
// than the compactions that a bulk write leaves behind.
func settle(b *testing.B, db *DB) {
	deadline := time.Now().Add(5 * time.Minute)
	idle := 0
	for time.Now().Before(deadline) {
		if db.pdb.Metrics().Compact.NumInProgress == 0 {
			idle++
			if idle == 10 {
				return
			}
		} else {
			idle = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Log("compactions did not settle")
}

// BenchmarkCheckpoint measures checkpoints of a DB holding
// STROM_PEBBLE_BENCH_MB of state: the first (full: every file is new, so
// Finish checksums it all), then incremental ones after 1000 updates of
// 1 KiB each (one op). The metrics are per checkpoint: sync-ms (flush and
// Pebble's checkpoint), async-ms (Finish), new-MB (files the previous
// checkpoint did not have).
func BenchmarkCheckpoint(b *testing.B) {
	mb := benchStateMB(b)
	dir := b.TempDir()
	db := bigDB(b, dir, mb)
	defer db.Close()

	first, err := db.Checkpoint(filepath.Join(dir, "chk-0"))
	must(b, err)
	b.Logf("first checkpoint of %d MiB: %d files, %.0f MB, sync %v (flush %v), async %v",
		mb, len(first.Files), float64(first.Size())/1e6, first.SyncDuration.Round(time.Millisecond),
		first.FlushDuration.Round(time.Millisecond), first.AsyncDuration.Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(5, 6))
	value := make([]byte, 1024)
	var key [8]byte
	var sync, async time.Duration
	b.ReportAllocs()
	var newBytes int64
	n := 0
	prev := first.Dir
	for b.Loop() {
		b.StopTimer()
		batch := db.NewBatch()
		for range 1000 {
			i := rng.Uint64N(uint64(mb) * 1024)
			binary.BigEndian.PutUint64(key[:], i)
			must(b, batch.Put("big", benchKG(i), "v", key[:], value))
		}
		must(b, batch.Commit())
		b.StartTimer()
		n++
		h, err := db.Checkpoint(filepath.Join(dir, fmt.Sprintf("chk-%d", n)))
		must(b, err)
		b.StopTimer()
		sync += h.SyncDuration
		async += h.AsyncDuration
		newBytes += h.NewBytes()
		must(b, os.RemoveAll(prev)) // retain one
		prev = h.Dir
		b.StartTimer()
	}
	if os.Getenv("STROM_PEBBLE_BENCH_METRICS") != "" {
		b.Log(db.pdb.Metrics().String())
	}
	b.ReportMetric(float64(first.SyncDuration.Microseconds())/1000, "first-sync-ms")
	b.ReportMetric(float64(first.AsyncDuration.Microseconds())/1000, "first-async-ms")
	b.ReportMetric(float64(sync.Microseconds())/1000/float64(n), "sync-ms")
	b.ReportMetric(float64(async.Microseconds())/1000/float64(n), "async-ms")
	b.ReportMetric(float64(newBytes)/1e6/float64(n), "new-MB")
}

// BenchmarkRestore measures Restore (and closing the restored DB) from a
// checkpoint of STROM_PEBBLE_BENCH_MB of state, with the default checks
// and with VerifyRestore; and, as the path of savepoints and rescaling,
// loading the same state from a snapshot state file (portable).
func BenchmarkRestore(b *testing.B) {
	mb := benchStateMB(b)
	dir := b.TempDir()
	db := bigDB(b, dir, mb)
	ck := filepath.Join(dir, "ck")
	h, err := db.Checkpoint(ck)
	must(b, err)
	all := snapshot.KeyGroupRange{Start: 0, End: benchMaxP}
	stateFile := filepath.Join(dir, "op-big-0.state")
	w, err := snapshot.NewStateWriter(snapshot.OSFS(), stateFile, all)
	must(b, err)
	start := time.Now()
	must(b, db.WriteKeyGroups(w, "big", all))
	sh, err := w.Close()
	must(b, err)
	b.Logf("export of %d MiB to a state file: %v (%d entries, %.0f MB)", mb, time.Since(start).Round(time.Millisecond), sh.KeyedEntries, float64(sh.Size)/1e6)
	must(b, db.Close())

	for _, verify := range []bool{false, true} {
		b.Run(fmt.Sprintf("checkpoint/verify=%v", verify), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				target := filepath.Join(dir, fmt.Sprintf("r-%v-%d", verify, n))
				r, err := Restore(ck, target, Options{VerifyRestore: verify})
				must(b, err)
				// One read, so that the DB is usable, not just open.
				if _, _, err := r.Get("big", benchKG(7), "v", binary.BigEndian.AppendUint64(nil, 7)); err != nil {
					b.Fatal(err)
				}
				must(b, r.Close())
				b.StopTimer()
				must(b, os.RemoveAll(target))
				b.StartTimer()
			}
			b.ReportMetric(float64(h.Size())/1e6, "state-MB")
		})
	}
	b.Run("portable", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			target := filepath.Join(dir, fmt.Sprintf("p-%d", n))
			r, err := Open(target, Options{})
			must(b, err)
			sr, err := snapshot.OpenStateFile(snapshot.OSFS(), stateFile)
			must(b, err)
			must(b, r.LoadKeyGroups(sr, "big", all))
			must(b, sr.Close())
			must(b, r.Close()) // flushes: the state is in table files
			b.StopTimer()
			must(b, os.RemoveAll(target))
			b.StartTimer()
		}
		b.ReportMetric(float64(sh.Size)/1e6, "state-MB")
	})
}
