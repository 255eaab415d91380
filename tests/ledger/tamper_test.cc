// Tampering with a real ledger on disk, and what the verifiable log lets others prove offline.
//
// A drill ledger (manual clock) of 20 records is built once; each test tampers with a copy of its
// RocksDB directory (records, index and meta column families, opened directly) and checks that
// Ledger::Verify() reports it and names the place, or that Ledger::Open() refuses with kCorrupt
// where it reads the damaged part itself.
//
// A second ledger sharing the ledger key and genesis (Ledger::WriteGenesis on another store with
// the same key, options and clock) gives validly signed records and checkpoints of another
// history: a record replaced by a well-formed one, and a rewritten log whose proofs must not
// convince anyone who holds a checkpoint or receipt of the first.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <functional>

#include "ledger/ledger.h"
#include "ledger/proof.h"
#include "raw_db.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::AppendGate;
using shiplog::Checkpoint;
using shiplog::EncodeSeq;
using shiplog::InitOptions;
using shiplog::Ledger;
using shiplog::Receipt;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::TreeNodeKey;
using shiplog::VerifyReport;
using ::testing::HasSubstr;

constexpr uint64_t kRecords = 20;  // genesis, two enrolments, 17 gate results
constexpr char kOrigin[] = "shiplog/tamper-test";

std::string CheckpointKey(uint64_t size) { return "c/" + EncodeSeq(size); }

// ---- ledgers with a shared key and genesis ----

// Denies every step.started, as a policy would; judges nothing else.
class DenyStepStarts final : public AppendGate {
 public:
  Verdict Admit(const shiplog::Event& event, const shiplog::KeyInfo&, Micros) override {
    Verdict verdict;
    if (event.kind() == "step.started") {
      verdict.denied = true;
      verdict.decision = R"({"allowed":false,"reasons":[{"rule":"R1","why":"test"}]})";
    }
    return verdict;
  }
  void Appended(uint64_t, Micros, const shiplog::Event&, const shiplog::KeyInfo&) override {}
};

// Sequence numbers [from, to).
struct Range {
  uint64_t from = UINT64_MAX;
  uint64_t to = UINT64_MAX;
};

// The keys and the script of events every ledger in these tests is built from. Signatures are
// deterministic (Ed25519), so two ledgers appending the same script store the same bytes.
class World {
 public:
  World()
      : ledger_seed_(SigningKey::Generate().Seed()),
        admin_(SigningKey::Generate()),
        leon_(SigningKey::Generate()),
        rutger_(SigningKey::Generate()) {}

  SigningKey LedgerKey() const { return Unwrap(SigningKey::FromSeed(ledger_seed_)); }
  std::string LedgerPublicKey() const { return LedgerKey().PublicKey(); }

  // The event stored at `seq` (>= 1). Another history has other gate results (same actor and
  // id, another outcome) at the sequence numbers in `other`.
  SignedEvent EventAt(uint64_t seq, const Range& other = {}) const {
    if (seq == 1) return SignJson(Enrolment("leon", leon_), admin_);
    if (seq == 2) return SignJson(Enrolment("rutger", rutger_), admin_);
    const bool variant = other.from <= seq && seq < other.to;
    const bool by_leon = seq % 2 == 1;
    const std::string actor = by_leon ? "leon" : "rutger";
    json e = EventJson("gate.result", actor, kDeployment,
                       {{"gate", variant ? "tests-rerun" : "tests"},
                        {"outcome", variant ? "fail" : "pass"},
                        {"image", kImage}},
                       "gate-" + std::to_string(seq));
    return SignJson(e, by_leon ? leon_ : rutger_);
  }

  // Creates a ledger in `dir` holding records 0 .. size - 1 (one minute apart) and returns it
  // open, with the receipts of its appends (receipts[seq], genesis has none).
  std::unique_ptr<Ledger> Build(const std::string& dir, uint64_t size, const Range& other = {},
                                std::vector<Receipt>* receipts = nullptr) const {
    auto store = Unwrap(shiplog::OpenRocksStore(dir + "/db", /*create=*/true), "OpenRocksStore");
    shiplog::FakeClock unused(kT0);
    Check(Ledger::WriteGenesis(*store, LedgerKey(), Options(), &unused), "WriteGenesis");
    auto ledger = Unwrap(Ledger::Open(std::move(store), LedgerKey(), &clock_), "Open");
    if (receipts) receipts->resize(1);
    for (uint64_t seq = 1; seq < size; ++seq) {
      Check(ledger->AdvanceClock(shiplog::kMicrosPerMinute), "AdvanceClock");
      Receipt receipt = Unwrap(ledger->Append(EventAt(seq, other)), "Append");
      if (receipt.seq != seq) throw std::runtime_error("unexpected seq");
      if (receipts) receipts->push_back(std::move(receipt));
    }
    return ledger;
  }

