// Ledger::Verify spread over threads and chunks (ledger/verify.cc): whatever the thread count and
// chunk size, the report is the same, and names the first bad record even when a later chunk,
// checked by other threads, holds a bad one too.
//
// The ledger mixes single appends (a checkpoint per record) and batches (records in the middle of
// a commit have none), so chunk edges fall on both kinds.
#include <gtest/gtest.h>

#include <capnp/message.h>

#include "ledger/canonical.h"
#include "ledger/index.h"
#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "raw_db.h"
#include "schemas/record.capnp.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::CheckedEvent;
using shiplog::EncodeSeq;
using shiplog::Ledger;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::VerifyOptions;
using shiplog::VerifyReport;
using ::testing::HasSubstr;

constexpr uint64_t kRecords = 42;

// Thread counts and chunk sizes that put chunk edges everywhere, the caller alone included.
const std::vector<VerifyOptions>& AllOptions() {
  static const auto* options = new std::vector<VerifyOptions>{
      {1, 1}, {1, 5}, {2, 1}, {3, 4}, {4, 7}, {8, 64}, {0, 4096}};
  return *options;
}

std::string Describe(const VerifyOptions& options) {
  return std::to_string(options.threads) + " threads, chunks of " +
         std::to_string(options.chunk_records);
}

std::string Bytes(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
capnp::Data::Reader DataOf(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

// A stored record with one bit of its event's signature flipped, and its leaf hash recomputed so
// that only the signature is wrong.
std::string WithBadSignature(const std::string& stored) {
  constexpr size_t kMax = 1 << 20;
  auto record = Unwrap(shiplog::CanonicalMessage::Parse(stored, kMax), "parse record");
  auto entry = Unwrap(shiplog::CanonicalMessage::Parse(
                          Bytes(record.Root<shiplog::schema::Record>().getEntry()), kMax),
                      "parse entry");
  capnp::MallocMessageBuilder changed;
  changed.setRoot(entry.Root<shiplog::schema::Entry>());
  changed.getRoot<shiplog::schema::Entry>().getEvent().getSignature()[0] ^= 1;
  const std::string entry_bytes =
      shiplog::CanonicalBytes(changed.getRoot<shiplog::schema::Entry>().asReader());
  const shiplog::merkle::Hash leaf = shiplog::merkle::LeafHash(entry_bytes);
  capnp::MallocMessageBuilder out;
  auto r = out.initRoot<shiplog::schema::Record>();
  r.setEntry(DataOf(entry_bytes));
  r.setLeafHash(capnp::Data::Reader(leaf.data(), leaf.size()));
  return shiplog::CanonicalBytes(r.asReader());
}

// A RocksDB store whose record scan fails on reaching `fail_at`, as a damaged file would make it.
class FailingScanStore final : public ForwardingStore {
 public:
  FailingScanStore(std::unique_ptr<shiplog::Store> inner, const uint64_t* fail_at)
      : ForwardingStore(std::move(inner)), fail_at_(fail_at) {}
  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    Status failed;
    Status status = inner().ScanRecords(from, [&](uint64_t seq, std::string_view value) {
      if (seq >= *fail_at_) {
        failed = Status::Internal("reading record " + std::to_string(seq) + ": I/O error");
        return false;
      }
      return visit(seq, value);
    });
    return failed.ok() ? status : failed;
  }

 private:
  const uint64_t* fail_at_;
};

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.Create();
    t_.Enroll("leon", leon_);
    t_.Append(DeployRequestedJson("leon"), leon_);
    // Singles and batches of 3 and 5, alternating, until kRecords.
    for (size_t batch = 0; t_.ledger->size() < kRecords; ++batch) {
      const uint64_t want = std::min<uint64_t>(batch % 2 == 0 ? 1 : 3 + batch % 3 * 2,
                                               kRecords - t_.ledger->size());
      std::vector<CheckedEvent> events;
      for (uint64_t i = 0; i < want; ++i) {
        events.push_back(Unwrap(shiplog::CheckEvent(SignJson(
            StepStartedJson("leon", "s" + std::to_string(t_.ledger->size() + i)), leon_))));
      }
      for (auto& receipt : t_.ledger->AppendBatch(std::move(events))) ASSERT_OK(receipt);
    }
    t_.Close();
  }

  std::string db() const { return t_.dir() + "/db"; }

  // The report of every option in AllOptions(), the same for all of them, or a test failure.
  VerifyReport VerifyWithAllOptions() {
    Check(t_.Open(), "Open");
    std::optional<VerifyReport> first;
    for (const VerifyOptions& options : AllOptions()) {
      auto report = t_.ledger->Verify(options);
      EXPECT_OK(report) << Describe(options);
      if (!report.ok()) continue;
      if (!first) first = *report;
      EXPECT_EQ(report->ToJson(), first->ToJson()) << Describe(options);
    }
    t_.Close();
    return first.value_or(VerifyReport{});
  }

  TestLedger t_;
  SigningKey leon_ = SigningKey::Generate();
};

