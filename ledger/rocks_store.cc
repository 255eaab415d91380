// The RocksDB implementation of Store.
//
// Column families:
//   records  EncodeSeq(seq) -> Record message bytes (schemas/record.capnp)
//   index    ledger-defined keys -> values (see ledger.cc for the key grammar)
//   meta     setting name -> value
// Every Commit is one WriteBatch across the three, written with sync=true: the batch is on disk
// (WAL fsynced) before Commit returns, and a crash leaves all of it or none of it.
//
// Opening never passes over damage silently. RocksDB's default recovery reads the write-ahead
// log up to its first bad record and opens without a word, so a flipped byte dropped every record
// after it. Here only a torn tail (a write the crash cut short, never acknowledged) is tolerated;
// a bad record anywhere else fails the open, and the MANIFEST tracks the logs, so a deleted one
// fails it too. What no check inside the database can see, a log cut at a record boundary, the
// ledger's checkpoint witness (ledger/witness.h) catches.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <unistd.h>

#include "ledger/backup.h"
#include "ledger/store.h"

namespace shiplog {

std::string EncodeSeq(uint64_t seq) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return out;
}

uint64_t DecodeSeq(std::string_view bytes) {
  uint64_t seq = 0;
  for (unsigned char c : bytes.substr(0, 8)) seq = seq << 8 | c;
  return seq;
}

namespace {

// What a scan of the records reads ahead of itself. Left to RocksDB, a scan reads each 4 KiB block
// with a pread of its own (about six records each); with this, one read fills a buffer the next
// blocks are decoded from. A whole-ledger replay took 7-10% less time, a verify 2-10%; a short scan
// reads one buffer's worth it does not need, a fraction of a millisecond from the page cache.
// Larger buffers measured no faster (2 MiB), or slower (8 MiB: the buffers' page faults).
constexpr size_t kScanReadahead = 512 << 10;

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corrupt(context + ": " + s.ToString());
  if (s.IsNoSpace()) return Status::NoSpace(context + ": " + s.ToString());
  return Status::Internal(context + ": " + s.ToString());
}

// Memtable insert hints. A skiplist insert normally searches from the top; with a hint it starts
// from where the last key of the same run went, which for keys that arrive in order (a run of
// sequence numbers) is a step, not a search. That was a third of the sequencer's time. The runs
// follow the ledger's key grammar (ledger/ledger.cc, ledger/index.h): a record key's run is the
// whole column family; an index key's is its name up to the NUL that ends it, and "t/" level and
// "c/" keys run by level and by size. A wrong guess costs only the search it failed to save.
class InsertRun final : public rocksdb::SliceTransform {
 public:
  explicit InsertRun(bool one_run) : one_run_(one_run) {}
  const char* Name() const override { return one_run_ ? "shiplog.OneRun" : "shiplog.IndexRun"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    if (one_run_) return rocksdb::Slice(key.data(), 0);
    if (key.starts_with("t/")) return rocksdb::Slice(key.data(), std::min<size_t>(3, key.size()));
    if (key.starts_with("c/")) return rocksdb::Slice(key.data(), 2);
    const void* nul = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), nul ? static_cast<const char*>(nul) - key.data() + 1
                                          : key.size());
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }

 private:
  bool one_run_;
};

// RocksDB counts every key comparison, block read and the like in a per-thread perf context
// unless told not to (its default level is kEnableCount), and nothing here reads those counts.
// From the shared library each count is two thread-local lookups (__tls_get_addr): perf put them
// at a quarter of a memtable insert's time on the sequencer. Set once per thread that calls in.
void NoPerfCounts() {
  thread_local bool off = false;
  if (!off) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    off = true;
  }
}

class RocksStore final : public Store {
 public:
  RocksStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {}

