// Package snapshot is Strom's checkpoint storage: it organises keyed state
// by key groups, writes the state of every operator subtask into a state
// file, commits a checkpoint atomically with a manifest, and reads
// checkpoints back (whole, or redistributed for another parallelism) without
// ever returning bytes that differ from those written. It knows nothing of
// the runtime or the state API: entries are opaque byte strings.
//
// # Key groups
//
// A key hashes (HasherFor, HashBytes: deterministic across processes and
// versions) to one of maxParallelism key groups (KeyGroupFor). A keyed
// operator with parallelism p gives each subtask a contiguous range of key
// groups (RangeFor), so restoring at another parallelism only reassigns
// ranges: state files are sectioned by key group and a new subtask reads
// just the sections of the key groups it now owns.
//
// # Layout
//
// A Store is one directory per job (docs/checkpoint-format.md has the byte
// layouts):
//
//	DIR/
//	├── _epoch                    epoch of the newest coordinator (BeginEpoch)
//	├── _lock                     lock file for directory-wide steps
//	├── chk-41/                   a complete checkpoint:
//	│   ├── _manifest             the commit record (JSON, checksummed)
//	│   ├── op-counts-0.state     state of operator "counts", subtask 0
//	│   ├── op-counts-1.state
//	│   └── op-source-0.state
//	├── chk-42/                   no _manifest: in progress or abandoned,
//	│   └── op-counts-0.state     never restored
//	└── savepoints/
//	    └── before-upgrade/       a savepoint: the same format as a
//	        ├── _manifest         checkpoint, kept until DeleteSavepoint
//	        └── op-counts-0.state
//
// A state file holds one subtask's state: a header (magic, format version),
// one section per non-empty key group (its entries as length-prefixed key
// and value), one section per named operator state list (entries, and the
// RedistributionMode: EvenSplit or Union), an index of the sections with a
// CRC32C (Castagnoli) each, and a trailer with the index checksum and a
// whole-file checksum. The manifest names the checkpoint id, job, epoch,
// timestamp, max parallelism, and per operator UID its parallelism and per
// subtask its state file (name, key group range, size, checksum, operator
// state lists) and opaque source positions.
//
// # Protocol
//
// A coordinator starts by taking a new epoch, then restores:
//
//	store, err := snapshot.Open(dir, snapshot.OSFS())
//	epoch, err := store.BeginEpoch() // fences off older coordinators
//	m, skipped, err := store.Latest()
//	for _, s := range skipped {
//		logger.Warn("skipping checkpoint", "checkpoint_id", s.ID, "err", s.Err)
//	}
//	// errors.Is(err, snapshot.ErrNoCheckpoint): start fresh.
//	plan, err := snapshot.PlanRescale(m, uid, parallelism) // per operator
//	next, err := store.NextCheckpointID()
//
// Each checkpoint then runs:
//
//	p, err := store.NewCheckpoint(id, epoch)
//	// in each subtask, concurrently:
//	w, err := p.Create(uid, subtask, snapshot.RangeFor(subtask, maxP, parallelism))
//	w.StartKeyGroup(kg); w.Put(key, value) // ascending key groups
//	w.StartOperatorState("offsets", snapshot.Union); w.Append(entry)
//	handle, err := w.Close() // acked to the coordinator
//	// in the coordinator, once all subtasks acked:
//	m := snapshot.NewManifest(job, maxP, triggeredAt)
//	m.AddSubtask(uid, parallelism, subtask, handle, sourcePositions) // per ack
//	err = p.Commit(m) // or p.Abort(); then notify completion
//	store.Retain(3)
//
// # Guarantees
//
// Files are written crash-safely: to a temporary name, synced, renamed, and
// the directory synced. Commit writes the manifest last, after every state
// file it names is checked against its handle and the checkpoint directory
// is synced; the manifest's rename is the commit point. A checkpoint without
// a valid manifest is incomplete and never restored.
//
// Readers validate everything: magic, version, sizes, section bounds,
// checksums, entry framing. Anything wrong is an error matching ErrCorrupt
// (a *CorruptError naming the file, the offset and the problem), never
// wrong data. A reader of some key groups reads and checks only their
// sections; StateReader.Verify and Verify read everything. Latest checks
// the manifest and every file's size, checksum and index (cheap: a few
// small reads per file), LatestVerified also reads all data; both fall back
// to older checkpoints when newer ones are incomplete or corrupt, and
// return what they skipped and why, so the caller can say so loudly. An I/O
// error that is not corruption stops Latest instead: falling back on a
// transient error would silently throw progress away.
//
// Epochs fence stale coordinators: BeginEpoch increments DIR/_epoch under
// the directory lock, and NewCheckpoint and the commit point of Commit check,
// under the same lock, that the caller's epoch is still current, failing
// with ErrStaleEpoch otherwise. A coordinator calls BeginEpoch before
// Latest, so any checkpoint committed after it restored is refused.
//
// Retain(k) keeps the newest k complete checkpoints and deletes older ones
// and older incomplete ones; deletion removes the manifest first, so a
// deletion cut short leaves an incomplete checkpoint. Savepoints are
// self-contained (hard links or copies of the files, their own manifest),
// so deleting checkpoints never affects them.
//
// # Concurrency
//
// Store and PendingCheckpoint.Create are safe for concurrent use; each
// subtask writes its own file through its own StateWriter, which, like a
// StateReader, is used by one goroutine. Directory-wide steps take the lock
// file DIR/_lock (flock on Unix), so several Stores and processes may share
// a directory; a checkpoint in progress is only known to the Store that
// began it (Latest and Retain ignore it there).
//
// # Testing
//
// All file access goes through the FS interface. OSFS is the real one;
// ErrorFS wraps any FS and fails the operations an Injector picks, for fault
// tests here and in the runtime. The package's own tests also run the whole
// commit protocol on a strict in-memory FS that loses everything not synced
// in a simulated crash, after every single file system step.
package snapshot
