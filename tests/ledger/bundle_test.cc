// Tests of ledger/bundle.h over a real RocksDB ledger: what an export holds, that it verifies
// with nothing but the ledger key, that every kind of tampering is caught and named, and the
// --since consistency check, including a ledger rewritten under the same key.
#include "ledger/bundle.h"

#include <algorithm>
#include <functional>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::BundleReport;
using shiplog::Checkpoint;
using shiplog::ExportBundle;
using shiplog::InitOptions;
using shiplog::kMicrosPerMinute;
using shiplog::Ledger;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::VerifyBundle;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Seqs = std::vector<uint64_t>;

const std::string kOther = "search-2026-11-24.7";
const std::string kPolicyV1 = "shiplog_policy: 1\nname: v1\n";
const std::string kPolicyV2 = "shiplog_policy: 1\nname: v2\n";

json PolicyActivatedJson(const std::string& content) {
  return EventJson("policy.activated", "admin", "",
                   {{"name", "v2"},
                    {"content", content},
                    {"sha256", shiplog::HexEncode(shiplog::AsBytes(shiplog::Sha256(content)))}});
}

// Judges step.started only: allowed with a decision, denied for production.
class StepGate : public shiplog::AppendGate {
 public:
  Verdict Admit(const shiplog::Event& event, const shiplog::KeyInfo&, Micros) override {
    Verdict verdict;
    if (event.kind() != "step.started") return verdict;
    verdict.denied = event.ToJson()["step"] == "production";
    verdict.decision = verdict.denied
                           ? R"({"allowed":false,"reasons":[{"rule":"R10","name":"staging-soak"}]})"
                           : R"({"allowed":true,"reasons":[]})";
    return verdict;
  }
  void Appended(uint64_t, Micros, const shiplog::Event&, const shiplog::KeyInfo&) override {}
};

// The seq of every record in a bundle, in list order.
std::vector<uint64_t> SeqsOf(const json& bundle) {
  std::vector<uint64_t> seqs;
  for (const auto& record : bundle["records"]) seqs.push_back(record["seq"].get<uint64_t>());
  return seqs;
}

json& RecordOf(json& bundle, uint64_t seq) {
  for (auto& record : bundle["records"]) {
    if (record["seq"] == seq) return record;
  }
  throw std::runtime_error("the bundle holds no record " + std::to_string(seq));
}

std::string FlipByte(const std::string& base64, size_t at) {
  std::string bytes = Unwrap(shiplog::Base64Decode(base64), "entry");
  bytes[at % bytes.size()] = static_cast<char>(bytes[at % bytes.size()] ^ 0x20);
  return shiplog::Base64Encode(bytes);
}

// The history every test starts from (seq: what):
//   0 genesis (policy v1)      1 enrol leon        2 enrol rutger       3 D deploy.requested
//   4 D gate.result (rutger)   5 other deploy.requested                 -- kept_: size 6
//   6 policy.activated v2      7 revoke rutger     8 D step.started staging (allowed)
//   9 D policy.denied (production)                 10 D step.reported   11 incident.opened
//   12 other gate.result       13 enrol otto (after D's last record)
class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions options;
    options.policy = kPolicyV1;
    Check(t_.Init(options), "Init");
    t_.ledger = Unwrap(Ledger::Open(t_.dir(), &t_.clock, &gate_), "Open");
    t_.Enroll("leon", leon_, {"deployer"});
    t_.Enroll("rutger", rutger_, {"ci"});
    t_.Append(DeployRequestedJson("leon"), leon_);
    t_.Append(GateResultJson("rutger", "tests"), rutger_);
    t_.Append(DeployRequestedJson("leon", kOther), leon_);
    kept_ = ledger().LatestCheckpoint();
    t_.clock.Advance(10 * kMicrosPerMinute);
    t_.Append(PolicyActivatedJson(kPolicyV2), t_.admin);
    t_.Revoke(rutger_);
    t_.Append(StepStartedJson("leon", "staging"), leon_);
    t_.clock.Advance(kMicrosPerMinute);
    EXPECT_TRUE(t_.Append(StepStartedJson("leon", "production"), leon_).denied);
    t_.Append(StepReportedJson("leon", "staging"), leon_);
    t_.Append(EventJson("incident.opened", "leon", "",
                        {{"environment", "production"}, {"incident", "INC-1"}}),
              leon_);
    t_.Append(GateResultJson("leon", "smoke", kOther), leon_);
    t_.Enroll("otto", otto_, {"backup"});
    ASSERT_EQ(ledger().size(), 14u);
  }

  Ledger& ledger() { return *t_.ledger; }

  json Export(const std::optional<Checkpoint>& since = std::nullopt,
              const std::string& deployment = kDeployment) {
    return Unwrap(ExportBundle(ledger(), deployment, since), "ExportBundle");
  }

  BundleReport Verify(const json& bundle, const std::optional<Checkpoint>& since = std::nullopt) {
    return Unwrap(VerifyBundle(bundle, ledger().public_key(), since), "VerifyBundle");
  }

  // The bundle fails at record `seq`, and the problem names it and says `what`.
  void ExpectFailsAt(const json& bundle, uint64_t seq, const std::string& what) {
    BundleReport report = Verify(bundle);
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, seq) << report.problem;
    EXPECT_THAT(report.problem, StartsWith("record " + std::to_string(seq) + ": "));
    EXPECT_THAT(report.problem, HasSubstr(what));
  }

  StepGate gate_;  // outlives the ledger, which holds a pointer to it
  TestLedger t_;
  SigningKey leon_ = SigningKey::Generate();
  SigningKey rutger_ = SigningKey::Generate();
  SigningKey otto_ = SigningKey::Generate();
  Checkpoint kept_;
};

