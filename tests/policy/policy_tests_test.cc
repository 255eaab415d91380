// RunPolicyTests: scripted timelines against the default pack; mismatches name the test, the step
// and its line, and every mistake in a tests file is reported at its file:line:column.
#include "policy/policy_tests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

Policy DefaultPolicy() {
  ParseResult parsed = ParsePolicy(DefaultPolicyText(), "default.yaml");
  EXPECT_TRUE(parsed.errors.empty());
  return std::move(*parsed.policy);
}

// A header and one test of orchestration waiting for the merge approval (R4).
const std::string kHeader =
    "shiplog_policy_tests: 1\n"                                                        // 1
    "start: 2026-11-24T18:00:00Z\n"                                                    // 2
    "deployment: checkout-1\n"                                                         // 3
    "actors:\n"                                                                        // 4
    "  leon: [coordinator]\n"                                                          // 5
    "  marta: [merge-approver]\n"                                                      // 6
    "tests:\n"                                                                         // 7
    "  - name: merge first\n"                                                          // 8
    "    steps:\n"                                                                     // 9
    "      - as: leon\n"                                                               // 10
    "        event: {kind: deploy.requested, app: checkout, environment: production,\n"  // 11
    "                version: \"1\", strategy: rolling, risk: low,\n"                  // 12
    "                image: \"repo@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b\",\n"
    "                planned_steps: [orchestrate]}\n"                                  // 14
    "      - advance: 1m\n";                                                           // 15

PolicyTestRun RunTests(const std::string& text) {
  return RunPolicyTests(DefaultPolicy(), text, "t.yaml");
}

std::vector<std::string> Errors(const PolicyTestRun& run) {
  std::vector<std::string> out;
  for (const auto& e : run.errors) out.push_back(e.ToString());
  return out;
}

TEST(PolicyTestsTest, PassingFile) {
  PolicyTestRun run = RunTests(kHeader +
                          "      - {as: leon, event: {kind: step.started, step: orchestrate},\n"
                          "         expect: deny, rules: [merge-approved]}\n"
                          "      - {as: marta, event: {kind: review, subject: merge, verdict: "
                          "approved}}\n"
                          "      - {as: leon, event: {kind: step.started, step: orchestrate}}\n"
                          "      - {as: marta, event: {kind: step.started, step: production},\n"
                          "         expect: reject}\n");
  ASSERT_TRUE(run.report) << Errors(run).front();
  EXPECT_EQ(run.report->tests, 1);
  EXPECT_EQ(run.report->passed, 1);
  EXPECT_EQ(run.report->failed, 0);
  EXPECT_THAT(run.report->mismatches, SizeIs(0));
  EXPECT_EQ(run.report->Summary().dump(), R"({"failed":0,"passed":1,"tests":1})");
}

TEST(PolicyTestsTest, MismatchNamesTestStepLineAndRules) {
  PolicyTestRun run = RunTests(kHeader +
                          "      - {as: leon, event: {kind: step.started, step: orchestrate}}\n"
                          "  - name: second\n"
                          "    steps:\n"
                          "      - {at: 2026-11-24T20:00:00Z}\n");
  ASSERT_TRUE(run.report) << Errors(run).front();
  EXPECT_EQ(run.report->tests, 2);
  EXPECT_EQ(run.report->passed, 1);
  EXPECT_EQ(run.report->failed, 1);
  ASSERT_THAT(run.report->mismatches, SizeIs(1));
  const PolicyTestMismatch& m = run.report->mismatches[0];
  EXPECT_EQ(m.test, "merge first");
  EXPECT_EQ(m.step, 3);
  EXPECT_EQ(m.where.line, 16);
  EXPECT_EQ(m.expected, "allow");
  EXPECT_EQ(m.got, "deny");
  EXPECT_THAT(m.rules, ElementsAre("R4"));
  ASSERT_THAT(m.reasons, SizeIs(1));
  EXPECT_EQ(m.reasons[0].name, "merge-approved");
  EXPECT_EQ(m.event["actor"], "leon");
  EXPECT_EQ(m.event["deployment"], "checkout-1");
  EXPECT_EQ(m.ToString(), "t.yaml:16: test 'merge first' step 3: expected allow, got deny [R4]");
  nlohmann::json j = m.ToJson();
  EXPECT_EQ(j["line"], 16);
  EXPECT_EQ(j["step"], 3);
  EXPECT_EQ(j["rules"], nlohmann::json({"R4"}));
  EXPECT_EQ(j["reasons"][0]["rule"], "R4");
}

