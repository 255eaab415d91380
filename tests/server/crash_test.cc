// Durability under a crash: agents append concurrently, the server is killed with SIGKILL at a
// random moment, restarted on the same data; the ledger verifies and every event whose receipt a
// client received is there at its seq. Several rounds on one ledger.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "adapters/http.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {

using json = nlohmann::json;

TEST(ServerCrash, EveryReceiptGivenSurvivesAKillAndTheLedgerVerifies) {
  constexpr int kAgents = 8;
  constexpr int kRounds = 4;
  std::map<std::string, std::vector<std::string>> agents;
  for (int i = 0; i < kAgents; ++i) agents["agent" + std::to_string(i)] = {"coordinator"};
  ServerProcess server(agents);
  const std::string ledger_key = LedgerPublicKey(server.data());
  std::mt19937 random(std::random_device{}());
  std::map<uint64_t, std::string> received;  // every receipt of every round: seq -> event id

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    server.Start();
    const adapters::ServerUrl url{"127.0.0.1", std::to_string(server.port()), ""};
    std::atomic<bool> killed{false};
    std::mutex mu;
    std::vector<std::string> failures;  // GUARDED_BY(mu)
    std::vector<std::thread> clients;
    for (int a = 0; a < kAgents; ++a) {
      clients.emplace_back([&, a] {
        const std::string name = "agent" + std::to_string(a);
        Agent agent(name, server.key(name));
        for (int i = 0; i < 5000; ++i) {
          const std::string id = "r" + std::to_string(round) + "-" + name + "-" + std::to_string(i);
          adapters::HttpCall call;
          call.method = "POST";
          call.target = "/v1/events";
          call.content_type = adapters::kJson;
          call.body = agent.Sign(DeployRequest(id, id)).ToJson().dump();
          call.timeout = std::chrono::milliseconds(10000);
          auto reply = adapters::Call(url, call);
          std::lock_guard<std::mutex> lock(mu);
          if (!reply.ok()) {
            // Only the kill may cut a client off.
            if (!killed) failures.push_back(id + ": " + reply.status().ToString());
            return;
          }
          if (reply->status != 200) {
            failures.push_back(id + ": HTTP " + std::to_string(reply->status) + " " + reply->body.substr(0, 300));
            return;
          }
          auto receipt = Receipt::FromJson(json::parse(reply->body));
          if (!receipt.ok() || !receipt->Verify(ledger_key).ok()) {
            failures.push_back(id + ": a receipt that does not verify: " + reply->body);
            return;
          }
          if (!received.emplace(receipt->seq, id).second) {
            failures.push_back(id + ": seq " + std::to_string(receipt->seq) + " given twice");
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(150, 450)(random)));
    killed = true;
    server.Kill();
    for (auto& c : clients) c.join();
    ASSERT_THAT(failures, ::testing::IsEmpty());

    // Restarted on the same data it opens, verifies and serves; stopped again for the checks (the
    // store is locked while it runs).
    server.Start();
    ASSERT_EQ(server.Get("/readyz").status, 200);
    ASSERT_EQ(server.Stop(), 0) << server.Log();
    ProcessResult verified = server.Shiplog({"verify", "--data", server.data()});
    ASSERT_EQ(verified.exit_code, 0) << verified.err << verified.out;
    StoredLedger stored(server.data());
    for (const auto& [seq, id] : received) {
      ASSERT_EQ(stored.EventIdAt(seq), id) << "seq " << seq << " was receipted but is not stored";
    }
  }
  EXPECT_FALSE(received.empty()) << "no client ever got a receipt: the test proved nothing";
}

}  // namespace
}  // namespace shiplog::testing
