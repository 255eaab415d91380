#include "replay/replay_fold.h"

#include "policy/policy_gate.h"

namespace shiplog::replay {

LedgerFold::LedgerFold(policy::Policy fixed)
    : engine_(std::make_unique<policy::Engine>(std::move(fixed))), fixed_(true) {}

LedgerFold::LedgerFold(uint64_t next_seq, Micros last_time, KeyRegistry keys,
                       std::unique_ptr<policy::Engine> engine, std::optional<uint64_t> policy_seq)
    : next_seq_(next_seq),
      last_time_(last_time),
      keys_(std::move(keys)),
      engine_(std::move(engine)),
      policy_seq_(policy_seq) {}

std::vector<std::string> LedgerFold::RolesOf(const std::string& public_key) const {
  const KeyInfo* info = keys_.Find(public_key);
  return info ? info->roles : std::vector<std::string>{};
}

std::optional<policy::DeploymentState> LedgerFold::TakeDeployment(const std::string& id) {
  return engine_ ? engine_->TakeDeployment(id) : std::nullopt;
}

void LedgerFold::PutDeployment(policy::DeploymentState state) {
  if (engine_) engine_->PutDeployment(std::move(state));
}

void LedgerFold::Apply(const StoredRecord& record) {
  const std::string_view kind = record.event.kind();
  const bool carries_policy = kind == "ledger.genesis" || kind == "policy.activated";
  if (carries_policy && !fixed_) {
    // The ledger's gate checked an activation before storing it; one that does not parse (or a
    // genesis without a policy) changes nothing, as it did not there.
    auto policy = policy::PolicyFromEvent(record.event);
    if (policy.ok()) {
      if (engine_) {
        engine_->SetPolicy(std::move(policy).value());
      } else {
        engine_ = std::make_unique<policy::Engine>(std::move(policy).value());
      }
      policy_seq_ = record.seq;
    }
  } else if (engine_ && !carries_policy && kind != "policy.denied") {
    const std::string& public_key = record.signed_event.public_key;
    auto hex = signer_hex_.find(public_key);
    if (hex == signer_hex_.end()) hex = signer_hex_.emplace(public_key, HexEncode(public_key)).first;
    engine_->Apply(record.seq, record.ledger_time, record.event, RolesOf(public_key), hex->second);
  }
  keys_.Apply(record.event, record.seq);
  next_seq_ = record.seq + 1;
  last_time_ = record.ledger_time;
}

}  // namespace shiplog::replay
