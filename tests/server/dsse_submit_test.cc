// DSSE envelopes through the real server: POST /v1/events takes an in-toto statement with
// ?deployment= (or a shiplog event in an envelope) and answers a receipt; `shiplog submit` sends
// an envelope's exact bytes; bad envelopes are 400 naming the fault, with nothing stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/deploy_chain.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kDigest = "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kImage = "registry.example/checkout@sha256:" + kDigest;

json TestStatement(const std::string& digest, const std::string& result) {
  return {
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject", {{{"name", "registry.example/checkout"}, {"digest", {{"sha256", digest}}}}}},
      {"predicateType", "https://in-toto.io/attestation/test-result/v0.1"},
      {"predicate",
       {{"result", result}, {"configuration", json::array()}, {"passedTests", {"unit", "e2e"}}}}};
}

class DsseSubmitTest : public ::testing::Test {
 protected:
  DsseSubmitTest()
      : server_({{"leon", {"coordinator"}},
                 {"marta", {"merge-approver"}},
                 {"ci-bot", {"ci"}},
                 {"thijmen", {"k8s-operator"}}}) {}
  void SetUp() override { server_.Start(); }

  // `payload` in a DSSE envelope signed by `agent` (`shiplog sign --dsse`).
  std::string Envelope(const std::string& agent, const json& payload) {
    ProcessResult r =
        server_.Shiplog({"sign", "--dsse", "--key", server_.key(agent), "-"}, payload.dump());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  void RequestDeployment(const std::string& deployment) {
    json request = ChainRequest("checkout", kImage);
    request["deployment"] = deployment;
    adapters::HttpReply reply = server_.Post("/v1/events", server_.Sign("leon", request).dump());
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  uint64_t Records() {
    return json::parse(server_.Get("/v1/checkpoint").body)["size"].get<uint64_t>();
  }

  ServerProcess server_;
};

TEST_F(DsseSubmitTest, AStatementIsEvidenceForTheDeploymentNamedInTheQuery) {
  RequestDeployment("checkout-7");
  adapters::HttpReply reply = server_.Post("/v1/events?deployment=checkout-7",
                                           Envelope("ci-bot", TestStatement(kDigest, "PASSED")),
                                           "application/vnd.dsse.envelope.v1+json");
  ASSERT_EQ(reply.status, 200) << reply.body;
  json receipt = json::parse(reply.body);
  EXPECT_EQ(receipt["actor"], "ci-bot");

  adapters::HttpReply record = server_.Get("/v1/query?deployment=checkout-7&kind=gate.result");
  ASSERT_EQ(record.status, 200) << record.body;
  json event = json::parse(record.body.substr(0, record.body.find('\n')))["event"];
  EXPECT_EQ(event["gate"], "tests");
  EXPECT_EQ(event["outcome"], "pass");
  EXPECT_EQ(event["metrics"]["passed"], 2);
}

TEST_F(DsseSubmitTest, SubmitSendsTheEnvelopesExactBytes) {
  RequestDeployment("checkout-8");
  // Spaced as a person might keep it in a file: the ledger keeps these bytes, not a re-dump.
  const std::string envelope =
      json::parse(Envelope("ci-bot", TestStatement(kDigest, "FAILED"))).dump(2);
  ProcessResult r = server_.Shiplog(
      {"submit", "--server", server_.url(), "--deployment", "checkout-8", "-"}, envelope);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const uint64_t seq = json::parse(r.out)["seq"];
  adapters::HttpReply record =
      server_.Get("/v1/query?from_seq=" + std::to_string(seq) + "&to_seq=" + std::to_string(seq));
  ASSERT_EQ(record.status, 200) << record.body;
  json stored = json::parse(record.body.substr(0, record.body.find('\n')));
  EXPECT_EQ(stored["event"]["outcome"], "fail");
  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult verified = server_.Shiplog({"verify", "--data", server_.data()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  ProcessResult exported = server_.Shiplog({"query", "--data", server_.data(), "--from-seq",
                                            std::to_string(seq), "--to-seq", std::to_string(seq)});
  EXPECT_THAT(exported.out, HasSubstr("\"signature\""));
}

TEST_F(DsseSubmitTest, BadEnvelopesAreRefusedWith400AndNothingIsStored) {
  RequestDeployment("checkout-9");
  const uint64_t before = Records();
  auto refused = [&](const std::string& target, const std::string& body) {
    adapters::HttpReply reply = server_.Post(target, body);
    EXPECT_EQ(reply.status, 400) << reply.body;
    return json::parse(reply.body)["error"]["message"].get<std::string>();
  };
  json good = json::parse(Envelope("ci-bot", TestStatement(kDigest, "PASSED")));
  json bad = good;
  bad["payloadType"] = "text/plain";
  EXPECT_THAT(refused("/v1/events?deployment=checkout-9", bad.dump()),
              HasSubstr("not one shiplog takes"));
  bad = good;
  bad["signatures"][0]["keyid"] = "ci-bot";
  EXPECT_THAT(refused("/v1/events?deployment=checkout-9", bad.dump()), HasSubstr("keyid"));
  bad = good;
  std::string sig = bad["signatures"][0]["sig"];
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  bad["signatures"][0]["sig"] = sig;
  EXPECT_THAT(refused("/v1/events?deployment=checkout-9", bad.dump()),
              HasSubstr("does not verify"));
  EXPECT_THAT(refused("/v1/events", good.dump()), HasSubstr("names no deployment"));
  EXPECT_THAT(refused("/v1/events?deployment=checkout-9&x=1", good.dump()), HasSubstr("x"));
  // A shiplog signed event names its own deployment.
  json step = server_.Sign(
      "leon", {{"kind", "step.started"}, {"step", "orchestrate"}, {"deployment", "checkout-9"}});
  EXPECT_THAT(refused("/v1/events?deployment=checkout-9", step.dump()), HasSubstr("names its own"));
  EXPECT_EQ(Records(), before);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
