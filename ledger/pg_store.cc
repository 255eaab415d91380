// The PostgreSQL implementation of Store, on libpq.
//
// Tables (schemas/postgresql/001_ledger.sql): shiplog_records (seq -> record bytes),
// shiplog_index and shiplog_meta (key -> value), and shiplog_head, one row holding the record
// count. A commit is one transaction: it locks the head row (SELECT ... FOR UPDATE), checks that
// the batch starts at the count, writes, moves the count and commits. The head row's lock is the
// append lock of every server sharing the database: a batch that started from an old count
// conflicts instead of interleaving, and a ledger holds the lock (LockAppends) from before it
// reads what other servers committed until its own commit. Durability is the database's: COMMIT
// returns once the write-ahead log is flushed, and with synchronous_standby_names set, once a
// standby has it too.
//
// libpq connections are not shared between threads: each call leases one from a small pool. A
// connection that failed is dropped, never returned; reads (idempotent) retry a lost connection
// with backoff, while a commit whose connection was lost reports kUnavailable: its outcome is not
// known, and the ledger reads the database back before it appends again.
//
// A store opened read-only (`verify`, `query`, a migration's source) reads one snapshot instead:
// one connection in a REPEATABLE READ, READ ONLY transaction, so that servers appending
// meanwhile do not show it a log that changes under its feet (verify's index check counts every
// entry).
#include <arpa/inet.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "ledger/pg_migrations.h"
#include "ledger/store.h"

