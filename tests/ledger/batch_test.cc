// Group commit (Ledger::AppendBatch): a batch is ordered, judged event by event against the state
// the ones before it left, stored with one commit and one checkpoint that every receipt proves
// into, and answers each event as Append would. A batch whose commit fails stores nothing and
// stops the ledger from appending on a state the disk does not have.
#include <set>

#include "ledger/ledger.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::CheckedEvent;
using shiplog::CheckEvent;
using shiplog::Ledger;
using shiplog::QueryFilter;
using shiplog::Receipt;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::StoreBatch;
using shiplog::StoredRecord;

std::vector<CheckedEvent> Checked(const std::vector<SignedEvent>& events) {
  std::vector<CheckedEvent> out;
  for (const SignedEvent& e : events) out.push_back(Unwrap(CheckEvent(e), "CheckEvent"));
  return out;
}

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override { t_.Create(); }
  Ledger& ledger() { return *t_.ledger; }

  void ExpectVerifies() {
    auto report = ledger().Verify();
    ASSERT_OK(report);
    EXPECT_TRUE(report->ok) << report->problem;
    EXPECT_EQ(report->records, ledger().size());
  }

  TestLedger t_;
  SigningKey leon_ = SigningKey::Generate();
  SigningKey rutger_ = SigningKey::Generate();
};

TEST_F(BatchTest, OneCheckpointCoversTheBatchAndEveryReceiptProvesIntoIt) {
  t_.Enroll("leon", leon_);
  const uint64_t base = ledger().size();
  std::vector<SignedEvent> events;
  for (int i = 0; i < 5; ++i) events.push_back(SignJson(StepStartedJson("leon", "s" + std::to_string(i)), leon_));
  std::vector<shiplog::Result<Receipt>> out = ledger().AppendBatch(Checked(events));
  ASSERT_EQ(out.size(), 5u);
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_OK(out[i]);
    EXPECT_EQ(out[i]->seq, base + i);
    auto checkpoint = out[i]->Verify(ledger().public_key());
    ASSERT_OK(checkpoint);
    EXPECT_EQ(checkpoint->head.size, base + 5) << "every receipt carries the batch's checkpoint";
  }
  EXPECT_EQ(ledger().size(), base + 5);
  EXPECT_EQ(ledger().LatestCheckpoint().head.size, base + 5);
  EXPECT_CODE(ledger().CheckpointAt(base + 2), StatusCode::kNotFound);
  ExpectVerifies();
  t_.Close();
  ASSERT_OK(t_.Open());
  EXPECT_EQ(ledger().size(), base + 5);
  ExpectVerifies();
}

TEST_F(BatchTest, LaterEventsSeeEarlierOnesOfTheSameBatch) {
  // The admin enrols leon and leon acts, in one batch; then a deployment's request and a step of
  // it: the step is indexed under the request's app although neither was on disk when it was.
  std::vector<SignedEvent> events = {
      SignJson(KeyEnrolledJson(t_.admin_name, "leon", leon_.PublicKey(), {"deployer"}), t_.admin),
      SignJson(DeployRequestedJson("leon"), leon_),
      SignJson(StepStartedJson("leon", "staging"), leon_),
  };
  auto out = ledger().AppendBatch(Checked(events));
  for (auto& r : out) ASSERT_OK(r);
  QueryFilter by_app;
  by_app.app = "checkout";
  std::vector<uint64_t> seqs;
  ASSERT_OK(ledger().Query(by_app, [&](const StoredRecord& r) {
    seqs.push_back(r.seq);
    return true;
  }));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{out[1]->seq, out[2]->seq}));
  ExpectVerifies();
}