  Result<std::unique_ptr<Ledger>> Open(const std::string& dir,
                                       AppendGate* gate = nullptr) const {
    auto store = shiplog::OpenRocksStore(dir + "/db", /*create=*/false);
    if (!store.ok()) return store.status();
    return Ledger::Open(std::move(store).value(), LedgerKey(), &clock_, gate);
  }

  InitOptions Options() const {
    InitOptions options;
    options.admin_public_key = admin_.PublicKey();
    options.origin = kOrigin;
    options.manual_clock = true;
    options.manual_clock_start = kT0;
    return options;
  }

  const SigningKey& leon() const { return leon_; }

 private:
  // With a fixed id, so every ledger built from the script stores the same bytes.
  static json Enrolment(const std::string& name, const SigningKey& key) {
    return EventJson("key.enrolled", "admin", "",
                     {{"name", name},
                      {"public_key", shiplog::HexEncode(key.PublicKey())},
                      {"roles", {"deployer"}}},
                     "enrol-" + name);
  }

 public:
  const SigningKey& rutger() const { return rutger_; }

 private:
  std::string ledger_seed_;
  SigningKey admin_;
  SigningKey leon_;
  SigningKey rutger_;
  mutable shiplog::FakeClock clock_{kT0};  // a manual-clock ledger never reads it
};

// ---- the fixture: a template ledger, copied per test ----

class TamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World;
    template_ = new TempDir;
    receipts_ = new std::vector<Receipt>;
    world_->Build(template_->path(), kRecords, {}, receipts_);
  }
  static void TearDownTestSuite() {
    delete receipts_;
    delete template_;
    delete world_;
  }

  void SetUp() override {
    std::filesystem::copy(template_->path(), copy_.path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
  }

  std::string db() const { return copy_.path() + "/db"; }

  // Opens the tampered copy and verifies it; fails the test when either refuses outright.
  VerifyReport VerifyCopy() {
    auto ledger = world_->Open(copy_.path());
    if (!ledger.ok()) {
      ADD_FAILURE() << "Open refused: " << ledger.status().ToString();
      return VerifyReport{};
    }
    auto report = (*ledger)->Verify();
    if (!report.ok()) {
      ADD_FAILURE() << "Verify refused: " << report.status().ToString();
      return VerifyReport{};
    }
    return *report;
  }

  static void ExpectNames(const VerifyReport& report, uint64_t seq) {
    EXPECT_FALSE(report.ok) << report.ToJson().dump();
    ASSERT_TRUE(report.first_bad_seq.has_value()) << report.ToJson().dump();
    EXPECT_EQ(*report.first_bad_seq, seq) << report.problem;
  }

  static World* world_;
  static TempDir* template_;
  static std::vector<Receipt>* receipts_;
  TempDir copy_;
};
World* TamperTest::world_ = nullptr;
TempDir* TamperTest::template_ = nullptr;
std::vector<Receipt>* TamperTest::receipts_ = nullptr;

TEST_F(TamperTest, TheUntouchedCopyVerifies) {
  const VerifyReport report = VerifyCopy();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, kRecords);
  EXPECT_EQ(report.checkpoints, kRecords) << "one checkpoint per commit, genesis included";
  EXPECT_TRUE(report.manual_clock);
}

// (a) One byte of one record's stored value, at several places in it.
TEST_F(TamperTest, AChangedByteInARecordIsNamed) {
  std::string original;
  {
    RawDb raw(db());
    original = raw.Record(10);
  }
  for (size_t at : {size_t{0}, original.size() / 4, original.size() / 2, original.size() * 3 / 4,
                    original.size() - 1}) {
    {
      RawDb raw(db());
      std::string value = original;
      value[at] ^= 0x20;
      raw.PutRecord(10, value);
    }
    const VerifyReport report = VerifyCopy();
    ExpectNames(report, 10);
    EXPECT_THAT(report.problem, NamesWord("record 10")) << "byte " << at;
  }
}

// The leaf hash stored beside a record's entry (the record's last field) is recomputed by
// Verify and by every read.
TEST_F(TamperTest, AChangedLeafHashIsNamed) {
  {
    RawDb raw(db());
    std::string value = raw.Record(10);
    value.back() ^= 0x01;
    raw.PutRecord(10, value);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 10);
  EXPECT_THAT(report.problem, HasSubstr("the leaf hash does not match the entry's bytes"));

  auto ledger = world_->Open(copy_.path());
  ASSERT_OK(ledger);
  auto record = (*ledger)->Read(10);
  EXPECT_CODE(record, StatusCode::kCorrupt);
  EXPECT_THAT(record.status().message(), HasSubstr("record 10: the leaf hash does not match"));
}