  ~RocksStore() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  Status Commit(const StoreBatch& batch) override {
    NoPerfCounts();
    std::lock_guard<std::mutex> lock(commit_mu_);
    // Read from the database once, then kept: this store is its only writer (RocksDB's lock),
    // and an iterator per commit cost 10 µs of a single client's append.
    uint64_t count = known_count_.load(std::memory_order_relaxed);
    if (count == kUnknownCount) {
      SHIPLOG_ASSIGN_OR_RETURN(count, CountStored());
    }
    if (batch.first_seq != count) {
      return Status::Conflict("append expected sequence " + std::to_string(batch.first_seq) +
                              " but the store holds " + std::to_string(count) + " records");
    }
    rocksdb::WriteBatch wb;
    for (size_t i = 0; i < batch.records.size(); ++i) {
      wb.Put(records(), EncodeSeq(batch.first_seq + i), batch.records[i]);
    }
    for (const auto& [k, v] : batch.index_puts) wb.Put(index(), k, v);
    for (const auto& [k, v] : batch.meta_puts) wb.Put(meta(), k, v);
    rocksdb::WriteOptions options;
    options.sync = true;
    const rocksdb::Status written = db_->Write(options, &wb);
    // After a failed write the count is unknown (the batch may or may not be in the log).
    known_count_.store(written.ok() ? count + batch.records.size() : kUnknownCount,
                       std::memory_order_release);
    return FromRocks(written, "writing to the ledger database");
  }

  // A write that failed for want of space leaves RocksDB refusing writes (a background error)
  // until it resumes: DB::Resume(), or its own recovery thread, which it starts for a retryable
  // error such as ENOSPC (Busy while that runs). Resuming flushes the memtables to new tables and
  // a new write-ahead log, so the log the failed write may have torn is no longer read; it fails,
  // still refusing, while the flush cannot be written.
  Status Resume() override {
    std::lock_guard<std::mutex> lock(commit_mu_);
    known_count_.store(kUnknownCount, std::memory_order_release);
    const rocksdb::Status s = db_->Resume();
    if (s.IsBusy()) return Status::NoSpace("the ledger database is recovering: " + s.ToString());
    return FromRocks(s, "resuming writes to the ledger database");
  }

  // The count the last commit left when known, without waiting for a commit in progress (the
  // server's checkpoint and tile reads ask for it on every request). Its release after the write
  // also orders that write before the reader's next look at the database for ThreadSanitizer,
  // which sees none of the synchronisation inside RocksDB (built without it).
  Result<uint64_t> RecordCount() override {
    const uint64_t known = known_count_.load(std::memory_order_acquire);
    if (known != kUnknownCount) return known;
    return CountStored();
  }

  Result<std::optional<std::string>> GetRecord(uint64_t seq) override {
    return Get(records(), EncodeSeq(seq));
  }

  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    // A scan reads each block once (a replay, a verify, a migration): caching its blocks would
    // only evict those that point reads come back to.
    rocksdb::ReadOptions once;
    once.fill_cache = false;
    once.readahead_size = kScanReadahead;
    NoPerfCounts();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(once, records()));
    for (it->Seek(EncodeSeq(from)); it->Valid(); it->Next()) {
      if (it->key().size() != 8) return Status::Corrupt("a record key is not 8 bytes");
      uint64_t seq = DecodeSeq(std::string_view(it->key().data(), 8));
      if (!visit(seq, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status(), "reading the ledger database");
  }

  Result<std::optional<std::string>> GetIndex(std::string_view key) override {
    return Get(index(), key);
  }

  Status ScanIndex(std::string_view prefix, std::string_view start,
                   const IndexVisitor& visit) override {
    NoPerfCounts();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), index()));
    rocksdb::Slice seek = start.empty() ? rocksdb::Slice(prefix.data(), prefix.size())
                                        : rocksdb::Slice(start.data(), start.size());
    for (it->Seek(seek); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!visit(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status(), "reading the ledger index");
  }

  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    return Get(meta(), key);
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    rocksdb::WriteOptions options;
    options.sync = true;
    return FromRocks(db_->Put(options, meta(), rocksdb::Slice(key.data(), key.size()),
                              rocksdb::Slice(value.data(), value.size())),
                     "writing ledger settings");
  }

 private:
  rocksdb::ColumnFamilyHandle* records() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* index() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return handles_[3]; }

  // The record count read from the database (its last record key), for when none is known.
  Result<uint64_t> CountStored() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records()));
    it->SeekToLast();
    SHIPLOG_RETURN_IF_ERROR(FromRocks(it->status(), "reading the ledger database"));
    if (!it->Valid()) return uint64_t{0};
    if (it->key().size() != 8) return Status::Corrupt("a record key is not 8 bytes");
    return DecodeSeq(std::string_view(it->key().data(), 8)) + 1;
  }

  Result<std::optional<std::string>> Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
    NoPerfCounts();
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    SHIPLOG_RETURN_IF_ERROR(FromRocks(s, "reading the ledger database"));
    return std::optional<std::string>(std::move(value));
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, records, index, meta
  static constexpr uint64_t kUnknownCount = ~uint64_t{0};
  std::mutex commit_mu_;  // makes the count check and the write one step
  // Records stored, as the last commit left them; kUnknownCount before the first commit and
  // after a failed one. Written only under commit_mu_.
  std::atomic<uint64_t> known_count_{kUnknownCount};
};

}  // namespace

