// Issue 23's smaller holes, end to end through the real binary on a manual-clock ledger with the
// default pack: --out never follows a link planted at FILE.tmp, evidence recorded before its
// deployment's request satisfies no rule, attacker text reaches the terminal only as visible
// escapes, and `policy lint` catches an unclosed quote and warns of a policy without rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

// The byte sequences no terminal line of shiplog may carry raw.
const std::string kEsc = "\x1b";
const std::string kRightToLeftOverride = "\xe2\x80\xae";  // U+202E
const std::string kLineSeparator = "\xe2\x80\xa8";        // U+2028

bool IsSymlink(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class HolesCliTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"marta", "merge-approver"}, {"rm", "release-manager"}});
  }

  void Request() {
    AsOk("leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                  {"version", "1.4.2"}, {"image", kImage}, {"strategy", "rolling"},
                  {"risk", "low"}, {"planned_steps", {"orchestrate", "production"}}});
  }

  // A victim file and a link to it planted at `out`.tmp; returns the victim's path.
  std::string PlantLink(const std::string& out) {
    const std::string victim = dir_ / "victim.txt";
    WriteFile(victim, "precious\n");
    EXPECT_EQ(::symlink(victim.c_str(), (out + ".tmp").c_str()), 0);
    return victim;
  }

  // The victim is untouched, the link is still a link, and --out was refused naming FILE.tmp.
  void ExpectRefusedWithoutFollowing(const ProcessResult& r, const std::string& out,
                                     const std::string& victim) {
    EXPECT_EQ(ReadFile(victim), "precious\n");
    EXPECT_TRUE(IsSymlink(out + ".tmp"));
    EXPECT_EQ(r.exit_code, 2) << r.err << r.out;
    EXPECT_THAT(r.err, HasSubstr(out + ".tmp already exists"));
    EXPECT_FALSE(Exists(out));
  }

};

// ---- --out FILE and a link planted at FILE.tmp ----

TEST_F(HolesCliTest, TimelineOutDoesNotFollowALinkPlantedAtTheTemporaryFile) {
  Request();
  const std::string out = dir_ / "timeline.txt";
  const std::string victim = PlantLink(out);
  ProcessResult r = Run({"timeline", "--data", data(), "--deployment", "checkout-1", "--out", out});
  ExpectRefusedWithoutFollowing(r, out, victim);
}

TEST_F(HolesCliTest, ExportOutDoesNotFollowALinkPlantedAtTheTemporaryFile) {
  Request();
  const std::string out = dir_ / "bundle.json";
  const std::string victim = PlantLink(out);
  ProcessResult r = Run({"export", "--data", data(), "--deployment", "checkout-1", "--out", out});
  ExpectRefusedWithoutFollowing(r, out, victim);
}

TEST_F(HolesCliTest, OutWritesOnceTheStaleTemporaryFileIsGone) {
  Request();
  const std::string out = dir_ / "timeline.txt";
  PlantLink(out);
  ASSERT_EQ(Run({"timeline", "--data", data(), "--deployment", "checkout-1", "--out", out})
                .exit_code,
            2);
  ASSERT_EQ(::unlink((out + ".tmp").c_str()), 0);
  Ok({"timeline", "--data", data(), "--deployment", "checkout-1", "--out", out});
  EXPECT_THAT(ReadFile(out), StartsWith("deployment checkout-1"));
  EXPECT_FALSE(Exists(out + ".tmp"));
}

// ---- evidence recorded before the deployment's request ----

TEST_F(HolesCliTest, AMergeReviewBeforeTheRequestDoesNotSatisfyR4) {
  AsOk("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  Request();
  ProcessResult r = As("leon", {{"kind", "step.started"}, {"step", "orchestrate"}});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("R4 merge-approved"));
  // The same review after the request is the evidence R4 needs.
  AsOk("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  AsOk("leon", {{"kind", "step.started"}, {"step", "orchestrate"}});
}

TEST_F(HolesCliTest, AWaiverBeforeTheRequestLiftsNothing) {
  AsOk("rm", {{"kind", "waiver.granted"}, {"rule", "R4"}, {"reason", "granted ahead"}});
  Request();
  ProcessResult r = As("leon", {{"kind", "step.started"}, {"step", "orchestrate"}});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("R4 merge-approved"));
}

// ---- attacker text on the terminal ----

void ExpectNoRawControls(const std::string& text) {
  EXPECT_THAT(text, Not(HasSubstr(kEsc)));
  EXPECT_THAT(text, Not(HasSubstr(kRightToLeftOverride)));
  EXPECT_THAT(text, Not(HasSubstr(kLineSeparator)));
}

