// A backup taken while the server appends: agents append concurrently the whole time `shiplog
// backup` runs on the server's data directory; no append fails, the backup verifies and holds a
// prefix of the log between the sizes before and after it. More appends follow, with receipts;
// a restore of the backup then verifies, and `verify --against` the checkpoint the clients hold
// names the records acknowledged after the backup, while a checkpoint from before it passes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>


#include "adapters/http.h"
#include "tests/cli/background_process.h"
#include "tests/server/append_load.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using json = nlohmann::json;

uint64_t SizeOf(const std::string& note) {
  const size_t line = note.find('\n') + 1;
  return std::stoull(note.substr(line, note.find('\n', line) - line));
}

TEST(ServerBackup, ABackupUnderAppendsIsConsistentAndARestoreShowsWhatItLacks) {
  constexpr int kAgents = 4;
  std::map<std::string, std::vector<std::string>> agents;
  for (int i = 0; i < kAgents; ++i) agents["agent" + std::to_string(i)] = {"coordinator"};
  ServerProcess server(agents);
  server.Start();
  ScratchDir scratch;

  AppendLoad::Options load_options;
  load_options.clients = kAgents;
  for (const auto& [name, roles] : agents) load_options.agents.push_back(name);
  load_options.id_prefix = "during";
  AppendLoad appenders(server, load_options);
  ASSERT_TRUE(appenders.WaitForReceipts(20, std::chrono::seconds(60)));
  const std::string before = server.Get("/checkpoint").body;  // a checkpoint a client kept
  WriteFile(scratch / "before.note", before);
  const size_t appended_before = appenders.receipts();
  ProcessResult backup =
      server.Shiplog({"backup", "--data", server.data(), "--out", scratch / "bk"});
  const std::string after = server.Get("/checkpoint").body;
  const size_t appended_during = appenders.receipts() - appended_before;
  appenders.Stop();
  ASSERT_EQ(backup.exit_code, 0) << backup.err << backup.out;
  // No append failed: every answer a receipt that verifies, none refused or cut off.
  EXPECT_THAT(appenders.answers().refusals, ::testing::IsEmpty());
  EXPECT_EQ(appenders.answers().cut_off, 0u);
  EXPECT_THAT(appenders.answers().problems, ::testing::IsEmpty());
  EXPECT_GT(appended_during, 0u) << "nothing was appended while the backup ran: it proved nothing";

  const json taken = json::parse(backup.out);
  EXPECT_EQ(taken["verify"]["ok"], true);
  const uint64_t size = taken["size"];
  EXPECT_GE(size, SizeOf(before));
  EXPECT_LE(size, SizeOf(after));
  ProcessResult verified = server.Shiplog({"verify", "--data", scratch / "bk"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;

  // More appends after the backup, each with its receipt; the clients keep the last checkpoint.
  Agent agent("agent0", server.key("agent0"));
  std::string receipt;
  for (int i = 0; i < 3; ++i) {
    const std::string id = "after-" + std::to_string(i);
    auto reply = server.Post("/v1/events", agent.Sign(DeployRequest(id, id)).ToJson().dump());
    ASSERT_EQ(reply.status, 200) << reply.body;
    receipt = reply.body;
  }
  WriteFile(scratch / "receipt.json", receipt);
  const std::string latest = server.Get("/checkpoint").body;
  WriteFile(scratch / "latest.note", latest);
  ASSERT_EQ(server.Stop(), 0) << server.Log();

  ProcessResult restored =
      server.Shiplog({"restore", "--from", scratch / "bk", "--data", scratch / "restored"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(json::parse(restored.out)["size"], size);

  const std::string missing = "records " + std::to_string(size) + ".." +
                              std::to_string(SizeOf(latest) - 1) +
                              " acknowledged after this copy are missing";
  for (const std::string& held : {scratch / "latest.note", scratch / "receipt.json"}) {
    ProcessResult r = server.Shiplog({"verify", "--data", scratch / "restored", "--against", held});
    EXPECT_EQ(r.exit_code, 4) << held << ": " << r.err;
    EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  }
  ProcessResult older = server.Shiplog(
      {"verify", "--data", scratch / "restored", "--against", scratch / "before.note"});
  EXPECT_EQ(older.exit_code, 0) << older.err;
  ProcessResult original =
      server.Shiplog({"verify", "--data", server.data(), "--against", scratch / "latest.note"});
  EXPECT_EQ(original.exit_code, 0) << original.err;
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
