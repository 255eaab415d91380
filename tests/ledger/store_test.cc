// Conformance tests of the Store interface (ledger/store.h), run against every backend listed in
// kBackends below, plus RocksDB-specific checks and EncodeSeq.
//
// To add a backend: add a StoreBackend whose `open` opens (or creates) the store identified by a
// fresh directory path; every TEST_P below then runs against it. PostgreSQL's runs when the suite
// does (SHIPLOG_TEST_STORE=postgresql: the ctest label postgresql), on a database of its own per
// test on the process's test server.
#include "ledger/store.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <random>

#include "test_util.h"
#include "tests/postgres/postgres_server.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::DecodeSeq;
using shiplog::EncodeSeq;
using shiplog::Store;
using shiplog::StoreBatch;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

struct StoreBackend {
  std::string name;
  // Opens the store kept at `location` (a path inside a fresh temporary directory), creating it
  // when `create` is set.
  std::function<Result<std::unique_ptr<Store>>(const std::string& location, bool create)> open;
};

// A PostgreSQL store per location: a new database when created, the same one when reopened.
Result<std::unique_ptr<Store>> OpenPostgresAt(const std::string& location, bool create) {
  static std::map<std::string, std::string> databases;  // location -> URL
  if (create) databases[location] = shiplog::testing::PostgresServer::Shared().CreateDatabase("store");
  auto found = databases.find(location);
  if (found == databases.end()) return shiplog::Status::NotFound("no database for " + location);
  return shiplog::OpenPostgresStore(found->second, create ? shiplog::StoreAccess::kCreate
                                                          : shiplog::StoreAccess::kReadWrite);
}

std::vector<StoreBackend> Backends() {
  std::vector<StoreBackend> backends = {
      {"RocksDB", [](const std::string& location, bool create) {
         return shiplog::OpenRocksStore(location, create);
       }},
  };
  if (shiplog::testing::TestsUsePostgres()) backends.push_back({"PostgreSQL", OpenPostgresAt});
  return backends;
}