namespace shiplog {

bool IsPostgresUrl(std::string_view location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string RedactedUrl(std::string_view url) {
  // postgresql://user:password@host...: the password is between the first ':' after the scheme
  // and the '@' that ends the user part.
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "****" + std::string(url.substr(at));
}

namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kByteaOid = 17;
// Rows per INSERT: a statement takes at most 65535 parameters.
constexpr size_t kRowsPerStatement = 1000;
// Rows per page of a scan: a record may be 64 KiB.
constexpr int kScanPage = 512;
constexpr int kMaxIdleConnections = 16;
// How reads wait out a lost connection: attempts after the first, the first wait, its growth.
constexpr int kReadRetries = 4;
constexpr std::chrono::milliseconds kFirstRetryWait{50};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, ConnDeleter>;

// A statement's parameters, all sent in binary: integers as 8 big-endian bytes (int8's binary
// form, as EncodeSeq writes them), bytes and text as they are.
class Params {
 public:
  void Int(uint64_t value) { Add(Keep(EncodeSeq(value)), kInt8Oid); }
  void Bytes(std::string_view bytes) { Add(bytes, kByteaOid); }

  int size() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::string_view Keep(std::string value) {
    kept_.push_back(std::move(value));
    return kept_.back();
  }
  void Add(std::string_view bytes, Oid type) {
    // libpq reads `length` bytes from the pointer; an empty value still needs a valid pointer.
    values_.push_back(bytes.empty() ? "" : bytes.data());
    lengths_.push_back(static_cast<int>(bytes.size()));
    formats_.push_back(1);
    types_.push_back(type);
  }

  std::deque<std::string> kept_;  // a deque: growing it does not move what values_ points at
  std::vector<const char*> values_;
  std::vector<int> lengths_, formats_;
  std::vector<Oid> types_;
};

std::string_view Cell(const PGresult* r, int row, int column) {
  return std::string_view(PQgetvalue(r, row, column),
                          static_cast<size_t>(PQgetlength(r, row, column)));
}

// Whether a failure left the connection unusable or the database unable to serve for now:
// worth reconnecting and trying again, where trying again is safe.
bool Transient(std::string_view sqlstate) {
  return sqlstate.rfind("08", 0) == 0 ||     // connection exception
         sqlstate.rfind("57P0", 0) == 0 ||   // admin or crash shutdown, cannot connect now
         sqlstate == "57014" ||              // canceled: statement_timeout
         sqlstate == "25006" ||              // read-only transaction: a standby (not promoted)
         sqlstate == "40001" || sqlstate == "40P01" ||  // serialization failure, deadlock
         (sqlstate.rfind("53", 0) == 0 && sqlstate != "53100");  // out of resources, not disk
}

// One connection and what a failure on it means.
class Connection {
 public:
  Connection(PgConn conn, std::string redacted_url)
      : conn_(std::move(conn)), url_(std::move(redacted_url)) {}

  bool usable() const { return usable_ && PQstatus(conn_.get()) == CONNECTION_OK; }

  // Runs `sql` with `params`; the result when it succeeded (rows in binary), else the error.
  Result<PgResult> Run(const std::string& sql, const Params& params, const std::string& what) {
    PgResult r(PQexecParams(conn_.get(), sql.c_str(), params.size(), params.types(),
                            params.values(), params.lengths(), params.formats(), 1));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    return Failure(r.get(), what);
  }
  Result<PgResult> Run(const std::string& sql, const std::string& what) {
    return Run(sql, Params(), what);
  }

  // Runs `sql`, which may hold several statements and takes no parameters (a migration).
  Status RunScript(const std::string& sql, const std::string& what) {
    PgResult r(PQexec(conn_.get(), sql.c_str()));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
    return Failure(r.get(), what);
  }

  // Ends a transaction that will not commit; a failed rollback leaves the connection unusable.
  void Rollback() {
    PgResult r(PQexec(conn_.get(), "ROLLBACK"));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) usable_ = false;
  }

 private:
  Status Failure(const PGresult* r, const std::string& what) {
    const char* field = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = field ? field : "";
    std::string message = r ? PQresultErrorMessage(r) : "";
    if (message.empty()) message = PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    message = what + " (" + url_ + "): " + message;
    if (!sqlstate.empty()) message += " [SQLSTATE " + sqlstate + "]";
    if (PQstatus(conn_.get()) != CONNECTION_OK || sqlstate.empty() || Transient(sqlstate)) {
      // A session error that ended in the middle of a transaction may leave it open: drop it.
      usable_ = false;
      return Status::Unavailable(message);
    }
    if (sqlstate == "53100") return Status::NoSpace(message);
    if (sqlstate == "23505") return Status::Conflict(message);
    return Status::Internal(message);
  }

  PgConn conn_;
  std::string url_;
  bool usable_ = true;
};

class PgStore final : public Store {
 public:
  PgStore(std::string url, bool read_only)
      : url_(std::move(url)), redacted_(RedactedUrl(url_)), read_only_(read_only) {}

  ~PgStore() override {
    if (append_lock_) append_lock_->Rollback();
  }

