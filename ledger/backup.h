// Backups: a consistent, verified copy of a ledger directory, taken while `shiplog serve` may be
// appending to it, and the restore of one into a new directory.
//
// A backup directory holds what a ledger directory needs to open, and nothing loose:
//
//   db/              the store as it stood at one commit (CopyRocksStore in ledger/store.h)
//   ledger.key       the ledger's signing key, 0600: a restored ledger signs new checkpoints
//   ledger.key.pub   its public key
//   checkpoint       the checkpoint witness (ledger/witness.h), at the copy's last checkpoint
//   BACKUP           written last: {"format": "shiplog-backup-v1", "size", "root_hash" (hex),
//                    "checkpoint" (the signed note), "taken" (RFC 3339), "source"}
//
// The directory is 0700. A backup is assembled in a sibling directory `<out>.incomplete-XXXXXX`
// and renamed to `<out>` only once it has opened and verified in full, so `<out>` is either a
// whole, verified backup or absent; an interrupted backup leaves only an `.incomplete-` directory,
// which has no BACKUP file until its last step and which Restore refuses without one.
//
// The admin key (DIR/admin.key when `init` made it), replay snapshots (DIR/snapshots, rebuilt from
// the records) and other files are not copied: an admin key belongs in its own, separate backup.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace shiplog {

// What a backup or a restore produced, after its full verify passed.
struct BackupSummary {
  std::string dir;               // the backup, or the restored ledger
  uint64_t size = 0;             // records, genesis included: the tree size of `checkpoint`
  Checkpoint checkpoint;         // the copy's latest checkpoint, signed by the ledger key
  uint64_t bytes = 0;            // bytes on disk of the copy's files
  VerifyReport report;           // the copy's full verify
  bool indexes_rebuilt = false;  // the secondary indexes were of an older format (restore)

  // {"dir", "size", "root_hash", "bytes", "checkpoint", "verify": {...}, "indexes_rebuilt"}
  nlohmann::json ToJson() const;
};

// Copies the RocksDB store in `path` into a new store at `out` (which must not exist) as it stood
// at one moment, whether or not another process holds it open and is appending to it. It reads
// through a RocksDB secondary instance (DB::OpenAsSecondary, its info log in `scratch`, an
// existing directory): that takes no lock and writes nothing in `path`, so a running server is
// neither stopped nor blocked, and it sees the primary's state as of its open, made only of whole
// write batches (a secondary replays the write-ahead log a batch at a time). Every Store::Commit
// is one batch, so the copy holds the first N commits, never part of one. The copy is written
// afresh (compacted tables, no write-ahead log left to replay) and synced before it returns OK.
// (Defined in rocks_store.cc: the RocksDB part of a backup.)
Status CopyRocksStore(const std::string& path, const std::string& out, const std::string& scratch);

// Whether `ledger` holds the log `checkpoint` (signed by the ledger's key) describes: kCorrupt
// when the ledger has fewer records than it (the message names the missing ones) or its tree at
// that size has another root (another log: lost records replaced, or a fork). `shown_by` names
// where the checkpoint came from, for the message. How Ledger::Open checks the checkpoint witness
// (ledger/witness.h), and how `verify --against` checks a checkpoint a client kept against a
// restored ledger. (Defined in ledger.cc, beside the witness check.)
Status CheckHolds(const Ledger& ledger, const Checkpoint& checkpoint, const std::string& shown_by);

// Copies the ledger in `data_dir` into the new directory `out_dir` (absent or empty; its parent
// is created when missing), while another process may hold it, then opens and fully verifies the
// copy (as `shiplog verify` does) before renaming it into place. The copy holds every record the
// source had acknowledged when the backup began (its checkpoint witness is read first and the
// copy must hold it) and possibly more. kInvalidArgument for an `out_dir` that exists and is not
// empty, kNotFound for no ledger, kCorrupt when the copy does not verify (nothing is left at
// `out_dir`, and the partial copy is removed).
Result<BackupSummary> TakeBackup(const std::string& data_dir, const std::string& out_dir,
                                 Clock* clock);

// Restores the backup in `backup_dir` into `data_dir` (absent or empty): copies it (the backup
// is left as it was), opens it as a ledger (rebuilding secondary indexes of an older format),
// verifies it in full and checks it is the ledger the backup's BACKUP file names, then renames it
// into place. kInvalidArgument for a `data_dir` that holds a ledger or anything else, or a
// `backup_dir` that is not a finished backup; kCorrupt when the copy does not verify.
Result<BackupSummary> RestoreBackup(const std::string& backup_dir, const std::string& data_dir,
                                    Clock* clock);

}  // namespace shiplog