// ---- what an export holds ----

TEST_F(BundleTest, ExportHoldsTheDeploymentAndTheKeyAndPolicyRecordsBeforeItsEnd) {
  json bundle = Export();
  EXPECT_EQ(bundle["format"], "shiplog-bundle-v1");
  EXPECT_EQ(bundle["deployment"], kDeployment);
  EXPECT_EQ(bundle["origin"], ledger().origin());
  EXPECT_EQ(bundle["ledger_key"], shiplog::HexEncode(ledger().public_key()));
  EXPECT_EQ(bundle["checkpoint"], ledger().LatestCheckpoint().note);
  EXPECT_FALSE(bundle.contains("consistency"));
  EXPECT_EQ(SeqsOf(bundle), (Seqs{0, 1, 2, 3, 4, 6, 7, 8, 9, 10}));
  EXPECT_EQ(RecordOf(bundle, 0)["included_as"], json({"key", "policy"}));
  EXPECT_EQ(RecordOf(bundle, 2)["included_as"], json({"key"}));
  EXPECT_EQ(RecordOf(bundle, 6)["included_as"], json({"policy"}));
  for (uint64_t seq : {3, 4, 8, 9, 10}) {
    EXPECT_EQ(RecordOf(bundle, seq)["included_as"], json({"deployment"})) << seq;
    EXPECT_EQ(RecordOf(bundle, seq)["event"]["deployment"], kDeployment) << seq;
  }
}

TEST_F(BundleTest, ReadableFieldsShowSignersRolesPolicyAndDecisionsAsTheyWere) {
  json bundle = Export();
  const json& gate = RecordOf(bundle, 4);
  EXPECT_EQ(gate["signer"]["name"], "rutger");
  EXPECT_EQ(gate["signer"]["roles"], json({"ci"}));  // revoked later, valid then
  EXPECT_EQ(gate["policy_seq"], 0);
  EXPECT_EQ(gate["event"]["gate"], "tests");
  EXPECT_EQ(gate["ledger_time"], shiplog::FormatTime(kT0));
  EXPECT_EQ(RecordOf(bundle, 7)["signer"]["name"], "admin");
  EXPECT_EQ(RecordOf(bundle, 0)["signer"]["name"], "shiplog");
  EXPECT_FALSE(RecordOf(bundle, 0).contains("policy_seq"));

  const json& started = RecordOf(bundle, 8);
  EXPECT_EQ(started["policy_seq"], 6);
  EXPECT_EQ(started["decision"]["allowed"], true);
  const json& denied = RecordOf(bundle, 9);
  EXPECT_EQ(denied["event"]["kind"], "policy.denied");
  EXPECT_EQ(denied["signer"]["name"], "shiplog");
  EXPECT_EQ(denied["decision"]["reasons"][0]["rule"], "R10");
  EXPECT_EQ(denied["ledger_time"], shiplog::FormatTime(kT0 + 11 * kMicrosPerMinute));
}

