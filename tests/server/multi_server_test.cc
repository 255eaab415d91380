// Several `shiplog serve` processes over one ledger in PostgreSQL (a real server from Debian's
// postgresql package, tests/postgres/postgres_server.h): concurrent appends through both stay
// gap-free with every receipt proved, the policy decides on the whole log whichever server is
// asked, a server killed under load loses nothing it acknowledged, and neither does a primary
// killed under load once its synchronous standby is promoted. Labelled postgresql.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/cli/background_process.h"
#include "tests/postgres/postgres_server.h"
#include "tests/server/append_load.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::map<std::string, std::vector<std::string>> Coordinators(std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::string>> enrolled;
  for (int i = 0; i < 8; ++i) {
    names.push_back("agent" + std::to_string(i));
    enrolled[names.back()] = {"coordinator"};
  }
  return enrolled;
}

// Adds `answers`' receipts to `all`; false (with a failure) when a seq was receipted twice.
void Collect(const AppendAnswers& answers, std::map<uint64_t, std::string>& all) {
  EXPECT_THAT(answers.problems, IsEmpty());
  for (const auto& [seq, id] : answers.receipts) {
    EXPECT_TRUE(all.emplace(seq, id).second) << "seq " << seq << " was receipted twice";
  }
}

uint64_t Records(const ServerProcess& server) {
  const adapters::HttpReply ready = server.GetUnsigned("/readyz");
  if (ready.status != 200) return 0;
  return nlohmann::json::parse(ready.body).at("records").get<uint64_t>();
}

