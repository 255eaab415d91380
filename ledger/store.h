// Store: the narrow storage interface under the ledger.
//
// Three keyspaces: records (by sequence number), index entries (ordered byte-string keys the
// ledger maintains for lookups) and meta (small settings such as a manual clock's time). No
// storage engine's types appear here: RocksDB (rocks_store.cc) and PostgreSQL (pg_store.cc) each
// implement this class and pass the same conformance tests (tests/ledger/store_test.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace shiplog {

// Everything one append writes, committed atomically and durably, or not at all.
struct StoreBatch {
  uint64_t first_seq = 0;            // must equal the store's record count at commit time
  std::vector<std::string> records;  // the values for first_seq, first_seq + 1, ...
  std::vector<std::pair<std::string, std::string>> index_puts;
  std::vector<std::pair<std::string, std::string>> meta_puts;
};

class Store {
 public:
  virtual ~Store() = default;

  // Writes the batch atomically and makes it durable (fsync) before returning OK. Fails with
  // kConflict, writing nothing, when batch.first_seq is not the current record count.
  virtual Status Commit(const StoreBatch& batch) = 0;

  // Takes writes again after Commit failed with kNoSpace, once space was freed: OK when the
  // store writes again (what it holds is what it held before the failed commit, or that and the
  // whole failed batch); kNoSpace while it still cannot. Other failures are not resumed here:
  // such a store is reopened.
  virtual Status Resume() {
    return Status::FailedPrecondition("this store does not resume after a failed write");
  }

  // One more than the highest stored sequence number (0 when empty).
  virtual Result<uint64_t> RecordCount() = 0;

  // nullopt when no record has that number.
  virtual Result<std::optional<std::string>> GetRecord(uint64_t seq) = 0;

  // Visits records in sequence order from `from` until `visit` returns false or they run out.
  // Reports the sequence number each record is stored under, so callers can see gaps.
  using RecordVisitor = std::function<bool(uint64_t seq, std::string_view value)>;
  virtual Status ScanRecords(uint64_t from, const RecordVisitor& visit) = 0;

  virtual Result<std::optional<std::string>> GetIndex(std::string_view key) = 0;

  // Visits index entries whose key starts with `prefix`, in key order, from `start` (a key with
  // that prefix; empty for the first) until `visit` returns false.
  using IndexVisitor = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status ScanIndex(std::string_view prefix, std::string_view start,
                           const IndexVisitor& visit) = 0;

  virtual Result<std::optional<std::string>> GetMeta(std::string_view key) = 0;
  // Durable before it returns.
  virtual Status PutMeta(std::string_view key, std::string_view value) = 0;

  // ---- a store that several writers share ----

  // Whether other processes may commit to this store while this one is open (a database that
  // several servers share): a writer then takes the append lock before it reads what the others
  // committed and decides its batch. RocksDB's store has one writer (its LOCK file).
  virtual bool Shared() const { return false; }

  // Takes the store's append lock and returns the record count under it. The lock holds until
  // the next Commit, which ends it whether it commits or not, or UnlockAppends: meanwhile no
  // other writer commits. A store with one writer needs no lock: the default counts.
  virtual Result<uint64_t> LockAppends() { return RecordCount(); }
  virtual void UnlockAppends() {}
};

// Opens (creating when `create` is set) a RocksDB store in `path`. Fails with a clear message when
// another process holds the database open, and with kCorrupt, naming the file, when recovery
// finds damage (only a torn tail of the write-ahead log, never acknowledged, is passed over).
Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& path, bool create);

// Opens the RocksDB store in `path` for reading only: no file in it is written, created or
// removed (the write-ahead log is read into memory, not replayed into the database). Commit and
// PutMeta fail. Refused, like OpenRocksStore, while another process holds the store open: what a
// reader sees under a live writer is undefined.
Result<std::unique_ptr<Store>> OpenRocksStoreReadOnly(const std::string& path);

// The write-ahead log files of the RocksDB store in `path` (full paths), for messages that must
// name the file where acknowledged records were lost.
std::vector<std::string> RocksWriteAheadLogs(const std::string& path);

// How OpenPostgresStore opens a database.
enum class StoreAccess {
  kCreate,     // creates shiplog's tables when the database has none (an empty database)
  kReadWrite,  // the tables must be there
  kReadOnly,   // the tables must be there; every session is read-only, Commit and PutMeta fail
};

// Whether `location` names a PostgreSQL database (a libpq URI: postgresql:// or postgres://).
bool IsPostgresUrl(std::string_view location);

// Opens the ledger store in the PostgreSQL database at `url`, a libpq connection URI: several
// hosts may be listed (postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write), and libpq
// tries them in order on every connection, so a server reconnects to whichever was promoted. The
// tables come from the versioned migrations in schemas/postgresql/, applied in order (kCreate, or
// a database of an older shiplog opened for writing); a database whose schema is newer than this
// shiplog knows is refused. Every statement is bounded by statement_timeout (10 s unless the URL
// sets one). A lost connection is kUnavailable; reads retry it with backoff first.
// The store is Shared().
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, StoreAccess access);

// `url` with its password replaced by "****", for messages and logs.
std::string RedactedUrl(std::string_view url);

// The 8-byte big-endian form of a sequence number: sorts in numeric order.
std::string EncodeSeq(uint64_t seq);
uint64_t DecodeSeq(std::string_view bytes);  // REQUIRES: bytes.size() == 8

}  // namespace shiplog
