// Private details of the ledger shared by its own .cc files (ledger.cc: appends, reads and
// proofs; verify.cc: the full check). Not for other modules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace shiplog::internal {

// The largest stored record (its entry and leaf hash) a read accepts.
constexpr size_t kMaxRecordBytes = kMaxEventBytes + 1024;
// The largest leaf entry an append stores: tlog-tiles entry bundles prefix each entry with its
// length in two bytes (c2sp.org/tlog-tiles), so a larger one could not be served to monitors.
constexpr size_t kMaxEntryBytes = 65535;
// Meta key: EncodeSeq(n), the record count after the last commit (tail truncation shows).
inline constexpr char kRecordCountKey[] = "record_count";
// Meta key: a manual clock's time, decimal microseconds.
inline constexpr char kManualClockKey[] = "manual_clock_now";

// Index key "c/" size8: the checkpoint of the tree of that size.
std::string CheckpointKey(uint64_t size);

// What DecodeRecord checks of the event inside a record: everything (Verify, a migration), or,
// for the ledger's reads of its own records, all but the comparison with the event's one
// canonical form (Event::FromCheckedCanonical), which the append made before storing it.
enum class EventCheck { kFull, kOwnRecord };

// Decodes and checks one stored record: canonical forms, the leaf hash, the sequence number it
// is stored under, and the event inside. Not the signature: reads skip it, Verify checks it.
Result<StoredRecord> DecodeRecord(uint64_t seq, std::string_view value,
                                  EventCheck event_check = EventCheck::kFull);
// StoredRecord::FromEntry, checking the event as `event_check` says.
Result<StoredRecord> DecodeEntry(std::string entry, EventCheck event_check);

// Opens the checkpoint note stored under "c/" `size`: its signature by `ledger_key`, and that it
// is the checkpoint of that size of `origin`. kCorrupt naming what is wrong otherwise.
Result<Checkpoint> OpenStoredCheckpoint(uint64_t size, std::string_view note,
                                        const SigningKey& ledger_key, std::string_view origin);

// A new ledger home in `dir` (made when missing; it must hold no ledger): DIR/ledger.key holding
// `ledger_key`, an empty checkpoint witness, and DIR/store naming `store_url`, whose database must
// hold no ledger (checked before any file is made), or, when `store_url` is empty, a new RocksDB
// store in DIR/db. Returns the new, empty store.
Result<std::unique_ptr<Store>> CreateHome(const std::string& dir, const std::string& store_url,
                                          const SigningKey& ledger_key);

// Marks `store` as witnessed and writes `latest`, its latest checkpoint, into the new home's
// witness: the last step of making a home.
Status StartWitness(const std::string& dir, Store& store, const Checkpoint& latest,
                    std::string_view ledger_public_key);

// CheckHolds (ledger/backup.h) for a ledger of `size` records, for callers holding its mutex.
Status CheckHoldsAt(const Ledger& ledger, uint64_t size, const Checkpoint& checkpoint,
                    const std::string& shown_by);

}  // namespace shiplog::internal