// (b)
TEST_F(TamperTest, ADeletedRecordIsNamed) {
  {
    RawDb raw(db());
    raw.Delete("records", EncodeSeq(10));
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 10);
  EXPECT_THAT(report.problem, HasSubstr("record 10 is missing"));
}

// (c) Two records' values swapped: each is whole and signed, but under another number.
TEST_F(TamperTest, SwappedRecordsNameTheFirst) {
  {
    RawDb raw(db());
    const std::string eight = raw.Record(8), twelve = raw.Record(12);
    raw.PutRecord(8, twelve);
    raw.PutRecord(12, eight);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 8);
  EXPECT_THAT(report.problem, NamesWord("record 8"));
  EXPECT_THAT(report.problem, HasSubstr("sequence number 12"));
}

// (d) The last three records deleted and nothing else.
TEST_F(TamperTest, ATruncatedTailIsRefusedOnOpenNamingTheMissingRecords) {
  {
    RawDb raw(db());
    for (uint64_t seq = kRecords - 3; seq < kRecords; ++seq) raw.Delete("records", EncodeSeq(seq));
  }
  // The record count kept in meta shows the loss before anything reads the tail, so the ledger
  // never serves or appends over it; `shiplog verify` reports this message and exits 4.
  auto ledger = world_->Open(copy_.path());
  EXPECT_CODE(ledger, StatusCode::kCorrupt);
  EXPECT_THAT(ledger.status().message(), HasSubstr("recorded 20 records but holds 17"));
  EXPECT_THAT(ledger.status().message(), HasSubstr("records 17 to 19 are missing"));
}

// The same with the checkpoints of the lost records deleted too: the count still shows it.
TEST_F(TamperTest, ATruncatedTailWithItsCheckpointsIsRefusedOnOpen) {
  {
    RawDb raw(db());
    for (uint64_t seq = kRecords - 3; seq < kRecords; ++seq) {
      raw.Delete("records", EncodeSeq(seq));
      raw.Delete("index", CheckpointKey(seq + 1));
    }
  }
  auto ledger = world_->Open(copy_.path());
  EXPECT_CODE(ledger, StatusCode::kCorrupt);
  EXPECT_THAT(ledger.status().message(), HasSubstr("records 17 to 19 are missing"));
}

// A truncation that also rewrote the count and removed the lost records' checkpoints leaves a
// ledger that checks out on its own, and it can go on appending a new history of its own. Only
// a checkpoint kept from before shows it: the ledger cannot prove it extends that checkpoint.
TEST_F(TamperTest, ACoveredUpTruncationFailsAgainstAKeptCheckpoint) {
  std::string kept_note;
  {
    RawDb raw(db());
    kept_note = raw.Must("index", CheckpointKey(kRecords));
    for (uint64_t seq = kRecords - 3; seq < kRecords; ++seq) {
      raw.Delete("records", EncodeSeq(seq));
      raw.Delete("index", CheckpointKey(seq + 1));
      raw.DeleteQueryEntriesOf(seq);  // a thorough cover-up: verify checks the indexes too
    }
    raw.Put("meta", "record_count", EncodeSeq(kRecords - 3));
  }
  auto ledger = world_->Open(copy_.path());
  ASSERT_OK(ledger);
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK((*ledger)->Append(SignJson(GateResultJson("leon", "tests", "d-" + std::to_string(i)),
                                         world_->leon())));
  }
  auto report = (*ledger)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;

  auto kept = Checkpoint::Open(kept_note, (*ledger)->public_key());
  ASSERT_OK(kept);
  auto proof = (*ledger)->ProveConsistency(kRecords, (*ledger)->size());
  ASSERT_OK(proof);
  EXPECT_OK(proof->Verify()) << "the ledger's own checkpoints are consistent with each other";
  proof->old_checkpoint = *kept;
  EXPECT_CODE(proof->Verify(), StatusCode::kCorrupt);
}

// A truncation that rewrote the count but left the lost records' checkpoints: those are signed
// for trees larger than the store's, so the ledger refuses to open rather than sign again there.
TEST_F(TamperTest, ACheckpointBeyondTheStoredRecordsIsRefusedOnOpen) {
  {
    RawDb raw(db());
    for (uint64_t seq = kRecords - 3; seq < kRecords; ++seq) raw.Delete("records", EncodeSeq(seq));
    raw.Put("meta", "record_count", EncodeSeq(kRecords - 3));
  }
  auto ledger = world_->Open(copy_.path());
  EXPECT_CODE(ledger, StatusCode::kCorrupt);
  EXPECT_THAT(ledger.status().message(),
              HasSubstr("a checkpoint is stored for a tree of 18 records, but the database holds "
                        "17 records"));
}

