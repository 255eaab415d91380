// Failed fsyncs, for real: `shiplog serve` runs with fault_shim.cc preloaded, and while the
// trigger file exists every fsync and fdatasync it makes fails with EIO. Appends under load when
// the fault starts: no write whose sync failed is answered 200, the server stops taking appends
// and says why (in its answers, /readyz and its log), and stays stopped after the fault is gone
// (a failed fsync leaves the page cache's state unknown: only a restart reads back what is on
// disk). Restarted, the ledger verifies, holds every receipt given, and takes appends again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "tests/server/append_load.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using nlohmann::json;

// Sets an environment variable for the processes started while it lives (the server started in
// the test inherits it), and restores the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

AppendLoad::Options Load(const std::string& prefix, size_t max_per_client) {
  AppendLoad::Options options;
  options.clients = 8;
  options.agents = {"agent0", "agent1"};
  options.id_prefix = prefix;
  options.max_per_client = max_per_client;
  return options;
}

TEST(FsyncFault, AFailedFsyncIsNeverAcknowledgedAndAppendsStopUntilRestarted) {
  ServerProcess server({{"agent0", {"coordinator"}}, {"agent1", {"coordinator"}}});
  ScratchDir scratch;
  const std::string trigger = scratch / "fail-fsyncs";
  {
    ScopedEnv preload("LD_PRELOAD", SHIPLOG_FAULT_SHIM);
    ScopedEnv fault("SHIPLOG_FAULT_FSYNC_TRIGGER", trigger);
    // Under ASan a preloaded library comes before its runtime; it does not need it.
    const char* asan = std::getenv("ASAN_OPTIONS");
    ScopedEnv asan_order("ASAN_OPTIONS",
                         std::string(asan ? asan : "") + ":verify_asan_link_order=0");
    server.Start();
  }

  // The fault starts while appends are coming in.
  std::map<uint64_t, std::string> received;
  AppendLoad load(server, Load("sync", 100000));
  ASSERT_TRUE(load.WaitForReceipts(200, std::chrono::seconds(60))) << server.Log();
  WriteFile(trigger, "");
  ASSERT_TRUE(load.WaitUntilDone(std::chrono::seconds(60))) << "appends never failed";
  load.Stop();
  const AppendAnswers& got = load.answers();
  ASSERT_THAT(got.problems, ::testing::IsEmpty());
  ASSERT_EQ(got.cut_off, 0u) << server.Log();
  ASSERT_EQ(got.refusals.size(), 8u);
  size_t failed_writes = 0;  // answered 500: their own batch's sync failed
  for (const adapters::HttpReply& refused : got.refusals) {
    ASSERT_TRUE(refused.status == 500 || refused.status == 503) << refused.body;
    failed_writes += refused.status == 500;
    const std::string message = json::parse(refused.body).at("error").at("message");
    EXPECT_THAT(message, ::testing::HasSubstr("failed to commit"));
    EXPECT_THAT(message, ::testing::HasSubstr("reopen the ledger"));
  }
  EXPECT_GE(failed_writes, 1u);
  received = got.receipts;
  const std::string log = server.Log();
  EXPECT_THAT(log, ::testing::HasSubstr("shiplog fault shim: failed fdatasync"));
  EXPECT_THAT(log, ::testing::HasSubstr("appends stopped: an append batch failed to commit"));

  // The fault is gone, but the server does not trust the disk again on its own.
  std::remove(trigger.c_str());
  const adapters::HttpReply ready = server.Get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.body, ::testing::HasSubstr("reopen the ledger"));
  AppendLoad after_fault(server, Load("after", 1));
  ASSERT_TRUE(after_fault.WaitUntilDone(std::chrono::seconds(60)));
  after_fault.Stop();
  ASSERT_EQ(after_fault.answers().refusals.size(), 8u);
  for (const adapters::HttpReply& refused : after_fault.answers().refusals) {
    EXPECT_EQ(refused.status, 503) << refused.body;
  }

  // Restarted (without the fault), the ledger verifies and holds every receipt it gave.
  server.Stop();
  ProcessResult verified = server.Shiplog({"verify", "--data", server.data()});
  ASSERT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  const std::vector<std::string> missing = MissingReceipts(server.data(), received);
  EXPECT_THAT(missing, ::testing::IsEmpty());
  server.Start();
  AppendLoad restarted(server, Load("restarted", 5));
  ASSERT_TRUE(restarted.WaitUntilDone(std::chrono::seconds(60)));
  restarted.Stop();
  EXPECT_EQ(restarted.answers().refusals.size(), 0u);
  EXPECT_EQ(restarted.answers().receipts.size(), 40u);
  EXPECT_EQ(server.Stop(), 0) << server.Log();

  RecordProperty("acknowledged", static_cast<int>(received.size()));
  RecordProperty("failed_writes_answered_500", static_cast<int>(failed_writes));
  RecordProperty("lost", static_cast<int>(missing.size()));
  std::cout << "fsync fault: " << received.size() << " appends acknowledged before the fault, "
            << failed_writes << " answered 500 for a failed sync, " << missing.size() << " lost\n";
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
