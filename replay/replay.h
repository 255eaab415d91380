// Replay: what the ledger knew, and what its policy decided or would decide, at any past point.
//
// Two questions, both answered from the ledger's records alone (never from the present time, so
// the same question gives the same answer tomorrow), and neither appends anything:
//
//   - Point in time (ReplayAt): a deployment's state and its environment's state at a moment,
//     under the policy in force then, and the decision the policy would have given there for each
//     possible next intent. A moment is either a sequence number or a ledger time:
//       seq S   just after record S was appended: records 0..S are folded, and decisions are made
//               at record S's ledger time;
//       time T  every record with ledger time <= T is folded, and decisions are made at T.
//
//   - Counterfactual (ReplayUnderPolicy): every recorded intent re-decided under another policy,
//     against the state just before it, listing each decision that would change. The other policy
//     replaces every policy the log activated, from the genesis on. History is what happened: the
//     fold is of the recorded records, so a denied intent that would now be allowed is still not
//     folded as a fact, and an allowed one that would now be denied still is.
//
// A question about one deployment folds only the records that can bear on it (DeploymentSeqs),
// which gives the same state and decisions as folding every record. A fold of every record (a
// question about every deployment, or FoldScope::kWholeLedger) starts from the nearest usable
// snapshot (replay/snapshot.h) at or before the point and writes new snapshots as it passes every
// `snapshot_every` records; a snapshot that does not check out is reported through `warn` and
// skipped. Such a fold holds in memory only the deployments in progress: no rule reads one
// deployment's state to decide for another, so a deployment's state is put away when it completes
// or rolls back, and rebuilt from its own records should a later record name it. Its memory is
// what the open deployments need, not what the whole history holds.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "policy/engine.h"
#include "replay/replay_fold.h"

namespace shiplog::replay {

// Which records a fold for one deployment reads.
enum class FoldScope {
  // Only those that can bear on the deployment's state and decisions (DeploymentSeqs): a replay
  // costs what the deployment's app has recorded, not what the whole ledger has.
  kDeployment,
  // Every record, from the nearest usable snapshot: the same answer, for cross-checking.
  kWholeLedger,
};

struct ReplayOptions {
  FoldScope scope = FoldScope::kDeployment;
  // The ledger's directory, for its snapshots; empty: no snapshots are read or written.
  std::string data_dir;
  // A fold passing a seq S with (S + 1) % snapshot_every == 0 writes a snapshot at the first seq
  // at or after S that ends a commit (a snapshot is bound to the checkpoint signed there), unless
  // one is there already. 0: never write.
  uint64_t snapshot_every = 100000;
  // Told about each snapshot that was refused, and why (the CLI prints it to stderr).
  std::function<void(const std::string&)> warn;
  // Told the number of records folded so far, now and then (replay/progress.h).
  std::function<void(uint64_t)> progress;
  // A deployment a whole-ledger fold keeps in memory however it ended, for the question asked
  // of it afterwards (ReplayAt sets it to its deployment).
  std::string hold_deployment;
};

// A moment in the log: exactly one of the two is set.
struct Moment {
  std::optional<uint64_t> seq;
  std::optional<Micros> time;

