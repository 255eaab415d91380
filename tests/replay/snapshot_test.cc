// Snapshots: replay from a snapshot equals replay from the genesis (a rapidcheck property on
// random ledgers), and a snapshot that is damaged, of another ledger or of another history is
// ignored with a warning, never trusted over the records.
#include "replay/snapshot.h"

#include <capnp/serialize.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>

#include "replay/replay.h"
#include "schemas/snapshot.capnp.h"
#include "tests/replay/replay_test_util.h"

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using replay_test::DefaultPolicy;
using replay_test::json;
using replay_test::LedgerUnderTest;
using replay_test::kActors;
using replay_test::RandomEvent;
using ::testing::HasSubstr;

// A fold's whole state as bytes: two folds are equal when these are.
std::string StateBytes(const LedgerFold& fold, const Ledger& ledger) {
  return LedgerUnderTest::Must(EncodeSnapshot(fold, ledger));
}

struct Recorder {
  std::vector<std::string> warnings;
  uint64_t folded = 0;
  ReplayOptions Options(const std::string& data_dir, uint64_t every = 0) {
    ReplayOptions o;
    o.data_dir = data_dir;
    o.snapshot_every = every;
    o.warn = [this](const std::string& w) { warnings.push_back(w); };
    o.progress = [this](uint64_t n) { folded = n; };
    return o;
  }
};

RC_GTEST_PROP(SnapshotProperty, ReplayFromASnapshotEqualsReplayFromGenesis, ()) {
  InitCrypto();
  LedgerUnderTest l(DefaultPolicy(), replay_test::kStart, kActors);
  const int events = *rc::gen::inRange(1, 60);
  for (int i = 0; i < events; ++i) {
    const int pick = *rc::gen::inRange(0, 10);
    const int minutes = *rc::gen::inRange(0, 40);
    json event = RandomEvent(pick, *rc::gen::inRange(1, 3), *rc::gen::inRange(0, 8), minutes);
    l.Append(event);  // denials and refusals are part of a random history too
    if (*rc::gen::inRange(0, 3) == 0) {
      LedgerUnderTest::Must(l.ledger().AdvanceClock(minutes * kMicrosPerMinute));
    }
  }
  const Ledger& ledger = l.ledger();
  const uint64_t point = *rc::gen::inRange<uint64_t>(0, ledger.size());
  const uint64_t at = *rc::gen::inRange<uint64_t>(0, point + 1);
  LedgerFold snapshotted = LedgerUnderTest::Must(FoldThrough(ledger, at, {}));
  LedgerUnderTest::Must(SnapshotDir(l.data()).Write(at, StateBytes(snapshotted, ledger)));

  Recorder from_snapshot;
  LedgerFold fast = LedgerUnderTest::Must(FoldThrough(ledger, point, from_snapshot.Options(l.data())));
  LedgerFold slow = LedgerUnderTest::Must(FoldThrough(ledger, point, {}));
  RC_ASSERT(from_snapshot.warnings.empty());
  RC_ASSERT(from_snapshot.folded == point - at);  // only the records after the snapshot
  RC_ASSERT(StateBytes(fast, ledger) == StateBytes(slow, ledger));
  for (const char* d : {"d-1", "d-2"}) {
    ReplayOptions whole_ledger = from_snapshot.Options(l.data());
    whole_ledger.scope = FoldScope::kWholeLedger;
    auto a = ReplayAt(ledger, d, Moment::AtSeq(point), whole_ledger);
    auto b = ReplayAt(ledger, d, Moment::AtSeq(point), {});  // its own records, no snapshot
    RC_ASSERT(a.status().code() == b.status().code());
    if (a.ok()) RC_ASSERT(a->ToJson() == b->ToJson());
  }
}

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest() : l_(DefaultPolicy(), replay_test::kStart, kActors) {
    InitCrypto();
    for (int i = 0; i < 12; ++i) {
      l_.Append(RandomEvent(i % 10, 1 + i % 2, i, i));
      LedgerUnderTest::Must(l_.ledger().AdvanceClock(kMicrosPerMinute));
    }
  }

  const Ledger& ledger() { return l_.ledger(); }

  // Folds through the last record with snapshots on; the warnings and count are in `recorder`.
  std::string FoldAll(Recorder& recorder, uint64_t every = 0) {
    LedgerFold fold =
        LedgerUnderTest::Must(FoldThrough(ledger(), ledger().size() - 1, recorder.Options(l_.data(), every)));
    return StateBytes(fold, ledger());
  }

  std::string Genesis() {
    return StateBytes(LedgerUnderTest::Must(FoldThrough(ledger(), ledger().size() - 1, {})), ledger());
  }

  uint64_t WriteSnapshotAt(uint64_t seq) {
    LedgerFold fold = LedgerUnderTest::Must(FoldThrough(ledger(), seq, {}));
    LedgerUnderTest::Must(SnapshotDir(l_.data()).Write(seq, StateBytes(fold, ledger())));
    return seq;
  }

  LedgerUnderTest l_;
};

