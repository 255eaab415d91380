// Per-agent rate limits against the real server (policy limits:, adapters/rate_limit.h): a
// runaway agent gets 429 with Retry-After while another goes on; nothing refused is stored;
// /metrics counts the refusals; forged requests claiming a key never spend its bucket; after
// Retry-After the agent is served again; the per-address limit comes before any signature work
// and leaves the probes alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "adapters/http_signature.h"
#include "ledger/crypto.h"
#include "ledger/dsse.h"
#include "ledger/key_file.h"
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

// Activates the default pack with `limits` (a limits: section) in place of its own.
void ActivateLimits(const ServerProcess& server, const std::string& limits) {
  std::ifstream in(SHIPLOG_DEFAULT_POLICY_FILE);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string defaults =
      "limits:\n  connection: {rate: 20000, burst: 40000}\n  key: {rate: 20000, burst: 40000}\n";
  const size_t at = text.find(defaults);
  ASSERT_NE(at, std::string::npos) << "default.yaml's limits: changed; update this test";
  text.replace(at, defaults.size(), limits);
  const std::string file = std::filesystem::path(server.data()).parent_path() / "limits.yaml";
  std::ofstream(file, std::ios::binary) << text;
  ProcessResult r = server.Shiplog(
      {"policy", "activate", "--data", server.data(), "--admin-key", server.admin_key(), file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

uint64_t RateLimited(const ServerProcess& server, const std::string& scope) {
  const std::string metrics = server.GetUnsigned("/metrics").body;
  const std::string name = "shiplog_rate_limited_total{scope=\"" + scope + "\"} ";
  const size_t at = metrics.find(name);
  EXPECT_NE(at, std::string::npos) << metrics;
  return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + name.size()));
}

std::string KeyIdOf(const std::string& key_file) {
  auto key = ReadKeyFile(key_file);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.ok() ? dsse::KeyId(key->PublicKey()) : "";
}

class RateLimitTest : public ::testing::Test {
 protected:
  RateLimitTest()
      : server_({{"leon", {"coordinator"}}, {"marta", {"merge-approver"}}, {"otto", {"backup"}}}) {
    InitCrypto();
  }

  void SetUp() override {
    // One request a second, two at once, per agent; the admin (the test's own reads) unlimited.
    ActivateLimits(server_,
                   "limits:\n"
                   "  connection: {rate: 1000, burst: 1000}\n"
                   "  key: {rate: 1, burst: 2}\n"
                   "  roles:\n"
                   "    admin: off\n");
    server_.Start();
  }

  json Request(int i) const {
    json event = ChainRequest("app" + std::to_string(i), kImage);
    event["deployment"] = "run-" + std::to_string(i);
    return server_.Sign("leon", event);
  }

  json Backup(int i) const {
    return server_.Sign("otto", {{"kind", "backup.verified"},
                                 {"deployment", "run-0"},
                                 {"scope", "database"},
                                 {"backup_id", "b-" + std::to_string(i)},
                                 {"restore_tested", true}});
  }

  // The records of deployment `d`, read by the admin.
  std::string RecordsOf(const std::string& d) const {
    adapters::HttpReply reply = server_.Get("/v1/query?deployment=" + d);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.body;
  }

  ServerProcess server_;
};

TEST_F(RateLimitTest, ARunawayAgentGets429WhileAnotherGoesOn) {
  std::vector<json> signed_events;
  for (int i = 0; i < 8; ++i) signed_events.push_back(Request(i));
  std::vector<int> refused;  // which of them got 429
  adapters::HttpReply limited;
  for (int i = 0; i < 8; ++i) {
    adapters::HttpReply reply = server_.Post("/v1/events", signed_events[i].dump());
    if (reply.status == 429) {
      refused.push_back(i);
      limited = reply;
    } else {
      EXPECT_EQ(reply.status, 200) << reply.body;
    }
  }
  // Eight in a burst of two at one a second: most are refused, however slow the machine.
  ASSERT_GE(refused.size(), 1u);
  EXPECT_GE(refused.front(), 2);
  const json error = json::parse(limited.body)["error"];
  EXPECT_EQ(error["code"], "rate_limited");
  EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("key 'leon'"));
  EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("1 requests/s, burst 2"));
  ASSERT_EQ(limited.headers.count("retry-after"), 1u);
  const int retry_after = std::stoi(limited.headers["retry-after"]);
  EXPECT_GE(retry_after, 1);

  // Another agent's submission and read are served meanwhile.
  json review = server_.Sign("marta", {{"kind", "review"},
                                       {"deployment", "run-0"},
                                       {"subject", "merge"},
                                       {"verdict", "approved"},
                                       {"image", kImage}});
  adapters::HttpReply marta = server_.Post("/v1/events", review.dump());
  EXPECT_EQ(marta.status, 200) << marta.body;
  adapters::HttpReply read = server_.GetAs("marta", "/v1/deployments/run-0");
  EXPECT_EQ(read.status, 200) << read.body;

  // Nothing refused was stored; every refusal was counted.
  for (int i : refused) EXPECT_EQ(RecordsOf("run-" + std::to_string(i)), "") << i;
  EXPECT_GE(RateLimited(server_, "key"), refused.size());
  EXPECT_EQ(RateLimited(server_, "connection"), 0u);

  // After Retry-After the refused event is taken (a real wait, asserting acceptance only).
  std::this_thread::sleep_for(std::chrono::seconds(retry_after));
  adapters::HttpReply again = server_.Post("/v1/events", signed_events[refused.back()].dump());
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(RecordsOf("run-" + std::to_string(refused.back())), HasSubstr("deploy.requested"));
}

