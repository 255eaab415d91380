// The commands that make and move ledgers in PostgreSQL, run as the real `shiplog` program:
// `init --store` (and a second home by `--ledger-key`) and `migrate` from RocksDB to a database
// and back. Labelled postgresql: a server from Debian's package (tests/postgres/postgres_server.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/process.h"
#include "tests/cli/test_ledger.h"
#include "tests/postgres/postgres_server.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;

ProcessResult Shiplog(std::vector<std::string> args) {
  args.insert(args.begin(), ShiplogBinary());
  return RunProcess(args);
}

nlohmann::json Json(const ProcessResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

std::string Checkpoint(const std::string& data) {
  return Json(Shiplog({"checkpoint", "--data", data})).at("root_hash").get<std::string>();
}

TEST(PostgresCli, InitKeepsTheRecordsInTheDatabaseAndASecondHomeJoinsByTheLedgerKey) {
  ScratchDir dir;
  const std::string url = PostgresServer::Shared().CreateDatabase("cli");
  const nlohmann::json made = Json(Shiplog({"init", "--data", dir / "one", "--store", url}));
  EXPECT_EQ(made.at("store"), url);
  EXPECT_FALSE(FileExists(dir / "one/db"));
  EXPECT_EQ(ReadFile(dir / "one/store"), url + "\n");
  EXPECT_EQ(PostgresServer::Shared().Query(url, "SELECT record_count FROM shiplog_head"), "1");

  // The database holds a ledger: a new one is refused, and nothing is written to it.
  const ProcessResult again = Shiplog({"init", "--data", dir / "two", "--store", url});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("already holds a ledger"));
  EXPECT_THAT(again.err, HasSubstr("--ledger-key"));
  EXPECT_EQ(PostgresServer::Shared().Query(url, "SELECT record_count FROM shiplog_head"), "1");
  EXPECT_FALSE(FileExists(dir / "two")) << "nothing is made for a refused init";

  // Another ledger's key does not join it.
  const ProcessResult stranger = Shiplog({"init", "--data", dir / "other", "--store", url,
                                          "--ledger-key", dir / "one/admin.key"});
  EXPECT_EQ(stranger.exit_code, 2) << stranger.err;
  EXPECT_THAT(stranger.err, HasSubstr("another ledger key"));
  EXPECT_FALSE(FileExists(dir / "other/store"));

  const nlohmann::json joined = Json(Shiplog({"init", "--data", dir / "two", "--store", url,
                                              "--ledger-key", dir / "one/ledger.key"}));
  EXPECT_EQ(joined.at("ledger_key"), made.at("ledger_key"));
  EXPECT_EQ(joined.at("records"), 1);
  // An enrolment through one home is read through the other.
  EnrollTestAgents(dir / "one", {{"ci", {"coordinator"}, dir / "ci.key"}});
  EXPECT_EQ(Json(Shiplog({"verify", "--data", dir / "two"})).at("records"), 2);
  EXPECT_EQ(Checkpoint(dir / "one"), Checkpoint(dir / "two"));
}

TEST(PostgresCli, AnUnreachableDatabaseIsNamedWithoutItsPassword) {
  ScratchDir dir;
  const ProcessResult refused = Shiplog(
      {"init", "--data", dir / "l", "--store", "postgresql://shiplog:hunter2@127.0.0.1:1/x"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("postgresql://shiplog:****@127.0.0.1:1/x"));
  EXPECT_THAT(refused.err, Not(HasSubstr("hunter2")));
  EXPECT_FALSE(FileExists(dir / "l")) << "nothing is made before the database answers";
}

TEST(PostgresCli, MigrateCopiesALedgerToADatabaseAndBackVerifyingIt) {
  ScratchDir dir;
  const std::string rocks = dir / "rocks";
  TestLedgerOptions options;
  InitTestLedger(rocks, options);
  EnrollTestAgents(rocks, {{"ci", {"coordinator"}, dir / "ci.key"}});
  for (int i = 0; i < 30; ++i) {
    AppendTestEvent(rocks, dir / "ci.key",
                    DeployRequest("m" + std::to_string(i), "dep-" + std::to_string(i)));
  }
  const std::string root = Checkpoint(rocks);

  const std::string url = PostgresServer::Shared().CreateDatabase("migrate");
  const nlohmann::json moved =
      Json(Shiplog({"migrate", "--from", rocks, "--to", url, "--data", dir / "pg"}));
  EXPECT_EQ(moved.at("records"), 32);  // the genesis, the enrolment and 30 requests
  EXPECT_EQ(Checkpoint(dir / "pg"), root);
  EXPECT_EQ(Json(Shiplog({"verify", "--data", dir / "pg"})).at("ok"), true);
  const ProcessResult queried =
      Shiplog({"query", "--data", dir / "pg", "--deployment", "dep-7"});
  EXPECT_THAT(queried.out, HasSubstr("\"m7\""));
  // The moved ledger takes appends, judged on its whole history.
  AppendTestEvent(dir / "pg", dir / "ci.key", DeployRequest("m30", "dep-30"));

  // A database that holds a ledger is refused, and left as it was.
  const ProcessResult again =
      Shiplog({"migrate", "--from", rocks, "--to", url, "--data", dir / "pg2"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("already holds a ledger"));
  EXPECT_EQ(PostgresServer::Shared().Query(url, "SELECT record_count FROM shiplog_head"), "33");

  // And back to RocksDB, with the append made in PostgreSQL.
  const nlohmann::json back = Json(Shiplog({"migrate", "--from", dir / "pg", "--to", dir / "back"}));
  EXPECT_EQ(back.at("records"), 33);
  EXPECT_TRUE(FileExists(dir / "back/db"));
  EXPECT_EQ(Checkpoint(dir / "back"), Checkpoint(dir / "pg"));
  EXPECT_EQ(Json(Shiplog({"verify", "--data", dir / "back"})).at("ok"), true);
  const ProcessResult occupied = Shiplog({"migrate", "--from", dir / "pg", "--to", rocks});
  EXPECT_EQ(occupied.exit_code, 2);
  EXPECT_THAT(occupied.err, HasSubstr("already holds a ledger"));
}

TEST(PostgresCli, BackupPointsAtTheDatabasesOwnTools) {
  ScratchDir dir;
  TestLedgerOptions options;
  options.store = PostgresServer::Shared().CreateDatabase("backup");
  InitTestLedger(dir / "l", options);
  const ProcessResult backup = Shiplog({"backup", "--data", dir / "l", "--out", dir / "b"});
  EXPECT_EQ(backup.exit_code, 1);
  EXPECT_THAT(backup.err, HasSubstr("pg_basebackup"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