  // Applies the migrations the database lacks (or refuses it); run once, on open.
  Status Prepare(StoreAccess access) {
    SHIPLOG_ASSIGN_OR_RETURN(auto conn, Connect());
    SHIPLOG_ASSIGN_OR_RETURN(int version, SchemaVersion(*conn));
    const auto& migrations = internal::PgMigrations();
    const int known = migrations.empty() ? 0 : migrations.back().version;
    if (version > known) {
      return Status::FailedPrecondition("the shiplog tables in " + redacted_ +
                                        " are of schema version " + std::to_string(version) +
                                        ", newer than this shiplog knows (" +
                                        std::to_string(known) + "): upgrade shiplog");
    }
    if (version == 0 && access != StoreAccess::kCreate) {
      return Status::NotFound("no shiplog ledger in the database " + redacted_ +
                              " (create one with `shiplog init --store URL`)");
    }
    if (version < known && access == StoreAccess::kReadOnly) {
      return Status::FailedPrecondition("the shiplog tables in " + redacted_ +
                                        " are of schema version " + std::to_string(version) +
                                        "; open the ledger for writing once to migrate them to " +
                                        std::to_string(known));
    }
    for (const auto& migration : migrations) {
      if (migration.version <= version) continue;
      SHIPLOG_RETURN_IF_ERROR(Migrate(*conn, migration));
    }
    if (read_only_) {
      SHIPLOG_RETURN_IF_ERROR(conn->RunScript("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                                              "starting a snapshot of the ledger"));
      snapshot_ = std::move(conn);
      return Status::Ok();
    }
    Release(std::move(conn));
    return Status::Ok();
  }

  Status Commit(const StoreBatch& batch) override {
    if (read_only_) return ReadOnlyRefusal();
    std::unique_lock<std::mutex> lock(append_mu_);
    std::unique_ptr<Connection> conn = std::move(append_lock_);
    uint64_t count = locked_count_;
    if (!conn) {
      lock.unlock();  // the commit holds the database's lock, not this process's
      SHIPLOG_ASSIGN_OR_RETURN(conn, Connect());
      auto locked = LockHead(*conn);
      if (!locked.ok()) return locked.status();
      count = *locked;
    }
    Status written = WriteLocked(*conn, count, batch);
    if (written.code() == StatusCode::kUnavailable) DropIdle();
    if (!written.ok()) {
      if (conn->usable()) conn->Rollback();
      if (conn->usable()) Release(std::move(conn));
      return written;
    }
    Release(std::move(conn));
    return Status::Ok();
  }

  Status Resume() override {
    // After a lost connection: OK once the database answers again, on a new connection.
    DropIdle();
    SHIPLOG_ASSIGN_OR_RETURN(auto conn, Connect());
    Release(std::move(conn));
    return Status::Ok();
  }

  Result<uint64_t> RecordCount() override {
    return Read<uint64_t>([&](Connection& conn) -> Result<uint64_t> {
      SHIPLOG_ASSIGN_OR_RETURN(
          PgResult r, conn.Run("SELECT record_count FROM shiplog_head", "reading the log head"));
      return CountOf(r.get());
    });
  }

  Result<std::optional<std::string>> GetRecord(uint64_t seq) override {
    Params params;
    params.Int(seq);
    return GetOne("SELECT value FROM shiplog_records WHERE seq = $1", params,
                  "reading record " + std::to_string(seq));
  }

  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    uint64_t next = from;
    for (;;) {
      Params params;
      params.Int(next);
      SHIPLOG_ASSIGN_OR_RETURN(
          PgResult page,
          Query("SELECT seq, value FROM shiplog_records WHERE seq >= $1 ORDER BY seq LIMIT " +
                    std::to_string(kScanPage),
                params, "reading records"));
      const int rows = PQntuples(page.get());
      for (int i = 0; i < rows; ++i) {
        const std::string_view seq = Cell(page.get(), i, 0);
        if (seq.size() != 8) return Status::Corrupt("a record's sequence number is not an int8");
        next = DecodeSeq(seq);
        if (!visit(next, Cell(page.get(), i, 1))) return Status::Ok();
      }
      if (rows < kScanPage) return Status::Ok();
      ++next;
    }
  }

  Result<std::optional<std::string>> GetIndex(std::string_view key) override {
    Params params;
    params.Bytes(key);
    return GetOne("SELECT value FROM shiplog_index WHERE key = $1", params,
                  "reading the ledger index");
  }

  Status ScanIndex(std::string_view prefix, std::string_view start,
                   const IndexVisitor& visit) override {
    // The keys with `prefix` are [prefix, successor): the prefix with its last byte below 0xff
    // incremented and what follows dropped; none (no upper bound) when every byte is 0xff.
    std::string successor(prefix);
    while (!successor.empty() && static_cast<unsigned char>(successor.back()) == 0xff) {
      successor.pop_back();
    }
    if (!successor.empty()) successor.back() = static_cast<char>(successor.back() + 1);
    std::string from(start.empty() || start < prefix ? prefix : start);
    bool inclusive = true;
    for (;;) {
      Params params;
      params.Bytes(from);
      std::string sql = std::string("SELECT key, value FROM shiplog_index WHERE key ") +
                        (inclusive ? ">=" : ">") + " $1";
      if (!successor.empty()) {
        params.Bytes(successor);
        sql += " AND key < $2";
      }
      sql += " ORDER BY key LIMIT " + std::to_string(kScanPage);
      SHIPLOG_ASSIGN_OR_RETURN(PgResult page, Query(sql, params, "reading the ledger index"));
      const int rows = PQntuples(page.get());
      for (int i = 0; i < rows; ++i) {
        if (!visit(Cell(page.get(), i, 0), Cell(page.get(), i, 1))) return Status::Ok();
      }
      if (rows < kScanPage) return Status::Ok();
      from = std::string(Cell(page.get(), rows - 1, 0));
      inclusive = false;
    }
  }

  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    Params params;
    params.Bytes(key);
    return GetOne("SELECT value FROM shiplog_meta WHERE key = $1", params,
                  "reading ledger settings");
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    if (read_only_) return ReadOnlyRefusal();
    Params params;
    params.Bytes(key);
    params.Bytes(value);
    SHIPLOG_ASSIGN_OR_RETURN(auto conn, Connect());
    auto r = conn->Run(kUpsertMeta + std::string(" ($1, $2)") + kUpsertTail, params,
                       "writing ledger settings");
    if (conn->usable()) Release(std::move(conn));
    return r.status();
  }