TEST_F(VerifyTest, AnUntouchedLedgerVerifiesWhateverTheThreadsAndChunks) {
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, kRecords);
  EXPECT_LT(report.checkpoints, kRecords) << "batches sign one checkpoint each";
}

TEST_F(VerifyTest, ProgressCountsRecordsInOrder) {
  Check(t_.Open(), "Open");
  std::vector<uint64_t> seen;
  auto report = t_.ledger->Verify(VerifyOptions{3, 2}, [&](uint64_t n) { seen.push_back(n); });
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  for (uint64_t n : seen) EXPECT_LE(n, kRecords);
}

TEST_F(VerifyTest, TheFirstBadSignatureIsNamedWhenALaterChunkHasOneToo) {
  {
    RawDb raw(db());
    raw.PutRecord(9, WithBadSignature(raw.Record(9)));
    raw.PutRecord(33, WithBadSignature(raw.Record(33)));
  }
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 9u) << report.problem;
  EXPECT_THAT(report.problem, NamesWord("record 9"));
  EXPECT_THAT(report.problem, HasSubstr("signature does not verify"));
}

TEST_F(VerifyTest, ABadSignatureInALaterChunkAloneIsNamed) {
  {
    RawDb raw(db());
    raw.PutRecord(33, WithBadSignature(raw.Record(33)));
  }
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 33u) << report.problem;
  EXPECT_THAT(report.problem, HasSubstr("signature does not verify"));
}

TEST_F(VerifyTest, ABadCheckpointSignatureIsNamedBeforeALaterBadRecord) {
  {
    // Not the latest checkpoint (Open refuses that one): the one record 3's single append signed.
    RawDb raw(db());
    const std::string key = "c/" + EncodeSeq(4);
    std::string note = raw.Must("index", key);
    note[note.size() - 3] ^= 1;  // inside the signature line's base64
    raw.Put("index", key, note);
    raw.PutRecord(33, WithBadSignature(raw.Record(33)));
  }
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 3u) << report.problem;
  EXPECT_EQ(report.bad_checkpoint, 4u) << report.problem;
}

TEST_F(VerifyTest, AMissingIndexEntryIsNamedWhateverTheThreadsAndChunks) {
  {
    RawDb raw(db());
    raw.DeleteQueryEntriesOf(20);
  }
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 20u) << report.problem;
  EXPECT_THAT(report.problem, HasSubstr("is missing"));
}

TEST_F(VerifyTest, AnEventIdEntryPointingElsewhereIsNamed) {
  {
    RawDb raw(db());
    for (const std::string& key : raw.Keys("index", "i/")) {
      if (raw.Must("index", key) == EncodeSeq(25)) raw.Put("index", key, EncodeSeq(26));
    }
  }
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 25u) << report.problem;
  EXPECT_THAT(report.problem, HasSubstr("event-id index"));
}

TEST_F(VerifyTest, AStrayIndexEntryIsNamedWhateverTheThreadsAndChunks) {
  {
    RawDb raw(db());
    raw.Put("index", shiplog::IndexPrefix(shiplog::IndexField::kKind, "key.revoked") + EncodeSeq(17),
            "");
  }
  const VerifyReport report = VerifyWithAllOptions();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 17u) << report.problem;
  EXPECT_THAT(report.problem, HasSubstr("is one that record does not have"));
}

// A record that cannot be read stops verification with the read's error, but only once the
// records read before it are checked: a bad one among them is named instead.
TEST_F(VerifyTest, AFailedReadIsReportedAfterTheRecordsBeforeIt) {
  uint64_t fail_at = UINT64_MAX;
  auto open = [&] {
    auto store = Unwrap(shiplog::OpenRocksStore(db(), false));
    auto key = Unwrap(shiplog::ReadKeyFile(t_.dir() + "/ledger.key"));
    return Unwrap(Ledger::Open(std::make_unique<FailingScanStore>(std::move(store), &fail_at),
                               std::move(key), &t_.clock));
  };
  {
    auto ledger = open();
    fail_at = 30;
    for (const VerifyOptions& options : AllOptions()) {
      auto report = ledger->Verify(options);
      EXPECT_CODE(report, StatusCode::kInternal) << Describe(options);
      EXPECT_THAT(report.status().message(), HasSubstr("record 30")) << Describe(options);
    }
  }
  {
    RawDb raw(db());
    raw.PutRecord(9, WithBadSignature(raw.Record(9)));
  }
  fail_at = UINT64_MAX;
  auto ledger = open();
  fail_at = 30;
  for (const VerifyOptions& options : AllOptions()) {
    auto report = ledger->Verify(options);
    ASSERT_OK(report) << Describe(options);
    EXPECT_EQ(report->first_bad_seq, 9u) << Describe(options) << ": " << report->problem;
  }
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