// A record value with bytes a careless backend would mangle (NUL, high bytes).
std::string RecordValue(uint64_t seq) {
  return std::string("rec\0", 4) + std::to_string(seq) + "\xff\x80";
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override { store_ = Unwrap(GetParam().open(Location(), true), "open store"); }

  std::string Location() const { return tmp_.Path("store"); }

  void Reopen() {
    store_.reset();
    store_ = Unwrap(GetParam().open(Location(), false), "reopen store");
  }

  uint64_t Count() { return Unwrap(store_->RecordCount(), "RecordCount"); }

  // Commits records [first, first + n) with RecordValue() values.
  Status CommitRecords(uint64_t first, uint64_t n) {
    StoreBatch batch;
    batch.first_seq = first;
    for (uint64_t i = 0; i < n; ++i) batch.records.push_back(RecordValue(first + i));
    return store_->Commit(batch);
  }

  std::vector<std::pair<uint64_t, std::string>> ScanAll(uint64_t from) {
    std::vector<std::pair<uint64_t, std::string>> out;
    Check(store_->ScanRecords(from, [&](uint64_t seq, std::string_view value) {
      out.emplace_back(seq, std::string(value));
      return true;
    }), "ScanRecords");
    return out;
  }

  std::vector<std::pair<std::string, std::string>> ScanIndex(std::string_view prefix,
                                                             std::string_view start = {},
                                                             size_t limit = SIZE_MAX) {
    std::vector<std::pair<std::string, std::string>> out;
    Check(store_->ScanIndex(prefix, start, [&](std::string_view k, std::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return out.size() < limit;
    }), "ScanIndex");
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, EmptyStore) {
  EXPECT_EQ(Count(), 0u);
  auto rec = store_->GetRecord(0);
  ASSERT_OK(rec);
  EXPECT_FALSE(rec->has_value());
  auto idx = store_->GetIndex("anything");
  ASSERT_OK(idx);
  EXPECT_FALSE(idx->has_value());
  auto meta = store_->GetMeta("clock");
  ASSERT_OK(meta);
  EXPECT_FALSE(meta->has_value());
  EXPECT_TRUE(ScanAll(0).empty());
  EXPECT_TRUE(ScanIndex("").empty());
}

TEST_P(StoreConformanceTest, CommitRoundTripsRecordsIndexAndMeta) {
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {RecordValue(0), RecordValue(1), RecordValue(2)};
  batch.index_puts = {{"deployment/d1/" + EncodeSeq(1), ""}, {"actor/leon/" + EncodeSeq(2), "x"}};
  batch.meta_puts = {{"manual_clock_now", "12345"}};
  ASSERT_OK(store_->Commit(batch));

  EXPECT_EQ(Count(), 3u);
  for (uint64_t s = 0; s < 3; ++s) {
    auto rec = store_->GetRecord(s);
    ASSERT_OK(rec);
    EXPECT_THAT(*rec, Optional(RecordValue(s))) << s;
  }
  auto missing = store_->GetRecord(3);
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto idx = store_->GetIndex("actor/leon/" + EncodeSeq(2));
  ASSERT_OK(idx);
  EXPECT_THAT(*idx, Optional(std::string("x")));
  auto empty_value = store_->GetIndex("deployment/d1/" + EncodeSeq(1));
  ASSERT_OK(empty_value);
  EXPECT_THAT(*empty_value, Optional(std::string()));
  auto meta = store_->GetMeta("manual_clock_now");
  ASSERT_OK(meta);
  EXPECT_THAT(*meta, Optional(std::string("12345")));
}

TEST_P(StoreConformanceTest, CommitsAppend) {
  ASSERT_OK(CommitRecords(0, 2));
  ASSERT_OK(CommitRecords(2, 3));
  ASSERT_OK(CommitRecords(5, 1));
  EXPECT_EQ(Count(), 6u);
  auto all = ScanAll(0);
  ASSERT_EQ(all.size(), 6u);
  for (uint64_t s = 0; s < 6; ++s) {
    EXPECT_EQ(all[s].first, s);
    EXPECT_EQ(all[s].second, RecordValue(s));
  }
}

TEST_P(StoreConformanceTest, CommitWithWrongFirstSeqConflictsAndWritesNothing) {
  ASSERT_OK(CommitRecords(0, 3));
  for (uint64_t wrong : {uint64_t{0}, uint64_t{2}, uint64_t{4}, uint64_t{100}}) {
    StoreBatch batch;
    batch.first_seq = wrong;
    batch.records = {"intruder-a", "intruder-b"};
    batch.index_puts = {{"idx/wrong/" + std::to_string(wrong), "v"}};
    batch.meta_puts = {{"meta-wrong-" + std::to_string(wrong), "v"}};
    EXPECT_CODE(store_->Commit(batch), StatusCode::kConflict) << "first_seq " << wrong;

    EXPECT_EQ(Count(), 3u);
    auto idx = store_->GetIndex("idx/wrong/" + std::to_string(wrong));
    ASSERT_OK(idx);
    EXPECT_FALSE(idx->has_value()) << "index entry of a refused batch was written";
    auto meta = store_->GetMeta("meta-wrong-" + std::to_string(wrong));
    ASSERT_OK(meta);
    EXPECT_FALSE(meta->has_value()) << "meta entry of a refused batch was written";
  }
  auto all = ScanAll(0);
  ASSERT_EQ(all.size(), 3u);
  for (uint64_t s = 0; s < 3; ++s) EXPECT_EQ(all[s].second, RecordValue(s));
}

TEST_P(StoreConformanceTest, FirstCommitMustStartAtZero) {
  EXPECT_CODE(CommitRecords(1, 1), StatusCode::kConflict);
  EXPECT_EQ(Count(), 0u);
  EXPECT_OK(CommitRecords(0, 1));
}

TEST_P(StoreConformanceTest, ScanRecordsInOrderFromAStart) {
  ASSERT_OK(CommitRecords(0, 5));
  auto from2 = ScanAll(2);
  ASSERT_EQ(from2.size(), 3u);
  EXPECT_EQ(from2[0].first, 2u);
  EXPECT_EQ(from2[2].first, 4u);
  EXPECT_EQ(from2[2].second, RecordValue(4));
  EXPECT_TRUE(ScanAll(5).empty());
  EXPECT_TRUE(ScanAll(1000).empty());
}

TEST_P(StoreConformanceTest, ScanRecordsStopsEarly) {
  ASSERT_OK(CommitRecords(0, 5));
  std::vector<uint64_t> seen;
  ASSERT_OK(store_->ScanRecords(1, [&](uint64_t seq, std::string_view) {
    seen.push_back(seq);
    return seen.size() < 2;
  }));
  EXPECT_THAT(seen, ElementsAre(1u, 2u));
}

TEST_P(StoreConformanceTest, SequenceOrderIsNumericAcrossByteBoundaries) {
  // 300 records cross 255 -> 256; a store that sorts keys as text would misorder them.
  for (uint64_t first = 0; first < 300; first += 60) ASSERT_OK(CommitRecords(first, 60));
  EXPECT_EQ(Count(), 300u);
  auto all = ScanAll(0);
  ASSERT_EQ(all.size(), 300u);
  for (uint64_t s = 0; s < 300; ++s) {
    ASSERT_EQ(all[s].first, s);
    ASSERT_EQ(all[s].second, RecordValue(s));
  }
  auto from250 = ScanAll(250);
  ASSERT_EQ(from250.size(), 50u);
  EXPECT_EQ(from250.front().first, 250u);
}

TEST_P(StoreConformanceTest, ScanIndexByPrefixFromStart) {
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {RecordValue(0)};
  for (uint64_t s : {7, 1, 300, 42}) batch.index_puts.emplace_back("actor/leon/" + EncodeSeq(s), "L" + std::to_string(s));
  batch.index_puts.emplace_back("actor/leonard/" + EncodeSeq(2), "other");
  batch.index_puts.emplace_back("actor/le/" + EncodeSeq(3), "other");
  batch.index_puts.emplace_back("actor/leon", "exact-prefix-key");
  batch.index_puts.emplace_back("deployment/d1/" + EncodeSeq(5), "D");
  batch.index_puts.emplace_back("actor/leom/" + EncodeSeq(9), "before");
  ASSERT_OK(store_->Commit(batch));

  auto leon = ScanIndex("actor/leon/");
  std::vector<std::string> values;
  for (const auto& [k, v] : leon) values.push_back(v);
  EXPECT_THAT(values, ElementsAre("L1", "L7", "L42", "L300"));
  for (const auto& [k, v] : leon) EXPECT_EQ(k.rfind("actor/leon/", 0), 0u) << k;

  // From a start key (inclusive) inside the prefix.
  auto from7 = ScanIndex("actor/leon/", "actor/leon/" + EncodeSeq(7));
  values.clear();
  for (const auto& [k, v] : from7) values.push_back(v);
  EXPECT_THAT(values, ElementsAre("L7", "L42", "L300"));
  // From a start key that is not stored: the next one after it.
  auto from8 = ScanIndex("actor/leon/", "actor/leon/" + EncodeSeq(8));
  values.clear();
  for (const auto& [k, v] : from8) values.push_back(v);
  EXPECT_THAT(values, ElementsAre("L42", "L300"));

  // Early stop.
  EXPECT_EQ(ScanIndex("actor/leon/", "", 2).size(), 2u);

  // Prefix "actor/" sees every actor entry, in byte order.
  auto actors = ScanIndex("actor/");
  EXPECT_EQ(actors.size(), 8u);
  EXPECT_TRUE(std::is_sorted(actors.begin(), actors.end()));
  // Empty prefix sees everything.
  EXPECT_EQ(ScanIndex("").size(), 9u);
  EXPECT_TRUE(ScanIndex("nothing/").empty());
}

TEST_P(StoreConformanceTest, ScanIndexPrefixEndingInFF) {
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {RecordValue(0)};
  batch.index_puts = {{"p\xff\x01", "in-1"}, {"p\xff\xff", "in-2"}, {"q", "out"}, {"p\xfe", "out"},
                      {std::string("p\xff\0", 3), "in-0"}};
  ASSERT_OK(store_->Commit(batch));
  auto hits = ScanIndex("p\xff");
  std::vector<std::string> values;
  for (const auto& [k, v] : hits) values.push_back(v);
  EXPECT_THAT(values, ElementsAre("in-0", "in-1", "in-2"));
}

TEST_P(StoreConformanceTest, LaterIndexPutOverwrites) {
  StoreBatch a;
  a.first_seq = 0;
  a.records = {RecordValue(0)};
  a.index_puts = {{"head", "0"}};
  ASSERT_OK(store_->Commit(a));
  StoreBatch b;
  b.first_seq = 1;
  b.records = {RecordValue(1)};
  b.index_puts = {{"head", "1"}};
  ASSERT_OK(store_->Commit(b));
  auto head = store_->GetIndex("head");
  ASSERT_OK(head);
  EXPECT_THAT(*head, Optional(std::string("1")));
}

TEST_P(StoreConformanceTest, MetaPutAndOverwrite) {
  ASSERT_OK(store_->PutMeta("clock", "1"));
  ASSERT_OK(store_->PutMeta("clock", "2"));
  auto clock = store_->GetMeta("clock");
  ASSERT_OK(clock);
  EXPECT_THAT(*clock, Optional(std::string("2")));
  EXPECT_EQ(Count(), 0u) << "meta is not a record";
}

TEST_P(StoreConformanceTest, KeyspacesAreSeparate) {
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {RecordValue(0)};
  batch.index_puts = {{"k", "index"}, {EncodeSeq(5), "index-looks-like-seq"}};
  batch.meta_puts = {{"k", "meta"}, {EncodeSeq(6), "meta-looks-like-seq"}};
  ASSERT_OK(store_->Commit(batch));
  EXPECT_EQ(Count(), 1u);
  EXPECT_EQ(ScanAll(0).size(), 1u);
  auto idx = store_->GetIndex("k");
  ASSERT_OK(idx);
  EXPECT_THAT(*idx, Optional(std::string("index")));
  auto meta = store_->GetMeta("k");
  ASSERT_OK(meta);
  EXPECT_THAT(*meta, Optional(std::string("meta")));
  auto meta_not_index = store_->GetIndex(EncodeSeq(6));
  ASSERT_OK(meta_not_index);
  EXPECT_FALSE(meta_not_index->has_value());
  EXPECT_EQ(ScanIndex("").size(), 2u);
}

TEST_P(StoreConformanceTest, EverythingSurvivesReopen) {
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {RecordValue(0), RecordValue(1)};
  batch.index_puts = {{"kind/step.started/" + EncodeSeq(1), ""}};
  batch.meta_puts = {{"m", "v"}};
  ASSERT_OK(store_->Commit(batch));
  ASSERT_OK(store_->PutMeta("clock", "99"));
  Reopen();
  EXPECT_EQ(Count(), 2u);
  auto rec = store_->GetRecord(1);
  ASSERT_OK(rec);
  EXPECT_THAT(*rec, Optional(RecordValue(1)));
  EXPECT_EQ(ScanIndex("kind/").size(), 1u);
  auto m = store_->GetMeta("m");
  ASSERT_OK(m);
  EXPECT_THAT(*m, Optional(std::string("v")));
  auto clock = store_->GetMeta("clock");
  ASSERT_OK(clock);
  EXPECT_THAT(*clock, Optional(std::string("99")));
  EXPECT_CODE(CommitRecords(1, 1), StatusCode::kConflict);
  EXPECT_OK(CommitRecords(2, 1));
}

TEST_P(StoreConformanceTest, LargeRecord) {
  std::string big(300 * 1024, 'b');
  big[1000] = '\0';
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {big};
  ASSERT_OK(store_->Commit(batch));
  auto rec = store_->GetRecord(0);
  ASSERT_OK(rec);
  EXPECT_THAT(*rec, Optional(big));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<StoreBackend>& info) {
                           return info.param.name;
                         });