namespace {

// RocksDB's info log for a read-only open: none, so that reading a ledger writes no file.
class NoInfoLog final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// RocksDB's info log for a writable open, DB/LOG, written here instead of by RocksDB: RocksDB
// 7.8's own logger aborts the process (an assertion Debian's build keeps) on the line after one
// it could not write, and on a full disk the next line is the one reporting the full disk. A
// line that cannot be written is dropped; the log is appended to across opens.
class FileInfoLog final : public rocksdb::Logger {
 public:
  explicit FileInfoLog(const std::string& db_path) {
    ::mkdir(db_path.c_str(), 0755);  // a new store's directory; RocksDB makes it after the log
    fd_ = ::open((db_path + "/LOG").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  ~FileInfoLog() override {
    if (fd_ >= 0) ::close(fd_);
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (fd_ < 0) return;
    char line[2048];
    const int n = std::vsnprintf(line, sizeof(line) - 1, format, ap);
    if (n < 0) return;
    size_t length = std::min(static_cast<size_t>(n), sizeof(line) - 2);
    line[length++] = '\n';
    (void)!::write(fd_, line, length);
  }

 private:
  int fd_ = -1;
};

// The files in `path` whose name ends in `suffix`, sorted, as full paths.
std::vector<std::string> FilesEndingIn(const std::string& path, std::string_view suffix) {
  std::vector<std::string> files;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return files;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      files.push_back(path + "/" + std::string(name));
    }
  }
  ::closedir(dir);
  std::sort(files.begin(), files.end());
  return files;
}

// The table files of the database in `path` that fail to open or to verify their checksums, each
// with what is wrong. RocksDB blames the MANIFEST for a table it could not open during recovery.
std::string DamagedTables(const std::string& path) {
  std::string damaged;
  for (const std::string& table : FilesEndingIn(path, ".sst")) {
    rocksdb::SstFileReader reader{rocksdb::Options()};
    rocksdb::Status s = reader.Open(table);
    if (s.ok()) s = reader.VerifyChecksum();
    if (!s.ok()) damaged += (damaged.empty() ? "" : "; ") + table + ": " + s.ToString();
  }
  return damaged;
}

// A failed open's message, with the damaged file named when RocksDB's own message does not:
// a table that does not check out, else the write-ahead log.
Status OpenFailure(const rocksdb::Status& s, const std::string& path) {
  std::string message = "opening the ledger database " + path + ": " + s.ToString();
  if (!s.IsCorruption()) return Status::Internal(message);
  if (const size_t missing = message.find(".ldb: No such file"); missing != std::string::npos) {
    // RocksDB looks for a missing table under its old name last, and names that.
    const size_t start = message.rfind('/', missing) + 1;
    const std::string number = message.substr(start, missing - start);
    return Status::Corrupt(message + " (the table file " + path + "/" + number +
                           ".sst is missing)");
  }
  if (const std::string tables = DamagedTables(path); !tables.empty()) {
    return Status::Corrupt(message + " (damaged table file " + tables + ")");
  }
  const std::vector<std::string> logs = RocksWriteAheadLogs(path);
  if (message.find(".log") == std::string::npos && !logs.empty()) {
    message += " (write-ahead log";
    for (const std::string& log : logs) message += " " + log;
    message += ")";
  }
  return Status::Corrupt(message);
}

std::vector<rocksdb::ColumnFamilyDescriptor> Families() {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : {rocksdb::kDefaultColumnFamilyName.c_str(), "records", "index", "meta"}) {
    rocksdb::ColumnFamilyOptions family;
    if (std::strcmp(name, "records") == 0 || std::strcmp(name, "index") == 0) {
      family.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<InsertRun>(std::strcmp(name, "records") == 0);
      // Most of a ledger lies in the last level, where it is written once and rarely rewritten:
      // zstd there holds the index entries in far less disk than snappy (a record and its
      // entries, measured on a 100k-record history ledger: 475 B against 595 B). The records
      // keep LZ4 there too: every replay and verify reads them all back, and zstd's
      // decompression was a tenth of a replay's CPU, where LZ4's costs a fraction of that
      // (whole-ledger replay of 1M records 13-15% faster) for about 32 B more a record. The
      // levels above are rewritten by every compaction, so they take LZ4, the cheapest to write.
      family.compression = rocksdb::kLZ4Compression;
      family.bottommost_compression =
          std::strcmp(name, "records") == 0 ? rocksdb::kLZ4Compression : rocksdb::kZSTD;
    }
    families.emplace_back(name, family);
  }
  return families;
}