TEST_F(SnapshotTest, AGoodSnapshotIsUsed) {
  const uint64_t at = WriteSnapshotAt(ledger().size() - 5);
  Recorder r;
  EXPECT_EQ(FoldAll(r), Genesis());
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.folded, ledger().size() - 1 - at);
}

TEST_F(SnapshotTest, ACorruptSnapshotIsIgnoredWithAWarning) {
  const uint64_t at = WriteSnapshotAt(ledger().size() - 5);
  const std::string path = SnapshotDir(l_.data()).PathFor(at);
  std::string bytes = testing::ReadFile(path);
  bytes[bytes.size() / 2] ^= 0x20;
  testing::WriteFile(path, bytes);
  Recorder r;
  EXPECT_EQ(FoldAll(r), Genesis());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("ignoring snapshot " + path));
  EXPECT_THAT(r.warnings[0], HasSubstr("hash"));
  EXPECT_EQ(r.folded, ledger().size()) << "folded from the genesis";

  testing::WriteFile(path, bytes.substr(0, 13));
  Recorder truncated;
  EXPECT_EQ(FoldAll(truncated), Genesis());
  EXPECT_EQ(truncated.warnings.size(), 1u);
}

TEST_F(SnapshotTest, ABadSnapshotFallsBackToAnOlderGoodOne) {
  const uint64_t older = WriteSnapshotAt(4);
  const uint64_t newer = WriteSnapshotAt(ledger().size() - 3);
  testing::WriteFile(SnapshotDir(l_.data()).PathFor(newer), "not a snapshot at all..");
  Recorder r;
  EXPECT_EQ(FoldAll(r), Genesis());
  EXPECT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.folded, ledger().size() - 1 - older);
}

TEST_F(SnapshotTest, ASnapshotOfAnotherLedgerIsRefused) {
  LedgerUnderTest other(DefaultPolicy(), replay_test::kStart, kActors);
  LedgerFold fold = LedgerUnderTest::Must(FoldThrough(other.ledger(), 3, {}));
  LedgerUnderTest::Must(SnapshotDir(l_.data()).Write(3, StateBytes(fold, other.ledger())));
  Recorder r;
  EXPECT_EQ(FoldAll(r), Genesis());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("another ledger"));
}

// A snapshot whose hash is right but whose tree root is not this log's (a rewritten history).
TEST_F(SnapshotTest, ASnapshotOfAnotherHistoryIsRefused) {
  const uint64_t at = WriteSnapshotAt(6);
  const std::string path = SnapshotDir(l_.data()).PathFor(at);
  testing::WriteFile(path, replay_test::RewriteSnapshot(
                               testing::ReadFile(path), kSnapshotFormatVersion,
                               [](schema::snapshot::Snapshot::Builder s) {
                                 auto root = s.getTreeRoot();
                                 root[0] = static_cast<kj::byte>(root[0] ^ 1);
                               }));
  Recorder r;
  EXPECT_EQ(FoldAll(r), Genesis());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("the history differs"));
}

