// Snapshots: a ledger's fold (replay/replay_fold.h) saved just after one record, so a replay at a
// later point folds only the records after it. The format is schemas/snapshot.capnp.
//
// Where: DIR/snapshots/<seq>.snap beside the ledger's db/ (seq zero-padded to 20 digits so the
// files list in order), each written to a .tmp file, fsynced and renamed into place, so a reader
// never sees half a snapshot. They are a cache: deleting the folder loses nothing but time.
//
// Trust: a snapshot is never believed over the records. Loading checks its hash, format version,
// origin and ledger key, and that its tree root equals the root of the ledger's own checkpoint at
// size seq + 1 (so one from another ledger or from a rewritten history is refused); the policy in
// force and every key of the registry are re-read from the records the snapshot names, not taken
// from it. Any failure is an error value; replay then warns and folds from an older snapshot or
// from the genesis.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "replay/replay_fold.h"

namespace shiplog::replay {

// The snapshot format written; a reader refuses any other but the one before it. 2: facts keep
// their signing key and the environment the revoked keys (approvals stop counting a revoked
// key's). 3: the same layout, holding only the deployments in progress (replay puts a finished
// deployment's state away, replay.h); a version 2 snapshot, which holds every deployment, still
// restores a fold that decides exactly as one of version 3, so it is still read.
constexpr uint32_t kSnapshotFormatVersion = 3;
constexpr uint32_t kOldestSnapshotFormatRead = 2;

// The snapshot of `fold` (which must be a fold under the log's own policies, with at least the
// genesis folded) bound to `ledger`. Fails when the ledger has no checkpoint at the fold's size.
Result<std::string> EncodeSnapshot(const LedgerFold& fold, const Ledger& ledger);

// The fold a snapshot holds, after every check above against `ledger`. kCorrupt or
// kInvalidArgument say what did not check out.
Result<LedgerFold> DecodeSnapshot(std::string_view bytes, const Ledger& ledger);

// The snapshot files of one data directory.
class SnapshotDir {
 public:
  // `data_dir` is the ledger's directory (the one given to `--data`).
  explicit SnapshotDir(const std::string& data_dir);

  const std::string& path() const { return path_; }
  std::string PathFor(uint64_t seq) const;

  // The seqs that have a snapshot file, ascending. A missing folder is an empty list.
  std::vector<uint64_t> List() const;
  bool Has(uint64_t seq) const;

  // Writes through PathFor(seq) + ".tmp", fsync and rename; creates the folder when missing.
  Status Write(uint64_t seq, const std::string& bytes) const;
  Result<std::string> Read(uint64_t seq) const;

 private:
  std::string path_;
};

}  // namespace shiplog::replay
