// The policy engine: folds a ledger's events into deployment and environment state, and decides
// whether an intent may be appended.
//
// Pure: events, a policy and a time in; state and decisions out. Nothing here reads a clock, the
// disk or the ledger; the ledger calls it inside its sequencer, replay calls it on history, and
// `shiplog policy test` calls it on scripted timelines. The same inputs always give the same
// state and the same decision.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/clock.h"
#include "ledger/event.h"
#include "policy/policy.h"

namespace shiplog::policy {

// True for an image pinned by digest: "repo@sha256:<64 lowercase hex>" (R9's image_pinned).
bool IsPinnedDigest(std::string_view image);

// One appended event as the rules see it: the event, who signed it in which roles, when.
struct Fact {
  explicit Fact(Event recorded) : event(std::move(recorded)) {}

  uint64_t seq = 0;
  Micros time = 0;
  std::string kind;
  std::string actor;
  std::vector<std::string> roles;  // the signer's roles when it was appended
  Event event;                     // rules read its JSON form's fields in place (Event::Field)
  std::string image;               // the artifact it concerns (see Engine::EffectiveImage)
  std::string signer;              // the signing key, hex; "" when not known

  bool HasRole(const std::string& role) const;
};

// The fields a policy's rules look up by value: for each kind, the top-level fields its event
// matches test for one value ("gate.result where gate=scan"). A deployment's value index holds
// those alone; a lookup of any other field reads the kind's facts.
struct ValueIndexFields {
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> by_kind;

  static ValueIndexFields Of(const Policy& policy);
  bool Has(std::string_view kind, std::string_view field) const;
  bool operator==(const ValueIndexFields& other) const { return by_kind == other.by_kind; }
};

enum class StepStatus { kNotStarted, kStarted, kReady, kBlocked, kFailed };
const char* StepStatusName(StepStatus status);

struct StepState {
  StepStatus status = StepStatus::kNotStarted;
  uint64_t started_seq = 0;
  uint64_t report_seq = 0;   // the latest report
  Micros ready_since = 0;    // when the latest READY came in
  std::string image;         // the artifact the step was started with
};

struct Waiver {
  uint64_t seq = 0;
  std::string actor;
  std::string reason;
};

// Everything the rules know about one deployment.
struct DeploymentState {
  enum class Status { kRequested, kCompleted, kRolledBack };
  std::string id;
  std::optional<Fact> request;            // its deploy.requested
  Status status = Status::kRequested;
  std::vector<Fact> facts;                // every recorded event of the deployment, in order
  // Hashed, not ordered: a decision makes about a dozen lookups in them, and nothing walks them.
  std::unordered_map<std::string, std::vector<size_t>> by_kind;  // kind -> indexes into facts
  // kind NUL field NUL value (lower case) -> indexes into facts, for the top-level scalar fields
  // `value_index` names: a rule looking for "gate.result gate=scan" reads only those, however
  // many others there are. Set by the engine that indexed the facts (its policy's fields).
  std::unordered_map<std::string, std::vector<size_t>> by_value;
  std::shared_ptr<const ValueIndexFields> value_index;
  // The steps its request lists (planned_steps in the record; empty: every step), read once
  // for the decisions that check the chain's order. Derived from the request like the indexes.
  std::vector<std::string> listed_steps;
  std::map<std::string, StepState> steps;
  std::optional<std::string> halted_step;  // BLOCKED or FAILED, not READY since (R2)
  uint32_t canary_weight = 0;
  Micros canary_phase_start = 0;
  uint64_t canary_phase_seq = 0;
  std::map<std::string, Waiver> waivers;   // rule id -> the waiver lifting it

  std::string app() const;
  std::string environment() const;
  std::vector<std::string> planned_steps(const Policy& policy) const;
};

struct MaintenanceWindow {
  uint64_t seq = 0;
  Micros from = 0;
  Micros to = 0;
};

// What spans deployments: incidents, maintenance windows, deployments in progress.
struct EnvironmentState {
  std::map<std::string, std::map<std::string, uint64_t>> open_incidents;  // env -> id -> seq
  std::map<std::string, std::vector<MaintenanceWindow>> windows;          // env -> windows
  std::map<std::pair<std::string, std::string>, std::string> in_progress; // (app, env) -> deployment
  std::map<std::string, uint64_t> revoked_keys;  // public key (hex) -> its key.revoked seq
};

// Why a rule failed, in words a person acts on, with the events that were looked at.
struct Reason {
  std::string rule;     // "R10"
  std::string name;     // "staging-soak"
  std::string message;  // "staging has been READY for 14m12s; the policy needs 15m"
  std::vector<uint64_t> considered;
};

// What satisfied a rule: the events, or the waiver that lifted it.
struct Evidence {
  std::string rule;
  std::string name;
  std::vector<uint64_t> events;
  std::optional<Waiver> waiver;
};

struct Decision {
  bool allowed = true;
  std::vector<Reason> reasons;     // one per failing rule; empty when allowed
  std::vector<Evidence> evidence;  // for an allow: every rule that applied
  std::string policy_sha256;