rocksdb::DBOptions BaseOptions() {
  rocksdb::DBOptions options;
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.track_and_verify_wals_in_manifest = true;
  // RocksDB opens each column family's tables with this many threads, started on every open even
  // when there is no table to open: 15 per family and open, 120 threads for a CLI command that
  // reads. A ledger's tables are few and large, so one thread opens them as fast.
  options.max_file_opening_threads = 1;
  // A write-ahead log is deleted only once every column family has flushed what it holds, and
  // "meta" takes a few bytes a commit, so its memtable never fills and, left to RocksDB's default
  // (four times all write buffers, 2 GiB here), the logs piled up: 1.18 GB beside 469 MB of
  // tables on a 1M-record ledger, which every open then read back (20 s for `shiplog query
  // --count`). Past this size RocksDB flushes the families holding the oldest log, so the logs
  // stay near two write buffers' worth.
  options.max_total_wal_size = 128 << 20;
  return options;
}

}  // namespace

std::vector<std::string> RocksWriteAheadLogs(const std::string& path) {
  return FilesEndingIn(path, ".log");
}

namespace {

// Why a secondary instance and a copy, rather than rocksdb::Checkpoint (hard links), for a
// backup: a Checkpoint needs the DB object of the process that holds the database, and under
// `shiplog serve` that is the server. RocksDB 7.8 cannot checkpoint a secondary instance (it waits
// forever for a flush a secondary never runs: facebook/rocksdb#11167; the patches that would have
// added it, #9755 and #9820, were closed unmerged), and a read-only open beside a live writer is
// undefined (rocksdb/db.h). A secondary's reads are supported, lock-free and consistent, so the
// backup reads everything through one and writes a new database: it costs a full copy of the
// data instead of links, and never stops an append.
Result<std::unique_ptr<rocksdb::DB>> OpenSecondary(
    const std::string& path, const std::string& scratch,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  rocksdb::DBOptions options = BaseOptions();
  options.max_open_files = -1;  // keeps every table open, so a compaction's deletions do no harm
  options.info_log = std::make_shared<NoInfoLog>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenAsSecondary(options, path, scratch, Families(), handles, &raw);
  if (!s.ok()) {
    if (s.IsInvalidArgument() || s.IsPathNotFound()) {
      return Status::NotFound("no ledger database at " + path + " (" + s.ToString() + ")");
    }
    return OpenFailure(s, path);
  }
  return std::unique_ptr<rocksdb::DB>(raw);
}

Result<std::unique_ptr<rocksdb::DB>> CreateEmpty(const std::string& out,
                                                 std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  rocksdb::DBOptions options = BaseOptions();
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.error_if_exists = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, out, Families(), handles, &raw);
  if (!s.ok()) return FromRocks(s, "creating the database copy " + out);
  return std::unique_ptr<rocksdb::DB>(raw);
}