TEST(PolicyTestsTest, DenyWithOtherRulesIsAMismatch) {
  PolicyTestRun run = RunTests(kHeader +
                          "      - {as: leon, event: {kind: step.started, step: orchestrate},\n"
                          "         expect: deny, rules: [R10]}\n");
  ASSERT_TRUE(run.report) << Errors(run).front();
  ASSERT_THAT(run.report->mismatches, SizeIs(1));
  EXPECT_EQ(run.report->mismatches[0].ToString(),
            "t.yaml:16: test 'merge first' step 3: expected deny [R10], got deny [R4]");
}

TEST(PolicyTestsTest, RejectIsReportedWithTheAuthorityMessage) {
  PolicyTestRun run =
      RunTests(kHeader + "      - {as: marta, event: {kind: step.started, step: orchestrate}}\n");
  ASSERT_TRUE(run.report) << Errors(run).front();
  ASSERT_THAT(run.report->mismatches, SizeIs(1));
  EXPECT_EQ(run.report->mismatches[0].got, "reject");
  EXPECT_THAT(run.report->mismatches[0].authority, HasSubstr("forbidden"));
}

TEST(PolicyTestsTest, ParseErrorsHaveLineAndColumn) {
  PolicyTestRun run = RunTests(kHeader +
                          "      - {as: nobody, event: {kind: review}}\n"
                          "      - {advance: 15}\n"
                          "      - {as: leon, event: {kind: step.started}}\n"
                          "      - {as: leon, event: {kind: step.started, step: x}, expect: maybe}\n"
                          "      - {as: leon, event: {kind: review}, expect: deny, rules: [R99]}\n");
  EXPECT_FALSE(run.report);
  EXPECT_THAT(Errors(run),
              ElementsAre("t.yaml:16:14: actor 'nobody' is not declared under actors",
                          "t.yaml:17:19: expected a duration like 15m, 1h30m, 90s, got '15'",
                          "t.yaml:18:27: invalid event: event kind 'step.started': missing field "
                          "'step'",
                          "t.yaml:19:66: expected allow, deny or reject, got 'maybe'",
                          StartsWith("t.yaml:20:27: invalid event: "),
                          "t.yaml:20:65: rule 'R99' is not in the policy"));
}

TEST(PolicyTestsTest, UnknownKeysAreErrors) {
  PolicyTestRun run = RunTests(
      "shiplog_policy_tests: 1\n"
      "start: 2026-11-24T18:00:00Z\n"
      "actors: {leon: [coordinator, wizard]}\n"
      "setup: []\n"
      "tests:\n"
      "  - name: a\n"
      "    stepz: []\n"
      "  - name: b\n"
      "    steps:\n"
      "      - {advance: 1m, expct: deny}\n");
  EXPECT_FALSE(run.report);
  EXPECT_THAT(Errors(run),
              ElementsAre("t.yaml:3:30: role 'wizard' is not declared in the policy",
                          StartsWith("t.yaml:4:1: unknown key 'setup' in the policy tests"),
                          StartsWith("t.yaml:6:5: missing 'steps'"),
                          StartsWith("t.yaml:7:5: unknown key 'stepz' in a test"),
                          StartsWith("t.yaml:10:23: unknown key 'expct' in a step")));
}

TEST(PolicyTestsTest, YamlSyntaxErrorAndMissingVersion) {
  EXPECT_THAT(Errors(RunTests("shiplog_policy_tests: 1\ntests: [broken\n")),
              ElementsAre(StartsWith("t.yaml:3:1: YAML syntax error")));
  EXPECT_THAT(Errors(RunTests("start: 2026-11-24T18:00:00Z\ntests: []\n")),
              ElementsAre(StartsWith("t.yaml:1:1: missing 'shiplog_policy_tests: 1'")));
}

