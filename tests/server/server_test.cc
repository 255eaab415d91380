// The real server on loopback: submit and check over HTTP, and the answers a client gets for
// each kind of bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

json Request(const std::string& deployment) {
  return {{"kind", "deploy.requested"}, {"deployment", deployment}, {"app", "checkout"},
          {"environment", "production"}, {"version", "1.4.2"}, {"image", kImage},
          {"strategy", "rolling"}, {"risk", "low"},
          {"planned_steps", {"orchestrate", "build", "staging", "production"}}};
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : server_({{"leon", {"coordinator"}}, {"rutger", {"production-ops"}}}) {}
  void SetUp() override { server_.Start(); }
  ServerProcess server_;
};

TEST_F(ServerTest, SubmitStoresTheEventAndAnswersWithAVerifiableReceipt) {
  adapters::HttpReply reply = server_.Post("/v1/events", server_.Sign("leon", Request("checkout-1")).dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  json receipt = json::parse(reply.body);
  EXPECT_EQ(receipt["seq"], 3);
  EXPECT_EQ(receipt["decision"]["allowed"], true);
  // The receipt checks out offline against the ledger's key, as one from `append` does.
  ProcessResult verified = server_.Shiplog(
      {"verify-proof", "--ledger-key", server_.data() + "/ledger.key.pub", "-"}, reply.body);
  EXPECT_EQ(verified.exit_code, 0) << verified.err << verified.out;
}

TEST_F(ServerTest, ADeniedIntentIs403WithReasonsAndIsRecorded) {
  ASSERT_EQ(server_.Post("/v1/events", server_.Sign("leon", Request("checkout-1")).dump()).status, 200);
  adapters::HttpReply reply = server_.Post(
      "/v1/events", server_.Sign("rutger", {{"kind", "step.started"}, {"deployment", "checkout-1"},
                                            {"step", "production"}}).dump());
  ASSERT_EQ(reply.status, 403) << reply.body;
  json decision = json::parse(reply.body);
  EXPECT_EQ(decision["allowed"], false);
  ASSERT_FALSE(decision["reasons"].empty());
  EXPECT_EQ(decision["denial_receipt"]["seq"], 4);
  EXPECT_THAT(server_.Log(), HasSubstr("POST /v1/events 403"));
}

TEST_F(ServerTest, BadInputGetsTheStatusThatNamesIt) {
  json first = Request("checkout-1");
  first["id"] = "request-1";
  json signed_event = server_.Sign("leon", first);
  // Not JSON, not signed, a broken signature, an unknown key, a reused id.
  EXPECT_EQ(server_.Post("/v1/events", "{not json").status, 400);
  EXPECT_EQ(server_.Post("/v1/events", Request("checkout-1").dump()).status, 400);
  json forged = signed_event;
  std::string signature = forged["signature"];
  signature[5] = signature[5] == 'A' ? 'B' : 'A';
  forged["signature"] = signature;
  EXPECT_EQ(server_.Post("/v1/events", forged.dump()).status, 401);
  ProcessResult stranger = server_.Shiplog({"keygen", "--out", server_.data() + "/../mallory.key"});
  ASSERT_EQ(stranger.exit_code, 0);
  json event = Request("checkout-2");
  event["actor"] = "mallory";
  ProcessResult mallory =
      server_.Shiplog({"sign", "--key", server_.data() + "/../mallory.key", "-"}, event.dump());
  ASSERT_EQ(mallory.exit_code, 0) << mallory.err;
  EXPECT_EQ(server_.Post("/v1/events", mallory.out).status, 401);
  ASSERT_EQ(server_.Post("/v1/events", signed_event.dump()).status, 200);
  adapters::HttpReply repeat = server_.Post("/v1/events", signed_event.dump());
  EXPECT_EQ(repeat.status, 200) << "a repeat is answered with the first receipt";
  EXPECT_EQ(json::parse(repeat.body)["duplicate"], true);
  json reused = Request("checkout-9");
  reused["id"] = "request-1";
  EXPECT_EQ(server_.Post("/v1/events", server_.Sign("leon", reused).dump()).status, 409);
  EXPECT_EQ(server_.Get("/v1/events").status, 405);
  EXPECT_EQ(server_.Get("/nowhere").status, 404);
  // The server is still there after all that.
  EXPECT_EQ(server_.Get("/healthz").status, 200);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