  static Moment AtSeq(uint64_t seq) { return {seq, std::nullopt}; }
  static Moment AtTime(Micros time) { return {std::nullopt, time}; }
};

// A moment as a person or a URL writes it: digits are a sequence number, anything else must be an
// RFC 3339 ledger time. kInvalidArgument naming `name` (the option or parameter it came from).
Result<Moment> ParseMoment(const std::string& text, const std::string& name);

// Folds `ledger` through record `last_seq` under its own policies, from the nearest usable
// snapshot. The fold holds the deployments in progress at `last_seq` and
// `options.hold_deployment`; a finished one is not in it. REQUIRES: last_seq < ledger.size().
Result<LedgerFold> FoldThrough(const Ledger& ledger, uint64_t last_seq,
                               const ReplayOptions& options);

// The records through `last_seq` that a fold for `deployment` needs to decide exactly as a fold
// of every record would, in order: the ledger-wide kinds (genesis, keys, policies, incidents,
// maintenance windows), the deployment's own records, and every record of each deployment that
// requested one of the apps it asked for (whether one of them was in progress decides a
// request). Read from the indexes; the deployment's own records and those requests are read too.
Result<std::vector<uint64_t>> DeploymentSeqs(const Ledger& ledger, const std::string& deployment,
                                             uint64_t last_seq);

// The last record with ledger time <= `time`; kNotFound when the genesis is later.
Result<uint64_t> LastSeqAtOrBefore(const Ledger& ledger, Micros time);

// One possible next intent and the decision the policy would give it.
struct NextIntent {
  std::string kind;                // step.started | traffic.shifted | deploy.completed
  std::string step;                // step.started
  std::optional<uint32_t> weight;  // traffic.shifted
  policy::Decision decision;
};

// A deployment and its environment as they were at a moment.
struct PointInTime {
  std::string deployment;
  uint64_t seq = 0;   // the last record folded
  Micros time = 0;    // the moment's ledger time: decisions are made at it
  bool has_policy = false;
  std::string policy_name;
  std::string policy_sha256;
  std::optional<uint64_t> policy_seq;  // the record that put the policy in force
  std::optional<policy::DeploymentState> state;  // nullopt: no event of it yet
  std::vector<std::string> planned_steps;
  std::map<std::string, uint64_t> open_incidents;           // of its environment: id -> seq
  std::vector<policy::MaintenanceWindow> maintenance_windows;  // of its environment
  std::vector<NextIntent> next;

  nlohmann::json ToJson() const;
  std::string ToText() const;  // for people
};

// Replays `deployment` at `moment`. kNotFound when the ledger never mentions the deployment or
// the moment is not in the log (a seq past its end, a time before its genesis).
Result<PointInTime> ReplayAt(const Ledger& ledger, const std::string& deployment, Moment moment,
                             const ReplayOptions& options);

// What a recorded intent was and what was decided about it.
struct ChangedDecision {
  uint64_t seq = 0;      // the intent's record (a policy.denied record for a denied one)
  Micros time = 0;
  std::string deployment;
  std::string actor;
  std::string kind;
  std::string step;
  std::optional<uint32_t> weight;
  policy::Decision then;  // as recorded
  policy::Decision now;   // under the other policy
  std::vector<std::string> rules;  // rule ids failing in one decision and not the other

  nlohmann::json ToJson() const;
};

// Which recorded intents to re-decide: one deployment's (empty: every deployment's), with ledger
// time in [from, to] when set, up to record `through_seq` when set.
struct CounterfactualScope {
  std::string deployment;
  std::optional<Micros> from;
  std::optional<Micros> to;
  std::optional<uint64_t> through_seq;
};

struct CounterfactualReport {
  std::string policy_name;
  std::string policy_sha256;
  uint64_t intents = 0;  // intents re-decided
  std::vector<ChangedDecision> changes;  // in sequence order

  nlohmann::json ToJson() const;
  std::string ToText() const;
};

// Re-decides the scope's recorded intents under `other` (see the top of this file). A decision
// changes when allow/deny differs or the set of failing rules does.
Result<CounterfactualReport> ReplayUnderPolicy(const Ledger& ledger, const policy::Policy& other,
                                               const CounterfactualScope& scope,
                                               const ReplayOptions& options);

// The decision a record carries (its JSON as the ledger stored it); an unjudged record (appended
// while the log named no policy) reads as an allow with no policy.
policy::Decision RecordedDecision(const StoredRecord& record);

// The intent a record is about: its own event, or for a policy.denied the denied event inside it,
// with the key that signed it; nullopt for a record that is not an intent.
struct RecordedIntent {
  Event event;
  std::string public_key;
};
Result<std::optional<RecordedIntent>> IntentOf(const StoredRecord& record);

}  // namespace shiplog::replay
