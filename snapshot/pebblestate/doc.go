// Package pebblestate keeps keyed operator state in Pebble, an LSM key-value
// store, for state larger than memory: the storage of the runtime's
// `--state-backend pebble`, as RocksDB is Flink's. It stores opaque bytes;
// the operators encode their keys and values as they do for checkpoints
// (operators/keyed_state.go).
//
// # Instances
//
// Each operator subtask has one DB, in its own local directory (Open, or
// Restore from a checkpoint); every keyed operator chained into the
// subtask shares it. Instances are independent: a failing or slow subtask
// affects no other, a DB's key space is exactly the subtask's key groups,
// and rescaling moves key group ranges between instances (see Rescaling).
// Processes with several subtasks may share one block cache (Cache).
//
// # Key layout
//
//	┌──────────────────┬──────────┬───────────────┬──────────────┬───────┬──────────┐
//	│ uvarint len(uid) │ uid      │ kg u16 BE     │ len(state) u8│ state │ user key │
//	└──────────────────┴──────────┴───────────────┴──────────────┴───────┴──────────┘
//
// The operator UID comes first, so all state of an operator is one
// contiguous key range; then the key group, big endian, so that a key
// group range of an operator is one contiguous range too: DeleteRange is a
// single range tombstone, Iterate and Export a single bounded scan, and a
// Pebble checkpoint of a key group range could be restricted to its files.
// Then the state name (1 to 255 bytes) and the user key, which is what the
// operator puts there (for the operators of this repository: the record
// key in its codec, then a sub-key such as a timestamp or a window, so
// that Scan with the record key as prefix reads one key's entries in
// order).
//
// Values are a header byte and the user value (value.go): 0x00 for an entry
// that never expires, 0x01 followed by the expiration time (u64 big
// endian, Unix milliseconds) for an entry with a TTL.
//
// # Durability: no write-ahead log
//
// A DB writes no WAL. Checkpoints make state durable: after a failure the
// job restarts from the last completed checkpoint, and a subtask's local
// directory, whatever it holds, is discarded, so logging every write for
// crash recovery would cost I/O and CPU on the hot path for nothing.
// Flink's RocksDB backend runs with the WAL disabled for the same reason.
// The consequences, which the API enforces:
//
//   - A checkpoint flushes the memtables first (the synchronous part), so
//     that everything written before it is in table files.
//   - Close flushes too, so a cleanly closed directory can be reopened.
//     A directory whose DB was not closed (the process died) is refused by
//     Open with ErrUnclean rather than silently missing its newest writes.
//
// # Checkpoints
//
// Checkpoint (StartCheckpoint, then Finish) uses Pebble's checkpoint: a
// directory with hard links to the DB's immutable table files and copies
// of its metadata. The synchronous part (flush and the checkpoint call,
// Handle.SyncDuration) runs when the barrier reaches the subtask; the rest
// (Finish: checksums of the files that are new since the previous
// checkpoint, and a descriptor, STROM-CHECKPOINT, listing every file with
// its size and CRC32C, written last) can run while the subtask processes
// records. Consecutive checkpoints share every table file that no flush
// or compaction replaced in between, so a checkpoint costs disk space and
// checksumming only for what changed: checkpoints are incremental, and
// Handle.NewBytes is what an upload to remote storage would copy.
//
// Restore assembles a DB directory from a checkpoint (links for table
// files, verified copies of metadata files) without changing the
// checkpoint, and opens it. Damage is never silent: a missing or truncated
// file, or damaged metadata, fails Restore; damaged table data fails it
// with Options.VerifyRestore, and otherwise fails the read that reaches
// it, since Pebble checksums every block. Such errors match
// snapshot.ErrCorrupt. The metadata check matters: Pebble reads its
// MANIFEST up to the first bad record, taking it for the torn tail of a
// crash, and would open an older state without complaint.
//
// # Savepoints and rescaling: the portable format
//
// A Pebble checkpoint is tied to the backend and to the parallelism. For
// savepoints, and to restore at another parallelism, a DB exports an
// operator's state in the keyed sections of a snapshot state file
// (WriteKeyGroups, Export) and loads it back (LoadKeyGroups, Load), in the
// entry format that heap-backed operators use (exchange.go,
// docs/checkpoint-format.md): an operator whose state names are its
// one-byte tags writes the same bytes with either backend, so each
// restores the other's savepoints, and snapshot.PlanRescale tells a new
// subtask which key group sections of which old files to load. After a
// restore at a new parallelism from Pebble checkpoints instead, a subtask
// deletes the key groups it does not own with DeleteRange.
//
// # TTL
//
// Pebble has no compaction filter (RocksDB's hook that lets Flink drop
// expired entries while compacting), and a compaction-time hook would
// also be the wrong layer here: compactions run when the LSM shape asks
// for them, not when state expires, so expired state could linger without
// bound. Expiry is therefore in the data and in the reads:
//
//   - An entry written with PutExpiring carries its expiration time in
//     its value. Every read (Get, Batch.Get, Scan, Iterate, Export, Load)
//     treats an entry whose time has come (Options.Clock, processing time)
//     as absent, so correctness never depends on cleanup.
//   - Space is reclaimed by CleanupExpired, an incremental cleanup: each
//     call examines a bounded number of entries from where the last call
//     stopped and deletes the expired ones in one batch, so the runtime
//     spreads the work (a few hundred entries per so many records, or per
//     timer tick) with a bounded cost per call, and an expired entry
//     occupies space for at most one pass. Deletions leave tombstones
//     that compactions then drop with the data.
//
// Expiration times are absolute, so they survive checkpoints, restores
// and the portable format (where expiring entries carry the time at the
// start of their value).
//
// # Concurrency
//
// A DB is safe for concurrent use, except that Close must not overlap
// other calls and CleanupExpired must not overlap writes of the entries it
// may delete; a Batch is used by one goroutine. In the runtime, a subtask
// uses its DB from its own goroutine, and only PendingCheckpoint.Finish
// runs elsewhere.
package pebblestate