// After a truncation, the ledger must not sign a second, different checkpoint for a size it has
// already signed (STYLE.md 6: check the previous head is consistent with the new one before
// signing). Either Open or Append must refuse; what it must not do is overwrite checkpoint 18.
TEST_F(TamperTest, ATruncatedLedgerDoesNotSignOverItsOwnCheckpoints) {
  std::string old_checkpoint_18;
  {
    RawDb raw(db());
    old_checkpoint_18 = raw.Must("index", CheckpointKey(kRecords - 2));
    for (uint64_t seq = kRecords - 3; seq < kRecords; ++seq) raw.Delete("records", EncodeSeq(seq));
  }
  {
    auto ledger = world_->Open(copy_.path());
    if (ledger.ok()) {
      // Another event in place of record 17 (a fresh id: the lost records' ids are still in
      // the index, and reusing one would be refused for that reason alone).
      auto appended = (*ledger)->Append(
          SignJson(GateResultJson("leon", "tests", "another-deployment"), world_->leon()));
      EXPECT_FALSE(appended.ok()) << "appended at seq " << appended->seq
                                  << " over a truncated tail, signing a new checkpoint 18";
    } else {
      EXPECT_CODE(ledger, StatusCode::kCorrupt);
    }
  }
  RawDb raw(db());
  EXPECT_EQ(raw.Get("index", CheckpointKey(kRecords - 2)), old_checkpoint_18)
      << "the ledger signed a second checkpoint at size 18";
}

// ---- (e) a record replaced by a validly signed one from another history ----

class ReplacedRecordTest : public TamperTest {
 protected:
  static constexpr uint64_t kAt = 11;  // completes [10,12) and [8,12), not a peak of 20

  // Ledger B: the same key, genesis and script, but another gate result at `kAt`. Built once;
  // the tests only read it.
  static void SetUpTestSuite() {
    TamperTest::SetUpTestSuite();
    other_ = new TempDir;
    world_->Build(other_->path(), kRecords, Range{kAt, kAt + 1});  // closed on return
  }
  static void TearDownTestSuite() {
    delete other_;
    TamperTest::TearDownTestSuite();
  }
  static std::string other_db() { return other_->path() + "/db"; }

  static TempDir* other_;
};
TempDir* ReplacedRecordTest::other_ = nullptr;

TEST_F(ReplacedRecordTest, TheOtherRecordIsWellFormedAndSigned) {
  auto b = world_->Open(other_->path());
  ASSERT_OK(b);
  auto report = (*b)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  auto a = world_->Open(copy_.path());
  ASSERT_OK(a);
  for (uint64_t seq = 0; seq < kRecords; ++seq) {
    const bool same = Unwrap((*a)->Read(seq)).leaf_hash == Unwrap((*b)->Read(seq)).leaf_hash;
    EXPECT_EQ(same, seq != kAt) << "record " << seq;
  }
  EXPECT_EQ(Unwrap((*b)->Read(kAt)).event.id(), Unwrap((*a)->Read(kAt)).event.id());
}

// Only the record copied: its own leaf no longer matches the stored tree.
TEST_F(ReplacedRecordTest, AReplacedRecordIsNamedByTheTreeNode) {
  {
    RawDb from(other_db());
    const std::string replacement = from.Record(kAt);
    RawDb raw(db());
    ASSERT_NE(raw.Record(kAt), replacement);
    raw.PutRecord(kAt, replacement);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, kAt);
  EXPECT_THAT(report.problem, HasSubstr("record 11: the stored tree node for records 11 to 11"));
}

// The record and the tree nodes it completes copied, so the stored tree agrees with the records:
// the checkpoint signed at size 12 still holds the old root, and is named with the record.
TEST_F(ReplacedRecordTest, AReplacedRecordAndItsTreeNodesAreNamedByTheCheckpoint) {
  {
    RawDb from(other_db());
    RawDb raw(db());
    raw.PutRecord(kAt, from.Record(kAt));
    for (const std::string& key : {TreeNodeKey(0, 11), TreeNodeKey(1, 5), TreeNodeKey(2, 2)}) {
      const std::string node = from.Must("index", key);
      ASSERT_NE(raw.Must("index", key), node);
      raw.Put("index", key, node);
    }
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, kAt);
  EXPECT_EQ(report.bad_checkpoint, std::optional<uint64_t>(kAt + 1));
  EXPECT_THAT(report.problem, HasSubstr("checkpoint at size 12"));
  EXPECT_THAT(report.problem, HasSubstr("11"));
}