// ---- PostgreSQL specifics: run with the suite on PostgreSQL (ctest -L postgresql) ----

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shiplog::testing::TestsUsePostgres()) {
      GTEST_SKIP() << "runs with SHIPLOG_TEST_STORE=postgresql (ctest -L postgresql)";
    }
    url_ = shiplog::testing::PostgresServer::Shared().CreateDatabase("pgstore");
  }

  std::unique_ptr<Store> Open(shiplog::StoreAccess access = shiplog::StoreAccess::kCreate,
                              const std::string& url = "") {
    return Unwrap(shiplog::OpenPostgresStore(url.empty() ? url_ : url, access), "open store");
  }
  static Status CommitOne(Store& store, uint64_t seq) {
    StoreBatch batch;
    batch.first_seq = seq;
    batch.records = {RecordValue(seq)};
    return store.Commit(batch);
  }
  std::string Sql(const std::string& sql) {
    return shiplog::testing::PostgresServer::Shared().Query(url_, sql);
  }

  std::string url_;
};

TEST_F(PostgresStoreTest, TwoWritersBatchesConflictInsteadOfInterleaving) {
  auto first = Open();
  auto second = Open(shiplog::StoreAccess::kReadWrite);
  ASSERT_OK(CommitOne(*first, 0));
  // The second writer built its batch on the count it saw before the first committed.
  EXPECT_CODE(CommitOne(*second, 0), StatusCode::kConflict);
  EXPECT_OK(CommitOne(*second, 1));
  EXPECT_EQ(Unwrap(first->RecordCount()), 2u);
  EXPECT_EQ(Sql("SELECT count(*) FROM shiplog_records"), "2");
}