TEST(PolicyTestsTest, AStepIsOneThing) {
  PolicyTestRun run = RunTests(kHeader + "      - {advance: 1m, at: 2026-11-24T18:00:00Z}\n"
                                    "      - {advance: 1m, as: leon}\n"
                                    "      - {as: leon, event: {kind: review}, rules: [R4]}\n");
  EXPECT_THAT(Errors(run),
              ElementsAre(StartsWith("t.yaml:16:9: a step is exactly one of"),
                          "t.yaml:17:27: 'as' goes with an event",
                          StartsWith("t.yaml:18:27: invalid event: "),
                          "t.yaml:18:50: 'rules' goes with expect: deny"));
}

TEST(PolicyTestsTest, EachTestStartsFresh) {
  // The first test's request would make the second one's a second deployment (R5) if state leaked.
  std::string request =
      "      - {as: leon, event: {kind: deploy.requested, app: checkout, environment: production,\n"
      "          version: \"1\", strategy: rolling, risk: low,\n"
      "          image: \"repo@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b\"}}\n";
  PolicyTestRun run = RunTests(kHeader + "  - name: again\n    steps:\n" + request);
  ASSERT_TRUE(run.report) << Errors(run).front();
  EXPECT_EQ(run.report->passed, 2);
}

// Coverage: each rule, requirement, if and any_of arm, with the ways the tests saw it.
const BranchCoverage* FindBranch(const PolicyTestReport& report, const std::string& rule,
                                 const std::string& branch) {
  for (const BranchCoverage& b : report.coverage) {
    if (b.rule == rule && b.branch == branch) return &b;
  }
  return nullptr;
}

TEST(PolicyTestsCoverage, NotesEachBranchOfWhatTheTestsDecided) {
  PolicyTestRun run = RunPolicyTestsWithCoverage(
      DefaultPolicy(),
      kHeader + "      - {as: leon, event: {kind: step.started, step: orchestrate},\n"
                "         expect: deny, rules: [merge-approved]}\n"
                "      - {as: marta, event: {kind: review, subject: merge, verdict: approved}}\n"
                "      - {as: leon, event: {kind: step.started, step: orchestrate}}\n",
      "t.yaml");
  ASSERT_TRUE(run.report) << Errors(run).front();
  const PolicyTestReport& report = *run.report;
  const BranchCoverage* r4 = FindBranch(report, "R4", "rule");
  ASSERT_NE(r4, nullptr);
  EXPECT_TRUE(r4->first_seen && r4->second_seen) << "R4 was denied, then allowed";
  const BranchCoverage* r5 = FindBranch(report, "R5", "rule");
  ASSERT_NE(r5, nullptr);
  EXPECT_TRUE(r5->first_seen);
  EXPECT_FALSE(r5->second_seen) << "nothing was requested twice";
  // R7's any_of arms and its if are branches of their own, never reached here.
  for (const char* branch : {"require 1 any_of 1", "require 1 any_of 2", "require 2 if"}) {
    const BranchCoverage* b = FindBranch(report, "R7", branch);
    ASSERT_NE(b, nullptr) << branch;
    EXPECT_FALSE(b->first_seen || b->second_seen) << branch;
  }
  const nlohmann::json json = report.CoverageJson();
  EXPECT_EQ(json["branches"], report.coverage.size());
  EXPECT_LT(json["covered"].get<size_t>(), report.coverage.size());
  EXPECT_THAT(json["uncovered"].dump(),
              HasSubstr(R"({"branch":"rule","line":)" +
                        std::to_string(DefaultPolicy().FindRule("R5")->where.line) +
                        R"(,"missing":["deny"],"rule":"R5"})"));
}

TEST(PolicyTestsCoverage, TheDefaultPacksOwnTestsSeeEveryBranchBothWays) {
  std::ifstream in(SHIPLOG_DEFAULT_POLICY_TESTS_FILE);
  std::stringstream text;
  text << in.rdbuf();
  PolicyTestRun run = RunPolicyTestsWithCoverage(DefaultPolicy(), text.str(), "default_tests.yaml");
  ASSERT_TRUE(run.report) << Errors(run).front();
  EXPECT_EQ(run.report->failed, 0);
  ASSERT_GT(run.report->coverage.size(), 40u);
  for (const BranchCoverage& b : run.report->coverage) {
    EXPECT_TRUE(b.covered()) << b.rule << " " << b.branch << " (line " << b.where.line
                             << ") seen " << b.first << ": " << b.first_seen << ", " << b.second
                             << ": " << b.second_seen;
  }
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