// ---- (f) stored tree nodes ----

TEST_F(TamperTest, AChangedTreeNodeIsNamedWithTheRecordThatCompletesIt) {
  {
    RawDb raw(db());
    std::string node = raw.Must("index", TreeNodeKey(1, 2));  // leaves 4 and 5
    node[7] ^= 0x01;
    raw.Put("index", TreeNodeKey(1, 2), node);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 5);
  EXPECT_THAT(report.problem, HasSubstr("record 5: the stored tree node for records 4 to 5 does not match"));
}

TEST_F(TamperTest, AMissingTreeNodeIsNamed) {
  {
    RawDb raw(db());
    raw.Delete("index", TreeNodeKey(3, 0));  // leaves 0 to 7
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 7);
  EXPECT_THAT(report.problem, HasSubstr("tree node for records 0 to 7 is missing"));
}

// A peak of the current tree is read to open: Open refuses, saying the root does not match.
TEST_F(TamperTest, AChangedPeakIsRefusedByOpen) {
  {
    RawDb raw(db());
    std::string node = raw.Must("index", TreeNodeKey(2, 4));  // leaves 16 to 19
    node[0] ^= 0x01;
    raw.Put("index", TreeNodeKey(2, 4), node);
  }
  auto ledger = world_->Open(copy_.path());
  ASSERT_CODE(ledger, StatusCode::kCorrupt);
  EXPECT_THAT(ledger.status().message(), HasSubstr("root at size 20"));
}

// ---- (g) checkpoints ----

Checkpoint OpenStored(RawDb& raw, uint64_t size, const std::string& key) {
  return Unwrap(Checkpoint::Open(raw.Must("index", CheckpointKey(size)), key), "stored checkpoint");
}

TEST_F(TamperTest, ACheckpointResignedByAnotherKeyIsNamed) {
  {
    RawDb raw(db());
    const Checkpoint original = OpenStored(raw, 10, world_->LedgerPublicKey());
    raw.Put("index", CheckpointKey(10),
            Checkpoint::Sign(original.head, SigningKey::Generate()).note);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 9);
  EXPECT_EQ(report.bad_checkpoint, std::optional<uint64_t>(10));
  EXPECT_THAT(report.problem, HasSubstr("size 10"));
  EXPECT_THAT(report.problem, HasSubstr("no signature by the ledger key"));
}

TEST_F(TamperTest, AnEditedCheckpointIsNamed) {
  {
    RawDb raw(db());
    std::string note = raw.Must("index", CheckpointKey(10));
    const size_t at = note.find("time 2026-11-24T18:09:00Z");
    ASSERT_NE(at, std::string::npos) << note;
    note.replace(at, 25, "time 2026-11-24T18:08:00Z");
    raw.Put("index", CheckpointKey(10), note);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 9);
  EXPECT_EQ(report.bad_checkpoint, std::optional<uint64_t>(10));
  EXPECT_THAT(report.problem, HasSubstr("size 10"));
  EXPECT_THAT(report.problem, HasSubstr("does not verify"));
}

// Signed by the ledger key itself (someone who has the key file) over another root.
TEST_F(TamperTest, ACheckpointOverAnotherRootIsNamed) {
  {
    RawDb raw(db());
    Checkpoint cp = OpenStored(raw, 10, world_->LedgerPublicKey());
    cp.head.root[0] ^= 0x01;
    raw.Put("index", CheckpointKey(10), Checkpoint::Sign(cp.head, world_->LedgerKey()).note);
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 9);
  EXPECT_EQ(report.bad_checkpoint, std::optional<uint64_t>(10));
  EXPECT_THAT(report.problem, HasSubstr("checkpoint at size 10"));
}

// A valid checkpoint stored under another size.
TEST_F(TamperTest, ACheckpointUnderTheWrongSizeIsNamed) {
  {
    RawDb raw(db());
    raw.Put("index", CheckpointKey(10), raw.Must("index", CheckpointKey(9)));
  }
  const VerifyReport report = VerifyCopy();
  ExpectNames(report, 9);
  EXPECT_EQ(report.bad_checkpoint, std::optional<uint64_t>(10));
  EXPECT_THAT(report.problem, HasSubstr("stored for size 10 is one for size 9"));
}