TEST_F(BatchTest, EachEventIsAnsweredAsAppendWouldAnswerIt) {
  t_.Enroll("leon", leon_);
  const uint64_t base = ledger().size();
  const json first = StepStartedJson("leon", "staging");
  json conflicting = first;
  conflicting["step"] = "production";
  const SignedEvent before = SignJson(StepStartedJson("leon", "build"), leon_);
  const Receipt stored = t_.Append(before);
  std::vector<SignedEvent> events = {
      SignJson(first, leon_),
      SignJson(StepStartedJson("rutger", "staging"), rutger_),  // not enrolled
      SignJson(first, leon_),                                    // a repeat within the batch
      SignJson(conflicting, leon_),                              // same id, other content
      before,                                                    // a repeat of a stored one
      SignJson(StepStartedJson("leon", "production"), leon_),
  };
  auto out = ledger().AppendBatch(Checked(events));
  ASSERT_OK(out[0]);
  EXPECT_EQ(out[0]->seq, base + 1);
  EXPECT_CODE(out[1], StatusCode::kUnknownKey);
  ASSERT_OK(out[2]);
  EXPECT_EQ(out[2]->seq, out[0]->seq);
  EXPECT_TRUE(out[2]->duplicate);
  EXPECT_CODE(out[3], StatusCode::kConflict);
  ASSERT_OK(out[4]);
  EXPECT_EQ(out[4]->seq, stored.seq);
  EXPECT_TRUE(out[4]->duplicate);
  ASSERT_OK(out[5]);
  EXPECT_EQ(out[5]->seq, base + 2) << "refusals and repeats take no sequence number";
  EXPECT_EQ(ledger().size(), base + 3);
  ExpectVerifies();
}

TEST_F(BatchTest, ABatchOfNothingNewWritesNothing) {
  const uint64_t base = ledger().size();
  auto out = ledger().AppendBatch(Checked({SignJson(StepStartedJson("rutger", "x"), rutger_)}));
  EXPECT_CODE(out[0], StatusCode::kUnknownKey);
  EXPECT_EQ(ledger().size(), base);
  EXPECT_TRUE(ledger().AppendBatch({}).empty());
  ExpectVerifies();
}

// A RocksDB store whose commits can be made to fail, as a full disk would make them.
class FailingStore final : public ForwardingStore {
 public:
  FailingStore(std::unique_ptr<shiplog::Store> inner, bool* fail)
      : ForwardingStore(std::move(inner)), fail_(fail) {}
  Status Commit(const StoreBatch& batch) override {
    if (*fail_) return Status::Internal("No space left on device");
    return inner().Commit(batch);
  }

 private:
  bool* fail_;
};

TEST(BatchCommitFailure, NothingIsStoredAndTheLedgerStopsAppending) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  SigningKey ledger_key = SigningKey::Generate();
  SigningKey admin = SigningKey::Generate();
  SigningKey leon = SigningKey::Generate();
  const std::string ledger_seed = ledger_key.Seed();
  bool fail = false;
  auto ledger =
      OpenWrappedLedger<FailingStore>(tmp.Path("db"), std::move(ledger_key), admin, &clock, &fail);
  ASSERT_OK(ledger->Append(SignJson(KeyEnrolledJson("admin", "leon", leon.PublicKey(), {"deployer"}), admin)));
  fail = true;
  auto out = ledger->AppendBatch(Checked({SignJson(StepStartedJson("leon", "a"), leon),
                                          SignJson(StepStartedJson("leon", "b"), leon)}));
  EXPECT_CODE(out[0], StatusCode::kInternal);
  EXPECT_CODE(out[1], StatusCode::kInternal);
  fail = false;
  auto after = ledger->Append(SignJson(StepStartedJson("leon", "c"), leon));
  EXPECT_CODE(after, StatusCode::kInternal);
  EXPECT_THAT(after.status().message(), ::testing::HasSubstr("reopen the ledger"));
  ledger.reset();

  // Reopened, the ledger holds what was committed and appends again.
  auto store = Unwrap(shiplog::OpenRocksStore(tmp.Path("db"), false));
  auto reopened = Unwrap(Ledger::Open(std::move(store), Unwrap(SigningKey::FromSeed(ledger_seed)), &clock));
  EXPECT_EQ(reopened->size(), 2u);
  ASSERT_OK(reopened->Append(SignJson(StepStartedJson("leon", "a"), leon)));
  auto report = Unwrap(reopened->Verify());
  EXPECT_TRUE(report.ok) << report.problem;
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
