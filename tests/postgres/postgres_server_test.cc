// The PostgreSQL test harness itself (postgres_server.h): databases kept apart on one server, a
// kill -9 that leaves no process behind, and a synchronous standby that holds every commit of a
// lost primary and takes writes once promoted.
#include "tests/postgres/postgres_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Whether process `pid` still runs: it exists and is not a zombie (one waiting to be reaped by
// whoever its parent now is has stopped for good).
bool Running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t comm_end = line.rfind(')');  // the state follows "(comm) "
  return comm_end != std::string::npos && comm_end + 2 < line.size() && line[comm_end + 2] != 'Z';
}

// The pids in a space-separated list.
std::vector<pid_t> Pids(const std::string& list) {
  std::istringstream in(list);
  std::vector<pid_t> pids;
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

TEST(PostgresServerTest, DatabasesOfTheSharedServerAreApart) {
  PostgresServer& server = PostgresServer::Shared();
  EXPECT_EQ(&server, &PostgresServer::Shared());
  const std::string first = server.CreateDatabase("harness");
  const std::string second = server.CreateDatabase("harness");
  EXPECT_NE(first, second);
  EXPECT_THAT(first, StartsWith("postgresql://shiplog@127.0.0.1:" + std::to_string(server.port()) +
                                "/harness_"));

  for (const std::string& url : {first, second}) {
    server.Query(url, "CREATE TABLE t (v text); INSERT INTO t VALUES ('" + url + "')");
  }
  EXPECT_EQ(server.Query(first, "SELECT v FROM t"), first);
  EXPECT_EQ(server.Query(second, "SELECT v FROM t"), second);
  EXPECT_EQ(server.Query(first, "SELECT count(*) FROM t"), "1");
  EXPECT_EQ(server.Query(second, "SELECT 'url: ' || current_database()"),
            "url: " + second.substr(second.rfind('/') + 1));
  EXPECT_EQ(server.Query(first, "SELECT v FROM t WHERE false"), "");
  EXPECT_THAT([&] { server.Query(first, "SELECT * FROM nowhere"); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("nowhere")));
}

TEST(PostgresServerTest, ListensOnLoopbackTcpOnly) {
  PostgresServer& server = PostgresServer::Shared();
  EXPECT_EQ(server.Query("postgres", "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(server.Query("postgres", "SHOW unix_socket_directories"), "");
  EXPECT_EQ(server.Query("postgres", "SELECT current_user"), "shiplog");
  if (::geteuid() == 0) {  // the server runs as `postgres`, which owns its data directory
    const std::string data = server.Query("postgres", "SHOW data_directory");
    struct stat st {};
    ASSERT_EQ(::stat(data.c_str(), &st), 0);
    EXPECT_NE(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
  }
}

TEST(PostgresServerTest, KillLeavesNoProcessAndNoConnection) {
  PostgresServer server;
  const std::string database = server.CreateDatabase();
  // pg_stat_activity lists the background processes (checkpointer, WAL writer, ...) too; not the
  // query's own backend, which ends with its connection before the check below may look.
  const std::vector<pid_t> pids = Pids(server.Query(
      database,
      "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE pid <> pg_backend_pid()"));
  ASSERT_GE(pids.size(), 4u);
  for (const pid_t pid : pids) EXPECT_TRUE(Running(pid)) << pid;

  server.Kill();
  for (const pid_t pid : pids) EXPECT_FALSE(Running(pid)) << pid;
  EXPECT_THROW(server.Query(database, "SELECT 1"), std::runtime_error);
  EXPECT_THAT(server.Log(), HasSubstr("database system is ready to accept connections"));
  server.Kill();  // a second time: nothing left to do
}

TEST(PostgresServerTest, PromotedSynchronousStandbyHasTheLostPrimarysCommitsAndTakesWrites) {
  PostgresServer primary(PostgresServer::Options{/*synchronous_standby=*/"standby"});
  const std::unique_ptr<PostgresServer> standby = primary.StartStandby("standby");
  EXPECT_NE(standby->port(), primary.port());
  EXPECT_EQ(standby->Query("postgres", "SELECT pg_is_in_recovery()"), "t");
  EXPECT_THROW(standby->Query("postgres", "CREATE TABLE t (v text)"), std::runtime_error);

  const std::string database = primary.CreateDatabase("replicated");
  primary.Query(database, "CREATE TABLE t (v text)");
  // Returns once the standby has the commit on its disk (synchronous_commit = on).
  primary.Query(database, "INSERT INTO t VALUES ('committed on the primary')");
  primary.Kill();
  EXPECT_THROW(primary.Query(database, "SELECT 1"), std::runtime_error);

  standby->Promote();
  EXPECT_EQ(standby->Query(database, "SELECT string_agg(v, ',') FROM t"),
            "committed on the primary");
  EXPECT_EQ(standby->Query(database, "INSERT INTO t VALUES ('after') RETURNING v"), "after");
  EXPECT_EQ(standby->Query(database, "SELECT count(*) FROM t"), "2");
}

TEST(PostgresServerTest, AsynchronousStandbyStreams) {
  PostgresServer& primary = PostgresServer::Shared();
  const std::unique_ptr<PostgresServer> standby = primary.StartStandby("reader");
  EXPECT_EQ(primary.Query("postgres",
                          "SELECT sync_state FROM pg_stat_replication "
                          "WHERE application_name = 'reader'"),
            "async");
  EXPECT_EQ(standby->Query("postgres", "SELECT pg_is_in_recovery()"), "t");
  EXPECT_THROW(primary.Promote(), std::runtime_error) << "a primary is not a standby";
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