  nlohmann::json ToJson() const;
  // ToJson() printed compactly (as a record stores it), written straight to text: the same bytes.
  std::string ToJsonText() const;
  // Reads what ToJson() wrote (a decision a record carries); kInvalidArgument when it is not one.
  static Result<Decision> FromJson(const nlohmann::json& json);
};

// What a run of decisions exercised, for `shiplog policy test --coverage`: for each branch of the
// policy, whether it was seen each way. Keys: "R7" (the rule: allowed, denied), "R7/require 2"
// (a requirement, 1-based: held, failed), "R7/require 2/if" (its if: matched, did not match),
// "R7/require 1/any_of 2" (an arm of an any_of, as evaluated: held, failed).
struct BranchSeen {
  bool first = false;   // allowed / held / matched
  bool second = false;  // denied / failed / did not match
};
using CoverageMap = std::map<std::string, BranchSeen>;

// Everything the fold has built, as plain data: what a snapshot stores (replay/snapshot.h).
// The per-deployment indexes (by_kind, by_value, listed_steps) are derived from the facts and may
// be left empty; Engine::RestoreState rebuilds them.
struct EngineState {
  std::map<std::string, DeploymentState> deployments;
  EnvironmentState environment;
};

// What decisions read of a policy, worked out once when the engine takes the policy (engine.cc).
struct DecisionPlan;

// The state of a whole ledger under one policy.
class Engine {
 public:
  explicit Engine(Policy policy);
  ~Engine();
  // Moves keep the decision plan's references into the policy valid (they point into its
  // containers' storage, which moves along); a copy would not, so there is none.
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  const Policy& policy() const { return policy_; }

  // Makes `policy` the one later decisions are made under (a policy.activated); the folded state
  // stays, since it is a record of what happened, not of what a policy thought of it.
  void SetPolicy(Policy policy);

  // Authority, checked before anything is recorded: the signer holds a role that may emit the
  // kind, a step is started or reported by its owner (R3), a waiver comes from a waiver role and
  // names a rule that may be waived. Admin and ledger kinds are the ledger's business. Returns
  // kForbidden or kInvalidArgument.
  Status CheckAuthority(const Event& event, const std::vector<std::string>& roles) const;

  // True for the kinds the policy judges before they are recorded (intents).
  static bool IsIntent(const Event& event);

  // The decision for `event` if it were appended now. Facts are always allowed.
  // With `coverage`, also notes each branch's outcome there (tests only: it builds strings).
  Decision Decide(const Event& event, const std::vector<std::string>& roles, Micros now,
                  CoverageMap* coverage = nullptr) const;

  // Folds one appended event into the state. O(1) amortised. `signer` is the signing key (hex),
  // which approvals need to stop counting a revoked key's.
  void Apply(uint64_t seq, Micros time, const Event& event, std::vector<std::string> roles,
             std::string signer = "");

  const DeploymentState* FindDeployment(const std::string& id) const;
  const EnvironmentState& environment() const { return environment_; }
  const std::map<std::string, DeploymentState>& deployments() const { return deployments_; }

  // A copy of the folded state, and its replacement: a fold restored from ExportState() decides
  // and folds on exactly as the original (replay's snapshots rely on it). RestoreState rebuilds
  // each deployment's indexes from its facts; the policy is not part of the state.
  EngineState ExportState() const;
  void RestoreState(EngineState state);

  // For a fold that holds only some deployments in memory (policy_gate.h): it rebuilds the
  // environment from the ledger-wide kinds alone, and each deployment from its own records.
  //
  // Each deployment's app and environment, from its latest deploy.requested: what
  // ApplyToEnvironment reads in place of the deployment states Apply has.
  using RequestKeys = std::map<std::string, std::pair<std::string, std::string>>;
  // Folds `event` into the environment state exactly as Apply would (incidents, maintenance
  // windows, deployments in progress, revoked keys), keeping no deployment state. Only
  // incident.*, maintenance.window, key.revoked, deploy.requested, deploy.completed and
  // rollback.completed change it.
  void ApplyToEnvironment(uint64_t seq, const Event& event, RequestKeys& requests);
  // Moves one deployment's state out of the fold (nullopt when it holds none), and back in: a
  // deployment taken out and put back decides and folds on as if it never left.
  std::optional<DeploymentState> TakeDeployment(const std::string& id);
  void PutDeployment(DeploymentState state);

 private:
  // Folds an incident or maintenance-window event; false for any other kind.
  bool ApplyEnvironmentKind(uint64_t seq, std::string_view kind, const Event& event);
  // deployment `id` of (app, environment) started or ended (completed or rolled back).
  void MarkInProgress(const std::pair<std::string, std::string>& key, const std::string& id);
  void MarkFinished(const std::pair<std::string, std::string>& key, const std::string& id);

  // `deployment`: the event's deployment's state, null when it has none yet.
  Fact MakeFact(uint64_t seq, Micros time, const Event& event, std::vector<std::string> roles,
                std::string signer, const DeploymentState* deployment) const;
  // Adds d.facts[index] to the deployment's kind and value indexes.
  static void IndexFact(DeploymentState& d, size_t index);
  // Rebuilds the deployment's indexes for this engine's policy's fields.
  void Reindex(DeploymentState& d) const;
  // The artifact an event concerns: its own image, else the image its step was started with (for
  // reports), else the requested image (for intents about the deployment's artifact). A view into
  // the event or the deployment's state.
  std::string_view EffectiveImage(const Event& event, const DeploymentState* deployment) const;

  Policy policy_;
  std::shared_ptr<const ValueIndexFields> value_index_;
  std::unique_ptr<const DecisionPlan> plan_;
  std::map<std::string, DeploymentState> deployments_;
  EnvironmentState environment_;
};

}  // namespace shiplog::policy
