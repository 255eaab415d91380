// The RocksDB implementation of Store.
//
// Column families:
//   records  EncodeSeq(seq) -> Record message bytes (schemas/record.capnp)
//   index    ledger-defined keys -> values (see ledger.cc for the key grammar)
//   meta     setting name -> value
// Every Commit is one WriteBatch across the three, written with sync=true: the batch is on disk
// (WAL fsynced) before Commit returns, and a crash leaves all of it or none of it.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

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

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corrupt(context + ": " + s.ToString());
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

class RocksStore final : public Store {
 public:
  RocksStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {}

  ~RocksStore() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  Status Commit(const StoreBatch& batch) override {
    std::lock_guard<std::mutex> lock(commit_mu_);
    // Read from the database once, then kept: this store is its only writer (RocksDB's lock),
    // and an iterator per commit cost 10 µs of a single client's append.
    if (!committed_count_) {
      SHIPLOG_ASSIGN_OR_RETURN(uint64_t count, RecordCount());
      committed_count_ = count;
    }
    const uint64_t count = *committed_count_;
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
    if (written.ok()) {
      committed_count_ = count + batch.records.size();
    } else {
      committed_count_.reset();
    }
    return FromRocks(written, "writing to the ledger database");
  }

  Result<uint64_t> RecordCount() override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records()));
    it->SeekToLast();
    SHIPLOG_RETURN_IF_ERROR(FromRocks(it->status(), "reading the ledger database"));
    if (!it->Valid()) return uint64_t{0};
    if (it->key().size() != 8) return Status::Corrupt("a record key is not 8 bytes");
    return DecodeSeq(std::string_view(it->key().data(), 8)) + 1;
  }

  Result<std::optional<std::string>> GetRecord(uint64_t seq) override {
    return Get(records(), EncodeSeq(seq));
  }

  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records()));
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

  Result<std::optional<std::string>> Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    SHIPLOG_RETURN_IF_ERROR(FromRocks(s, "reading the ledger database"));
    return std::optional<std::string>(std::move(value));
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, records, index, meta
  std::mutex commit_mu_;  // makes the count check and the write one step
  std::optional<uint64_t> committed_count_;  // GUARDED_BY(commit_mu_): records stored
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& path, bool create) {
  rocksdb::DBOptions options;
  options.create_if_missing = create;
  options.create_missing_column_families = create;
  options.error_if_exists = false;
  options.paranoid_checks = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : {rocksdb::kDefaultColumnFamilyName.c_str(), "records", "index", "meta"}) {
    rocksdb::ColumnFamilyOptions family;
    if (std::strcmp(name, "records") == 0 || std::strcmp(name, "index") == 0) {
      family.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<InsertRun>(std::strcmp(name, "records") == 0);
    }
    families.emplace_back(name, family);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, families, &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Internal("the ledger database " + path +
                              " is in use by another shiplog process (" + s.ToString() + ")");
    }
    if (!create && s.IsInvalidArgument()) {
      return Status::NotFound("no ledger database at " + path + " (" + s.ToString() + ")");
    }
    return FromRocks(s, "opening the ledger database " + path);
  }
  return std::unique_ptr<Store>(new RocksStore(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

}  // namespace shiplog
