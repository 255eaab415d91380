// `shiplog policy lint | show | test` end to end: the real binary on policy files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ledger/crypto.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

class PolicyCliTest : public ::testing::Test {
 protected:
  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args);
  }

  // The default pack as `policy show` prints it, written to a file of the scratch dir.
  std::string WriteDefault(const std::string& name) {
    ProcessResult shown = Run({"policy", "show"});
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    WriteFile(dir_ / name, shown.out);
    return dir_ / name;
  }

  ScratchDir dir_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

TEST_F(PolicyCliTest, ShowPrintsTheDefaultPackVerbatim) {
  ProcessResult r = Run({"policy", "show"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ReadFile(SHIPLOG_DEFAULT_POLICY_FILE));
}

TEST_F(PolicyCliTest, LintAcceptsTheDefaultPack) {
  std::string file = WriteDefault("my-policy.yaml");
  ProcessResult r = Run({"policy", "lint", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  json out = json::parse(r.out);
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["name"], "default");
  EXPECT_EQ(out["rules"], 17);
  EXPECT_EQ(out["sha256"], HexEncode(AsBytes(Sha256(ReadFile(file)))));
}

TEST_F(PolicyCliTest, LintReportsEveryErrorWithItsPlace) {
  std::string file = dir_ / "bad.yaml";
  WriteFile(file,
            "shiplog_policy: 1\n"
            "name: bad\n"
            "roles:\n"
            "  ops: [step.startd]\n"
            "chain:\n"
            "  - {step: build, owner: opz}\n"
            "rules:\n"
            "  - id: R1\n"
            "    name: soak\n"
            "    on: {kind: step.started, step: prod}\n"
            "    require:\n"
            "      - event: step.reported\n"
            "        older_than: 15\n");
  ProcessResult r = Run({"policy", "lint", file});
  EXPECT_EQ(r.exit_code, 2);
  std::vector<std::string> lines = Lines(r.err);
  EXPECT_THAT(lines, ElementsAre(StartsWith(file + ":4:9: unknown event kind 'step.startd'"),
                                 file + ":6:26: role 'opz' is not declared under roles",
                                 StartsWith(file + ":10:36: step 'prod' is not in the chain"),
                                 file + ":13:21: expected a duration like 15m, 1h30m, 90s, got "
                                        "'15'"));
  json out = json::parse(r.out);
  EXPECT_EQ(out["ok"], false);
  ASSERT_EQ(out["errors"].size(), 4u);
  EXPECT_EQ(out["errors"][1], json({{"file", file},
                                    {"line", 6},
                                    {"column", 26},
                                    {"message", "role 'opz' is not declared under roles"}}));
}

TEST_F(PolicyCliTest, LintOfAYamlSyntaxError) {
  std::string file = dir_ / "broken.yaml";
  WriteFile(file, "shiplog_policy: 1\nname: [broken\n");
  ProcessResult r = Run({"policy", "lint", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith(file + ":3:1: YAML syntax error"));
  EXPECT_EQ(json::parse(r.out)["ok"], false);
}

TEST_F(PolicyCliTest, LintOfAMissingFile) {
  ProcessResult r = Run({"policy", "lint", dir_ / "nope.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read"));
}

TEST_F(PolicyCliTest, ShowFileSummarisesIt) {
  std::string file = WriteDefault("p.yaml");
  ProcessResult r = Run({"policy", "show", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["name"], "default");
  EXPECT_EQ(out["sha256"], HexEncode(AsBytes(Sha256(ReadFile(file)))));
  EXPECT_EQ(out["chain"].size(), 9u);
  EXPECT_EQ(out["chain"][5], json({{"step", "production"}, {"owner", "production-ops"}}));
  EXPECT_EQ(out["roles"]["release-manager"], json({"waiver.granted"}));
  ASSERT_EQ(out["rules"].size(), 17u);
  EXPECT_EQ(out["rules"][9]["id"], "R10");
  EXPECT_EQ(out["rules"][9]["name"], "staging-soak");
  EXPECT_THAT(out["rules"][9]["why"].get<std::string>(), HasSubstr("15 minutes"));
  EXPECT_EQ(out["rules"][9]["on"], json({{"kind", {"step.started"}}, {"step", {"production"}}}));
  EXPECT_EQ(out["waivers"]["never"], json({"R3"}));
}

TEST_F(PolicyCliTest, ShowOfABadFileFailsLikeLint) {
  std::string file = dir_ / "bad.yaml";
  WriteFile(file, "shiplog_policy: 1\nname: x\nrulez: []\n");
  ProcessResult r = Run({"policy", "show", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith(file + ":3:1: unknown key 'rulez'"));
  EXPECT_EQ(json::parse(r.out)["ok"], false);
}

TEST_F(PolicyCliTest, TestRunsTheDefaultPacksOwnTests) {
  ProcessResult r =
      Run({"policy", "test", SHIPLOG_DEFAULT_POLICY_FILE, SHIPLOG_DEFAULT_POLICY_TESTS_FILE});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.err, "");
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  json summary = json::parse(lines[0]);
  EXPECT_GE(summary["tests"].get<int>(), 20);
  EXPECT_EQ(summary["passed"], summary["tests"]);
  EXPECT_EQ(summary["failed"], 0);
}

TEST_F(PolicyCliTest, TestCoverageReportsEveryBranchAndNamesTheOnesNotSeenBothWays) {
  ProcessResult full = Run({"policy", "test", "--coverage", SHIPLOG_DEFAULT_POLICY_FILE,
                            SHIPLOG_DEFAULT_POLICY_TESTS_FILE});
  ASSERT_EQ(full.exit_code, 0) << full.err << full.out;
  EXPECT_EQ(full.err, "");
  const json summary = json::parse(Lines(full.out).back());
  EXPECT_EQ(summary["coverage"]["covered"], summary["coverage"]["branches"]);
  EXPECT_EQ(summary["coverage"]["uncovered"], json::array());

  // One test of R4 alone leaves the rest of the pack unseen, each named at its line.
  std::string tests = dir_ / "tests.yaml";
  WriteFile(tests,
            "shiplog_policy_tests: 1\n"
            "start: 2026-11-24T18:00:00Z\n"
            "deployment: checkout-1\n"
            "actors: {leon: [coordinator], marta: [merge-approver]}\n"
            "tests:\n"
            "  - name: orchestrate waits for the merge review\n"
            "    steps:\n"
            "      - {as: leon, event: {kind: deploy.requested, app: checkout, environment: "
            "production, version: \"1\", strategy: rolling, risk: low, image: "
            "\"repo@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b\"}}\n"
            "      - {as: leon, event: {kind: step.started, step: orchestrate}, expect: deny}\n"
            "      - {as: marta, event: {kind: review, subject: merge, verdict: approved}}\n"
            "      - {as: leon, event: {kind: step.started, step: orchestrate}}\n");
  ProcessResult partial = Run({"policy", "test", "--coverage", SHIPLOG_DEFAULT_POLICY_FILE, tests});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  const json coverage = json::parse(Lines(partial.out).back())["coverage"];
  EXPECT_LT(coverage["covered"].get<int>(), coverage["branches"].get<int>());
  EXPECT_THAT(partial.err, HasSubstr(std::string(SHIPLOG_DEFAULT_POLICY_FILE) + ":"));
  EXPECT_THAT(partial.err, HasSubstr(": R10 rule: never seen to allow or deny\n"));
  EXPECT_THAT(partial.err, HasSubstr(": R5 rule: never seen to deny\n"));
  EXPECT_THAT(partial.err, Not(HasSubstr(": R4 rule:")));
}

TEST_F(PolicyCliTest, TestWithAWrongExpectationExits4AndNamesTheTest) {
  std::string tests = dir_ / "tests.yaml";
  WriteFile(tests,
            "shiplog_policy_tests: 1\n"
            "start: 2026-11-24T18:00:00Z\n"
            "deployment: checkout-1\n"
            "actors: {leon: [coordinator]}\n"
            "tests:\n"
            "  - name: orchestrate without a merge review\n"
            "    steps:\n"
            "      - {as: leon, event: {kind: deploy.requested, app: checkout, environment: "
            "production, version: \"1\", strategy: rolling, risk: low, image: "
            "\"repo@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b\"}}\n"
            "      - {as: leon, event: {kind: step.started, step: orchestrate}, expect: allow}\n"
            "  - name: passes\n"
            "    steps:\n"
            "      - {advance: 1m}\n");
  ProcessResult r = Run({"policy", "test", SHIPLOG_DEFAULT_POLICY_FILE, tests});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.err, tests + ":9: test 'orchestrate without a merge review' step 2: expected allow, "
                           "got deny [R4]\n");
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  json mismatch = json::parse(lines[0]);
  EXPECT_EQ(mismatch["test"], "orchestrate without a merge review");
  EXPECT_EQ(mismatch["step"], 2);
  EXPECT_EQ(mismatch["line"], 9);
  EXPECT_EQ(mismatch["expected"], "allow");
  EXPECT_EQ(mismatch["got"], "deny");
  EXPECT_EQ(mismatch["rules"], json({"R4"}));
  EXPECT_EQ(mismatch["reasons"][0]["name"], "merge-approved");
  EXPECT_EQ(mismatch["event"]["kind"], "step.started");
  EXPECT_EQ(json::parse(lines[1]), json({{"tests", 2}, {"passed", 1}, {"failed", 1}}));
}

TEST_F(PolicyCliTest, TestOfABadTestsFileOrPolicyExits2) {
  std::string tests = dir_ / "tests.yaml";
  WriteFile(tests, "shiplog_policy_tests: 1\nstart: 2026-11-24T18:00:00Z\ntestz: []\n");
  ProcessResult r = Run({"policy", "test", SHIPLOG_DEFAULT_POLICY_FILE, tests});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(tests + ":3:1: unknown key 'testz'"));
  EXPECT_EQ(json::parse(r.out)["ok"], false);

  std::string policy = dir_ / "bad.yaml";
  WriteFile(policy, "shiplog_policy: 1\nname: x\nrulez: []\n");
  r = Run({"policy", "test", policy, SHIPLOG_DEFAULT_POLICY_TESTS_FILE});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith(policy + ":3:1: unknown key 'rulez'"));
}

TEST_F(PolicyCliTest, PolicyNeedsASubcommand) {
  EXPECT_EQ(Run({"policy"}).exit_code, 2);
  EXPECT_EQ(Run({"policy", "lint"}).exit_code, 2);
  EXPECT_EQ(Run({"policy", "test", SHIPLOG_DEFAULT_POLICY_FILE}).exit_code, 2);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