// The latest checkpoint is read to open.
TEST_F(TamperTest, AnEditedLatestCheckpointIsRefusedByOpen) {
  {
    RawDb raw(db());
    Checkpoint cp = OpenStored(raw, kRecords, world_->LedgerPublicKey());
    raw.Put("index", CheckpointKey(kRecords), Checkpoint::Sign(cp.head, SigningKey::Generate()).note);
  }
  auto ledger = world_->Open(copy_.path());
  ASSERT_CODE(ledger, StatusCode::kCorrupt);
  EXPECT_THAT(ledger.status().message(), HasSubstr("size 20"));
}

// Open reads the latest checkpoint; its absence is damage to the ledger (kCorrupt, which the
// CLI's `verify` turns into exit 4), not a missing thing the caller asked for (kNotFound).
TEST_F(TamperTest, ADeletedLatestCheckpointIsRefusedByOpenAsCorrupt) {
  {
    RawDb raw(db());
    raw.Delete("index", CheckpointKey(kRecords));
  }
  auto ledger = world_->Open(copy_.path());
  ASSERT_FALSE(ledger.ok());
  EXPECT_CODE(ledger, StatusCode::kCorrupt);
  EXPECT_THAT(ledger.status().message(), HasSubstr("20"));
}

// ---- receipts: offline proof with nothing but the ledger's public key ----

TEST_F(TamperTest, EveryReceiptVerifiesOfflineAndRoundTripsThroughJson) {
  const std::string key = world_->LedgerPublicKey();
  ASSERT_EQ(receipts_->size(), kRecords);
  for (uint64_t seq = 1; seq < kRecords; ++seq) {
    const Receipt& receipt = (*receipts_)[seq];
    EXPECT_EQ(receipt.seq, seq);
    EXPECT_TRUE(receipt.manual_clock);
    auto cp = receipt.Verify(key);
    ASSERT_OK(cp);
    EXPECT_EQ(cp->head.size, seq + 1) << "the checkpoint of its own commit";
    EXPECT_EQ(cp->head.origin, kOrigin);

    auto parsed = Receipt::FromJson(json::parse(receipt.ToJson().dump()));
    ASSERT_OK(parsed);
    EXPECT_EQ(parsed->entry, receipt.entry);
    EXPECT_EQ(parsed->seq, seq);
    EXPECT_EQ(parsed->leaf_hash, receipt.leaf_hash);
    EXPECT_EQ(parsed->checkpoint, receipt.checkpoint);
    EXPECT_EQ(parsed->inclusion_proof, receipt.inclusion_proof);
    EXPECT_EQ(parsed->ToJson(), receipt.ToJson());
    EXPECT_OK(parsed->Verify(key));
    EXPECT_CODE(parsed->Verify(SigningKey::Generate().PublicKey()), StatusCode::kBadSignature);
  }
}

TEST_F(TamperTest, AReceiptWithAChangedProofOrLeafDoesNotVerify) {
  const std::string key = world_->LedgerPublicKey();
  const Receipt& receipt = (*receipts_)[13];
  ASSERT_FALSE(receipt.inclusion_proof.empty());
  for (size_t i = 0; i < receipt.inclusion_proof.size(); ++i) {
    Receipt changed = receipt;
    changed.inclusion_proof[i][5] ^= 0x01;
    EXPECT_CODE(changed.Verify(key), StatusCode::kCorrupt) << "entry " << i;
  }
  Receipt leaf = receipt;
  leaf.leaf_hash[0] ^= 0x01;
  EXPECT_CODE(leaf.Verify(key), StatusCode::kCorrupt);
  Receipt entry = receipt;
  entry.entry[entry.entry.size() / 2] ^= 0x01;
  EXPECT_CODE(entry.Verify(key), StatusCode::kCorrupt);

  // In JSON, a changed proof hash still parses, but leads to no root the ledger signed.
  json j = receipt.ToJson();
  std::string node = j["inclusion_proof"][0];
  node[0] = node[0] == 'a' ? 'b' : 'a';
  j["inclusion_proof"][0] = node;
  auto parsed = Receipt::FromJson(j);
  ASSERT_OK(parsed);
  EXPECT_CODE(parsed->Verify(key), StatusCode::kCorrupt);
  EXPECT_THAT(parsed->Verify(key).status().message(), HasSubstr("inclusion proof"));
  // A readable field that says something else than the entry is refused.
  json seq = receipt.ToJson();
  seq["seq"] = 12;
  EXPECT_CODE(Receipt::FromJson(seq), StatusCode::kCorrupt);
  // Another record's entry under this receipt's fields, or with its fields under this proof.
  json stitched = receipt.ToJson();
  stitched["entry"] = (*receipts_)[12].ToJson()["entry"];
  EXPECT_CODE(Receipt::FromJson(stitched), StatusCode::kCorrupt);
  for (const char* field : {"seq", "ledger_time", "leaf_hash", "event_id", "actor",
                            "payload_hash"}) {
    stitched[field] = (*receipts_)[12].ToJson()[field];
  }
  auto moved = Receipt::FromJson(stitched);
  ASSERT_OK(moved);
  EXPECT_CODE(moved->Verify(key), StatusCode::kCorrupt);
}

