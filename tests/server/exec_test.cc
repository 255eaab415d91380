// `shiplog exec --server URL`, end to end: the real binary wraps a real command against the real
// `shiplog serve` on loopback. The actor is found from the key at the server; a denied step never
// runs; the command's end is reported (READY only on exit 0); SIGTERM reaches the command; a
// report sent while the server is down is retried until it is back on the same port.
// The same behaviour against a local ledger: tests/cli/exec_cli_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/cli/background_process.h"
#include "tests/cli/test_ledger.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

class ExecServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Append("leon", {{"kind", "deploy.requested"}, {"app", "checkout"},
                    {"environment", "production"}, {"version", "1.4.2"}, {"image", kImage},
                    {"strategy", "rolling"}, {"risk", "low"},
                    {"planned_steps", {"orchestrate", "build"}}});
    Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    server_.Start();
  }

  void Append(const std::string& who, json event) {
    event["deployment"] = "checkout-1";
    const Receipt receipt = AppendTestEvent(server_.data(), server_.key(who), event);
    ASSERT_FALSE(receipt.denied) << event.dump() << "\n" << receipt.decision;
  }

  std::vector<std::string> ExecArgs(const std::string& who, const std::string& step,
                                    const std::vector<std::string>& command,
                                    const std::vector<std::string>& options = {}) {
    std::vector<std::string> args = {ShiplogBinary(), "exec", "--server", server_.url(),
                                     "--key", server_.key(who), "--deployment", "checkout-1",
                                     "--step", step};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }

  ProcessResult Exec(const std::string& who, const std::string& step,
                     const std::vector<std::string>& command) {
    return RunProcess(ExecArgs(who, step, command));
  }

  // The step.reported events at the server, oldest first.
  std::vector<json> Reports() {
    adapters::HttpReply reply = server_.Get("/v1/query?kind=step.reported");
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::vector<json> out;
    size_t start = 0;
    for (size_t end; (end = reply.body.find('\n', start)) != std::string::npos; start = end + 1) {
      out.push_back(json::parse(reply.body.substr(start, end - start))["event"]);
    }
    return out;
  }

  uint64_t Count(const std::string& kind) {
    adapters::HttpReply reply = server_.Get("/v1/query?count=true&kind=" + kind);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["count"];
  }

  std::string File(const std::string& name) const { return scratch_ / name; }

  // A shell command that says it is running (touches `ready`), waits for `go`, then runs `then`.
  std::vector<std::string> WaitsForGo(const std::string& then) const {
    return {"/bin/sh", "-c",
            "touch " + File("ready") + "; while [ ! -e " + File("go") +
                " ]; do sleep 0.02; done; " + then};
  }

  ServerProcess server_{{{"leon", {"coordinator"}}, {"marta", {"merge-approver"}},
                         {"ci-bot", {"ci"}}}};
  ScratchDir scratch_;
};

