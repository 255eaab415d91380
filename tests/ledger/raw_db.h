// RawDb: a ledger's RocksDB directory opened directly, for tests that tamper with what the
// ledger stored (records, index and meta column families) behind its back.
#pragma once

#include <rocksdb/db.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ledger/store.h"

namespace shiplog_test {

// A ledger's RocksDB directory opened directly, every column family by name.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<std::string> names;
    Ok(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names), "list");
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    Ok(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &db_), "open");
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  std::optional<std::string> Get(const std::string& cf, const std::string& key) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Cf(cf), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    Ok(s, "get");
    return value;
  }
  std::string Must(const std::string& cf, const std::string& key) {
    auto value = Get(cf, key);
    if (!value) throw std::runtime_error("no " + cf + " key");
    return *value;
  }
  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    Ok(db_->Put(Sync(), Cf(cf), key, value), "put");
  }
  void Delete(const std::string& cf, const std::string& key) {
    Ok(db_->Delete(Sync(), Cf(cf), key), "delete");
  }

  std::string Record(uint64_t seq) { return Must("records", shiplog::EncodeSeq(seq)); }

  // Every key of column family `cf` that starts with `prefix`, in order.
  std::vector<std::string> Keys(const std::string& cf, const std::string& prefix = "") {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Cf(cf)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      keys.push_back(it->key().ToString());
    }
    return keys;
  }

  // Deletes the query index entries (ledger/index.h) that point at record `seq`.
  void DeleteQueryEntriesOf(uint64_t seq) {
    const std::string seq8 = shiplog::EncodeSeq(seq);
    std::vector<std::string> doomed;
    for (const std::string& key : Keys("index")) {
      const bool query_key = key.size() > 10 && key[1] == '/' &&
                             std::string("dakpersmo").find(key[0]) != std::string::npos;
      if (query_key && key.compare(key.size() - 8, 8, seq8) == 0) doomed.push_back(key);
    }
    for (const auto& key : doomed) Delete("index", key);
  }
  void PutRecord(uint64_t seq, const std::string& v) { Put("records", shiplog::EncodeSeq(seq), v); }

 private:
  static rocksdb::WriteOptions Sync() {
    rocksdb::WriteOptions w;
    w.sync = true;
    return w;
  }
  static void Ok(const rocksdb::Status& s, const std::string& what) {
    if (!s.ok()) throw std::runtime_error("rocksdb " + what + ": " + s.ToString());
  }
  rocksdb::ColumnFamilyHandle* Cf(const std::string& name) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw std::runtime_error("no column family " + name);
    return it->second;
  }

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

}  // namespace shiplog_test
