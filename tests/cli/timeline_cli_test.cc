// `shiplog timeline` through the real binary on a manual-clock ledger with the default pack: the
// three formats, --out written whole, and the errors a user meets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/cli/process.h"

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

class TimelineCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok({"init", "--data", data(), "--manual-clock", "--clock-start", "2026-11-24T10:00:00Z"});
    for (auto [name, role] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"},
             {"thijmen", "k8s-operator"}, {"rutger", "production-ops"}, {"otto", "backup"}}) {
      Ok({"keygen", "--out", dir_ / (name + ".key")});
      Ok({"enroll", "--data", data(), "--admin-key", data() + "/admin.key", "--name", name,
          "--roles", role, "--public-key", dir_ / (name + ".key.pub")});
    }
    As("leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                {"version", "1.4.2"}, {"image", kImage}, {"strategy", "rolling"}, {"risk", "low"},
                {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
    As("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    for (auto [who, step] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "orchestrate"}, {"ci-bot", "build"}, {"thijmen", "staging"}}) {
      As(who, {{"kind", "step.started"}, {"step", step}});
      As(who, {{"kind", "step.reported"}, {"step", step}, {"status", "READY"}});
      if (step == "build") {
        As("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
      }
    }
    As("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    Ok({"clock", "advance", "5m", "--data", data()});
    As("rutger", {{"kind", "step.started"}, {"step", "production"}}, /*expected_exit=*/3);
    Ok({"clock", "advance", "11m", "--data", data()});
    As("rutger", {{"kind", "step.started"}, {"step", "production"}});
  }

  std::string data() const { return dir_ / "data"; }

  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args);
  }

  json Ok(const std::vector<std::string>& args) {
    ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err << r.out;
    return r.out.empty() ? json() : json::parse(r.out.substr(0, r.out.find('\n')));
  }

  void As(const std::string& who, json event, int expected_exit = 0) {
    event["deployment"] = "checkout-1";
    ProcessResult r = RunProcess(
        {ShiplogBinary(), "append", "--data", data(), "--key", dir_ / (who + ".key"), "-"},
        event.dump());
    ASSERT_EQ(r.exit_code, expected_exit) << who << " " << event.dump() << ": " << r.err << r.out;
  }

  ScratchDir dir_;
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
