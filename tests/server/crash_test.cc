// Durability under a crash, at scale: 64 clients append concurrently, the server is killed with
// SIGKILL at a random moment while appends are in flight, and restarted on the same data, 20
// times on one ledger. Each restart opens the ledger (which checks the store against its
// checkpoint witness) and verifies every record before it is ready; at the end `shiplog verify`
// passes and every event whose receipt a client received is stored at its seq. The figures
// (acknowledged, stored, lost) are the test's output: 0 lost is the only pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <thread>

#include "tests/server/append_load.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

TEST(ServerCrash, EveryReceiptGivenSurvivesTwentyKillsUnderSixtyFourClients) {
  constexpr size_t kClients = 64;
  constexpr int kRounds = 20;
  std::vector<std::string> agents;
  std::map<std::string, std::vector<std::string>> enrolled;
  for (int i = 0; i < 8; ++i) {
    agents.push_back("agent" + std::to_string(i));
    enrolled[agents.back()] = {"coordinator"};
  }
  ServerProcess server(enrolled);
  std::mt19937 random(std::random_device{}());
  std::map<uint64_t, std::string> received;  // every receipt of every round: seq -> event id
  uint64_t stored = 0;

  server.Start();
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    AppendLoad::Options options;
    options.clients = kClients;
    options.agents = agents;
    options.id_prefix = "r" + std::to_string(round);
    AppendLoad load(server, options);
    // Killed once appends flow, a random moment later: short rounds keep the ledger, and the
    // verification every restart does, small.
    ASSERT_TRUE(load.WaitForReceipts(50, std::chrono::seconds(60))) << server.Log();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(random)));
    server.Kill();
    load.Stop();
    const AppendAnswers& got = load.answers();
    ASSERT_THAT(got.problems, ::testing::IsEmpty());
    // Only the kill may cut a client off: no append is refused.
    ASSERT_EQ(got.refusals.size(), 0u) << got.refusals.front().body;
    for (const auto& [seq, id] : got.receipts) {
      ASSERT_TRUE(received.emplace(seq, id).second) << "seq " << seq << " receipted twice";
    }
    // Restarted on the same data, it opens, verifies every record and is ready.
    server.Start();
    const auto ready = nlohmann::json::parse(server.Get("/readyz").body);
    stored = ready.at("records").get<uint64_t>();
    ASSERT_GT(stored, received.rbegin()->first) << "receipted records are beyond the ledger's end";
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  ProcessResult verified = server.Shiplog({"verify", "--data", server.data()});
  ASSERT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  const std::vector<std::string> missing = MissingReceipts(server.data(), received);
  EXPECT_THAT(missing, ::testing::IsEmpty());

  RecordProperty("rounds", kRounds);
  RecordProperty("clients", static_cast<int>(kClients));
  RecordProperty("acknowledged", static_cast<int>(received.size()));
  RecordProperty("stored", static_cast<int>(stored));
  RecordProperty("lost", static_cast<int>(missing.size()));
  std::cout << "crash test: " << kRounds << " kills under " << kClients << " clients, "
            << received.size() << " appends acknowledged, " << stored
            << " records stored (with the genesis, enrolments and appends cut off unanswered), "
            << missing.size() << " lost\n";
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