TEST_F(PostgresStoreTest, TheAppendLockHoldsOtherWritersOffUntilItsCommit) {
  auto holder = Open();
  auto other = Open(shiplog::StoreAccess::kReadWrite);
  EXPECT_TRUE(holder->Shared());
  ASSERT_EQ(Unwrap(holder->LockAppends()), 0u);
  std::atomic<bool> done{false};
  Status other_commit;
  std::thread writer([&] {
    other_commit = CommitOne(*other, 0);
    done = true;
  });
  // The other writer waits on the lock: nothing of its batch is in the database meanwhile.
  for (int i = 0; i < 20 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(done) << "a commit went past another writer's append lock";
  ASSERT_OK(CommitOne(*holder, 0));
  writer.join();
  EXPECT_CODE(other_commit, StatusCode::kConflict) << "it waited, then found the count moved";
  EXPECT_EQ(Unwrap(other->RecordCount()), 1u);
}

TEST_F(PostgresStoreTest, UnlockingLetsTheOthersCommitAndWritesNothing) {
  auto holder = Open();
  auto other = Open(shiplog::StoreAccess::kReadWrite);
  ASSERT_EQ(Unwrap(holder->LockAppends()), 0u);
  holder->UnlockAppends();
  EXPECT_OK(CommitOne(*other, 0));
  EXPECT_EQ(Unwrap(holder->RecordCount()), 1u);
}

TEST_F(PostgresStoreTest, AStatementTimeoutBoundsAWaitForTheLock) {
  auto holder = Open();
  ASSERT_OK(holder->LockAppends().status());
  // The URL's own statement_timeout (libpq's options) wins over the store's 10 s.
  auto impatient =
      Open(shiplog::StoreAccess::kReadWrite, url_ + "?options=-c%20statement_timeout%3D200");
  const Status waited = CommitOne(*impatient, 0);
  EXPECT_CODE(waited, StatusCode::kUnavailable);
  EXPECT_THAT(waited.message(), HasSubstr("statement timeout"));
  holder->UnlockAppends();
  EXPECT_OK(CommitOne(*impatient, 0));
}

TEST_F(PostgresStoreTest, AReadOnlyStoreReadsOneSnapshotAndWritesNothing) {
  auto writer = Open();
  ASSERT_OK(CommitOne(*writer, 0));
  auto reader = Open(shiplog::StoreAccess::kReadOnly);
  EXPECT_EQ(Unwrap(reader->RecordCount()), 1u);
  ASSERT_OK(CommitOne(*writer, 1));
  EXPECT_EQ(Unwrap(reader->RecordCount()), 1u) << "a reader's log changed under its feet";
  EXPECT_EQ(Unwrap(reader->GetRecord(1)), std::nullopt);
  EXPECT_CODE(CommitOne(*reader, 2), StatusCode::kFailedPrecondition);
  EXPECT_CODE(reader->PutMeta("m", "v"), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Unwrap(Open(shiplog::StoreAccess::kReadOnly)->RecordCount()), 2u);
}

TEST_F(PostgresStoreTest, AReadRetriesALostConnection) {
  auto store = Open();
  ASSERT_OK(CommitOne(*store, 0));
  ASSERT_EQ(Unwrap(store->RecordCount()), 1u);  // a pooled connection now
  Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
      "'shiplog' AND datname = current_database()");
  EXPECT_EQ(Unwrap(store->RecordCount()), 1u);
  EXPECT_OK(CommitOne(*store, 1));
}