TEST_F(BundleTest, ExportOfAnUnknownDeploymentIsNotFound) {
  auto bundle = ExportBundle(ledger(), "no-such-deployment", std::nullopt);
  EXPECT_CODE(bundle, StatusCode::kNotFound);
  EXPECT_THAT(bundle.status().message(), HasSubstr("no-such-deployment"));
  EXPECT_CODE(ExportBundle(ledger(), "", std::nullopt), StatusCode::kInvalidArgument);
}

// ---- verification ----

TEST_F(BundleTest, AnExportVerifiesWithOnlyTheLedgerKey) {
  BundleReport report = Verify(Export());
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.deployment, kDeployment);
  EXPECT_EQ(report.records, 10u);
  EXPECT_EQ(report.deployment_records, 5u);
  EXPECT_EQ(report.key_records, 4u);
  EXPECT_EQ(report.policy_records, 2u);
  EXPECT_EQ(report.checkpoint_size, 14u);
  EXPECT_FALSE(report.since_size.has_value());
  EXPECT_FALSE(report.manual_clock);
  EXPECT_EQ(report.ToJson()["ok"], true);

  // The other deployment's bundle verifies too, and survives a trip through text.
  json other = json::parse(Export(std::nullopt, kOther).dump());
  BundleReport other_report = Verify(other);
  EXPECT_TRUE(other_report.ok) << other_report.problem;
  EXPECT_EQ(other_report.deployment_records, 2u);
}

TEST_F(BundleTest, AChangedEntryByteIsCaughtAtItsRecord) {
  const json clean = Export();
  for (size_t at : {0, 9, 40, 77, 128, 200, 333, 1000}) {
    json bundle = clean;
    json& entry = RecordOf(bundle, 4)["entry"];
    entry = FlipByte(entry.get<std::string>(), at);
    ExpectFailsAt(bundle, 4, "");
  }
}

TEST_F(BundleTest, AnEditedReadableFieldIsCaughtAndNamed) {
  const json clean = Export();
  struct Edit {
    uint64_t seq;
    std::string field;
    std::function<void(json&)> apply;
  };
  for (const Edit& edit : std::vector<Edit>{
           {10, "event", [](json& r) { r["event"]["status"] = "failed"; }},
           {4, "signer", [](json& r) { r["signer"]["roles"] = {"admin"}; }},
           {8, "decision", [](json& r) { r["decision"]["allowed"] = false; }},
           {9, "decision", [](json& r) { r.erase("decision"); }},
           {8, "policy_seq", [](json& r) { r["policy_seq"] = 0; }},
           {3, "ledger_time", [](json& r) { r["ledger_time"] = "2026-11-23T10:00:00Z"; }},
           {2, "included_as",
            [](json& r) {
              r["included_as"] = {"key", "deployment"};
            }},
           {3, "note", [](json& r) { r["note"] = "approved by the CAB"; }},
       }) {
    json bundle = clean;
    edit.apply(RecordOf(bundle, edit.seq));
    ExpectFailsAt(bundle, edit.seq, "field '" + edit.field + "'");
  }
}

TEST_F(BundleTest, ADroppedProofHashIsCaught) {
  json bundle = Export();
  json& proof = RecordOf(bundle, 8)["inclusion_proof"];
  ASSERT_FALSE(proof.empty());
  proof.erase(proof.size() - 1);
  ExpectFailsAt(bundle, 8, "inclusion proof does not lead");
}

TEST_F(BundleTest, SwappedRecordsAreCaught) {
  json bundle = Export();
  std::swap(bundle["records"][3], bundle["records"][4]);  // seqs 3 and 4
  ExpectFailsAt(bundle, 3, "comes after record 4");

  json entries = Export();
  std::swap(RecordOf(entries, 3)["entry"], RecordOf(entries, 4)["entry"]);
  ExpectFailsAt(entries, 3, "entry is that of record 4");
}

