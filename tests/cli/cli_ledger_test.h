// CliLedgerTest: a manual-clock ledger with agents enrolled by its admin, and helpers to append
// deployment checkout-1's events as one of them: with the real `shiplog` binary (As), or made in
// this process for a test's setup (AsOk, Given; tests/cli/test_ledger.h).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/cli/process.h"
#include "tests/cli/test_ledger.h"

namespace shiplog::testing {

class CliLedgerTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  // Makes the ledger (with `policy_text` in force; "" for the default pack) and enrols each agent
  // (name, role) with a key at dir_/NAME.key, in this process.
  void InitWithAgents(const std::vector<std::pair<std::string, std::string>>& agents,
                      const std::string& policy_text = "") {
    TestLedgerOptions options;
    options.policy_text = policy_text;
    InitTestLedger(data(), options);
    std::vector<TestAgent> enrolled;
    for (const auto& [name, role] : agents) enrolled.push_back({name, {role}, key(name)});
    EnrollTestAgents(data(), enrolled);
  }

  std::string key(const std::string& agent) const { return dir_ / (agent + ".key"); }
  std::string data() const { return dir_ / "data"; }

  ProcessResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args, input);
  }

  // Runs a command that must succeed; its first output line as JSON.
  json Ok(std::vector<std::string> args, const std::string& input = "") {
    ProcessResult r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err << r.out;
    return r.out.empty() ? json() : json::parse(r.out.substr(0, r.out.find('\n')));
  }

  // `shiplog append` of `event` to deployment checkout-1, signed by agent `who`.
  ProcessResult As(const std::string& who, json event) {
    event["deployment"] = "checkout-1";
    return Run({"append", "--data", data(), "--key", key(who), "-"}, event.dump());
  }

  // The same append made in this process, for a test's setup: the receipt, denied or not.
  Receipt Given(const std::string& who, json event) {
    event["deployment"] = "checkout-1";
    return AppendTestEvent(data(), key(who), std::move(event));
  }
  // Given() of an event the policy must allow.
  void AsOk(const std::string& who, const json& event) {
    const Receipt receipt = Given(who, event);
    ASSERT_FALSE(receipt.denied) << who << " " << event.dump() << ": " << receipt.decision;
  }
  void Advance(const std::string& duration) { AdvanceTestClock(data(), duration); }

  ScratchDir dir_;
};

}  // namespace shiplog::testing