TEST_F(PostgresStoreTest, TheSchemaVersionIsRecordedAndANewerOneRefused) {
  Open();
  EXPECT_EQ(Sql("SELECT max(version) FROM shiplog_schema"), "1");
  Open(shiplog::StoreAccess::kReadWrite);  // applies nothing twice
  EXPECT_EQ(Sql("SELECT count(*) FROM shiplog_schema"), "1");
  Sql("INSERT INTO shiplog_schema (version) VALUES (99)");
  auto newer = shiplog::OpenPostgresStore(url_, shiplog::StoreAccess::kReadWrite);
  EXPECT_CODE(newer, StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("schema version 99"));
}

TEST_F(PostgresStoreTest, ADatabaseWithoutTheTablesHoldsNoLedger) {
  auto opened = shiplog::OpenPostgresStore(url_, shiplog::StoreAccess::kReadWrite);
  EXPECT_CODE(opened, StatusCode::kNotFound);
  EXPECT_CODE(shiplog::OpenPostgresStore(url_, shiplog::StoreAccess::kReadOnly),
              StatusCode::kNotFound);
  EXPECT_EQ(Sql("SELECT to_regclass('shiplog_records') IS NULL"), "t") << "nothing was created";
}

TEST_F(PostgresStoreTest, CheckpointsAreReadableWithSql) {
  auto store = Open();
  StoreBatch batch;
  batch.first_seq = 0;
  batch.records = {RecordValue(0)};
  batch.index_puts = {{"c/" + EncodeSeq(300), "a signed note"}};
  ASSERT_OK(store->Commit(batch));
  EXPECT_EQ(Sql("SELECT tree_size || ' ' || note FROM shiplog_checkpoints"), "300 a signed note");
}

