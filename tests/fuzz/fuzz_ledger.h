// The ledger the fuzz targets that need one read against (bundles, snapshots, the HTTP routes):
// a real RocksDB ledger in a temporary directory, enforcing the default pack, with one deployment
// walked to its staging start and one production start denied. Every key comes from a fixed seed
// and the clock is manual, so the ledger is the same bytes in every process: a bundle or snapshot
// in the seed corpus (written by fuzz_seeds from this ledger) still binds to it on the next run.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "policy/policy_gate.h"

namespace shiplog::fuzz {

// The deployment the ledger holds.
inline constexpr char kDeployment[] = "d-1";

class FuzzLedger {
 public:
  // Built on first use, in a directory removed at exit. Aborts if the ledger cannot be built:
  // a target without its ledger would fuzz nothing.
  static FuzzLedger& Get();

  Ledger& ledger() { return *ledger_; }
  policy::PolicyGate& gate() { return gate_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& ledger_public_key() const { return ledger_public_key_; }
  // A signed event (JSON, as `shiplog sign` writes it) the ledger already holds: submitting it
  // again is answered as a repeat and changes nothing.
  const nlohmann::json& stored_signed_event() const { return stored_signed_event_; }
  // That event's own JSON (Event::ToJson).
  const nlohmann::json& stored_event() const { return stored_event_; }
  // The agent key named `name` (one of the default pack's chain agents, or "admin").
  static SigningKey KeyOf(const std::string& name);
  // The ledger's key. Derived from the default policy, which the genesis holds: a fuzz ledger
  // built from another version of the pack is another log, and must not sign under the same key
  // (a bundle kept in the corpus from the old log would verify and fail the forgery check).
  static SigningKey LedgerKey();

  FuzzLedger(const FuzzLedger&) = delete;
  FuzzLedger& operator=(const FuzzLedger&) = delete;

 private:
  FuzzLedger();
  // Appends `event` (given an id and `agent` as actor) signed by the agent; a minute passes.
  SignedEvent Append(const std::string& agent, nlohmann::json event);

  std::string data_dir_;
  std::string ledger_public_key_;
  SystemClock unused_clock_;  // a manual-clock ledger never reads it
  policy::PolicyGate gate_;
  std::unique_ptr<Ledger> ledger_;
  nlohmann::json stored_signed_event_;
  nlohmann::json stored_event_;
  int ids_ = 0;
};

}  // namespace shiplog::fuzz