// Copies every key of one column family, in write batches of about a megabyte. No write-ahead
// log: the copy is made durable by the flush that ends CopyRocksStore.
Status CopyFamily(rocksdb::DB& from, rocksdb::ColumnFamilyHandle* from_family, rocksdb::DB& to,
                  rocksdb::ColumnFamilyHandle* to_family) {
  constexpr size_t kBatchBytes = 1 << 20;
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(from.NewIterator(rocksdb::ReadOptions(), from_family));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    batch.Put(to_family, it->key(), it->value());
    if (batch.GetDataSize() < kBatchBytes) continue;
    SHIPLOG_RETURN_IF_ERROR(FromRocks(to.Write(options, &batch), "writing the database copy"));
    batch.Clear();
  }
  SHIPLOG_RETURN_IF_ERROR(FromRocks(it->status(), "reading the ledger database"));
  return FromRocks(to.Write(options, &batch), "writing the database copy");
}

void CloseDb(rocksdb::DB& db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  for (auto* h : handles) db.DestroyColumnFamilyHandle(h);
  db.Close();
}

}  // namespace

Status CopyRocksStore(const std::string& path, const std::string& out, const std::string& scratch) {
  std::vector<rocksdb::ColumnFamilyHandle*> from_handles, to_handles;
  SHIPLOG_ASSIGN_OR_RETURN(auto from, OpenSecondary(path, scratch, &from_handles));
  auto to = CreateEmpty(out, &to_handles);
  Status status = to.status();
  for (size_t i = 0; status.ok() && i < from_handles.size(); ++i) {
    status = CopyFamily(*from, from_handles[i], **to, to_handles[i]);
  }
  if (status.ok()) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    status = FromRocks((*to)->Flush(flush, to_handles), "flushing the database copy");
  }
  if (to.ok()) CloseDb(**to, to_handles);
  CloseDb(*from, from_handles);
  return status;
}

Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& path, bool create) {
  rocksdb::DBOptions options = BaseOptions();
  options.create_if_missing = create;
  options.create_missing_column_families = create;
  options.error_if_exists = false;
  options.info_log = std::make_shared<FileInfoLog>(path);
  // RocksDB recovers from a full disk by itself only with an SstFileManager, which watches the
  // free space and resumes once there is room; without one its recovery stays busy for ever.
  options.sst_file_manager.reset(
      rocksdb::NewSstFileManager(rocksdb::Env::Default(), options.info_log));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, Families(), &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Internal("the ledger database " + path +
                              " is in use by another shiplog process (" + s.ToString() + ")");
    }
    if (!create && s.IsInvalidArgument()) {
      return Status::NotFound("no ledger database at " + path + " (" + s.ToString() + ")");
    }
    return OpenFailure(s, path);
  }
  return std::unique_ptr<Store>(new RocksStore(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

Result<std::unique_ptr<Store>> OpenRocksStoreReadOnly(const std::string& path) {
  // A read-only open takes no lock; ask whether a writer holds RocksDB's, without taking it.
  const int lock_fd = ::open((path + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (lock_fd >= 0) {
    struct flock probe = {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    const bool held = ::fcntl(lock_fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    ::close(lock_fd);
    if (held) {
      return Status::Internal("the ledger database " + path +
                              " is in use by another shiplog process (pid " +
                              std::to_string(probe.l_pid) + ")");
    }
  }
  rocksdb::DBOptions options = BaseOptions();
  options.info_log = std::make_shared<NoInfoLog>();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, path, Families(), &handles, &raw);
  if (!s.ok()) {
    if (s.IsInvalidArgument() || s.IsPathNotFound()) {
      return Status::NotFound("no ledger database at " + path + " (" + s.ToString() + ")");
    }
    return OpenFailure(s, path);
  }
  return std::unique_ptr<Store>(new RocksStore(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

}  // namespace shiplog
