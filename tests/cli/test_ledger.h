// A black-box test's setup made in the test process: the ledger, its agents' keys, signed events
// and appends, by the library calls the `shiplog` commands make (Ledger::Init, WriteNewKeyFile,
// SignedEvent::Sign, Ledger::Append through the policy gate). For the steps a test is not about:
// under the sanitizer passes every process a test starts costs a third of a second or more, and
// most of the suite's were setup. A command a test is about still runs as the program.
//
// Each function opens the ledger and closes it before it returns (a `shiplog` process may open it
// next), and throws std::runtime_error naming what failed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace shiplog::testing {

// The manual clock's start in the black-box tests.
inline constexpr char kTestClockStart[] = "2026-11-24T18:00:00Z";

// `shiplog init --data DATA [--policy FILE] [--origin NAME] [--manual-clock --clock-start
// kTestClockStart]`: the admin (named admin) gets a new key at DATA/admin.key.
struct TestLedgerOptions {
  bool manual_clock = true;
  std::string policy_text;  // the policy in force; "" for the default pack
  std::string origin;       // the log's name; "" for init's default
  // A PostgreSQL database's URL for the records; "" for the suite's store (tests/postgres/
  // test_store.h: RocksDB in DATA/db, or a new database when SHIPLOG_TEST_STORE=postgresql).
  std::string store;
};
void InitTestLedger(const std::string& data, const TestLedgerOptions& options = {});

// An agent to enrol: a new key pair written to key_file and key_file.pub (`shiplog keygen`).
struct TestAgent {
  std::string name;
  std::vector<std::string> roles;
  std::string key_file;
};
// `shiplog keygen` and `shiplog enroll --admin-key DATA/admin.key` for each agent, in one open.
void EnrollTestAgents(const std::string& data, const std::vector<TestAgent>& agents);

// `shiplog sign --key KEY_FILE`: the signed event's JSON (an id made up when it has none).
nlohmann::json SignTestEvent(const std::string& key_file, nlohmann::json event);

// `shiplog append --data DATA --key KEY_FILE` of a bare event (its actor the key's enrolled name
// when it names none): the receipt, which says whether the policy denied it. Throws when the
// ledger refuses the event.
Receipt AppendTestEvent(const std::string& data, const std::string& key_file,
                        nlohmann::json event);

// `shiplog clock advance DURATION --data DATA` ("15m", "1h30m").
void AdvanceTestClock(const std::string& data, const std::string& duration);

}  // namespace shiplog::testing