// `shiplog verify` passes, and every receipt's event is stored at its seq.
void ExpectWholeLedger(const ServerProcess& server, const std::map<uint64_t, std::string>& all) {
  const ProcessResult verified = server.Shiplog({"verify", "--data", server.data()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  EXPECT_THAT(MissingReceipts(server.data(), all), IsEmpty());
}

AppendLoad::Options Load(const std::vector<std::string>& agents, const std::string& prefix,
                         size_t clients) {
  AppendLoad::Options options;
  options.clients = clients;
  options.agents = agents;
  options.id_prefix = prefix;
  return options;
}

// `url`'s database on either server, as the servers are given it: libpq tries the hosts in order
// and target_session_attrs=read-write finds whichever is the primary.
std::string BothHosts(const PostgresServer& primary, const PostgresServer& standby,
                      const std::string& url) {
  return "postgresql://shiplog@127.0.0.1:" + std::to_string(primary.port()) + ",127.0.0.1:" +
         std::to_string(standby.port()) + "/" + url.substr(url.rfind('/') + 1) +
         "?target_session_attrs=read-write";
}

class MultiServerTest : public ::testing::Test {
 protected:
  MultiServerTest()
      : first_(Coordinators(agents_), false, PostgresServer::Shared().CreateDatabase("multi")),
        second_(ServerProcess::OverSameLedger(first_)) {}

  std::vector<std::string> agents_;
  ServerProcess first_;
  std::unique_ptr<ServerProcess> second_;
};

TEST_F(MultiServerTest, TwoServersTakeAppendsAtOnceGapFreeWithEveryReceiptProved) {
  first_.Start();
  second_->Start();
  AppendLoad through_first(first_, Load(agents_, "a", 32));
  AppendLoad through_second(*second_, Load(agents_, "b", 32));
  ASSERT_TRUE(through_first.WaitForReceipts(400, std::chrono::seconds(120))) << first_.Log();
  ASSERT_TRUE(through_second.WaitForReceipts(400, std::chrono::seconds(120))) << second_->Log();
  through_first.Stop();
  through_second.Stop();
  EXPECT_THAT(through_first.answers().refusals, IsEmpty());
  EXPECT_THAT(through_second.answers().refusals, IsEmpty());
  std::map<uint64_t, std::string> all;
  Collect(through_first.answers(), all);
  Collect(through_second.answers(), all);
  // Each server reads what the other appended: both show the whole log.
  const uint64_t size = Records(first_);
  EXPECT_EQ(Records(*second_), size);
  EXPECT_GT(size, all.rbegin()->first);
  const uint64_t firsts_last = through_first.answers().receipts.rbegin()->first;
  const adapters::HttpReply proof =
      second_->Get("/v1/proofs/inclusion?seq=" + std::to_string(firsts_last));
  EXPECT_EQ(proof.status, 200) << "the second server proves the first's record: " << proof.body;
  ExpectWholeLedger(first_, all);
}

TEST_F(MultiServerTest, CompetingDeployRequestsSentToBothServersAtOnceAllowOnlyOne) {
  first_.Start();
  second_->Start();
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string app = "shop" + std::to_string(round);
    auto request = [&](const std::string& deployment) {
      nlohmann::json event = DeployRequest("req-" + deployment, deployment);
      event["app"] = app;  // one app and environment: R5 lets one deployment at a time
      return event;
    };
    const std::string one = first_.Sign("agent0", request(app + "-one")).dump();
    const std::string two = second_->Sign("agent1", request(app + "-two")).dump();
    std::atomic<int> ready{0};
    adapters::HttpReply first_answer, second_answer;
    auto send = [&](const ServerProcess& server, const std::string& body, adapters::HttpReply& out) {
      ++ready;
      while (ready < 2) std::this_thread::yield();
      out = server.Post("/v1/events", body);
    };
    std::thread a([&] { send(first_, one, first_answer); });
    std::thread b([&] { send(*second_, two, second_answer); });
    a.join();
    b.join();
    std::multiset<int> statuses = {first_answer.status, second_answer.status};
    EXPECT_EQ(statuses, (std::multiset<int>{200, 403}))
        << first_answer.body << "\n" << second_answer.body;
    const adapters::HttpReply& denied = first_answer.status == 403 ? first_answer : second_answer;
    EXPECT_THAT(denied.body, ::testing::HasSubstr("R5"));
  }
}

TEST_F(MultiServerTest, AServerKilledUnderLoadLosesNothingAndTheOtherServesOn) {
  first_.Start();
  second_->Start();
  AppendLoad through_first(first_, Load(agents_, "a", 32));
  AppendLoad through_second(*second_, Load(agents_, "b", 32));
  ASSERT_TRUE(through_first.WaitForReceipts(200, std::chrono::seconds(120))) << first_.Log();
  first_.Kill();
  through_first.Stop();
  // The survivor takes appends on: its own clients get receipts after the kill.
  const size_t at_kill = through_second.receipts();
  ASSERT_TRUE(through_second.WaitForReceipts(at_kill + 300, std::chrono::seconds(120)))
      << second_->Log();
  through_second.Stop();
  EXPECT_THAT(through_second.answers().refusals, IsEmpty());
  std::map<uint64_t, std::string> all;
  Collect(through_first.answers(), all);
  Collect(through_second.answers(), all);
  ExpectWholeLedger(*second_, all);
  // The killed one comes back on its home and reads everything appended meanwhile.
  first_.Start();
  EXPECT_EQ(Records(first_), Records(*second_));
}

// A primary with a synchronous standby (synchronous_standby_names), and both servers given both
// hosts (libpq tries them in order, target_session_attrs=read-write finds the primary).
TEST(PostgresFailover, APrimaryKilledUnderLoadLosesNothingAcknowledgedOnceTheStandbyIsPromoted) {
  PostgresServer primary(PostgresServer::Options{"standby1"});
  std::unique_ptr<PostgresServer> standby = primary.StartStandby("standby1");
  const std::string url = primary.CreateDatabase("failover");
  const std::string hosts = BothHosts(primary, *standby, url);
  std::vector<std::string> agents;
  ServerProcess first(Coordinators(agents), false, hosts);
  auto second = ServerProcess::OverSameLedger(first);
  first.Start();
  second->Start();

  std::map<uint64_t, std::string> all;
  {
    AppendLoad through_first(first, Load(agents, "a", 16));
    AppendLoad through_second(*second, Load(agents, "b", 16));
    ASSERT_TRUE(through_first.WaitForReceipts(150, std::chrono::seconds(120))) << first.Log();
    ASSERT_TRUE(through_second.WaitForReceipts(150, std::chrono::seconds(120))) << second->Log();
    primary.Kill();  // as when its machine is lost: appends in flight are cut off
    // Every client is refused (503, the database is gone) or cut off in the end.
    EXPECT_TRUE(through_first.WaitUntilDone(std::chrono::seconds(120)));
    EXPECT_TRUE(through_second.WaitUntilDone(std::chrono::seconds(120)));
    through_first.Stop();
    through_second.Stop();
    Collect(through_first.answers(), all);
    Collect(through_second.answers(), all);
  }
  for (const ServerProcess* server : {&first, second.get()}) {
    const adapters::HttpReply ready = server->GetUnsigned("/readyz");
    EXPECT_EQ(ready.status, 503) << "ready without its database: " << ready.body;
  }
  standby->Promote();
  // Both servers reach the promoted standby by themselves, and take appends again.
  for (const ServerProcess* server : {&first, second.get()}) {
    EXPECT_TRUE(WaitUntil([&] { return server->GetUnsigned("/readyz").status == 200; }))
        << server->Log();
  }
  {
    AppendLoad after(*second, Load(agents, "c", 8));
    ASSERT_TRUE(after.WaitForReceipts(50, std::chrono::seconds(120))) << second->Log();
    after.Stop();
    Collect(after.answers(), all);
  }
  // Every receipt given before the primary died is in the promoted database, and it verifies.
  ExpectWholeLedger(first, all);
  RecordProperty("acknowledged", static_cast<int>(all.size()));
}

// Without synchronous_standby_names a commit is acknowledged before any standby has it, so a
// promoted standby can lack acknowledged records. Each server finds that out when it reaches the
// promoted database (the server whose appends were cut off, when it reloads; the idle one, when
// it next reads the log's head) and stops taking appends, saying why, rather than sign new
// checkpoints over the gap.
TEST(PostgresFailover, AStandbyPromotedWithoutAcknowledgedRecordsStopsAppends) {
  PostgresServer primary;  // its standby is asynchronous
  std::unique_ptr<PostgresServer> standby = primary.StartStandby("standby1");
  const std::string url = primary.CreateDatabase("async");
  const std::string hosts = BothHosts(primary, *standby, url);
  std::vector<std::string> agents;
  ServerProcess first(Coordinators(agents), false, hosts);
  auto second = ServerProcess::OverSameLedger(first);
  first.Start();
  second->Start();
  std::map<uint64_t, std::string> all;
  const auto append = [&](const ServerProcess& server, const std::string& prefix) {
    AppendLoad load(server, Load(agents, prefix, 4));
    EXPECT_TRUE(load.WaitForReceipts(20, std::chrono::seconds(60))) << server.Log();
    load.Stop();
    Collect(load.answers(), all);
  };
  append(first, "a");
  const std::string replicated = std::to_string(Records(first));
  ASSERT_TRUE(WaitUntil([&] {
    return standby->Query(url, "SELECT record_count FROM shiplog_head") == replicated;
  })) << standby->Log();
  standby->Kill();
  append(*second, "b");  // acknowledged by the primary alone from here on
  {
    AppendLoad cut_off(first, Load(agents, "c", 4));
    ASSERT_TRUE(cut_off.WaitForReceipts(20, std::chrono::seconds(60))) << first.Log();
    primary.Kill();
    EXPECT_TRUE(cut_off.WaitUntilDone(std::chrono::seconds(60)));
    cut_off.Stop();
    Collect(cut_off.answers(), all);
  }
  standby->Restart();
  standby->Promote();
  ASSERT_EQ(standby->Query(url, "SELECT record_count FROM shiplog_head"), replicated);

  constexpr char kMissing[] = "missing from the database";
  const std::string gap = "records " + replicated + " to ";
  EXPECT_TRUE(WaitUntil([&] { return first.Log().find(kMissing) != std::string::npos; }))
      << first.Log();
  EXPECT_THAT(first.Log(), HasSubstr(gap));
  for (const ServerProcess* server : {&first, second.get()}) {
    const adapters::HttpReply ready = server->GetUnsigned("/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_THAT(ready.body, HasSubstr(kMissing));
    EXPECT_THAT(ready.body, HasSubstr(gap));
    AppendLoad refused(*server, Load(agents, "d", 2));
    EXPECT_TRUE(refused.WaitUntilDone(std::chrono::seconds(60)));
    refused.Stop();
    EXPECT_THAT(refused.answers().receipts, IsEmpty());
    ASSERT_THAT(refused.answers().refusals, Not(IsEmpty()));
    EXPECT_EQ(refused.answers().refusals.front().status, 503);
  }
  EXPECT_EQ(standby->Query(url, "SELECT record_count FROM shiplog_head"), replicated);
  const ProcessResult verified = first.Shiplog({"verify", "--data", first.data()});
  EXPECT_NE(verified.exit_code, 0) << verified.out;
  EXPECT_THAT(verified.err, HasSubstr(kMissing));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