TEST_F(HolesCliTest, TextTimelineShowsControlsAndBidiOverridesAsEscapes) {
  Request();
  AsOk("marta", {{"kind", "review"},
                 {"subject", "merge"},
                 {"verdict", "approved"},
                 {"comment", "ok" + kRightToLeftOverride + "evil" + kLineSeparator + "#99 forged" +
                                 kEsc + "[2J"}});
  ProcessResult r = Run({"timeline", "--data", data(), "--deployment", "checkout-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectNoRawControls(r.out);
  EXPECT_THAT(r.out, HasSubstr("review merge: approved: ok\\u202eevil\\u2028#99 forged\\x1b[2J"));
  // JSON keeps the text exact, escaped by the JSON writer.
  ProcessResult j =
      Run({"timeline", "--data", data(), "--deployment", "checkout-1", "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_THAT(j.out, Not(HasSubstr(kEsc)));
  EXPECT_THAT(j.out, HasSubstr("\\u001b[2J"));
}

TEST_F(HolesCliTest, ErrorMessagesShowAnEscInAFieldNameAsAnEscape) {
  ProcessResult r = As("leon", {{"kind", "review"},
                                {"subject", "merge"},
                                {"verdict", "approved"},
                                {kEsc + "[31mred" + kRightToLeftOverride, "x"}});
  EXPECT_EQ(r.exit_code, 2);
  ExpectNoRawControls(r.err);
  EXPECT_THAT(r.err, HasSubstr("unknown field '\\x1b[31mred\\u202e'"));
}

TEST_F(HolesCliTest, ErrorMessagesShowAnEscInAKindAsAnEscape) {
  ProcessResult r = As("leon", {{"kind", "deploy" + kEsc + "]0;owned" + kLineSeparator}});
  EXPECT_EQ(r.exit_code, 2);
  ExpectNoRawControls(r.err);
  EXPECT_THAT(r.err, HasSubstr("deploy\\x1b]0;owned\\u2028"));
}

TEST_F(HolesCliTest, UsageErrorsShowAnEscInAnArgumentAsAnEscape) {
  ProcessResult r =
      Run({"timeline", "--data", data(), "--deployment", "checkout-1", "--" + kEsc + "[31mnope"});
  EXPECT_EQ(r.exit_code, 2);
  ExpectNoRawControls(r.err);
  ExpectNoRawControls(r.out);
  EXPECT_THAT(r.err, HasSubstr("\\x1b[31mnope"));
}

// ---- policy lint ----

const std::string kOneRulePolicy =
    "shiplog_policy: 1\n"
    "name: small\n"
    "roles:\n"
    "  coordinator: [deploy.requested]\n"
    "rules:\n"
    "  - id: R1\n"
    "    name: pinned\n"
    "    on: {kind: deploy.requested}\n"
    "    require:\n"
    "      - image_pinned: true\n";

TEST_F(HolesCliTest, LintAcceptsTheSmallPolicyTheOthersVary) {
  const std::string file = dir_ / "small.yaml";
  WriteFile(file, kOneRulePolicy);
  ProcessResult r = Run({"policy", "lint", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(json::parse(r.out)["rules"], 1);
}

TEST_F(HolesCliTest, LintRejectsAQuoteLeftOpenAtTheEndOfTheFile) {
  const std::string file = dir_ / "open-quote.yaml";
  WriteFile(file, kOneRulePolicy + "description: \"never closed\n");
  ProcessResult r = Run({"policy", "lint", file});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.err, StartsWith(file + ":11:14: YAML syntax error: a quoted string opened here "
                                       "is never closed"));
  EXPECT_EQ(json::parse(r.out)["ok"], false);
}

TEST_F(HolesCliTest, LintRejectsAnOpenQuoteThatSwallowsTheLinesAfterIt) {
  const std::string file = dir_ / "open-quote-early.yaml";
  WriteFile(file, "shiplog_policy: 1\nname: 'small\n" + kOneRulePolicy.substr(30) + "\n\n");
  ProcessResult r = Run({"policy", "lint", file});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.err, StartsWith(file + ":2:7: YAML syntax error: a quoted string opened here"));
}

TEST_F(HolesCliTest, LintWarnsOfAPolicyWithoutRules) {
  const std::string file = dir_ / "no-rules.yaml";
  WriteFile(file, kOneRulePolicy.substr(0, kOneRulePolicy.find("rules:")));
  ProcessResult r = Run({"policy", "lint", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, file + ": warning: the policy has no rules, so it allows every intent\n");
  json out = json::parse(r.out);
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["rules"], 0);
  ASSERT_EQ(out["warnings"].size(), 1u);
  EXPECT_EQ(out["warnings"][0]["file"], file);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
