// `shiplog timeline` through the real binary on a manual-clock ledger with the default pack: the
// three formats, --out written whole, and the errors a user meets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The ledger and its events are made in this process (CliLedgerTest); `timeline` is the program.
class TimelineCliTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"},
                    {"thijmen", "k8s-operator"}, {"rutger", "production-ops"}, {"otto", "backup"}});
    WalkToStagingStart([this](const std::string& who, const json& event) { AsOk(who, event); },
                       ChainRequest("checkout", kImage));
    AsOk("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    AsOk("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    Advance("5m");
    EXPECT_TRUE(Given("rutger", {{"kind", "step.started"}, {"step", "production"}}).denied);
    Advance("11m");
    AsOk("rutger", {{"kind", "step.started"}, {"step", "production"}});
  }
};

TEST_F(TimelineCliTest, TextShowsEachEventTheDenialAndTheSoak) {
  ProcessResult r = Run({"timeline", "--data", data(), "--deployment", "checkout-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("deployment checkout-1: checkout 1.4.2 to production"));
  EXPECT_THAT(r.out, HasSubstr("12 events"));
  EXPECT_THAT(r.out, HasSubstr("!! DENIED #"));
  EXPECT_THAT(r.out, HasSubstr("rutger [production-ops]  step.started: tried: started production"));
  EXPECT_THAT(r.out, HasSubstr("R10 staging-soak: staging has been READY for 5m"));
  EXPECT_THAT(r.out, HasSubstr("(staging soaked 16m)"));
  EXPECT_THAT(r.out, HasSubstr("note: a drill ledger on a manual clock"));
}

TEST_F(TimelineCliTest, JsonIsOneDocumentWithEveryEvent) {
  ProcessResult r =
      Run({"timeline", "--data", data(), "--deployment", "checkout-1", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json timeline = json::parse(r.out);
  const uint64_t count =
      Ok({"query", "--data", data(), "--deployment", "checkout-1", "--count"})["count"];
  EXPECT_EQ(timeline["entries"].size(), count);
  EXPECT_EQ(timeline["denials"], 1);
  EXPECT_EQ(timeline["duration_seconds"], 16 * 60);
  EXPECT_EQ(timeline["steps"][2]["step"], "staging");
  EXPECT_EQ(timeline["steps"][2]["soak_seconds"], 16 * 60);
  EXPECT_EQ(timeline["entries"].back()["decision"]["allowed"], true);
}

TEST_F(TimelineCliTest, HtmlOutIsWrittenWholeAndSummarized) {
  const std::string out = dir_ / "timeline.html";
  json summary = Ok({"timeline", "--data", data(), "--deployment", "checkout-1", "--format",
                     "html", "--out", out});
  EXPECT_EQ(summary["out"], out);
  EXPECT_EQ(summary["events"], 12);
  EXPECT_EQ(summary["denials"], 1);
  EXPECT_FALSE(Exists(out + ".tmp"));
  const std::string html = ReadFile(out);
  EXPECT_THAT(html, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("</html>"));
  for (int seq : {7, 18}) {  // the request (after genesis and six enrolments) and the last start
    EXPECT_THAT(html, HasSubstr("data-seq=\"" + std::to_string(seq) + "\"")) << seq;
  }
  EXPECT_THAT(html, ::testing::Not(HasSubstr("http://")));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("https://")));
}

TEST_F(TimelineCliTest, UnknownDeploymentIsBadInput) {
  ProcessResult r = Run({"timeline", "--data", data(), "--deployment", "checkout-404"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no records of deployment 'checkout-404'"));
  EXPECT_TRUE(r.out.empty());
}

TEST_F(TimelineCliTest, UnknownFormatIsBadInput) {
  ProcessResult r =
      Run({"timeline", "--data", data(), "--deployment", "checkout-1", "--format", "pdf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("pdf"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