  bool Shared() const override { return true; }

  Result<uint64_t> LockAppends() override {
    if (read_only_) return ReadOnlyRefusal();
    std::lock_guard<std::mutex> lock(append_mu_);
    if (append_lock_) return locked_count_;
    SHIPLOG_ASSIGN_OR_RETURN(auto conn, Connect());
    SHIPLOG_ASSIGN_OR_RETURN(locked_count_, LockHead(*conn));
    append_lock_ = std::move(conn);
    return locked_count_;
  }

  void UnlockAppends() override {
    std::lock_guard<std::mutex> lock(append_mu_);
    if (!append_lock_) return;
    append_lock_->Rollback();
    if (append_lock_->usable()) Release(std::move(append_lock_));
    append_lock_.reset();
  }

 private:
  static constexpr char kUpsertIndex[] = "INSERT INTO shiplog_index (key, value) VALUES";
  static constexpr char kUpsertMeta[] = "INSERT INTO shiplog_meta (key, value) VALUES";
  static constexpr char kUpsertTail[] = " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

  Status ReadOnlyRefusal() const {
    return Status::FailedPrecondition("the ledger database " + redacted_ +
                                      " is open for reading only");
  }

  // A connection from the pool, or a new one.
  Result<std::unique_ptr<Connection>> Connect() {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      while (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        if (conn->usable()) return conn;
      }
    }
    // connect_timeout first: the URL's own, processed after it, wins.
    const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "shiplog", url_.c_str(), nullptr};
    PgConn raw(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
    if (!raw || PQstatus(raw.get()) != CONNECTION_OK) {
      std::string message = raw ? PQerrorMessage(raw.get()) : "out of memory";
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return Status::Unavailable("cannot connect to the ledger database " + redacted_ + ": " +
                                 message);
    }
    auto conn = std::make_unique<Connection>(std::move(raw), redacted_);
    // Bounds: a statement (10 s, unless the URL's options set statement_timeout), and a session
    // left in a transaction by a hung server (whose lock would stop every other server).
    SHIPLOG_ASSIGN_OR_RETURN(PgResult timeout, conn->Run("SHOW statement_timeout", "connecting"));
    // A read-only store's snapshot is a transaction left open between reads by design.
    std::string setup = read_only_ ? "SET default_transaction_read_only = on"
                                   : "SET idle_in_transaction_session_timeout = '60s'";
    if (Cell(timeout.get(), 0, 0) == "0") setup += "; SET statement_timeout = '10s'";
    SHIPLOG_RETURN_IF_ERROR(conn->RunScript(setup, "setting up the session"));
    return conn;
  }

