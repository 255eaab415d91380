// `shiplog query` end to end: every filter of the real binary on a manual-clock ledger with the
// default policy, where a deployment is requested, denied a step, reviewed, then allowed it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/cli_ledger_test.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kDigest = "sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kImage = "registry.example/checkout@" + kDigest;

// The ledger and its events are made in this process (CliLedgerTest); `query` is the program.
class QueryCliTest : public CliLedgerTest {
 protected:
  // Records: 0 genesis, 1-3 enrolments (18:00); 4 deploy.requested, 5 policy.denied of leon's
  // orchestrate start (no merge review yet) (18:00); 6 review, 7 step.started, 8 gate.result
  // (19:00).
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"}});
    AsOk("leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                  {"version", "1.4.2"}, {"image", kImage}, {"strategy", "rolling"}, {"risk", "low"},
                  {"planned_steps", {"orchestrate", "build"}}});
    EXPECT_TRUE(Given("leon", {{"kind", "step.started"}, {"step", "orchestrate"}}).denied);
    Advance("1h");
    AsOk("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    AsOk("leon", {{"kind", "step.started"}, {"step", "orchestrate"}});
    AsOk("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                    {"image", kImage}});
  }

  // The sequence numbers `query` prints with these options, one JSON line each.
  std::vector<uint64_t> Printed(std::vector<std::string> options) {
    options.insert(options.begin(), {"query", "--data", data()});
    ProcessResult r = Run(options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<uint64_t> seqs;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) seqs.push_back(json::parse(line)["seq"]);
    return seqs;
  }
  uint64_t Count(std::vector<std::string> options) {
    options.insert(options.begin(), {"query", "--data", data(), "--count"});
    return Ok(options)["count"];
  }

};

using Seqs = std::vector<uint64_t>;

TEST_F(QueryCliTest, AppAndEnvironmentFindTheWholeDeployment) {
  EXPECT_EQ(Printed({"--app", "checkout"}), (Seqs{4, 5, 6, 7, 8}));
  EXPECT_EQ(Printed({"--environment", "production"}), (Seqs{4, 5, 6, 7, 8}));
  EXPECT_EQ(Count({"--app", "search"}), 0u);
}

TEST_F(QueryCliTest, Decisions) {
  EXPECT_EQ(Printed({"--decision", "denied"}), (Seqs{5}));
  EXPECT_EQ(Printed({"--decision", "allowed"}), (Seqs{4, 7}));
  EXPECT_EQ(Count({"--waivers"}), 0u);
}

TEST_F(QueryCliTest, RoleStepAndImage) {
  EXPECT_EQ(Printed({"--role", "merge-approver"}), (Seqs{6}));
  EXPECT_EQ(Printed({"--role", "coordinator", "--decision", "denied"}), (Seqs{5}))
      << "a denial is found by its attempt's signer";
  EXPECT_EQ(Printed({"--actor", "leon"}), (Seqs{4, 5, 7}));
  EXPECT_EQ(Printed({"--step", "orchestrate"}), (Seqs{5, 7}));
  // The starts name no image: they apply the requested one.
  EXPECT_EQ(Printed({"--image", kImage}), (Seqs{4, 5, 7, 8}));
  EXPECT_EQ(Printed({"--image", kDigest, "--kind", "gate.result"}), (Seqs{8}));
}

TEST_F(QueryCliTest, TimeRange) {
  EXPECT_EQ(Printed({"--since", "2026-11-24T19:00:00Z"}), (Seqs{6, 7, 8}));
  EXPECT_EQ(Count({"--until", "2026-11-24T19:00:00Z"}), 6u);
  EXPECT_EQ(Printed({"--since", "2026-11-24T18:30:00Z", "--until", "2026-11-24T20:00:00Z",
                  "--step", "orchestrate"}), (Seqs{7}));
}

TEST_F(QueryCliTest, JsonLinesCarryTheRecords) {
  ProcessResult r = Run({"query", "--data", data(), "--decision", "denied"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json denial = json::parse(r.out);
  EXPECT_EQ(denial["event"]["kind"], "policy.denied");
  EXPECT_EQ(denial["event"]["deployment"], "checkout-1");
  EXPECT_EQ(denial["decision"]["allowed"], false);
}

TEST_F(QueryCliTest, BadValuesAreClearErrors) {
  ProcessResult r = Run({"query", "--data", data(), "--decision", "maybe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--decision"));
  r = Run({"query", "--data", data(), "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--since"));
  EXPECT_THAT(r.err, HasSubstr("RFC 3339"));
  r = Run({"query", "--data", data(), "--since", "2026-11-24T20:00:00Z", "--until",
           "2026-11-24T19:00:00Z"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not after --since"));
}

TEST_F(QueryCliTest, VerifyAgreesWithTheIndexes) {
  ProcessResult r = Run({"verify", "--data", data()});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
