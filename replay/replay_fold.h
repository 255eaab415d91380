// LedgerFold: a ledger's records folded in order into the key registry and the policy engine,
// exactly as the ledger's own gate folds them when it opens (policy/policy_gate.h): each record's
// signer is looked up in the registry as it stood just before it, genesis and policy.activated
// put their policy in force, policy.denied records are history but change no state, and nothing
// is folded into the engine before the log names a policy.
//
// Under a fixed policy (counterfactual replay), that policy is in force from the genesis on and
// every policy.activated in the log is ignored: the question is "what if this policy had always
// been the one", so it replaces each policy the log activated.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/key_registry.h"
#include "ledger/ledger.h"
#include "policy/engine.h"

namespace shiplog::replay {

class LedgerFold {
 public:
  // An empty fold, before the genesis, under the policies the log activates.
  LedgerFold() = default;
  // An empty fold under `fixed` only.
  explicit LedgerFold(policy::Policy fixed);

  // A fold restored from its parts (replay/snapshot.h): `next_seq` records already folded.
  LedgerFold(uint64_t next_seq, Micros last_time, KeyRegistry keys,
             std::unique_ptr<policy::Engine> engine, std::optional<uint64_t> policy_seq);

  LedgerFold(LedgerFold&&) = default;
  LedgerFold& operator=(LedgerFold&&) = default;

  // Folds `record`. REQUIRES: record.seq == next_seq().
  void Apply(const StoredRecord& record);

  uint64_t next_seq() const { return next_seq_; }  // how many records are folded
  Micros last_time() const { return last_time_; }  // the last folded record's ledger time
  const KeyRegistry& keys() const { return keys_; }
  // The engine under the policy in force; null while none is.
  const policy::Engine* engine() const { return engine_.get(); }
  // The record that put the policy in force (nullopt for a fixed policy or none).
  std::optional<uint64_t> policy_seq() const { return policy_seq_; }
  bool fixed_policy() const { return fixed_; }

  // Moves one deployment's state out of the fold (nullopt when it holds none), and back in; a
  // deployment put back decides and folds on as if it never left (policy::Engine).
  std::optional<policy::DeploymentState> TakeDeployment(const std::string& id);
  void PutDeployment(policy::DeploymentState state);

  // The roles of `public_key` in the registry as of now; empty for the ledger's own key.
  std::vector<std::string> RolesOf(const std::string& public_key) const;

 private:
  uint64_t next_seq_ = 0;
  Micros last_time_ = 0;
  KeyRegistry keys_;
  std::unique_ptr<policy::Engine> engine_;
  std::optional<uint64_t> policy_seq_;
  bool fixed_ = false;
  // Each signer's public key in hex, as the engine names signers: made once per key, not once
  // per record (it was an eighth of the fold's time).
  std::map<std::string, std::string, std::less<>> signer_hex_;
};

}  // namespace shiplog::replay
