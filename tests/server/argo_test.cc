// The Argo Rollouts endpoints of the real server on loopback, on a manual-clock ledger with the
// default pack: the web metric provider (GET /v1/argo/canary) through every canary phase of R15,
// AnalysisRuns (tests/server/data, as kubectl prints them) pinned through POST
// /v1/argo/analysisruns and `shiplog pin analysisrun --server`, each stored once, and the 400s
// that record nothing. The clock moves with `shiplog clock advance` while the server is stopped
// (it holds the ledger while it runs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/test_ledger.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kCanary = "/v1/argo/canary?deployment=checkout-1";
const std::string kPin = "/v1/argo/analysisruns";
const std::string kSuccessfulUid = "7c2f9a41-5d3e-4b8a-a1f6-2e9d8c7b6a50";

std::string DataFile(const std::string& name) { return std::string(ARGO_DATA_DIR) + "/" + name; }

// A successful run of its own: the test data with another uid (each canary phase has its own).
std::string SuccessfulRun(const std::string& uid) {
  std::string text = ReadFile(DataFile("analysisrun-successful.yaml"));
  return text.replace(text.find(kSuccessfulUid), kSuccessfulUid.size(), uid);
}

class ArgoTest : public ::testing::Test {
 protected:
  ArgoTest()
      : server_({{"leon", {"coordinator"}},
                 {"rutger", {"production-ops"}},
                 {"argo", {"enforcer"}}}) {}

  void SetUp() override { Start(); }

  void Start() { server_.Start({"--integration-key", server_.key("argo")}); }

  // Stops the server, moves the ledger's clock and starts it again.
  void Advance(const std::string& duration) {
    ASSERT_EQ(server_.Stop(), 0) << server_.Log();
    AdvanceTestClock(server_.data(), duration);
    Start();
  }

  adapters::HttpReply As(const std::string& agent, json event) {
    event["deployment"] = "checkout-1";
    return server_.Post("/v1/events", server_.Sign(agent, event).dump());
  }

