// CliLedgerTest: a manual-clock ledger made with the real `shiplog` binary, agents enrolled by
// its admin, and helpers to append deployment checkout-1's events as one of them.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/cli/process.h"

namespace shiplog::testing {

class CliLedgerTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  // Makes the ledger (`init` with `init_options` too) and enrols each agent (name, role) with a
  // key at dir_/NAME.key.
  void InitWithAgents(const std::vector<std::pair<std::string, std::string>>& agents,
                      const std::vector<std::string>& init_options = {}) {
    std::vector<std::string> init = {"init", "--data", data(), "--manual-clock", "--clock-start",
                                     "2026-11-24T10:00:00Z"};
    init.insert(init.end(), init_options.begin(), init_options.end());
    Ok(init);
    for (const auto& [name, role] : agents) {
      Ok({"keygen", "--out", dir_ / (name + ".key")});
      Ok({"enroll", "--data", data(), "--admin-key", data() + "/admin.key", "--name", name,
          "--roles", role, "--public-key", dir_ / (name + ".key.pub")});
    }
  }

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

  // Appends `event` to deployment checkout-1, signed by agent `who`.
  ProcessResult As(const std::string& who, json event) {
    event["deployment"] = "checkout-1";
    return Run({"append", "--data", data(), "--key", dir_ / (who + ".key"), "-"}, event.dump());
  }

  void AsOk(const std::string& who, json event) {
    ProcessResult r = As(who, event);
    ASSERT_EQ(r.exit_code, 0) << who << " " << event.dump() << ": " << r.err << r.out;
  }

  ScratchDir dir_;
};

}  // namespace shiplog::testing