TEST_F(TamperTest, ADuplicateAppendsReceiptVerifiesAgainstTheLatestCheckpoint) {
  auto ledger = world_->Open(copy_.path());
  ASSERT_OK(ledger);
  auto again = (*ledger)->Append(world_->EventAt(6));
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, 6u);
  EXPECT_EQ(again->leaf_hash, (*receipts_)[6].leaf_hash);
  EXPECT_EQ((*ledger)->size(), kRecords) << "stored once";
  auto cp = again->Verify(world_->LedgerPublicKey());
  ASSERT_OK(cp);
  EXPECT_EQ(cp->head.size, kRecords);
  const json j = again->ToJson();
  EXPECT_EQ(j["duplicate"], true);
  auto parsed = Receipt::FromJson(json::parse(j.dump()));
  ASSERT_OK(parsed);
  EXPECT_TRUE(parsed->duplicate);
  EXPECT_OK(parsed->Verify(world_->LedgerPublicKey()));
}

TEST_F(TamperTest, ADeniedIntentsReceiptVerifies) {
  DenyStepStarts gate;
  auto ledger = world_->Open(copy_.path(), &gate);
  ASSERT_OK(ledger);
  auto receipt = (*ledger)->Append(SignJson(StepStartedJson("leon", "staging"), world_->leon()));
  ASSERT_OK(receipt);
  EXPECT_TRUE(receipt->denied);
  EXPECT_EQ(receipt->seq, kRecords);
  EXPECT_THAT(receipt->decision, HasSubstr("\"allowed\":false"));
  auto cp = receipt->Verify(world_->LedgerPublicKey());
  ASSERT_OK(cp);
  EXPECT_EQ(cp->head.size, kRecords + 1);
  auto parsed = Receipt::FromJson(json::parse(receipt->ToJson().dump()));
  ASSERT_OK(parsed);
  EXPECT_TRUE(parsed->denied);
  EXPECT_OK(parsed->Verify(world_->LedgerPublicKey()));
  // The record the receipt proves is the ledger's policy.denied.
  auto record = (*ledger)->Read(receipt->seq);
  ASSERT_OK(record);
  EXPECT_EQ(record->event.kind(), "policy.denied");
  EXPECT_EQ(record->leaf_hash, receipt->leaf_hash);
  auto report = (*ledger)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
}

// Proofs the ledger hands out later lead to the same checkpoints its receipts carry.
TEST_F(TamperTest, ProofsAtPastSizesAgreeWithTheReceipts) {
  auto ledger = world_->Open(copy_.path());
  ASSERT_OK(ledger);
  for (uint64_t seq = 1; seq < kRecords; seq += 3) {
    const Receipt& receipt = (*receipts_)[seq];
    auto proof = (*ledger)->ProveInclusion(seq, seq + 1);
    ASSERT_OK(proof);
    EXPECT_EQ(proof->checkpoint.note, receipt.checkpoint);
    EXPECT_EQ(proof->path, receipt.inclusion_proof);
    auto latest = (*ledger)->ProveInclusion(seq, std::nullopt);
    ASSERT_OK(latest);
    EXPECT_OK(latest->Verify());
    EXPECT_EQ(shiplog::HexEncode(shiplog::AsBytes(latest->leaf_hash)),
              shiplog::HexEncode(receipt.leaf_hash));
    // The receipt's checkpoint is a prefix of the latest.
    auto consistency = (*ledger)->ProveConsistency(seq + 1, kRecords);
    ASSERT_OK(consistency);
    EXPECT_EQ(consistency->old_checkpoint.note, receipt.checkpoint);
    EXPECT_OK(consistency->Verify());
  }
}

// ---- a rewritten history ----