  void Request() {
    adapters::HttpReply r =
        As("leon", {{"kind", "deploy.requested"}, {"app", "checkout"},
                    {"environment", "production"}, {"version", "1.4.2"}, {"image", kImage},
                    {"strategy", "canary"}, {"risk", "low"},
                    {"planned_steps", {"orchestrate", "production"}}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  void Shift(int weight) {
    adapters::HttpReply r = As("rutger", {{"kind", "traffic.shifted"}, {"weight", weight}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // The provider's answer, which must be a 200 whatever it decides.
  json Canary(const std::string& target = kCanary) {
    adapters::HttpReply r = server_.Get(target);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  uint64_t Records() { return json::parse(server_.Get("/readyz").body)["records"]; }

  ServerProcess server_;
};

TEST_F(ArgoTest, TheProviderWalksTheCanaryThroughEveryPhase) {
  Request();
  json first = Canary();
  EXPECT_EQ(first["allowed"], true) << first;
  EXPECT_EQ(first["weight"], 5);
  EXPECT_EQ(first["current_weight"], 0);
  EXPECT_EQ(first["deployment"], "checkout-1");
  Shift(5);

  struct Phase {
    int from, to;
    const char* hold;
  };
  int run = 0;
  for (const Phase& phase : {Phase{5, 25, "15m"}, Phase{25, 50, "30m"}, Phase{50, 100, "1h"}}) {
    SCOPED_TRACE(std::to_string(phase.from) + "% -> " + std::to_string(phase.to) + "%");
    const uint64_t records = Records();
    json early = Canary();
    EXPECT_EQ(early["allowed"], false);
    EXPECT_EQ(early["weight"], phase.to);
    EXPECT_EQ(early["current_weight"], phase.from);
    ASSERT_EQ(early["reasons"].size(), 1u) << early;
    EXPECT_EQ(early["reasons"][0]["rule"], "R15");
    EXPECT_THAT(early["reasons"][0]["message"].get<std::string>(), HasSubstr("has held for"));
    EXPECT_EQ(Records(), records) << "the provider records nothing";

    Advance(phase.hold);
    json held = Canary();
    EXPECT_EQ(held["allowed"], false);
    ASSERT_EQ(held["reasons"].size(), 1u) << held;
    EXPECT_EQ(held["reasons"][0]["rule"], "R15");
    EXPECT_THAT(held["reasons"][0]["message"].get<std::string>(), HasSubstr("no passing analysis"));

    const std::string uid = "00000000-0000-4000-8000-00000000000" + std::to_string(++run);
    adapters::HttpReply pinned = server_.Post(kPin, SuccessfulRun(uid), "application/yaml");
    ASSERT_EQ(pinned.status, 200) << pinned.body;
    EXPECT_EQ(json::parse(pinned.body)["event_id"], "analysisrun:" + uid);

    json allowed = Canary();
    EXPECT_EQ(allowed["allowed"], true) << allowed;
    EXPECT_EQ(allowed["weight"], phase.to);
    EXPECT_TRUE(allowed["reasons"].empty());
    Shift(phase.to);
  }

  json done = Canary();
  EXPECT_EQ(done["allowed"], false);
  EXPECT_EQ(done["current_weight"], 100);
  EXPECT_TRUE(done["weight"].is_null());
  EXPECT_THAT(done["reasons"][0]["message"].get<std::string>(),
              HasSubstr("there is no next weight to judge"));
  // A weight asked for is judged as given: holding at 100% is allowed.
  EXPECT_EQ(Canary(kCanary + "&weight=100")["allowed"], true);
}

TEST_F(ArgoTest, AFailedAnalysisBlocksTheNextWeight) {
  Request();
  Shift(5);
  Advance("15m");
  adapters::HttpReply pinned =
      server_.Post(kPin, ReadFile(DataFile("analysisrun-failed.yaml")), "application/yaml");
  ASSERT_EQ(pinned.status, 200) << pinned.body;

  json blocked = Canary();
  EXPECT_EQ(blocked["allowed"], false);
  EXPECT_EQ(blocked["weight"], 25);
  ASSERT_EQ(blocked["reasons"].size(), 1u) << blocked;
  EXPECT_EQ(blocked["reasons"][0]["rule"], "R15");
  EXPECT_THAT(blocked["reasons"][0]["message"].get<std::string>(),
              HasSubstr("no passing analysis"));
  // The failed run is on record as a failing analysis gate, signed by the server's key.
  adapters::HttpReply query = server_.Get("/v1/query?kind=gate.result&deployment=checkout-1");
  json record = json::parse(query.body);
  EXPECT_EQ(record["event"]["outcome"], "fail");
  EXPECT_EQ(record["event"]["actor"], "argo");
  EXPECT_EQ(record["event"]["metrics"], json({{"error_rate_delta_pct", 0.83}}));
  EXPECT_EQ(record["event"]["step"], "production") << "the step namespace production is bound to";
}

TEST_F(ArgoTest, AnUnknownDeploymentIsADenialNotAnError) {
  json unknown = Canary("/v1/argo/canary?deployment=nobody-1");
  EXPECT_EQ(unknown["allowed"], false);
  ASSERT_FALSE(unknown["reasons"].empty());
  EXPECT_THAT(unknown["reasons"][0]["message"].get<std::string>(),
              HasSubstr("has no deploy.requested"));
}

TEST_F(ArgoTest, ARunPinnedTwiceIsStoredOnceThroughTheRouteAndTheCli) {
  Request();
  const std::string yaml = ReadFile(DataFile("analysisrun-successful.yaml"));
  adapters::HttpReply first = server_.Post(kPin, yaml, "application/yaml");
  ASSERT_EQ(first.status, 200) << first.body;
  const uint64_t records = Records();

  adapters::HttpReply again = server_.Post(kPin, yaml, "application/yaml");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["seq"], json::parse(first.body)["seq"]);
  EXPECT_EQ(json::parse(again.body)["duplicate"], true);

  // The CLI handing the run to the server, which signs it: the same record.
  ProcessResult cli = server_.Shiplog({"pin", "analysisrun", "--server", server_.url(),
                                       DataFile("analysisrun-successful.yaml")});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out)["seq"], json::parse(first.body)["seq"]);
  EXPECT_EQ(json::parse(cli.out)["duplicate"], true);
  EXPECT_EQ(Records(), records);

  // Signed by an agent's own key, under the name the server has it enrolled with.
  std::vector<std::string> as_rutger = {"pin", "analysisrun", "--server", server_.url(), "--key",
                                        server_.key("rutger"),
                                        DataFile("analysisrun-successful.json")};
  ProcessResult mine = server_.Shiplog(as_rutger);
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_EQ(json::parse(mine.out)["actor"], "rutger");
  EXPECT_EQ(Records(), records + 1);
  ProcessResult mine_again = server_.Shiplog(as_rutger);
  ASSERT_EQ(mine_again.exit_code, 0) << mine_again.err;
  EXPECT_EQ(json::parse(mine_again.out)["duplicate"], true);
  EXPECT_EQ(Records(), records + 1);
}

TEST_F(ArgoTest, BadAnalysisRunsAre400AndRecordNothing) {
  Request();
  std::string ok = ReadFile(DataFile("analysisrun-successful.yaml"));
  auto edited = [&ok](const std::string& from, const std::string& to) {
    std::string text = ok;
    return text.replace(text.find(from), from.size(), to);
  };
  struct Case {
    std::string body;
    std::string content_type;
    std::string message;
  };
  const std::vector<Case> cases = {
      {edited("kind: AnalysisRun", "kind: Rollout"), "application/yaml",
       "kind is 'Rollout', not AnalysisRun"},
      {edited("apiVersion: argoproj.io/v1alpha1\nkind", "apiVersion: batch/v1\nkind"),
       "application/yaml", "apiVersion is 'batch/v1'"},
      {edited("  uid: " + kSuccessfulUid + "\n", ""), "application/yaml",
       "metadata.uid is missing"},
      {edited("value: checkout-1", "value: \"\""), "application/yaml",
       "spec.args 'shiplog-deployment' has no value"},
      {ReadFile(DataFile("analysisrun-running.yaml")), "application/yaml", "is not finished"},
      {"kind: AnalysisRun\nmetadata: {uid: [\n", "application/yaml", "not valid YAML"},
      {"{\"kind\": \"AnalysisRun\",", "application/json", "not valid JSON"},
      {ok, "application/x-capnp", "application/json or application/yaml"},
  };
  const uint64_t records = Records();
  for (const Case& c : cases) {
    adapters::HttpReply r = server_.Post(kPin, c.body, c.content_type);
    EXPECT_EQ(r.status, 400) << c.message << ": " << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], "invalid_argument");
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr(c.message));
  }
  EXPECT_EQ(Records(), records);
  EXPECT_EQ(server_.Get(kPin).status, 405);
}

TEST_F(ArgoTest, BadProviderParametersAre400) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/v1/argo/canary", "parameter deployment is required"},
      {kCanary + "&weight=101", "0 to 100, not 101"},
      {kCanary + "&weight=five", "parameter weight wants a non-negative integer"},
      {kCanary + "&wieght=25", "unknown parameter 'wieght'"},
      {"/v1/argo/canary?deployment=a%20b", "parameter deployment"},
  };
  for (const auto& [target, message] : cases) {
    adapters::HttpReply r = server_.Get(target);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr(message)) << target;
  }
  EXPECT_EQ(server_.Post(kCanary, "").status, 405);
}

TEST(ArgoWithoutIntegrationKey, PinningThroughTheServerNeedsItsKey) {
  ServerProcess server(std::map<std::string, std::vector<std::string>>{{"leon", {"coordinator"}}});
  server.Start();
  adapters::HttpReply r = server.Post(kPin, ReadFile(DataFile("analysisrun-successful.yaml")),
                                      "application/yaml");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_THAT(r.body, HasSubstr("no integration key"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
