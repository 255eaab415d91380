// PolicyGate: the policy engine behind the ledger's AppendGate.
//
// It takes the policy in force from the ledger's own records (the genesis carries the first one,
// each admin-signed policy.activated replaces it), so the decisions at any point of the log are
// made under the policy that was active there. tools/ hands one to Ledger::Open.
//
// Memory stays bounded however long the ledger grows. On open the gate folds only what spans
// deployments (policies, keys, incidents, maintenance windows, which deployments are in
// progress), found through the ledger's kind index. A deployment's state is rebuilt from its own
// records (the deployment index) when an event first needs it, and held in a cache of at most
// Options' size; finished deployments (completed or rolled back) leave it first, then the least
// recently used. A deployment touched by a batch not yet committed is never dropped, since its
// newest records are not on disk yet. Every decision is the one a fold of every record makes.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ledger/gate.h"
#include "policy/engine.h"

namespace shiplog::policy {

class PolicyGate final : public AppendGate {
 public:
  struct Options {
    // The cache's bounds: it is trimmed to both after each commit. A batch may hold more while
    // it is being built (every deployment it touches).
    size_t max_deployments = 4096;
    size_t max_facts = 250000;  // events of the deployments held
    // False: the ledger replays every record into the gate on open and every deployment stays
    // in memory (the plain fold, a reference for tests).
    bool restore_from_indexes = true;
  };

  PolicyGate() : PolicyGate(Options()) {}
  explicit PolicyGate(Options options) : options_(options) {}

  Verdict Admit(const Event& event, const KeyInfo& signer, Micros now) override;
  void Appended(uint64_t seq, Micros time, const Event& event, const KeyInfo& signer) override;
  Result<bool> Restore(const GateRecords& records) override;
  void Committed() override;
  bool Reset() override;

  // The engine under the policy in force; null while the log names no policy. It holds the
  // environment and the deployments in the cache, not necessarily every deployment.
  const Engine* engine() const { return engine_.get(); }

  // The decision for an intent that is not signed (`shiplog check`): authority first, then the
  // policy. Records nothing (it may read the intent's deployment into the cache). Call it from
  // the ledger's sequencer between appends, or with no append running.
  Result<Decision> Check(const Event& intent, const std::vector<std::string>& roles, Micros now);

  // The policy in force after the last record folded; null while the log names none. Safe from
  // any thread, for readers that need only the policy's declarations (the enforcement points'
  // environment bindings), not the folded state.
  std::shared_ptr<const Policy> policy_in_force() const;

  // What the cache holds now.
  size_t deployments_held() const { return held_.size(); }
  size_t facts_held() const { return facts_held_; }

 private:
  // A deployment in the cache (possibly one with no records yet).
  struct Held {
    bool finished = false;
    size_t facts = 0;
    std::list<std::string>::iterator at;  // in finished_ or active_
  };

  Result<Decision> Judge(const Event& intent, const std::vector<std::string>& roles, Micros now);
  // Makes sure the engine holds deployment `id` (rebuilding it from its records if needed) and
  // marks it used.
  Status Hold(const std::string& id);
  // Deployment `id` folded from its committed records, each under the policy then in force.
  Result<std::optional<DeploymentState>> Rebuild(const std::string& id);
  // Updates the cache's accounting of `id` after the engine folded an event into it.
  void Refresh(const std::string& id);
  // Drops deployments until the cache is within Options. REQUIRES: no batch open.
  void Trim();
  std::list<std::string>& ListOf(bool finished) { return finished ? finished_ : active_; }

  // A genesis or policy.activated at `seq`: its policy is in force after it.
  void AdoptPolicy(const Event& event, uint64_t seq);
  // The policy record `seq` was judged and folded under; null before the first one.
  const Policy* PolicyAt(uint64_t seq) const;
  // A genesis, key.enrolled or key.revoked at `seq`: the signers' roles change after it.
  void NoteKeys(const Event& event, uint64_t seq);
  // The roles of `public_key` as the registry stood before record `seq` (none when unknown: the
  // ledger's own records).
  std::vector<std::string> RolesAt(const std::string& public_key, uint64_t seq) const;

  Options options_;
  // The folded state: Reset() clears every field below but in_force_'s mutex.
  std::unique_ptr<Engine> engine_;
  const GateRecords* records_ = nullptr;  // set by Restore: deployments may leave the cache
  std::vector<std::pair<uint64_t, std::shared_ptr<const Policy>>> policies_;  // in force after seq
  KeyRegistry registry_;
  // public key -> (seq, the key's roles after that record), in order.
  std::map<std::string, std::vector<std::pair<uint64_t, std::vector<std::string>>>> key_roles_;
  std::map<std::string, Held> held_;
  std::list<std::string> finished_, active_;  // the cache's order, most recently used first
  size_t facts_held_ = 0;
  bool batch_open_ = false;  // Appended since the last Committed: nothing may leave the cache
  Status broken_;            // a rebuild failed while folding: later appends are refused
  mutable std::mutex in_force_mu_;
  std::shared_ptr<const Policy> in_force_;  // GUARDED_BY(in_force_mu_)
  std::unique_ptr<Engine> scratch_;   // rebuilds deployments; holds nothing between rebuilds
  const Policy* scratch_policy_ = nullptr;
};

// Parses a policy carried by an event (genesis or policy.activated), checking its hash.
Result<Policy> PolicyFromEvent(const Event& event);

}  // namespace shiplog::policy
