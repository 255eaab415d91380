// shiplog dora through the real binary: the figures of one deployment walked to completion, then
// rolled back, and of an incident opened and resolved; the period's default end; and the errors
// a person gets for bad options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/"
    "checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

// The ledger and its events are made in this process (CliLedgerTest); `dora` is the program.
// The clock starts at 2026-11-24T18:00:00Z: checkout-1 is requested then, completes at 18:42
// (lead time 42 minutes), is rolled back at 19:42, when INC-7 opens in production; INC-7 is
// resolved at 20:12 (30 minutes).
class DoraCliTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    std::vector<std::pair<std::string, std::string>> agents = {{"ic", "incident-commander"}};
    for (const auto& [name, roles] : ChainAgents()) agents.emplace_back(name, roles.front());
    InitWithAgents(agents);
    WalkToStagingStart([this](const std::string& who, const json& event) { AsOk(who, event); },
                       ChainRequest("checkout", kImage));
    Advance("10m");
    AsOk("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    AsOk("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    Advance("16m");
    AsOk("rutger", {{"kind", "step.started"}, {"step", "production"}});
    AsOk("rutger", {{"kind", "step.reported"}, {"step", "production"}, {"status", "READY"}});
    Advance("16m");
    AsOk("leon", {{"kind", "deploy.completed"}});
    Advance("1h");
    rollback_ = Given("leon", {{"kind", "rollback.started"}, {"reason", "error rate"}}).seq;
    Incident("incident.opened");
    Advance("30m");
    Incident("incident.resolved");
  }

  void Incident(const std::string& kind) {
    AppendTestEvent(data(), key("ic"),
                    {{"kind", kind}, {"environment", "production"}, {"incident", "INC-7"}});
  }

  uint64_t rollback_ = 0;
};

TEST_F(DoraCliTest, PrintsTheFiguresAsJson) {
  const json out = Ok({"dora", "--data", data(), "--since", "2026-11-24T00:00:00Z", "--until",
                       "2026-11-25T00:00:00Z"});
  EXPECT_EQ(out["format"], "shiplog-dora-v1");
  EXPECT_EQ(out["window_seconds"], 86400);
  const json& total = out["total"];
  EXPECT_EQ(total["deployments"], 1);
  EXPECT_EQ(total["deployments_per_day"], 1.0);
  EXPECT_EQ(total["lead_time"], json({{"count", 1},
                                      {"median_seconds", 2520.0},
                                      {"mean_seconds", 2520.0},
                                      {"p90_seconds", 2520.0}}));
  EXPECT_EQ(total["change_failure"],
            json({{"completed", 1},
                  {"failed", 1},
                  {"rate", 1.0},
                  {"failures", json::array({{{"deployment", "checkout-1"},
                                             {"by_seq", rollback_},
                                             {"by_kind", "rollback.started"}}})}}));
  EXPECT_EQ(total["time_to_restore"], json({{"opened", 1},
                                            {"resolved", 1},
                                            {"unresolved", 0},
                                            {"median_seconds", 1800.0},
                                            {"mean_seconds", 1800.0},
                                            {"p90_seconds", 1800.0}}));
  ASSERT_EQ(out["groups"].size(), 1u);
  EXPECT_EQ(out["groups"][0]["app"], "checkout");
  EXPECT_EQ(out["groups"][0]["environment"], "production");
  EXPECT_EQ(out["days"], json::parse(R"([{"day": "2026-11-24", "deployments": 1, "failed": 1,
                                          "lead_time_median_seconds": 2520.0}])"));

  // Without --until the period ends just after the ledger's time now (20:12); with a window of
  // 30 minutes the rollback an hour later no longer counts.
  const json narrow = Ok({"dora", "--data", data(), "--since", "2026-11-24T00:00:00Z", "--window",
                          "30m", "--app", "checkout", "--environment", "production"});
  EXPECT_EQ(narrow["until"], "2026-11-24T20:12:01Z");
  EXPECT_EQ(narrow["window_seconds"], 1800);
  EXPECT_EQ(narrow["app"], "checkout");
  EXPECT_EQ(narrow["environment"], "production");
  EXPECT_EQ(narrow["total"]["change_failure"]["failed"], 0);
  EXPECT_EQ(narrow["total"]["deployments"], 1);
}

TEST_F(DoraCliTest, BadInputExitsTwoWithAClearMessage) {
  ProcessResult backwards = Run({"dora", "--data", data(), "--since", "2026-11-25T00:00:00Z",
                                 "--until", "2026-11-24T00:00:00Z"});
  EXPECT_EQ(backwards.exit_code, 2);
  EXPECT_THAT(backwards.err,
              HasSubstr("--until 2026-11-24T00:00:00Z is not after --since 2026-11-25T00:00:00Z"));
  EXPECT_EQ(backwards.out, "");

  ProcessResult window =
      Run({"dora", "--data", data(), "--since", "2026-11-24T00:00:00Z", "--window", "a day"});
  EXPECT_EQ(window.exit_code, 2);
  EXPECT_THAT(window.err, HasSubstr("--window 'a day'"));

  ProcessResult no_since = Run({"dora", "--data", data()});
  EXPECT_EQ(no_since.exit_code, 2);
  EXPECT_THAT(no_since.err, HasSubstr("--since"));

  ProcessResult bad_time = Run({"dora", "--data", data(), "--since", "last tuesday"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("--since"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