TEST_F(BundleTest, ARecordOfAnotherDeploymentSlippedInIsCaught) {
  json bundle = Export();
  json other = Export(std::nullopt, kOther);
  json& records = bundle["records"];
  // Record 5 is the other deployment's, honestly exported and proved in the same checkpoint.
  records.insert(records.begin() + 5, RecordOf(other, 5));
  ASSERT_EQ(SeqsOf(bundle), (Seqs{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  ExpectFailsAt(bundle, 5, "of deployment '" + kOther + "', not of '" + kDeployment + "'");
}

TEST_F(BundleTest, ADroppedKeyRecordLeavesASignerWithoutAuthority) {
  json bundle = Export();
  json& records = bundle["records"];
  records.erase(records.begin() + 2);  // rutger's enrolment
  ExpectFailsAt(bundle, 4, "not enrolled");
}

TEST_F(BundleTest, AMissingGenesisIsCaught) {
  json bundle = Export();
  bundle["records"].erase(0);
  BundleReport report = Verify(bundle);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 0u);
  EXPECT_THAT(report.problem, HasSubstr("genesis"));
}

TEST_F(BundleTest, ABundleCheckedWithAnotherLedgerKeyFails) {
  const SigningKey other = SigningKey::Generate();
  auto report = VerifyBundle(Export(), other.PublicKey(), std::nullopt);
  ASSERT_OK(report);
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->bad_checkpoint, "bundle");
  EXPECT_THAT(report->problem, HasSubstr("no signature by the ledger key " +
                                         shiplog::HexEncode(other.PublicKey()).substr(0, 16)));
}

TEST_F(BundleTest, ACheckpointOfAnotherLedgerIsCaught) {
  TestLedger stranger;
  stranger.Create();
  json bundle = Export();
  bundle["checkpoint"] = stranger.ledger->LatestCheckpoint().note;
  BundleReport report = Verify(bundle);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_checkpoint, "bundle");
  EXPECT_THAT(report.problem, StartsWith("the bundle's checkpoint"));
}

TEST_F(BundleTest, EditedTopLevelFieldsAreCaught) {
  json renamed = Export();
  renamed["origin"] = "shiplog/elsewhere";
  EXPECT_THAT(Verify(renamed).problem, HasSubstr("names log 'shiplog/elsewhere'"));

  json rekeyed = Export();
  rekeyed["ledger_key"] = shiplog::HexEncode(SigningKey::Generate().PublicKey());
  EXPECT_THAT(Verify(rekeyed).problem, HasSubstr("not the key it is checked with"));

  json retargeted = Export();
  retargeted["deployment"] = kOther;
  ExpectFailsAt(retargeted, 3, "not of '" + kOther + "'");
}

TEST_F(BundleTest, WhatIsNotABundleIsBadInput) {
  const std::string key = ledger().public_key();
  EXPECT_CODE(VerifyBundle(json::array(), key, std::nullopt), StatusCode::kInvalidArgument);
  json other_format = Export();
  other_format["format"] = "shiplog-bundle-v0";
  EXPECT_CODE(VerifyBundle(other_format, key, std::nullopt), StatusCode::kInvalidArgument);
  json no_records = Export();
  no_records.erase("records");
  EXPECT_CODE(VerifyBundle(no_records, key, std::nullopt), StatusCode::kInvalidArgument);
  json extra = Export();
  extra["comment"] = "trust me";
  EXPECT_CODE(VerifyBundle(extra, key, std::nullopt), StatusCode::kInvalidArgument);
  EXPECT_CODE(VerifyBundle(Export(), "short", std::nullopt), StatusCode::kInvalidArgument);
}

// ---- since: the log only grew ----

TEST_F(BundleTest, SinceAKeptCheckpointTheLogOnlyGrew) {
  json bundle = Export(kept_);
  EXPECT_EQ(bundle["consistency"]["from"], 6);
  BundleReport report = Verify(bundle, kept_);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.since_size, 6u);
  EXPECT_EQ(report.ToJson()["since_size"], 6);

  // The latest checkpoint itself: nothing grew, and that is consistent too.
  const Checkpoint latest = ledger().LatestCheckpoint();
  BundleReport same = Verify(Export(latest), latest);
  EXPECT_TRUE(same.ok) << same.problem;
}

TEST_F(BundleTest, SinceNeedsTheProofFromThatCheckpoint) {
  BundleReport without = Verify(Export(), kept_);
  EXPECT_FALSE(without.ok);
  EXPECT_EQ(without.bad_checkpoint, "since");
  EXPECT_THAT(without.problem, HasSubstr("--since"));

  const Checkpoint later = Unwrap(ledger().CheckpointAt(9));
  BundleReport other_size = Verify(Export(kept_), later);
  EXPECT_FALSE(other_size.ok);
  EXPECT_THAT(other_size.problem, HasSubstr("from size 6, not from size 9"));
  EXPECT_THAT(other_size.problem, HasSubstr("--since"));
}

TEST_F(BundleTest, AKeptCheckpointNewerThanTheBundleFails) {
  json bundle = Export();
  t_.Append(StepReportedJson("leon", "production"), leon_);
  BundleReport report = Verify(bundle, ledger().LatestCheckpoint());
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.problem, HasSubstr("newer than the bundle's"));
}

