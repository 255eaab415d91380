// Moving a ledger between stores: from a RocksDB directory to a PostgreSQL database, and back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ledger/checkpoint.h"
#include "ledger/status.h"

namespace shiplog {

// Where MigrateLedger writes: a new ledger home `dir` whose records go to the PostgreSQL database
// at `store_url`, or, when it is empty, to a RocksDB store in DIR/db.
struct MigrationTarget {
  std::string dir;
  std::string store_url;
};

struct MigrationReport {
  uint64_t records = 0;
  uint64_t checkpoints = 0;   // signed checkpoints copied, each checked on the way
  Checkpoint latest;          // the source's latest checkpoint, now the target's
};

// Copies the ledger in `from_dir` into a new home, record by record in order, verifying as it
// goes: each record's canonical form, sequence number and signature, the genesis's key (the
// source's ledger key, which the target keeps), and every signed checkpoint against the tree
// rebuilt from the records copied so far. The index entries and tree nodes are written from the
// records (as an index rebuild would), the checkpoints and witness cosignatures copied. The
// target must be empty (a database with records, or a directory that holds a ledger, is refused
// before anything is written), and the target opens only when its tree matches the source's
// latest checkpoint; its witness starts there. A source that other servers append to (a shared
// database) is copied as of its size when the copy starts. `progress` hears the records copied.
Result<MigrationReport> MigrateLedger(const std::string& from_dir, const MigrationTarget& to,
                                      const std::function<void(uint64_t)>& progress = {});

}  // namespace shiplog
