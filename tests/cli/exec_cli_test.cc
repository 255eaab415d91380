// `shiplog exec --data DIR`, end to end: the real binary wraps a real command on a manual-clock
// ledger with the default pack. A denied step never runs; an allowed one runs and its end is
// recorded as step.reported (READY only on exit 0); signals reach the command; the ledger is free
// for other writers while the command runs, and a report that finds it busy is retried.
// The same behaviour against `shiplog serve`: tests/server/exec_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/cli/background_process.h"
#include "tests/cli/cli_ledger_test.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

class ExecCliTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"}});
    AsOk("leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                  {"version", "1.4.2"}, {"image", kImage}, {"strategy", "rolling"},
                  {"risk", "low"}, {"planned_steps", {"orchestrate", "build"}}});
    AsOk("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  }

  // `shiplog exec` as `who` for `step` of checkout-1, running `command`.
  std::vector<std::string> ExecArgs(const std::string& who, const std::string& step,
                                    const std::vector<std::string>& command,
                                    const std::vector<std::string>& options = {}) {
    std::vector<std::string> args = {"exec", "--data", data(), "--key", dir_ / (who + ".key"),
                                     "--deployment", "checkout-1", "--step", step};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }

  ProcessResult Exec(const std::string& who, const std::string& step,
                     const std::vector<std::string>& command,
                     const std::vector<std::string>& options = {}) {
    return Run(ExecArgs(who, step, command, options));
  }

  std::unique_ptr<BackgroundProcess> ExecInBackground(const std::string& who,
                                                      const std::string& step,
                                                      const std::vector<std::string>& command,
                                                      const std::vector<std::string>& options = {}) {
    std::vector<std::string> args = ExecArgs(who, step, command, options);
    args.insert(args.begin(), ShiplogBinary());
    return std::make_unique<BackgroundProcess>(args);
  }

  // The step.reported events in the ledger, oldest first.
  std::vector<json> Reports() {
    std::vector<json> out;
    ProcessResult r = Run({"query", "--data", data(), "--kind", "step.reported"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    size_t start = 0;
    for (size_t end; (end = r.out.find('\n', start)) != std::string::npos; start = end + 1) {
      out.push_back(json::parse(r.out.substr(start, end - start))["event"]);
    }
    return out;
  }

  uint64_t Count(const std::string& kind) {
    return Ok({"query", "--data", data(), "--kind", kind, "--count"})["count"];
  }
  uint64_t Records() { return Ok({"query", "--data", data(), "--count"})["count"]; }

  // A shell command that says it is running (touches `ready`), then waits for `go`.
  std::vector<std::string> WaitsForGo(const std::string& then = "exit 0") {
    return {"/bin/sh", "-c",
            "touch " + dir_ / "ready" + "; while [ ! -e " + dir_ / "go" +
                " ]; do sleep 0.02; done; " + then};
  }
};

TEST_F(ExecCliTest, DeniedStepNeverRunsTheCommand) {
  ProcessResult r = Exec("ci-bot", "build", {"/bin/sh", "-c", "touch " + dir_ / "ran"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_FALSE(FileExists(dir_ / "ran")) << "a denied step must not act";
  EXPECT_THAT(r.err, HasSubstr("denied by policy; the command was not run"));
  EXPECT_THAT(r.err, HasSubstr("R1 chain-order: orchestrate comes before build"));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Count("policy.denied"), 1u) << "the attempt is recorded for auditors";
  EXPECT_EQ(Count("step.started"), 0u);
  EXPECT_EQ(Count("step.reported"), 0u);
}

TEST_F(ExecCliTest, AllowedStepRunsAndReportsReady) {
  ProcessResult r = Exec("leon", "orchestrate",
                         {"/bin/sh", "-c", "echo from-the-command; touch " + dir_ / "ran"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FileExists(dir_ / "ran"));
  EXPECT_EQ(r.out, "from-the-command\n") << "stdout is the command's alone";
  EXPECT_THAT(r.err, HasSubstr("step.started orchestrate allowed (seq 6)"));
  EXPECT_THAT(r.err, HasSubstr("step.reported READY recorded (seq 7)"));
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["actor"], "leon");
  EXPECT_EQ(reports[0]["step"], "orchestrate");
  EXPECT_EQ(reports[0]["status"], "ready");
  EXPECT_EQ(reports[0]["details"], "exit code 0");
  EXPECT_EQ(Ok({"verify", "--data", data()})["ok"], true);
}

TEST_F(ExecCliTest, StdinIsPassedThrough) {
  ProcessResult r = Run(ExecArgs("leon", "orchestrate", {"/bin/cat"}), "piped into the command\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "piped into the command\n");
}

TEST_F(ExecCliTest, FailingCommandReportsFailedWithItsCode) {
  ProcessResult r = Exec("leon", "orchestrate", {"/bin/sh", "-c", "echo half-done; exit 7"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "half-done\n");
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["details"], "exit code 7");
  // The chain is halted (R2): the next step is denied, and never runs.
  ProcessResult next = Exec("ci-bot", "build", {"/bin/sh", "-c", "touch " + dir_ / "ran"});
  EXPECT_EQ(next.exit_code, 3);
  EXPECT_THAT(next.err, HasSubstr("R2 halt"));
  EXPECT_FALSE(FileExists(dir_ / "ran"));
}

TEST_F(ExecCliTest, CommandNotFoundReportsFailedAndExits127) {
  ProcessResult r = Exec("leon", "orchestrate", {"no-such-command-shiplog-test"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["details"], "could not start: No such file or directory");
}

TEST_F(ExecCliTest, BadUsageExitsTwoAndSubmitsNothing) {
  const uint64_t before = Records();
  const std::string key = dir_ / "leon.key";
  ProcessResult no_step = Run({"exec", "--data", data(), "--key", key, "--deployment",
                               "checkout-1", "--", "/bin/sh", "-c", "touch " + dir_ / "ran"});
  EXPECT_EQ(no_step.exit_code, 2);
  EXPECT_THAT(no_step.err, HasSubstr("--step is required"));
  ProcessResult no_command = Run({"exec", "--data", data(), "--key", key, "--deployment",
                                  "checkout-1", "--step", "orchestrate", "--"});
  EXPECT_EQ(no_command.exit_code, 2);
  EXPECT_THAT(no_command.err, HasSubstr("command is required"));
  ProcessResult nowhere = Run({"exec", "--key", key, "--deployment", "checkout-1", "--step",
                               "orchestrate", "--", "/bin/true"});
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_THAT(nowhere.err, HasSubstr("--server URL"));
  ProcessResult bad_window = Exec("leon", "orchestrate", {"/bin/true"}, {"--report-retry", "soon"});
  EXPECT_EQ(bad_window.exit_code, 2);
  EXPECT_THAT(bad_window.err, HasSubstr("--report-retry"));
  ProcessResult unknown_key = Run({"exec", "--data", data(), "--key", data() + "/ledger.key",
                                   "--deployment", "checkout-1", "--step", "orchestrate", "--",
                                   "/bin/sh", "-c", "touch " + dir_ / "ran"});
  EXPECT_EQ(unknown_key.exit_code, 2);
  EXPECT_THAT(unknown_key.err, HasSubstr("not enrolled"));
  EXPECT_FALSE(FileExists(dir_ / "ran"));
  EXPECT_EQ(Records(), before);
}

TEST_F(ExecCliTest, EventFieldsAreEscapedOnTheTerminal) {
  ProcessResult r = Exec("leon", "orchestrate\x1b[31m", {"/bin/true"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // no such step in the chain
  EXPECT_THAT(r.err, Not(HasSubstr("\x1b[31m")));
  EXPECT_THAT(r.err, HasSubstr("orchestrate\\x1b[31m"));
}

TEST_F(ExecCliTest, SigtermIsForwardedToTheCommand) {
  // The command traps TERM, leaves a mark and exits with its own code.
  auto exec = ExecInBackground(
      "leon", "orchestrate",
      {"/bin/sh", "-c",
       "trap 'touch " + dir_ / "got-term" + "; exit 42' TERM; touch " + dir_ / "ready" +
           "; while :; do sleep 0.02; done"});
  ASSERT_TRUE(WaitUntil([&] { return FileExists(dir_ / "ready"); })) << exec->Err();
  exec->Signal(SIGTERM);
  ProcessResult r = exec->Wait();
  EXPECT_EQ(r.exit_code, 42) << r.err;
  EXPECT_TRUE(FileExists(dir_ / "got-term"));
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["details"], "exit code 42");
}

TEST_F(ExecCliTest, CommandKilledBySignalExits128PlusN) {
  auto exec = ExecInBackground(
      "leon", "orchestrate",
      {"/bin/sh", "-c", "touch " + dir_ / "ready" + "; exec sleep 60"});
  ASSERT_TRUE(WaitUntil([&] { return FileExists(dir_ / "ready"); })) << exec->Err();
  exec->Signal(SIGUSR1);  // sleep does not handle it: it dies of it
  ProcessResult r = exec->Wait();
  EXPECT_EQ(r.exit_code, 128 + SIGUSR1) << r.err;
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["details"], "terminated by signal 10 (SIGUSR1)");
}

// While the command runs the ledger is closed: another writer appends. When the report finds
// the ledger held (here by `shiplog serve`), exec retries loudly until it is free again.
TEST_F(ExecCliTest, LedgerIsFreeWhileTheCommandRunsAndABusyReportIsRetried) {
  auto exec = ExecInBackground("leon", "orchestrate", WaitsForGo(), {"--report-retry", "2m"});
  ASSERT_TRUE(WaitUntil([&] { return FileExists(dir_ / "ready"); })) << exec->Err();
  AsOk("marta", {{"kind", "review"}, {"subject", "security"}, {"verdict", "approved"}});

  BackgroundProcess server(
      {ShiplogBinary(), "serve", "--data", data(), "--insecure-listen", "127.0.0.1:0"});
  ASSERT_TRUE(WaitUntil([&] { return server.Out().find("; ready") != std::string::npos; }))
      << server.Out() << server.Err();
  WriteFile(dir_ / "go", "");
  ASSERT_TRUE(WaitUntil([&] { return exec->Err().find("not delivered") != std::string::npos; }))
      << exec->Err();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait().exit_code, 0);

  ProcessResult r = exec->Wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("WARNING: step.reported READY not delivered (attempt 1)"));
  EXPECT_THAT(r.err, HasSubstr("in use by another shiplog process"));
  EXPECT_THAT(r.err, HasSubstr("step.reported READY recorded"));
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "ready");
}

TEST_F(ExecCliTest, ReportThatNeverLandsExitsNonZeroAndSaysSo) {
  auto exec = ExecInBackground("leon", "orchestrate", WaitsForGo(), {"--report-retry", "1s"});
  ASSERT_TRUE(WaitUntil([&] { return FileExists(dir_ / "ready"); })) << exec->Err();
  BackgroundProcess server(
      {ShiplogBinary(), "serve", "--data", data(), "--insecure-listen", "127.0.0.1:0"});
  ASSERT_TRUE(WaitUntil([&] { return server.Out().find("; ready") != std::string::npos; }))
      << server.Out() << server.Err();
  WriteFile(dir_ / "go", "");
  ProcessResult r = exec->Wait();
  EXPECT_EQ(r.exit_code, 1) << "the command succeeded, but its report was lost: " << r.err;
  EXPECT_THAT(r.err, HasSubstr("ERROR: step.reported READY was NOT recorded"));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait().exit_code, 0);
  EXPECT_EQ(Count("step.reported"), 0u);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