TEST_F(RateLimitTest, ForgedRequestsClaimingAKeyDoNotSpendItsBucket) {
  // Submissions carrying otto's public key with a signature that does not verify.
  for (int i = 0; i < 6; ++i) {
    json forged = Backup(100 + i);
    std::string sig = forged["signature"];
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    forged["signature"] = sig;
    adapters::HttpReply reply = server_.Post("/v1/events", forged.dump());
    EXPECT_EQ(reply.status, 401) << reply.body;
  }
  // Reads signed by marta's key but naming otto's keyid.
  const std::string otto = KeyIdOf(server_.key("otto"));
  const std::string marta = KeyIdOf(server_.key("marta"));
  auto marta_key = ReadKeyFile(server_.key("marta"));
  ASSERT_TRUE(marta_key.ok());
  for (int i = 0; i < 6; ++i) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string date = adapters::HttpDate(now);
    adapters::HttpCall call;
    call.target = "/v1/whoami";
    call.headers = adapters::SignRequest({"GET", call.target, date}, *marta_key, now, RandomId());
    for (auto& [name, value] : call.headers) {
      if (name == "Signature-Input") value.replace(value.find(marta), marta.size(), otto);
    }
    call.headers.emplace_back("Date", date);
    auto reply = adapters::Call({"127.0.0.1", std::to_string(server_.port()), "", false}, call);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->status, 401) << reply->body;
  }
  // otto's own burst of two is whole: a submission and a read.
  adapters::HttpReply genuine = server_.Post("/v1/events", Backup(1).dump());
  EXPECT_EQ(genuine.status, 200) << genuine.body;
  adapters::HttpReply whoami = server_.GetAs("otto", "/v1/whoami");
  EXPECT_EQ(whoami.status, 200) << whoami.body;
  EXPECT_EQ(RateLimited(server_, "key"), 0u);
}

TEST(RateLimitConnection, ThePerAddressLimitComesFirstAndSparesTheProbes) {
  InitCrypto();
  ServerProcess server(std::map<std::string, std::vector<std::string>>{{"leon", {"coordinator"}}});
  ActivateLimits(server,
                 "limits:\n"
                 "  connection: {rate: 1, burst: 3}\n"
                 "  key: off\n");
  json request = ChainRequest("app", kImage);
  request["deployment"] = "run-1";
  json forged = server.Sign("leon", request);
  forged["signature"] = "AAAA";
  server.Start();
  int refused = 0;
  adapters::HttpReply limited;
  for (int i = 0; i < 8; ++i) {
    adapters::HttpReply reply = server.GetUnsigned("/v1/checkpoint");
    if (reply.status == 429) {
      ++refused;
      limited = reply;
    }
  }
  ASSERT_GE(refused, 1);
  EXPECT_THAT(json::parse(limited.body)["error"]["message"].get<std::string>(),
              HasSubstr("connection (client address 127.0.0.1) limit"));
  EXPECT_EQ(limited.headers.count("retry-after"), 1u);
  // Refused before its signature is looked at: a bad one is 429 too, not 401.
  EXPECT_EQ(server.Post("/v1/events", forged.dump()).status, 429);
  EXPECT_EQ(server.GetUnsigned("/healthz").status, 200);
  EXPECT_EQ(server.GetUnsigned("/readyz").status, 200);
  EXPECT_GE(RateLimited(server, "connection"), static_cast<uint64_t>(refused) + 1);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
