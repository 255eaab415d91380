// GET /v1/dora on the real server: the figures of a history made before it starts (one deployment
// walked to completion and rolled back, an incident opened and resolved), the same JSON through
// `shiplog dora --server`, and the refusals: an unknown parameter (400), no signature (401), a
// reader limited to some deployments (403: the metrics aggregate over all of them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/test_ledger.h"
#include "tests/server/deploy_chain.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/"
    "checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kTuesday = "since=2026-11-24T00:00:00Z&until=2026-11-25T00:00:00Z";

std::map<std::string, std::vector<std::string>> Agents() {
  auto agents = ChainAgents();
  agents["ic"] = {"incident-commander"};
  return agents;
}

// The history is appended to the ledger before the server holds it, so the manual clock can move
// (`shiplog clock advance` needs the ledger): checkout-1 is requested at 18:00 (the clock's start),
// completes at 18:42 (lead time 42 minutes) and is rolled back at 19:42, when INC-7 opens in
// production; INC-7 is resolved at 20:12 (30 minutes).
class DoraRouteTest : public ::testing::Test {
 protected:
  DoraRouteTest() : server_(Agents()) {}

  void SetUp() override {
    WalkToStagingStart([this](const std::string& who, json event) { As(who, event); },
                       ChainRequest("checkout", kImage));
    Advance("10m");
    As("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    As("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    Advance("16m");
    As("rutger", {{"kind", "step.started"}, {"step", "production"}});
    As("rutger", {{"kind", "step.reported"}, {"step", "production"}, {"status", "READY"}});
    Advance("16m");
    As("leon", {{"kind", "deploy.completed"}});
    Advance("1h");
    rollback_ = As("leon", {{"kind", "rollback.started"}, {"reason", "error rate"}});
    Incident("incident.opened");
    Advance("30m");
    Incident("incident.resolved");
    server_.Start();
  }

  // Appends `event` for checkout-1 as `who`; the policy must allow it. Its seq.
  uint64_t As(const std::string& who, json event) {
    event["deployment"] = "checkout-1";
    Receipt receipt = AppendTestEvent(server_.data(), server_.key(who), event);
    EXPECT_FALSE(receipt.denied) << event.dump() << ": " << receipt.decision;
    return receipt.seq;
  }
  void Incident(const std::string& kind) {
    AppendTestEvent(server_.data(), server_.key("ic"),
                    {{"kind", kind}, {"environment", "production"}, {"incident", "INC-7"}});
  }
  void Advance(const std::string& duration) { AdvanceTestClock(server_.data(), duration); }

  ServerProcess server_;
  uint64_t rollback_ = 0;
};

TEST_F(DoraRouteTest, SignedReadAnswersTheFigures) {
  adapters::HttpReply reply = server_.Get("/v1/dora?" + kTuesday);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json report = json::parse(reply.body);
  EXPECT_EQ(report["format"], "shiplog-dora-v1");
  const json& total = report["total"];
  EXPECT_EQ(total["deployments"], 1);
  EXPECT_EQ(total["deployments_per_day"], 1.0);
  EXPECT_EQ(total["lead_time"]["median_seconds"], 2520.0);
  EXPECT_EQ(total["change_failure"]["rate"], 1.0);
  EXPECT_EQ(total["change_failure"]["failures"], json::array({{{"deployment", "checkout-1"},
                                                               {"by_seq", rollback_},
                                                               {"by_kind", "rollback.started"}}}));
  EXPECT_EQ(total["time_to_restore"]["resolved"], 1);
  EXPECT_EQ(total["time_to_restore"]["median_seconds"], 1800.0);
  ASSERT_EQ(report["groups"].size(), 1u);
  EXPECT_EQ(report["days"].size(), 1u);

  // The filters and the window are parameters too: a 30-minute window misses the rollback.
  adapters::HttpReply narrow =
      server_.Get("/v1/dora?" + kTuesday + "&app=checkout&environment=production&window=30m");
  ASSERT_EQ(narrow.status, 200) << narrow.body;
  EXPECT_EQ(json::parse(narrow.body)["total"]["change_failure"]["failed"], 0);

  // `shiplog dora --server` prints the server's answer as --data prints the ledger's.
  ProcessResult cli =
      server_.Shiplog({"dora", "--server", server_.url(), "--key", server_.admin_key(), "--since",
                       "2026-11-24T00:00:00Z", "--until", "2026-11-25T00:00:00Z"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out), report);
}

TEST_F(DoraRouteTest, BadParametersAre400s) {
  adapters::HttpReply unknown = server_.Get("/v1/dora?" + kTuesday + "&apps=checkout");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr("unknown parameter 'apps' for /v1/dora"));
  adapters::HttpReply no_since = server_.Get("/v1/dora");
  EXPECT_EQ(no_since.status, 400);
  EXPECT_THAT(no_since.body, HasSubstr("parameter since is required"));
  adapters::HttpReply backwards =
      server_.Get("/v1/dora?since=2026-11-25T00:00:00Z&until=2026-11-24T00:00:00Z");
  EXPECT_EQ(backwards.status, 400);
  EXPECT_THAT(backwards.body, HasSubstr("parameter until 2026-11-24T00:00:00Z is not after"));
  adapters::HttpReply window = server_.Get("/v1/dora?" + kTuesday + "&window=soon");
  EXPECT_EQ(window.status, 400);
  EXPECT_THAT(window.body, HasSubstr("parameter window 'soon'"));
}

TEST_F(DoraRouteTest, UnsignedIs401AndAScopedReaderIs403) {
  EXPECT_EQ(server_.GetUnsigned("/v1/dora?" + kTuesday).status, 401);
  // production-ops reads the deployments of production only (the default pack's reads:).
  adapters::HttpReply scoped = server_.GetAs("rutger", "/v1/dora?" + kTuesday);
  EXPECT_EQ(scoped.status, 403) << scoped.body;
  EXPECT_EQ(server_.GetAs("leon", "/v1/dora?" + kTuesday).status, 200)
      << "the coordinator reads everything";
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
