// AppendGate: what the ledger asks before it records an event, inside its ordering.
//
// The ledger knows nothing of policies. It declares this interface and calls it from its
// sequencer, so two agents cannot race past a rule; tools/ wires the policy engine in. A ledger
// opened with a gate lets it restore its state from the records (Restore), or else replays every
// record into it (Appended, in order), so the gate's state is always the fold of the whole log.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ledger/clock.h"
#include "ledger/event.h"
#include "ledger/key_registry.h"
#include "ledger/status.h"

namespace shiplog {

// What a gate may read of a ledger's committed records, through the ledger's indexes: given to
// it on open (AppendGate::Restore) and valid while the ledger lives. It takes no lock, so the
// gate may read from inside the sequencer; records of a batch not yet committed are not there.
class GateRecords {
 public:
  struct Record {
    uint64_t seq = 0;
    Micros time = 0;
    Event event;
    std::string public_key;  // the signing key, 32 raw bytes
  };
  using SeqVisitor = std::function<bool(uint64_t seq)>;

  virtual ~GateRecords() = default;
  // The sequence numbers of the records of `kind`, in order; stops when `visit` returns false.
  virtual Status KindSeqs(std::string_view kind, const SeqVisitor& visit) const = 0;
  // The sequence numbers of the records of `deployment`, in order.
  virtual Status DeploymentSeqs(std::string_view deployment, const SeqVisitor& visit) const = 0;
  virtual Result<Record> Read(uint64_t seq) const = 0;
};

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
  // refuses every later append until it is reopened (and the gate rebuilt from the records), or,
  // after a full disk, Reset() and rebuilt in place.
  virtual void Appended(uint64_t seq, Micros time, const Event& event, const KeyInfo& signer) = 0;

  // Called once as the ledger opens, before any append: true when the gate restored its state
  // from `records` itself (it may keep `records` to read more later); false, the default, makes
  // the ledger replay every record into Appended. An error fails the open.
  virtual Result<bool> Restore(const GateRecords& records) {
    (void)records;
    return false;
  }

  // The batch Appended since the last Committed failed to commit, and the ledger goes on from
  // what its store holds (Ledger::Resume, after a full disk): drop every state folded so far, as
  // if just constructed; Restore (or a replay into Appended) follows, as on open. False, the
  // default, for a gate that cannot: the ledger then takes no append until it is reopened.
  virtual bool Reset() { return false; }

  // Every record Appended so far is committed to the store (called after each batch's commit,
  // with the sequencer held): state the gate dropped can be read back from the records now.
  virtual void Committed() {}
};

}  // namespace shiplog
