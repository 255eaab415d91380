// Enforcement at append, end to end: the real binary on a manual-clock ledger with the default
// pack. Intents are judged inside the ledger's ordering; a denial exits 3 with the decision and
// is itself recorded; bad authority exits 2 and records nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

class EnforceTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"},
                    {"thijmen", "k8s-operator"}, {"rutger", "production-ops"}, {"otto", "backup"},
                    {"rm", "release-manager"}});
  }

  uint64_t Count(const std::string& kind) {
    return Ok({"query", "--data", data(), "--kind", kind, "--count"})["count"];
  }

  // Requested, merged, orchestrated, built, scanned, staging READY, backup verified.
  void UpToProduction() {
    AsOk("leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                  {"version", "1.4.2"}, {"image", kImage}, {"strategy", "rolling"},
                  {"risk", "low"}, {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
    AsOk("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    for (auto [who, step] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "orchestrate"}, {"ci-bot", "build"}}) {
      AsOk(who, {{"kind", "step.started"}, {"step", step}});
      AsOk(who, {{"kind", "step.reported"}, {"step", step}, {"status", "READY"}});
    }
    AsOk("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", kImage}});
    AsOk("thijmen", {{"kind", "step.started"}, {"step", "staging"}});
    AsOk("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    AsOk("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  }

};

TEST_F(EnforceTest, StagingSoakDeniesThenAllowsAtTheBoundary) {
  UpToProduction();
  Ok({"clock", "advance", "14m59s", "--data", data()});
  json production = {{"kind", "step.started"}, {"step", "production"}};

  ProcessResult check = Run({"check", "--data", data(), "--deployment", "checkout-1", "--actor",
                             "rutger", "--step", "production"});
  EXPECT_EQ(check.exit_code, 3);
  EXPECT_THAT(check.out, HasSubstr("staging-soak"));
  EXPECT_EQ(Count("policy.denied"), 0u) << "check records nothing";

  ProcessResult denied = As("rutger", production);
  EXPECT_EQ(denied.exit_code, 3) << denied.err;
  json decision = json::parse(denied.out);
  EXPECT_EQ(decision["allowed"], false);
  EXPECT_EQ(decision["reasons"][0]["rule"], "R10");
  EXPECT_EQ(decision["reasons"][0]["name"], "staging-soak");
  EXPECT_THAT(decision["reasons"][0]["message"].get<std::string>(),
              HasSubstr("staging has been READY for 14m59s"));
  EXPECT_EQ(decision["denial_receipt"]["denied"], true);
  EXPECT_EQ(Count("policy.denied"), 1u) << "the attempt is recorded for auditors";
  EXPECT_EQ(Count("step.started"), 3u) << "the denied intent is not a fact";

  Ok({"clock", "advance", "1s", "--data", data()});
  ProcessResult allowed = As("rutger", production);
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  json receipt = json::parse(allowed.out);
  EXPECT_EQ(receipt["decision"]["allowed"], true);
  EXPECT_FALSE(receipt["decision"]["evidence"].empty());
  EXPECT_EQ(Ok({"verify", "--data", data()})["ok"], true);
}

TEST_F(EnforceTest, BadAuthorityExitsTwoAndRecordsNothing) {
  UpToProduction();
  const uint64_t before = Ok({"query", "--data", data(), "--count"})["count"];
  ProcessResult not_owner = As("leon", {{"kind", "step.started"}, {"step", "production"}});
  EXPECT_EQ(not_owner.exit_code, 2);
  EXPECT_THAT(not_owner.err, HasSubstr("R3"));
  ProcessResult wrong_kind = As("marta", {{"kind", "backup.verified"}, {"scope", "db"},
                                          {"backup_id", "b-9"}});
  EXPECT_EQ(wrong_kind.exit_code, 2);
  EXPECT_THAT(wrong_kind.err, HasSubstr("may emit backup.verified"));
  ProcessResult waive_r3 = As("rm", {{"kind", "waiver.granted"}, {"rule", "R3"}, {"reason", "x"}});
  EXPECT_EQ(waive_r3.exit_code, 2);
  EXPECT_EQ(Ok({"query", "--data", data(), "--count"})["count"], before);
}

TEST_F(EnforceTest, WaiverLiftsTheSoakAndIsCited) {
  UpToProduction();
  EXPECT_EQ(As("rutger", {{"kind", "step.started"}, {"step", "production"}}).exit_code, 3);
  AsOk("rm", {{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", "hotfix INC-9"}});
  ProcessResult allowed = As("rutger", {{"kind", "step.started"}, {"step", "production"}});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr("hotfix INC-9"));
}

TEST_F(EnforceTest, ActivatedPolicyGovernsLaterDecisions) {
  // A team tightens the soak to 30 minutes by editing its copy of the default pack.
  std::string text = Run({"policy", "show"}).out;
  const std::string soak = "older_than: 15m";
  ASSERT_NE(text.find(soak), std::string::npos);
  text.replace(text.find(soak), soak.size(), "older_than: 30m");  // R10 comes before R16
  WriteFile(dir_ / "strict.yaml", text);

  ProcessResult not_admin = Run({"policy", "activate", "--data", data(), "--admin-key",
                                 dir_ / "leon.key", dir_ / "strict.yaml"});
  EXPECT_EQ(not_admin.exit_code, 2);
  EXPECT_THAT(not_admin.err, HasSubstr("admin role"));
  WriteFile(dir_ / "broken.yaml", "shiplog_policy: 1\nname: broken\nrulez: []\n");
  EXPECT_EQ(Run({"policy", "activate", "--data", data(), "--admin-key", data() + "/admin.key",
                 dir_ / "broken.yaml"}).exit_code, 2);

  json activated = Ok({"policy", "activate", "--data", data(), "--admin-key",
                       data() + "/admin.key", dir_ / "strict.yaml"});
  EXPECT_EQ(activated["actor"], "admin");

  UpToProduction();
  Ok({"clock", "advance", "20m", "--data", data()});
  ProcessResult denied = As("rutger", {{"kind", "step.started"}, {"step", "production"}});
  EXPECT_EQ(denied.exit_code, 3);
  json decision = json::parse(denied.out);
  EXPECT_THAT(decision["reasons"][0]["message"].get<std::string>(), HasSubstr("needs 30m"));
  json linted = Ok({"policy", "lint", dir_ / "strict.yaml"});
  EXPECT_EQ(decision["policy_sha256"], linted["sha256"]);
  Ok({"clock", "advance", "10m", "--data", data()});
  EXPECT_EQ(As("rutger", {{"kind", "step.started"}, {"step", "production"}}).exit_code, 0);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