// Ledger A stops at size 12; ledger B has A's key and first 10 records, then another history,
// and grows to 16. B's own proofs verify, but nothing B serves convinces someone holding A's
// checkpoint at 12 or a receipt for A's record 11.
class RewriteTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSizeA = 12, kSizeB = 16, kShared = kSizeA - 2;

  // Built once; the tests only read them.
  static void SetUpTestSuite() {
    world_ = new World;
    a_dir_ = new TempDir;
    b_dir_ = new TempDir;
    receipts_a_ = new std::vector<Receipt>;
    a_ = world_->Build(a_dir_->path(), kSizeA, {}, receipts_a_).release();
    b_ = world_->Build(b_dir_->path(), kSizeB, Range{kShared, UINT64_MAX}).release();
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    delete receipts_a_;
    delete a_dir_;
    delete b_dir_;
    delete world_;
  }

  static World* world_;
  static TempDir *a_dir_, *b_dir_;
  static std::vector<Receipt>* receipts_a_;
  static Ledger *a_, *b_;
};
World* RewriteTest::world_ = nullptr;
TempDir* RewriteTest::a_dir_ = nullptr;
TempDir* RewriteTest::b_dir_ = nullptr;
std::vector<Receipt>* RewriteTest::receipts_a_ = nullptr;
Ledger* RewriteTest::a_ = nullptr;
Ledger* RewriteTest::b_ = nullptr;

TEST_F(RewriteTest, ConsistencyFromTheRewrittenSizeFailsAgainstTheOldCheckpoint) {
  const Checkpoint a_at_12 = a_->LatestCheckpoint();
  ASSERT_EQ(a_at_12.head.size, kSizeA);
  auto proof = b_->ProveConsistency(kSizeA, kSizeB);
  ASSERT_OK(proof);
  EXPECT_OK(proof->Verify()) << "B is consistent with itself";
  EXPECT_NE(proof->old_checkpoint.head.root, a_at_12.head.root);

  shiplog::ConsistencyProof against_a = *proof;
  against_a.old_checkpoint = a_at_12;
  auto verdict = against_a.Verify();
  EXPECT_CODE(verdict, StatusCode::kCorrupt);
  EXPECT_THAT(verdict.message(), HasSubstr("not consistent"));

  // Offline, from JSON, with A's checkpoint put in: the same answer.
  json j = proof->ToJson();
  j["old_checkpoint"] = a_at_12.note;
  auto parsed = shiplog::ConsistencyProof::FromJson(j, world_->LedgerPublicKey());
  ASSERT_OK(parsed) << "A's checkpoint is validly signed by the shared key";
  EXPECT_CODE(parsed->Verify(), StatusCode::kCorrupt);
}

// The prefix both histories still share proves consistent from either side.
TEST_F(RewriteTest, TheSharedPrefixStillProvesConsistent) {
  auto a_at_shared = a_->CheckpointAt(kShared);
  ASSERT_OK(a_at_shared);
  auto proof = b_->ProveConsistency(kShared, kSizeB);
  ASSERT_OK(proof);
  EXPECT_EQ(proof->old_checkpoint.head.root, a_at_shared->head.root);
  proof->old_checkpoint = *a_at_shared;
  EXPECT_OK(proof->Verify());
}

TEST_F(RewriteTest, AReceiptForARewrittenRecordDoesNotVerifyAgainstTheNewCheckpoint) {
  const std::string key = world_->LedgerPublicKey();
  const Checkpoint b_latest = b_->LatestCheckpoint();
  const Receipt& rewritten = (*receipts_a_)[kSizeA - 1];  // record 11, which B holds differently
  ASSERT_OK(rewritten.Verify(key)) << "against A's own checkpoint it verifies";

  auto b_proof = b_->ProveInclusion(rewritten.seq, kSizeB);
  ASSERT_OK(b_proof);
  const shiplog::merkle::Hash leaf = Unwrap(shiplog::HashFromBytes(rewritten.leaf_hash, "leaf"));
  EXPECT_NE(b_proof->leaf_hash, leaf);
  // A's leaf with B's path to B's checkpoint, or with A's path to B's checkpoint: neither.
  shiplog::InclusionProof with_b_path{rewritten.seq, leaf, b_proof->path, b_latest};
  EXPECT_CODE(with_b_path.Verify(), StatusCode::kCorrupt);
  shiplog::InclusionProof with_a_path{rewritten.seq, leaf, rewritten.inclusion_proof, b_latest};
  EXPECT_CODE(with_a_path.Verify(), StatusCode::kCorrupt);

  // A record both hold is proved in B's tree with A's receipt's leaf hash.
  const Receipt& shared = (*receipts_a_)[5];
  auto shared_proof = b_->ProveInclusion(shared.seq, kSizeB);
  ASSERT_OK(shared_proof);
  shiplog::InclusionProof shared_in_b{shared.seq,
                                      Unwrap(shiplog::HashFromBytes(shared.leaf_hash, "leaf")),
                                      shared_proof->path, b_latest};
  EXPECT_OK(shared_in_b.Verify());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
