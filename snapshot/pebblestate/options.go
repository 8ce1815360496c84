package pebblestate

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
)

// Defaults of Options, sized for a small machine (2 cores, a few GB of
// memory) running a few subtasks.
const (
	// DefaultMemTableSize is the size of one memtable. Up to
	// memTableStopWrites memtables (one mutable, the others being flushed)
	// exist at once, so a DB uses up to 4 × 16 MiB for writes at peak,
	// usually 16 to 32 MiB.
	DefaultMemTableSize = 16 << 20
	// DefaultCacheSize is the size of the block cache of a DB that does not
	// share one (Options.Cache). Pebble reserves the memory of the
	// memtables from it, so it is the DB's memory budget: room for the
	// memtables, and the rest caches blocks.
	DefaultCacheSize = 128 << 20
	// DefaultMaxConcurrentCompactions leaves the other core of a 2-core
	// machine to the subtasks.
	DefaultMaxConcurrentCompactions = 1
)

// Fixed tuning (see pebbleOptions).
const (
	memTableStopWrites = 4
	// minCacheMemTables is the smallest cache, in memtables.
	minCacheMemTables   = 4
	l0CompactionTrigger = 4
	l0StopWrites        = 24
	lBaseMaxBytes       = 128 << 20
	baseTargetFileSize  = 4 << 20
	maxTargetFileSize   = 64 << 20
	blockSize           = 16 << 10
	bloomBitsPerKey     = 10
	// maxManifestFileSize bounds the MANIFEST, which every checkpoint
	// copies (it cannot be linked: it is appended to).
	maxManifestFileSize = 8 << 20
	// formatVersion pins Pebble's on-disk format, which checkpoints carry:
	// the newest of Pebble v1.1.
	formatVersion = pebble.FormatVirtualSSTables
)

// Options configure a DB. The zero value selects the defaults.
//
// There is no write-ahead log option: a DB never writes one (see the
// package documentation), because checkpoints, not the local directory,
// make state durable.
type Options struct {
	// MemTableSize is the size of a memtable in bytes (default
	// DefaultMemTableSize). Larger memtables flush less often and make
	// the synchronous part of a checkpoint (which flushes) longer.
	MemTableSize int64
	// CacheSize is the size of the block cache in bytes (default
	// DefaultCacheSize) when Cache is nil. Pebble charges the memtables
	// to the block cache, so this is the DB's whole memory budget; it
	// must be at least 4 × MemTableSize, and should be well above: a
	// cache that the memtables fill caches no blocks, and every read goes
	// to the disk.
	CacheSize int64
	// Cache, if set, is a block cache shared with other DBs of the process
	// (one per subtask), so that memory is budgeted per process rather
	// than per subtask. Size it as CacheSize, for all DBs that share it.
	Cache *Cache
	// MaxConcurrentCompactions bounds background compactions (default
	// DefaultMaxConcurrentCompactions).
	MaxConcurrentCompactions int
	// Clock is the time of TTL expiry (default time.Now): processing time.
	Clock func() time.Time
	// VerifyRestore makes Restore read every file of the checkpoint and
	// check its checksum, not only the sizes of the tables and the
	// checksums of the metadata files (see Restore).
	VerifyRestore bool
	// fileSize, if set, is the target size of table files at every level
	// (tests: more files with little data).
	fileSize int64
	// Logger receives Pebble's messages (default slog.Default()):
	// background errors at error level, the rest at debug level.
	Logger *slog.Logger
}

// withDefaults returns o with the defaults filled in, or an error for
// invalid settings.
func (o Options) withDefaults() (Options, error) {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MaxConcurrentCompactions == 0 {
		o.MaxConcurrentCompactions = DefaultMaxConcurrentCompactions
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.MemTableSize < 1<<20 || o.MemTableSize >= 4<<30:
		return o, fmt.Errorf("pebblestate: memtable size %d out of range [1 MiB, 4 GiB)", o.MemTableSize)
	case o.Cache == nil && o.CacheSize < minCacheMemTables*o.MemTableSize:
		return o, fmt.Errorf("pebblestate: cache size %d below %d memtables of %d bytes, which Pebble charges to it", o.CacheSize, minCacheMemTables, o.MemTableSize)
	case o.MaxConcurrentCompactions < 1:
		return o, fmt.Errorf("pebblestate: max concurrent compactions %d", o.MaxConcurrentCompactions)
	}
	return o, nil
}

// pebbleOptions translates o (with defaults) into Pebble's options, using
// cache as the block cache.
//
// Besides Options, it sets: no WAL; bloom filters on every level (point
// reads of the keyed state hot path mostly miss most levels); 16 KiB
// blocks; table files from 4 MiB in L0 doubling to at most 64 MiB (fewer,
// larger files make checkpoints link fewer files, smaller ones make
// incremental checkpoints finer); room for 24 L0 sublevels before writes
// stop, so that bulk loads (restores by key group) stall less.
func (o Options) pebbleOptions(cache *pebble.Cache) *pebble.Options {
	po := &pebble.Options{
		Cache:                       cache,
		DisableWAL:                  true,
		MemTableSize:                uint64(o.MemTableSize),
		MemTableStopWritesThreshold: memTableStopWrites,
		L0CompactionThreshold:       l0CompactionTrigger,
		L0StopWritesThreshold:       l0StopWrites,
		LBaseMaxBytes:               lBaseMaxBytes,
		MaxManifestFileSize:         maxManifestFileSize,
		FormatMajorVersion:          formatVersion,
		Logger:                      pebbleLogger{o.Logger},
	}
	logger := o.Logger
	po.EventListener = &pebble.EventListener{
		BackgroundError: func(err error) {
			logger.Error("pebble background error", "component", "pebble", "err", err)
		},
	}
	n := o.MaxConcurrentCompactions
	po.MaxConcurrentCompactions = func() int { return n }
	po.Levels = make([]pebble.LevelOptions, 7)
	size := int64(baseTargetFileSize)
	for i := range po.Levels {
		po.Levels[i] = pebble.LevelOptions{
			BlockSize:      blockSize,
			FilterPolicy:   bloom.FilterPolicy(bloomBitsPerKey),
			FilterType:     pebble.TableFilter,
			Compression:    pebble.SnappyCompression,
			TargetFileSize: size,
		}
		if o.fileSize > 0 {
			po.Levels[i].TargetFileSize = o.fileSize
		}
		size = min(2*size, maxTargetFileSize)
	}
	return po
}

// pebbleLogger routes Pebble's log messages to slog: informational ones
// (WAL replay, for example) at debug level. Pebble calls Fatalf
// on broken invariants and expects it not to return; it panics rather
// than exiting the process.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	panic("pebblestate: pebble: " + msg)
}

// Cache is a block cache that several DBs of a process share
// (Options.Cache).
type Cache struct{ c *pebble.Cache }

// NewCache returns a cache of size bytes.
func NewCache(size int64) *Cache { return &Cache{c: pebble.NewCache(size)} }

// Close releases the caller's reference; DBs using the cache keep theirs
// until they close. Call it once, after the last Open that uses the cache.
func (c *Cache) Close() { c.c.Unref() }