  // After a connection was lost the others were most likely lost with it (the server went, or
  // failed over), and a dead socket looks healthy until it is used: start again with new ones.
  void DropIdle() {
    std::lock_guard<std::mutex> lock(pool_mu_);
    idle_.clear();
  }

  void Release(std::unique_ptr<Connection> conn) {
    if (!conn || !conn->usable()) return;
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(conn));
  }

  // Runs `read` on a pooled connection; a lost connection (kUnavailable) is retried on a new one
  // after a wait that doubles, up to kReadRetries times.
  template <typename T, typename F>
  Result<T> Read(F&& read) {
    if (snapshot_) {  // no retry: a new connection would read another snapshot
      std::lock_guard<std::mutex> lock(snapshot_mu_);
      return read(*snapshot_);
    }
    std::chrono::milliseconds wait = kFirstRetryWait;
    for (int attempt = 0;; ++attempt) {
      Result<T> result = [&]() -> Result<T> {
        SHIPLOG_ASSIGN_OR_RETURN(auto conn, Connect());
        Result<T> r = read(*conn);
        Release(std::move(conn));
        return r;
      }();
      if (result.ok() || result.status().code() != StatusCode::kUnavailable) return result;
      DropIdle();
      if (attempt == kReadRetries) return result;
      std::this_thread::sleep_for(wait);
      wait *= 2;
    }
  }

  Result<PgResult> Query(const std::string& sql, const Params& params, const std::string& what) {
    return Read<PgResult>([&](Connection& conn) { return conn.Run(sql, params, what); });
  }

  Result<std::optional<std::string>> GetOne(const std::string& sql, const Params& params,
                                            const std::string& what) {
    SHIPLOG_ASSIGN_OR_RETURN(PgResult r, Query(sql, params, what));
    if (PQntuples(r.get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(std::string(Cell(r.get(), 0, 0)));
  }

  Result<uint64_t> CountOf(const PGresult* r) const {
    if (PQntuples(r) != 1 || PQgetlength(r, 0, 0) != 8) {
      return Status::Corrupt("the log head in " + redacted_ + " is not one row with a count");
    }
    return DecodeSeq(Cell(r, 0, 0));
  }

  // Begins a transaction on `conn` and locks the log head: the append lock.
  Result<uint64_t> LockHead(Connection& conn) {
    SHIPLOG_RETURN_IF_ERROR(conn.Run("BEGIN", "starting an append").status());
    auto r = conn.Run("SELECT record_count FROM shiplog_head FOR UPDATE",
                      "taking the append lock");
    if (!r.ok()) {
      if (conn.usable()) conn.Rollback();
      return r.status();
    }
    return CountOf(r->get());
  }

  // Writes `batch` in the transaction open on `conn`, which holds the append lock at `count`,
  // and commits it.
  Status WriteLocked(Connection& conn, uint64_t count, const StoreBatch& batch) {
    if (batch.first_seq != count) {
      return Status::Conflict("append expected sequence " + std::to_string(batch.first_seq) +
                              " but the store holds " + std::to_string(count) + " records");
    }
    for (size_t first = 0; first < batch.records.size(); first += kRowsPerStatement) {
      const size_t end = std::min(batch.records.size(), first + kRowsPerStatement);
      Params params;
      std::string sql = "INSERT INTO shiplog_records (seq, value) VALUES";
      for (size_t i = first; i < end; ++i) {
        params.Int(batch.first_seq + i);
        params.Bytes(batch.records[i]);
        sql += (i == first ? " ($" : ", ($") + std::to_string(params.size() - 1) + ", $" +
               std::to_string(params.size()) + ")";
      }
      SHIPLOG_RETURN_IF_ERROR(conn.Run(sql, params, "writing records").status());
    }
    SHIPLOG_RETURN_IF_ERROR(Upsert(conn, kUpsertIndex, batch.index_puts));
    SHIPLOG_RETURN_IF_ERROR(Upsert(conn, kUpsertMeta, batch.meta_puts));
    if (!batch.records.empty()) {
      Params params;
      params.Int(count + batch.records.size());
      SHIPLOG_RETURN_IF_ERROR(
          conn.Run("UPDATE shiplog_head SET record_count = $1", params, "moving the log head")
              .status());
    }
    auto committed = conn.Run("COMMIT", "committing an append");
    if (!committed.ok() && committed.status().code() == StatusCode::kUnavailable) {
      return Status::Unavailable(committed.status().message() +
                                 " (whether the batch was committed is not known)");
    }
    return committed.status();
  }

  // INSERT ... ON CONFLICT DO UPDATE of `puts`, the last value of a key repeated in them winning
  // (one statement may not update a row twice).
  Status Upsert(Connection& conn, const char* insert,
                const std::vector<std::pair<std::string, std::string>>& puts) {
    std::map<std::string_view, std::string_view> last;
    for (const auto& [k, v] : puts) last[k] = v;
    auto it = last.begin();
    while (it != last.end()) {
      Params params;
      std::string sql = insert;
      for (size_t rows = 0; it != last.end() && rows < kRowsPerStatement; ++it, ++rows) {
        params.Bytes(it->first);
        params.Bytes(it->second);
        sql += (rows == 0 ? " ($" : ", ($") + std::to_string(params.size() - 1) + ", $" +
               std::to_string(params.size()) + ")";
      }
      sql += kUpsertTail;
      SHIPLOG_RETURN_IF_ERROR(conn.Run(sql, params, "writing the ledger index").status());
    }
    return Status::Ok();
  }

  // The schema version the database holds: 0 when it has no shiplog tables.
  Result<int> SchemaVersion(Connection& conn) {
    SHIPLOG_ASSIGN_OR_RETURN(PgResult exists,
                             conn.Run("SELECT to_regclass('shiplog_schema') IS NOT NULL",
                                      "reading the schema version"));
    if (Cell(exists.get(), 0, 0) != std::string_view("\x01", 1)) return 0;
    SHIPLOG_ASSIGN_OR_RETURN(PgResult version,
                             conn.Run("SELECT coalesce(max(version), 0)::int8 FROM shiplog_schema",
                                      "reading the schema version"));
    return static_cast<int>(DecodeSeq(Cell(version.get(), 0, 0)));
  }

  // Applies one migration in its own transaction. An advisory lock keeps two processes that open
  // a new database at once from both applying it: the second finds it applied.
  Status Migrate(Connection& conn, const internal::PgMigration& migration) {
    SHIPLOG_RETURN_IF_ERROR(conn.RunScript("BEGIN; SELECT pg_advisory_xact_lock(7205119)",
                                           "migrating the ledger tables"));
    auto version = SchemaVersion(conn);
    Status status = version.status();
    if (status.ok() && *version < migration.version) {
      status = conn.RunScript(migration.sql, std::string("applying ") + migration.name);
    }
    if (status.ok()) status = conn.RunScript("COMMIT", "migrating the ledger tables");
    if (!status.ok() && conn.usable()) conn.Rollback();
    return status;
  }

  const std::string url_;
  const std::string redacted_;
  const bool read_only_;

  std::mutex snapshot_mu_;
  std::unique_ptr<Connection> snapshot_;  // read-only: the one connection, in its snapshot

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(pool_mu_)

  std::mutex append_mu_;
  std::unique_ptr<Connection> append_lock_;  // GUARDED_BY(append_mu_): holds the head's lock
  uint64_t locked_count_ = 0;                // GUARDED_BY(append_mu_): the count under it
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, StoreAccess access) {
  if (!IsPostgresUrl(url)) {
    return Status::InvalidArgument("'" + RedactedUrl(url) +
                                   "' is not a PostgreSQL URL (postgresql://...)");
  }
  auto store = std::make_unique<PgStore>(url, access == StoreAccess::kReadOnly);
  SHIPLOG_RETURN_IF_ERROR(store->Prepare(access));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace shiplog
