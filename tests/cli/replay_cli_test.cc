// shiplog replay through the real binary: point-in-time state and decisions, counterfactual
// replay under a stricter policy file, and the errors a person gets for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

// The ledger and its events are made in this process (CliLedgerTest); `replay` is the program.
class ReplayCliTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"},
                    {"thijmen", "k8s-operator"}, {"rutger", "production-ops"}, {"otto", "backup"}});
    WalkToStagingStart([this](const std::string& who, const json& event) { AsOk(who, event); },
                       ChainRequest("checkout", kImage));
    staging_ready_ = Allowed("thijmen", {{"kind", "step.reported"}, {"step", "staging"},
                                         {"status", "READY"}});
    AsOk("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    Advance("20m");
    production_ = Allowed("rutger", {{"kind", "step.started"}, {"step", "production"}});
  }

  // Given() of an event the policy must allow: its seq.
  uint64_t Allowed(const std::string& who, const json& event) {
    const Receipt receipt = Given(who, event);
    EXPECT_FALSE(receipt.denied) << event.dump() << ": " << receipt.decision;
    return receipt.seq;
  }

  // The default pack with R10's soak at 30 minutes.
  std::string StricterPolicyFile() {
    std::string text = ReadFile(SHIPLOG_DEFAULT_POLICY_FILE);
    text.replace(text.find("older_than: 15m"), 15, "older_than: 30m");
    WriteFile(dir_ / "stricter.yaml", text);
    return dir_ / "stricter.yaml";
  }

  uint64_t staging_ready_ = 0;
  uint64_t production_ = 0;
};

TEST_F(ReplayCliTest, AtSeqPrintsStateAndTheNextDecisionsAsJson) {
  json out = Ok({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                 std::to_string(staging_ready_), "--format", "json"});
  EXPECT_EQ(out["seq"], staging_ready_);
  EXPECT_EQ(out["status"], "requested");
  EXPECT_EQ(out["policy"]["seq"], 0);
  EXPECT_EQ(out["steps"][2]["step"], "staging");
  EXPECT_EQ(out["steps"][2]["status"], "READY");
  EXPECT_EQ(out["environment"]["name"], "production");
  bool production = false;
  for (const json& n : out["next"]) {
    if (n.value("step", "") != "production") continue;
    production = true;
    EXPECT_EQ(n["decision"]["allowed"], false) << "the soak had not even started";
  }
  EXPECT_TRUE(production);
  // Asked again, the same answer: replay never reads the present.
  EXPECT_EQ(Ok({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                std::to_string(staging_ready_), "--format", "json"}),
            out);
}