TEST_F(BundleTest, ATamperedConsistencyProofFails) {
  json bundle = Export(kept_);
  json& proof = bundle["consistency"]["proof"];
  ASSERT_FALSE(proof.empty());
  proof[0] = shiplog::HexEncode(std::string(32, '\x07'));
  BundleReport report = Verify(bundle, kept_);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_checkpoint, "since");
  EXPECT_THAT(report.problem, HasSubstr("not consistent"));
}

TEST_F(BundleTest, ExportRefusesACheckpointOfAnotherLog) {
  TestLedger stranger;
  stranger.Create();
  EXPECT_CODE(ExportBundle(ledger(), kDeployment, stranger.ledger->LatestCheckpoint()),
              StatusCode::kInvalidArgument);
}

// Two ledgers with one key and one genesis, which part ways at one event: the checkpoint an
// auditor kept from one is not a prefix of the other, whatever the other's bundle says.
TEST(BundleSince, ARewrittenLedgerFailsTheConsistencyCheck) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  const SigningKey admin = SigningKey::Generate();
  const std::string seed = SigningKey::Generate().Seed();
  auto open = [&](const std::string& name) {
    auto store = Unwrap(shiplog::OpenRocksStore(tmp.Path(name), /*create=*/true), "store");
    SigningKey key = Unwrap(SigningKey::FromSeed(seed), "seed");
    InitOptions options;
    options.admin_public_key = admin.PublicKey();
    options.policy = kPolicyV1;
    Check(Ledger::WriteGenesis(*store, key, options, &clock), "WriteGenesis");
    return Unwrap(Ledger::Open(std::move(store), std::move(key), &clock), "Open");
  };
  std::unique_ptr<Ledger> honest = open("honest");
  std::unique_ptr<Ledger> rewritten = open("rewritten");
  ASSERT_EQ(honest->public_key(), rewritten->public_key());

  const SigningKey leon = SigningKey::Generate();
  const SignedEvent enrol =
      SignJson(KeyEnrolledJson("admin", "leon", leon.PublicKey(), {"ci"}), admin);
  const SignedEvent request = SignJson(DeployRequestedJson("leon"), leon);
  for (Ledger* ledger : {honest.get(), rewritten.get()}) {
    ASSERT_OK(ledger->Append(enrol));
    ASSERT_OK(ledger->Append(request));
  }
  ASSERT_EQ(honest->LatestCheckpoint().note, rewritten->LatestCheckpoint().note);
  json pass = GateResultJson("leon", "tests");
  json fail = pass;
  fail["outcome"] = "fail";
  ASSERT_OK(honest->Append(SignJson(pass, leon)));
  ASSERT_OK(rewritten->Append(SignJson(fail, leon)));
  const Checkpoint kept_from_rewritten = rewritten->LatestCheckpoint();
  const Checkpoint kept_from_honest = honest->LatestCheckpoint();
  ASSERT_EQ(kept_from_rewritten.head.size, kept_from_honest.head.size);
  clock.Advance(kMicrosPerMinute);
  ASSERT_OK(honest->Append(SignJson(StepStartedJson("leon", "staging"), leon)));

  const std::string key = honest->public_key();
  json bundle = Unwrap(ExportBundle(*honest, kDeployment, kept_from_rewritten), "export");
  BundleReport report = Unwrap(VerifyBundle(bundle, key, kept_from_rewritten), "verify");
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_checkpoint, "since");
  EXPECT_THAT(report.problem, HasSubstr("history was rewritten"));

  json fair = Unwrap(ExportBundle(*honest, kDeployment, kept_from_honest), "export");
  BundleReport fair_report = Unwrap(VerifyBundle(fair, key, kept_from_honest), "verify");
  EXPECT_TRUE(fair_report.ok) << fair_report.problem;

  // The rewritten ledger's checkpoint, signed by the same key, does not hold the honest records.
  json swapped = fair;
  swapped["checkpoint"] = rewritten->LatestCheckpoint().note;
  swapped.erase("consistency");
  BundleReport swapped_report = Unwrap(VerifyBundle(swapped, key, std::nullopt), "verify");
  EXPECT_FALSE(swapped_report.ok);
  EXPECT_EQ(swapped_report.first_bad_seq, 0u);
  EXPECT_THAT(swapped_report.problem, HasSubstr("inclusion proof does not lead"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
