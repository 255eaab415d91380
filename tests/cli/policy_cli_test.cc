// `shiplog policy lint | show` end to end: the real binary on policy files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ledger/crypto.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

class PolicyCliTest : public ::testing::Test {
 protected:
  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), SHIPLOG_BINARY);
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
  EXPECT_EQ(out["rules"], 16);
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
  ASSERT_EQ(out["rules"].size(), 16u);
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

TEST_F(PolicyCliTest, PolicyNeedsASubcommand) {
  EXPECT_EQ(Run({"policy"}).exit_code, 2);
  EXPECT_EQ(Run({"policy", "lint"}).exit_code, 2);
}

}  // namespace
}  // namespace shiplog::testing