TEST_F(ReplayCliTest, AtTimeInTextForPeopleAndQuietOnAPipe) {
  ProcessResult r = Run({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                         "2026-11-24T18:19:59Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("deployment checkout-1 at seq"));
  EXPECT_THAT(r.out, HasSubstr("allow  step.started production"));
  EXPECT_THAT(r.out, HasSubstr("staging: READY"));
  EXPECT_EQ(r.err, "") << "no progress line when stderr is not a terminal";
}

TEST_F(ReplayCliTest, StricterSoakListsTheProductionStartThatWouldBeDenied) {
  const std::string stricter = StricterPolicyFile();
  json out = Ok({"replay", "--data", data(), "--deployment", "checkout-1", "--policy", stricter,
                 "--format", "json"});
  ASSERT_EQ(out["changed"], 1) << out.dump();
  EXPECT_EQ(out["changes"][0]["seq"], production_);
  EXPECT_EQ(out["changes"][0]["intent"]["step"], "production");
  EXPECT_EQ(out["changes"][0]["then"]["allowed"], true);
  EXPECT_EQ(out["changes"][0]["now"]["allowed"], false);
  EXPECT_EQ(out["changes"][0]["rules"], json({"R10"}));

  json same = Ok({"replay", "--data", data(), "--deployment", "checkout-1", "--policy",
                  SHIPLOG_DEFAULT_POLICY_FILE, "--format", "json"});
  EXPECT_EQ(same["changed"], 0);
  EXPECT_EQ(same["intents"], 5) << "the request and four step starts";

  json all = Ok({"replay", "--data", data(), "--all", "--from", "2026-11-24T18:00:00Z", "--to",
                 "2026-11-24T19:00:00Z", "--policy", stricter, "--format", "json"});
  EXPECT_EQ(all["changed"], 1);
  json earlier = Ok({"replay", "--data", data(), "--all", "--from", "2026-11-24T18:00:00Z",
                     "--to", "2026-11-24T18:10:00Z", "--policy", stricter, "--format", "json"});
  EXPECT_EQ(earlier["changed"], 0);
  EXPECT_EQ(Ok({"query", "--data", data(), "--count"})["count"], production_ + 1)
      << "nothing is appended";
}

TEST_F(ReplayCliTest, BadInputExitsTwoWithAClearMessage) {
  WriteFile(dir_ / "bad.yaml", "shiplog_policy: 1\nname: bad\nroles: {x: [no.such.kind]}\n");
  ProcessResult bad_policy = Run({"replay", "--data", data(), "--deployment", "checkout-1",
                                  "--policy", dir_ / "bad.yaml"});
  EXPECT_EQ(bad_policy.exit_code, 2);
  EXPECT_THAT(bad_policy.err, HasSubstr(dir_ / "bad.yaml:3:"));

  ProcessResult unknown = Run({"replay", "--data", data(), "--deployment", "nope", "--at", "3"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no event of deployment nope"));

  ProcessResult past_end = Run({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                                "999"});
  EXPECT_EQ(past_end.exit_code, 2);
  EXPECT_THAT(past_end.err, HasSubstr("past the ledger's end"));

  ProcessResult bad_time = Run({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                                "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("--at"));

  ProcessResult all_without_policy = Run({"replay", "--data", data(), "--all", "--from",
                                          "2026-11-24T18:00:00Z", "--to", "2026-11-24T19:00:00Z"});
  EXPECT_EQ(all_without_policy.exit_code, 2);
  EXPECT_THAT(all_without_policy.err, HasSubstr("--policy"));
}

TEST_F(ReplayCliTest, ACorruptSnapshotIsIgnoredWithAWarning) {
  // A question about one deployment folds its own records and writes no snapshot; one folding
  // the whole ledger writes them as it goes, and answers the same.
  json fresh = Ok({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                   std::to_string(production_), "--format", "json", "--snapshot-every", "5"});
  EXPECT_FALSE(std::filesystem::exists(data() + "/snapshots"));
  EXPECT_EQ(Ok({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                std::to_string(production_), "--format", "json", "--snapshot-every", "5",
                "--whole-ledger"}),
            fresh);
  // The newest snapshot at or before the point: the one replay would start from.
  const uint64_t newest = (production_ + 1) / 5 * 5 - 1;
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.snap", static_cast<unsigned long long>(newest));
  const std::string snapshot = data() + "/snapshots/" + name;
  std::string bytes = ReadFile(snapshot);
  bytes[bytes.size() / 2] ^= 0x40;
  WriteFile(snapshot, bytes);
  ProcessResult r = Run({"replay", "--data", data(), "--deployment", "checkout-1", "--at",
                         std::to_string(production_), "--format", "json", "--snapshot-every", "0",
                         "--whole-ledger"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("shiplog: warning: ignoring snapshot " + snapshot));
  EXPECT_EQ(json::parse(r.out), fresh);
}

TEST_F(ReplayCliTest, NoSnapshotsFoldsFromTheGenesisAndWritesNone) {
  const std::vector<std::string> question = {"replay", "--data", data(), "--deployment",
                                             "checkout-1", "--at", std::to_string(production_),
                                             "--format", "json", "--whole-ledger",
                                             "--snapshot-every", "2"};
  json fresh = Ok(question);
  ASSERT_TRUE(std::filesystem::exists(data() + "/snapshots"));
  // Every snapshot damaged: a fold that read one would warn about it.
  for (const auto& entry : std::filesystem::directory_iterator(data() + "/snapshots")) {
    std::string bytes = ReadFile(entry.path().string());
    bytes[bytes.size() / 2] ^= 0x40;
    WriteFile(entry.path().string(), bytes);
  }
  std::filesystem::remove_all(data() + "/snapshots/" + "00000000000000000001.snap");
  const size_t damaged = std::distance(std::filesystem::directory_iterator(data() + "/snapshots"),
                                       std::filesystem::directory_iterator());
  std::vector<std::string> from_genesis = question;
  from_genesis.push_back("--no-snapshots");
  ProcessResult r = Run(from_genesis);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("snapshot")));
  EXPECT_EQ(json::parse(r.out), fresh);
  // Nothing written either, though --snapshot-every asked for one every two records.
  EXPECT_FALSE(std::filesystem::exists(data() + "/snapshots/00000000000000000001.snap"));
  EXPECT_EQ(static_cast<size_t>(std::distance(
                std::filesystem::directory_iterator(data() + "/snapshots"),
                std::filesystem::directory_iterator())),
            damaged);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
