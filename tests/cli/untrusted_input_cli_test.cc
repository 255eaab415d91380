// The real `shiplog` binary against untrusted files that used to crash it (issue 23): an event
// nested far deeper than any event is (sign, check and append overflowed the stack), a signed
// maintenance window whose time the JSON form cannot write (append threw out of the sequencer),
// and a snapshot file name that overflows a uint64 (replay threw). Each ends in a clear exit.
#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ledger/canonical.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "tests/cli/far_future_window.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int kExitBadInput = 2;

class UntrustedInputCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok({"init", "--data", data(), "--manual-clock", "--clock-start", "2026-11-24T18:00:00Z"});
    Ok({"keygen", "--out", key()});
    Ok({"enroll", "--data", data(), "--admin-key", data() + "/admin.key", "--name", "ic", "--roles",
        "incident-commander,coordinator", "--public-key", key() + ".pub"});
  }

  std::string data() const { return dir_ / "data"; }
  std::string key() const { return dir_ / "ic.key"; }

  ProcessResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args, input);
  }
  void Ok(std::vector<std::string> args, const std::string& input = "") {
    ProcessResult r = Run(args, input);
    ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err << r.out;
  }

  // {"kind":"review","a":[[[...]]]}: 120 KB at 60,000 levels, within the CLI's size limit.
  std::string DeepEventFile() {
    const size_t depth = 60'000;
    const std::string path = dir_ / "deep.json";
    WriteFile(path,
              R"({"kind":"review","a":)" + std::string(depth, '[') + std::string(depth, ']') + "}");
    return path;
  }

  ScratchDir dir_;
};

TEST_F(UntrustedInputCliTest, DeeplyNestedEventIsBadInputForSignCheckAndAppend) {
  const std::string deep = DeepEventFile();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"sign", "--key", key(), deep},
           {"check", "--data", data(), "--deployment", "d-1", "--actor", "ic", deep},
           {"append", "--data", data(), "--key", key(), deep}}) {
    ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, kExitBadInput) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("nested deeper than 64")) << args[0];
  }
  // The same input on stdin.
  ProcessResult r = Run({"sign", "--key", key(), "-"}, ReadFile(deep));
  EXPECT_EQ(r.exit_code, kExitBadInput) << r.err;
}

TEST_F(UntrustedInputCliTest, MaintenanceWindowWithAFiveDigitYearIsBadInputNamingTheField) {
  ProcessResult r = Run({"append", "--data", data(), "-"}, FarFutureWindowEnvelope(key()));
  EXPECT_EQ(r.exit_code, kExitBadInput) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("field 'to'"));
  // Nothing was stored, and the ledger still takes a good window.
  ProcessResult good =
      Run({"append", "--data", data(), "--key", key(), "-"}, json{{"kind", "maintenance.window"},
                                                                  {"id", "window-ok"},
                                                                  {"environment", "production"},
                                                                  {"from", "2026-11-24T18:00:00Z"},
                                                                  {"to", "9999-12-31T23:59:59Z"}}
                                                                 .dump());
  EXPECT_EQ(good.exit_code, 0) << good.err;
  ProcessResult verify = Run({"verify", "--data", data()});
  EXPECT_EQ(verify.exit_code, 0) << verify.err << verify.out;
}

TEST_F(UntrustedInputCliTest, SnapshotFileNameBeyondUint64IsPassedOver) {
  Ok({"append", "--data", data(), "--key", key(), "-"},
     json{{"kind", "deploy.requested"},
          {"id", "req-1"},
          {"deployment", "d-1"},
          {"app", "checkout"},
          {"environment", "staging"},
          {"version", "1.4.2"},
          {"image",
           "registry.example/checkout@sha256:"
           "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"},
          {"strategy", "rolling"},
          {"risk", "low"},
          {"planned_steps", {"orchestrate"}}}
         .dump());
  std::filesystem::create_directories(data() + "/snapshots");
  // Twenty digits, as the snapshot names are, but more than 2^64 - 1.
  WriteFile(data() + "/snapshots/99999999999999999999.snap", "not a snapshot");
  // --whole-ledger folds from the nearest snapshot, so it lists the directory.
  ProcessResult r =
      Run({"replay", "--data", data(), "--deployment", "d-1", "--at", "1", "--whole-ledger"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
}

// yaml-cpp bounds its own recursion (it throws past a few hundred levels); this keeps the policy
// readers honest about it: a policy or tests file nested 20,000 deep (under the policy size limit)
// is a YAML error at file:line, exit 2, not a crash.
TEST_F(UntrustedInputCliTest, DeeplyNestedYamlIsAnErrorAtFileLine) {
  const size_t depth = 20'000;
  const std::string flow = std::string(depth, '[') + std::string(depth, ']');
  const std::string policy = dir_ / "deep-policy.yaml";
  WriteFile(policy, "shiplog_policy: 1\nname: deep\nrules: " + flow + "\n");
  ProcessResult lint = Run({"policy", "lint", policy});
  EXPECT_EQ(lint.exit_code, kExitBadInput) << lint.err;
  EXPECT_THAT(lint.err, HasSubstr("deep-policy.yaml:3:"));
  const std::string tests = dir_ / "deep-tests.yaml";
  WriteFile(tests, "tests:\n  - name: deep\n    events: " + flow + "\n");
  ProcessResult run = Run({"policy", "test", SHIPLOG_DEFAULT_POLICY_FILE, tests});
  EXPECT_EQ(run.exit_code, kExitBadInput) << run.err << run.out;
  EXPECT_THAT(run.err + run.out, HasSubstr("deep-tests.yaml:3:"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