TEST(PostgresStore, AnUnreachableDatabaseIsUnavailableAndItsPasswordUnsaid) {
  // Port 1: privileged, and nothing listens there.
  const std::string url = "postgresql://shiplog:s3cret@127.0.0.1:1/nothing";
  auto opened = shiplog::OpenPostgresStore(url, shiplog::StoreAccess::kReadWrite);
  EXPECT_CODE(opened, StatusCode::kUnavailable);
  EXPECT_THAT(opened.status().message(), HasSubstr("shiplog:****@127.0.0.1"));
  EXPECT_THAT(opened.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_CODE(shiplog::OpenPostgresStore("/var/lib/shiplog", shiplog::StoreAccess::kReadWrite),
              StatusCode::kInvalidArgument);
}

TEST(PostgresStore, RedactedUrlHidesOnlyThePassword) {
  EXPECT_EQ(shiplog::RedactedUrl("postgresql://u:pw@h:5432/db"), "postgresql://u:****@h:5432/db");
  EXPECT_EQ(shiplog::RedactedUrl("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(shiplog::RedactedUrl("postgresql://h1:5432,h2:5432/db"),
            "postgresql://h1:5432,h2:5432/db");
}

// ---- RocksDB specifics ----

TEST(RocksStore, OpenWithoutCreateFailsWhenMissing) {
  TempDir tmp;
  auto r = shiplog::OpenRocksStore(tmp.Path("absent"), false);
  EXPECT_FALSE(r.ok());
}

TEST(RocksStore, SecondOpenOfTheSameDatabaseFailsClearly) {
  TempDir tmp;
  auto first = shiplog::OpenRocksStore(tmp.Path("db"), true);
  ASSERT_OK(first);
  auto second = shiplog::OpenRocksStore(tmp.Path("db"), false);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              AnyOf(HasSubstr("lock"), HasSubstr("in use"), HasSubstr("another"), HasSubstr("already")));
  first->reset();
  EXPECT_OK(shiplog::OpenRocksStore(tmp.Path("db"), false)) << "the lock goes with the store";
}

// The layout properties_test.cc tampers with: column family "records", key EncodeSeq(seq).
TEST(RocksStore, RecordsLiveInRecordsColumnFamilyUnderEncodedSeq) {
  TempDir tmp;
  const std::string path = tmp.Path("db");
  {
    auto store = Unwrap(shiplog::OpenRocksStore(path, true));
    StoreBatch batch;
    batch.first_seq = 0;
    batch.records = {"zero", "one"};
    ASSERT_OK(store->Commit(batch));
  }
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  ASSERT_NE(std::find(names.begin(), names.end(), "records"), names.end());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, cfs, &handles, &raw).ok());
  const size_t records = std::find(names.begin(), names.end(), "records") - names.begin();
  std::string value;
  EXPECT_TRUE(raw->Get(rocksdb::ReadOptions(), handles[records], EncodeSeq(1), &value).ok());
  EXPECT_EQ(value, "one");
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
}

// ---- EncodeSeq ----

TEST(EncodeSeq, IsEightBytesBigEndian) {
  EXPECT_EQ(EncodeSeq(0), std::string(8, '\0'));
  EXPECT_EQ(EncodeSeq(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(EncodeSeq(0x0102030405060708ULL), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(EncodeSeq(UINT64_MAX), std::string(8, '\xff'));
}

TEST(EncodeSeq, SortsNumericallyAndRoundTrips) {
  std::vector<uint64_t> values = {0, 1, 2, 255, 256, 257, 65535, 65536, 1ULL << 32, (1ULL << 32) + 1,
                                  1ULL << 56, UINT64_MAX - 1, UINT64_MAX};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) values.push_back(rng() >> (rng() % 64));
  for (uint64_t a : values) {
    EXPECT_EQ(EncodeSeq(a).size(), 8u);
    EXPECT_EQ(DecodeSeq(EncodeSeq(a)), a);
    for (uint64_t b : values) {
      ASSERT_EQ(a < b, EncodeSeq(a) < EncodeSeq(b)) << a << " vs " << b;
    }
  }
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
