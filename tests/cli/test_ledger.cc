#include "tests/cli/test_ledger.h"

#include <sys/stat.h>

#include <memory>
#include <stdexcept>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "policy/policy.h"
#include "policy/policy_gate.h"
#include "tests/postgres/test_store.h"

namespace shiplog::testing {
namespace {

void Require(const Status& status, const std::string& what) {
  if (!status.ok()) throw std::runtime_error(what + ": " + status.ToString());
}

template <typename T>
T Require(Result<T> result, const std::string& what) {
  Require(result.status(), what);
  return std::move(result).value();
}

// A ledger open for appends, enforcing its policy as the CLI's appends do. A manual-clock ledger
// never reads the system clock; a real-clock one reads it as `shiplog` would.
class OpenTestLedger {
 public:
  explicit OpenTestLedger(const std::string& data)
      : ledger_(Require(Ledger::Open(data, &clock_, &gate_), "opening the ledger " + data)) {}
  Ledger* operator->() { return ledger_.get(); }

 private:
  SystemClock clock_;
  policy::PolicyGate gate_;
  std::unique_ptr<Ledger> ledger_;
};

SignedEvent Sign(const nlohmann::json& event, const SigningKey& key) {
  return Require(SignedEvent::SignJson(event, key), "the event " + event.dump());
}

}  // namespace

void InitTestLedger(const std::string& data, const TestLedgerOptions& options) {
  if (::mkdir(data.c_str(), 0700) != 0) throw std::runtime_error("cannot create " + data);
  const std::string policy_text =
      options.policy_text.empty() ? policy::DefaultPolicyText() : options.policy_text;
  if (!policy::ParsePolicy(policy_text, "policy.yaml").policy) {
    throw std::runtime_error("the test's policy does not parse");
  }
  const SigningKey admin = SigningKey::Generate();
  Require(WriteNewKeyFile(data + "/admin.key", admin), "the admin key");
  InitOptions init;
  init.admin_public_key = admin.PublicKey();
  init.policy = policy_text;
  init.origin = options.origin;
  init.manual_clock = options.manual_clock;
  if (options.manual_clock) {
    init.manual_clock_start = Require(ParseTime(kTestClockStart), "the clock's start");
  }
  SystemClock clock;
  init.store = options.store.empty() ? NewTestStoreUrl() : options.store;
  Require(Ledger::Init(data, init, &clock), "creating the ledger " + data);
}

void EnrollTestAgents(const std::string& data, const std::vector<TestAgent>& agents) {
  OpenTestLedger ledger(data);
  const SigningKey admin = Require(ReadKeyFile(data + "/admin.key"), "reading the admin key");
  const std::string admin_name = Require(ledger->EnrolledName(admin), "the admin key");
  for (const TestAgent& agent : agents) {
    const SigningKey key = SigningKey::Generate();
    Require(WriteNewKeyFile(agent.key_file, key), agent.key_file);
    const Receipt receipt = Require(ledger->Append(Sign({{"kind", "key.enrolled"},
                                                         {"actor", admin_name},
                                                         {"name", agent.name},
                                                         {"public_key", HexEncode(key.PublicKey())},
                                                         {"roles", agent.roles}},
                                                        admin)),
                                    "enrolling " + agent.name);
    if (receipt.denied) throw std::runtime_error("enrolling " + agent.name + " was denied");
  }
}

nlohmann::json SignTestEvent(const std::string& key_file, nlohmann::json event) {
  const SigningKey key = Require(ReadKeyFile(key_file), key_file);
  return Sign(event, key).ToJson();
}

Receipt AppendTestEvent(const std::string& data, const std::string& key_file,
                        nlohmann::json event) {
  const SigningKey key = Require(ReadKeyFile(key_file), key_file);
  OpenTestLedger ledger(data);
  if (!event.contains("actor")) event["actor"] = Require(ledger->EnrolledName(key), key_file);
  return Require(ledger->Append(Sign(event, key)), "appending " + event.dump());
}

void AdvanceTestClock(const std::string& data, const std::string& duration) {
  const Micros by = Require(ParseDuration(duration), "the duration " + duration);
  SystemClock clock;
  auto ledger = Require(Ledger::Open(data, &clock), "opening the ledger " + data);
  Require(ledger->AdvanceClock(by), "advancing the clock by " + duration);
}

}  // namespace shiplog::testing