TEST_F(SnapshotTest, FoldsWriteSnapshotsPeriodicallyAndLaterFoldsUseThem) {
  Recorder first;
  EXPECT_EQ(FoldAll(first, /*every=*/5), Genesis());
  std::vector<uint64_t> expected;
  for (uint64_t seq = 4; seq < ledger().size(); seq += 5) expected.push_back(seq);
  EXPECT_EQ(SnapshotDir(l_.data()).List(), expected);
  EXPECT_FALSE(std::filesystem::exists(SnapshotDir(l_.data()).PathFor(4) + ".tmp"));
  Recorder second;
  EXPECT_EQ(FoldAll(second, 5), Genesis());
  EXPECT_TRUE(second.warnings.empty());
  EXPECT_EQ(second.folded, ledger().size() - 1 - expected.back());
}

// A ledger written in batches has a checkpoint only at each batch's end, where a snapshot can be
// bound: one due inside a batch is written at the batch's end, and later folds start there.
TEST_F(SnapshotTest, ASnapshotDueInsideABatchIsWrittenAtTheBatchsEnd) {
  const uint64_t batch_start = ledger().size();
  std::vector<json> batch;
  for (int i = 0; i < 6; ++i) {
    batch.push_back({{"kind", "step.reported"}, {"actor", "ci-bot"}, {"deployment", "d-batch"},
                     {"step", "build"}, {"status", "READY"}});
  }
  l_.AppendBatch(batch);
  const uint64_t batch_end = ledger().size() - 1;
  // A multiple of `every` inside the batch, not at its last record.
  const uint64_t every = batch_start + 2;
  ASSERT_LT(every, batch_end + 1);
  ASSERT_NE((batch_end + 1) % every, 0u);
  ASSERT_FALSE(ledger().CheckpointAt(every).ok()) << "no checkpoint inside the batch";

  Recorder first;
  EXPECT_EQ(FoldAll(first, every), Genesis());
  EXPECT_TRUE(first.warnings.empty()) << first.warnings.front();
  std::vector<uint64_t> expected;
  for (uint64_t seq = every - 1; seq < batch_start; seq += every) expected.push_back(seq);
  expected.push_back(batch_end);
  EXPECT_EQ(SnapshotDir(l_.data()).List(), expected);

  Recorder second;
  LedgerUnderTest::Must(
      FoldThrough(ledger(), batch_end, second.Options(l_.data(), every)));
  EXPECT_TRUE(second.warnings.empty());
  EXPECT_EQ(second.folded, 0u) << "restored at the batch's end, nothing left to fold";
}

// A link planted at PATH.tmp is never followed (issue 23): the write is refused, naming it.
TEST_F(SnapshotTest, AWriteDoesNotFollowALinkPlantedAtTheTemporaryFile) {
  const SnapshotDir dir(l_.data());
  std::filesystem::create_directories(l_.data() + "/snapshots");
  const std::string victim = l_.data() + "/victim.txt";
  testing::WriteFile(victim, "precious\n");
  std::filesystem::create_symlink(victim, dir.PathFor(4) + ".tmp");
  Status written = dir.Write(4, "snapshot bytes");
  EXPECT_FALSE(written.ok());
  EXPECT_THAT(written.message(), HasSubstr(dir.PathFor(4) + ".tmp already exists"));
  EXPECT_EQ(testing::ReadFile(victim), "precious\n");
  EXPECT_FALSE(dir.Has(4));
}

TEST_F(SnapshotTest, NoSnapshotsWithoutADataDir) {
  Recorder r;
  LedgerUnderTest::Must(FoldThrough(ledger(), ledger().size() - 1, r.Options("", 2)));
  EXPECT_TRUE(SnapshotDir(l_.data()).List().empty());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
