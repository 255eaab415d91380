// AppendGate: what the ledger asks before it records an event, inside its ordering.
//
// The ledger knows nothing of policies. It declares this interface and calls it from its
// sequencer, so two agents cannot race past a rule; tools/ wires the policy engine in. A ledger
// opened with a gate replays every record into it first (Appended, in order), so the gate's state
// is always the fold of the whole log.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/clock.h"
#include "ledger/event.h"
#include "ledger/key_registry.h"
#include "ledger/status.h"

namespace shiplog {

class AppendGate {
 public:
  struct Verdict {
    Status status;          // not OK: refuse the event outright (bad authority), store nothing
    bool denied = false;    // a policy denial: record a policy.denied instead, answer kDenied
    std::string decision;   // the decision as JSON; empty for events the gate does not judge
  };

  virtual ~AppendGate() = default;

  // May `event`, signed by `signer`, be appended at ledger time `now`? Called with the sequencer
  // held, after the ledger's own checks passed. Must not change the gate's state.
  virtual Verdict Admit(const Event& event, const KeyInfo& signer, Micros now) = 0;

  // `event` is appended at `seq`; fold it in. Called in sequence order, with the sequencer held,
  // for every record (genesis and denials included), as the record joins the batch being built:
  // later events of the batch are judged on it. Should that batch fail to commit, the ledger
  // refuses every later append until it is reopened (and the gate rebuilt from the records).
  virtual void Appended(uint64_t seq, Micros time, const Event& event, const KeyInfo& signer) = 0;
};

}  // namespace shiplog
