// Crash safety: a process appending in a loop is killed with SIGKILL at a random moment; the
// ledger must reopen, verify, and hold every event whose append had returned success.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

// Starts the writer, reads its acknowledgements for `run_for`, kills it, returns what it
// acknowledged: event id -> sequence number.
std::map<std::string, uint64_t> RunAndKill(const std::string& data, const std::string& key,
                                           const std::string& run, std::chrono::milliseconds run_for) {
  const char* writer = CrashWriterBinary().c_str();  // resolved before fork: the child only execs
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::execl(writer, writer, data.c_str(), key.c_str(), run.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + run_for;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 5) > 0) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      output.append(buf, static_cast<size_t>(n));
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself";
  // Whatever it wrote before dying was acknowledged too.
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) output.append(buf, n);
  ::close(fds[0]);

  std::map<std::string, uint64_t> acked;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // a line cut short by the kill was not completely printed
    std::istringstream fields(line);
    uint64_t seq;
    std::string id;
    if (fields >> seq >> id) acked[id] = seq;
  }
  return acked;
}

TEST(CrashTest, KilledWriterLosesNoAcknowledgedAppend) {
  ScratchDir dir;
  const std::string data = dir / "data";
  SystemClock clock;
  InitCrypto();
  SigningKey admin = SigningKey::Generate();
  SigningKey writer = SigningKey::Generate();
  ASSERT_TRUE(WriteNewKeyFile(dir / "writer.key", writer).ok());
  InitOptions options;
  options.admin_public_key = admin.PublicKey();
  ASSERT_TRUE(Ledger::Init(data, options, &clock).ok());
  {
    auto ledger = Ledger::Open(data, &clock);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    auto enroll = Event::FromJson({{"kind", "key.enrolled"}, {"id", "enroll-writer"},
                                   {"actor", "admin"}, {"name", "writer"},
                                   {"public_key", HexEncode(writer.PublicKey())},
                                   {"roles", {"ci"}}});
    ASSERT_TRUE(enroll.ok()) << enroll.status().ToString();
    ASSERT_TRUE((*ledger)->Append(SignedEvent::Sign(*enroll, admin)).ok());
  }

  std::mt19937 random(std::random_device{}());
  std::map<std::string, uint64_t> all_acked;
  for (int run = 0; run < 5; ++run) {
    auto run_for = std::chrono::milliseconds(100 + random() % 400);
    auto acked = RunAndKill(data, dir / "writer.key", "run" + std::to_string(run), run_for);
    all_acked.insert(acked.begin(), acked.end());

    auto ledger = Ledger::Open(data, &clock);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    auto report = (*ledger)->Verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_TRUE(report->ok) << "run " << run << ": record " << report->first_bad_seq.value_or(0)
                            << ": " << report->problem;
    std::map<std::string, uint64_t> stored;
    QueryFilter filter;
    filter.actor = "writer";
    ASSERT_TRUE((*ledger)->Query(filter, [&](const StoredRecord& r) {
      stored[std::string(r.event.id())] = r.seq;
      return true;
    }).ok());
    for (const auto& [id, seq] : all_acked) {
      auto it = stored.find(id);
      ASSERT_NE(it, stored.end()) << "run " << run << ": acknowledged event " << id << " is lost";
      EXPECT_EQ(it->second, seq) << id;
    }
  }
  EXPECT_GT(all_acked.size(), 0u) << "the writer acknowledged nothing; the test proved nothing";
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
