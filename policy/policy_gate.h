// PolicyGate: the policy engine behind the ledger's AppendGate.
//
// It takes the policy in force from the ledger's own records (the genesis carries the first one,
// each admin-signed policy.activated replaces it), so the decisions at any point of the log are
// made under the policy that was active there. tools/ hands one to Ledger::Open.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ledger/gate.h"
#include "policy/engine.h"

namespace shiplog::policy {

class PolicyGate final : public AppendGate {
 public:
  Verdict Admit(const Event& event, const KeyInfo& signer, Micros now) override;
  void Appended(uint64_t seq, Micros time, const Event& event, const KeyInfo& signer) override;

  // The engine under the policy in force; null while the log names no policy.
  const Engine* engine() const { return engine_.get(); }

  // The decision for an intent that is not signed (`shiplog check`): authority first, then the
  // policy. Records nothing.
  Result<Decision> Check(const Event& intent, const std::vector<std::string>& roles,
                         Micros now) const;

 private:
  std::unique_ptr<Engine> engine_;
};

// Parses a policy carried by an event (genesis or policy.activated), checking its hash.
Result<Policy> PolicyFromEvent(const Event& event);

}  // namespace shiplog::policy