TEST_F(ExecServerTest, DeniedStepNeverRunsTheCommand) {
  ProcessResult r = Exec("ci-bot", "build", {"/bin/sh", "-c", "touch " + File("ran")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_FALSE(FileExists(File("ran"))) << "a denied step must not act";
  EXPECT_THAT(r.err, HasSubstr("denied by policy; the command was not run"));
  EXPECT_THAT(r.err, HasSubstr("R1 chain-order: orchestrate comes before build"));
  EXPECT_THAT(r.err, HasSubstr("recorded as seq 6"));
  EXPECT_EQ(Count("policy.denied"), 1u);
  EXPECT_EQ(Count("step.reported"), 0u);
}

TEST_F(ExecServerTest, AllowedStepRunsAndReportsReadyAsTheKeysAgent) {
  ProcessResult r = Exec("leon", "orchestrate",
                         {"/bin/sh", "-c", "echo from-the-command; touch " + File("ran")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FileExists(File("ran")));
  EXPECT_EQ(r.out, "from-the-command\n") << "stdout is the command's alone";
  EXPECT_THAT(r.err, HasSubstr("step.started orchestrate allowed (seq 6)"));
  EXPECT_THAT(r.err, HasSubstr("step.reported READY recorded (seq 7)"));
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["actor"], "leon") << "the actor is the key's enrolled name";
  EXPECT_EQ(reports[0]["status"], "ready");
  EXPECT_EQ(reports[0]["details"], "exit code 0");
}

TEST_F(ExecServerTest, FailingCommandReportsFailedWithItsCode) {
  ProcessResult r = Exec("leon", "orchestrate", {"/bin/sh", "-c", "exit 7"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["details"], "exit code 7");
}

TEST_F(ExecServerTest, SigtermIsForwardedToTheCommand) {
  BackgroundProcess exec(ExecArgs(
      "leon", "orchestrate",
      {"/bin/sh", "-c",
       "trap 'touch " + File("got-term") + "; exit 42' TERM; touch " + File("ready") +
           "; while :; do sleep 0.02; done"}));
  ASSERT_TRUE(WaitUntil([&] { return FileExists(File("ready")); })) << exec.Err();
  exec.Signal(SIGTERM);
  ProcessResult r = exec.Wait();
  EXPECT_EQ(r.exit_code, 42) << r.err;
  EXPECT_TRUE(FileExists(File("got-term")));
  std::vector<json> reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["details"], "exit code 42");
}

// The server goes away while the command runs and comes back on the same port and data within
// --report-retry: the report lands, once, and a failed command is never reported READY.
TEST_F(ExecServerTest, ReportIsRetriedUntilTheServerIsBack) {
  BackgroundProcess exec(ExecArgs("leon", "orchestrate", WaitsForGo("exit 7"),
                                  {"--report-retry", "2m"}));
  ASSERT_TRUE(WaitUntil([&] { return FileExists(File("ready")); })) << exec.Err();
  ASSERT_EQ(server_.Stop(), 0);
  WriteFile(File("go"), "");
  ASSERT_TRUE(WaitUntil([&] { return exec.Err().find("not delivered") != std::string::npos; }))
      << exec.Err();

  BackgroundProcess again({ShiplogBinary(), "serve", "--data", server_.data(), "--insecure-listen",
                           "127.0.0.1:" + std::to_string(server_.port())});
  ProcessResult r = exec.Wait();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_THAT(r.err, HasSubstr("WARNING: step.reported FAILED not delivered (attempt 1)"));
  EXPECT_THAT(r.err, HasSubstr("cannot reach the server"));
  EXPECT_THAT(r.err, HasSubstr("step.reported FAILED recorded"));
  again.Signal(SIGTERM);
  ASSERT_EQ(again.Wait().exit_code, 0) << again.Out() << again.Err();

  ProcessResult reports = server_.Shiplog(
      {"query", "--data", server_.data(), "--kind", "step.reported", "--count"});
  EXPECT_EQ(json::parse(reports.out)["count"], 1u);
  ProcessResult ready = server_.Shiplog({"query", "--data", server_.data(), "--kind",
                                         "step.reported", "--actor", "leon"});
  EXPECT_THAT(ready.out, HasSubstr("\"status\":\"failed\""));
  EXPECT_THAT(ready.out, Not(HasSubstr("\"status\":\"ready\"")));
}

TEST_F(ExecServerTest, ReportThatNeverLandsExitsNonZeroAndSaysSo) {
  BackgroundProcess exec(ExecArgs("leon", "orchestrate", WaitsForGo("exit 0"),
                                  {"--report-retry", "1s"}));
  ASSERT_TRUE(WaitUntil([&] { return FileExists(File("ready")); })) << exec.Err();
  ASSERT_EQ(server_.Stop(), 0);
  WriteFile(File("go"), "");
  ProcessResult r = exec.Wait();
  EXPECT_EQ(r.exit_code, 1) << "the command succeeded, but its report was lost: " << r.err;
  EXPECT_THAT(r.err, HasSubstr("ERROR: step.reported READY was NOT recorded"));
}

TEST_F(ExecServerTest, StopSignalEndsTheRetrying) {
  BackgroundProcess exec(ExecArgs("leon", "orchestrate", WaitsForGo("exit 0"),
                                  {"--report-retry", "10m"}));
  ASSERT_TRUE(WaitUntil([&] { return FileExists(File("ready")); })) << exec.Err();
  ASSERT_EQ(server_.Stop(), 0);
  WriteFile(File("go"), "");
  ASSERT_TRUE(WaitUntil([&] { return exec.Err().find("not delivered") != std::string::npos; }))
      << exec.Err();
  exec.Signal(SIGTERM);  // a cancelled job: not ten minutes of retrying
  ProcessResult r = exec.Wait();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("SIGTERM while retrying; step.reported READY was NOT recorded"));
}

TEST_F(ExecServerTest, UnreachableServerRunsNothing) {
  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult r = Exec("leon", "orchestrate", {"/bin/sh", "-c", "touch " + File("ran")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cannot reach the server"));
  EXPECT_FALSE(FileExists(File("ran")));
}

// `shiplog submit` reads the server's answers through the client exec uses (server_client.h).
TEST_F(ExecServerTest, SubmitReadsTheSameAnswers) {
  auto submit = [&](const std::string& who, json event) {
    event["actor"] = who;
    event["deployment"] = "checkout-1";
    return server_.Shiplog({"submit", "--server", server_.url(), "--key", server_.key(who), "-"},
                           event.dump());
  };
  ProcessResult denied = submit("ci-bot", {{"kind", "step.started"}, {"step", "build"}});
  EXPECT_EQ(denied.exit_code, 3) << denied.err;
  EXPECT_EQ(json::parse(denied.out)["reasons"][0]["rule"], "R1");
  ProcessResult not_owner = submit("ci-bot", {{"kind", "step.started"}, {"step", "orchestrate"}});
  EXPECT_EQ(not_owner.exit_code, 2) << not_owner.err;
  EXPECT_THAT(not_owner.err, HasSubstr("(HTTP 403)"));
  ProcessResult allowed = submit("leon", {{"kind", "step.started"}, {"step", "orchestrate"}});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(json::parse(allowed.out)["seq"], 7u);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
