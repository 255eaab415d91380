#include "replay/replay.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_set>

#include "ledger/canonical.h"
#include "ledger/index.h"
#include "replay/snapshot.h"

namespace shiplog::replay {
namespace {

using nlohmann::json;
using policy::Decision;
using policy::DeploymentState;
using policy::Engine;

void Warn(const ReplayOptions& options, const std::string& message) {
  if (options.warn) options.warn(message);
}

// The newest snapshot at or before `last_seq` that checks out; an empty fold when none does.
LedgerFold NearestSnapshot(const Ledger& ledger, uint64_t last_seq, const ReplayOptions& options) {
  if (options.data_dir.empty()) return LedgerFold();
  const SnapshotDir dir(options.data_dir);
  std::vector<uint64_t> seqs = dir.List();
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    if (*it > last_seq) continue;
    auto bytes = dir.Read(*it);
    auto fold = bytes.ok() ? DecodeSnapshot(*bytes, ledger) : Result<LedgerFold>(bytes.status());
    if (fold.ok()) return std::move(fold).value();
    Warn(options, "ignoring snapshot " + dir.PathFor(*it) + ": " + fold.status().message() +
                      "; folding from the records instead");
  }
  return LedgerFold();
}

// Writes a snapshot when a fold has passed a multiple of snapshot_every, at the first record
// after it that ends a commit: a snapshot is bound to the checkpoint signed at its size, and a
// ledger written in batches (the server's group commit) signs one only at each batch's end.
class SnapshotWriter {
 public:
  SnapshotWriter(const Ledger& ledger, const ReplayOptions& options)
      : ledger_(ledger), options_(options) {}

  // After each record folded.
  void Folded(const LedgerFold& fold) {
    if (options_.data_dir.empty() || options_.snapshot_every == 0) return;
    const uint64_t size = fold.next_seq();
    if (size % options_.snapshot_every == 0) due_ = true;
    if (!due_ || !ledger_.CheckpointAt(size).ok()) return;
    due_ = false;
    const SnapshotDir dir(options_.data_dir);
    const uint64_t seq = size - 1;
    if (dir.Has(seq)) return;
    auto bytes = EncodeSnapshot(fold, ledger_);
    Status written = bytes.ok() ? dir.Write(seq, *bytes) : bytes.status();
    if (!written.ok()) {
      Warn(options_, "could not write a snapshot at seq " + std::to_string(seq) + ": " +
                         written.message());
    }
  }

 private:
  const Ledger& ledger_;
  const ReplayOptions& options_;
  bool due_ = false;  // a multiple was passed and no commit has ended since
};

std::set<std::string> FailingRules(const Decision& d) {
  std::set<std::string> rules;
  for (const policy::Reason& r : d.reasons) rules.insert(r.rule);
  return rules;
}

std::string Verdict(const Decision& d) { return d.allowed ? "allow" : "deny"; }

// The next canary weight the policy's phases allow after `current`, if it has phases.
std::optional<uint32_t> NextCanaryWeight(const policy::Policy& policy, uint32_t current) {
  for (const policy::Rule& rule : policy.rules) {
    for (const policy::Requirement& r : rule.require) {
      if (r.type != policy::Requirement::Type::kCanary) continue;
      for (const policy::CanaryPhase& phase : r.phases) {
        if (phase.weight > current) return phase.weight;
      }
    }
  }
  return std::nullopt;
}

// An intent no one signed, to ask the policy about (Decide reads neither signature nor roles).
Event UnsignedIntent(const std::string& deployment, json fields) {
  fields["id"] = "replay-next-intent";
  fields["actor"] = "replay";
  fields["deployment"] = deployment;
  return Event::FromJson(fields).value();
}

std::vector<NextIntent> NextIntents(const Engine& engine, const DeploymentState& d, Micros now) {
  std::vector<NextIntent> next;
  auto ask = [&](NextIntent intent, json fields) {
    intent.decision = engine.Decide(UnsignedIntent(d.id, std::move(fields)), {}, now);
    next.push_back(std::move(intent));
  };
  for (const std::string& step : d.planned_steps(engine.policy())) {
    ask({"step.started", step, std::nullopt, {}}, {{"kind", "step.started"}, {"step", step}});
  }
  if (auto weight = NextCanaryWeight(engine.policy(), d.canary_weight)) {
    ask({"traffic.shifted", "", weight, {}}, {{"kind", "traffic.shifted"}, {"weight", *weight}});
  }
  ask({"deploy.completed", "", std::nullopt, {}}, {{"kind", "deploy.completed"}});
  return next;
}

Result<bool> MentionsDeployment(const Ledger& ledger, const std::string& deployment) {
  QueryFilter filter;
  filter.deployment = deployment;
  bool found = false;
  SHIPLOG_RETURN_IF_ERROR(ledger.Query(filter, [&](const StoredRecord&) {
    found = true;
    return false;
  }));
  return found;
}

const char* DeploymentStatusName(DeploymentState::Status status) {
  switch (status) {
    case DeploymentState::Status::kRequested: return "requested";
    case DeploymentState::Status::kCompleted: return "completed";
    case DeploymentState::Status::kRolledBack: return "rolled-back";
  }
  return "?";
}

json IntentJson(const std::string& kind, const std::string& step, std::optional<uint32_t> weight) {
  json j = {{"kind", kind}};
  if (!step.empty()) j["step"] = step;
  if (weight) j["weight"] = *weight;
  return j;
}

std::string IntentText(const std::string& kind, const std::string& step,
                       std::optional<uint32_t> weight) {
  if (!step.empty()) return kind + " " + step;
  if (weight) return kind + " " + std::to_string(*weight) + "%";
  return kind;
}

std::string ReasonsText(const Decision& d, const std::string& indent) {
  std::string out;
  for (const policy::Reason& r : d.reasons) {
    out += indent + r.rule + " " + r.name + ": " + r.message + "\n";
  }
  for (const policy::Evidence& e : d.evidence) {
    if (e.waiver) {
      out += indent + e.rule + " " + e.name + " waived by " + e.waiver->actor + " (seq " +
             std::to_string(e.waiver->seq) + "): " + e.waiver->reason + "\n";
    }
  }
  return out;
}

json StepsJson(const PointInTime& p) {
  json steps = json::array();
  std::vector<std::string> names = p.planned_steps;
  for (const auto& [name, s] : p.state->steps) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const std::string& name : names) {
    auto it = p.state->steps.find(name);
    json step = {{"step", name}, {"status", "not started"}};
    if (it != p.state->steps.end()) {
      const policy::StepState& s = it->second;
      step["status"] = policy::StepStatusName(s.status);
      if (s.started_seq) step["started_seq"] = s.started_seq;
      if (s.report_seq) step["report_seq"] = s.report_seq;
      if (s.status == policy::StepStatus::kReady) step["ready_since"] = FormatTime(s.ready_since);
    }
    steps.push_back(step);
  }
  return steps;
}

json EnvironmentJson(const PointInTime& p) {
  json incidents = json::array(), windows = json::array();
  for (const auto& [id, seq] : p.open_incidents) incidents.push_back({{"incident", id}, {"seq", seq}});
  for (const auto& w : p.maintenance_windows) {
    windows.push_back({{"seq", w.seq},
                       {"from", FormatTime(w.from)},
                       {"to", FormatTime(w.to)},
                       {"open", w.from <= p.time && p.time < w.to}});
  }
  return {{"name", p.state ? p.state->environment() : ""},
          {"open_incidents", incidents},
          {"maintenance_windows", windows}};
}

}  // namespace

// ---- folding ----

namespace {

// The kinds every deployment's decisions can read: the key registry (a signer's roles), the
// policy in force, and the environment's incidents and maintenance windows.
constexpr const char* kLedgerWideKinds[] = {"ledger.genesis",    "key.enrolled",
                                            "key.revoked",       "policy.activated",
                                            "incident.opened",   "incident.resolved",
                                            "maintenance.window"};

Status AddSeqs(const Ledger& ledger, const QueryFilter& filter, std::vector<uint64_t>& seqs) {
  return ledger.QuerySeqs(filter, [&](uint64_t seq) {
    seqs.push_back(seq);
    return true;
  });
}

// The genesis and the ledger-wide kinds through `last_seq`, unsorted.
Result<std::vector<uint64_t>> LedgerWideSeqs(const Ledger& ledger, uint64_t last_seq) {
  std::vector<uint64_t> seqs = {0};
  for (const char* kind : kLedgerWideKinds) {
    QueryFilter filter;
    filter.to_seq = last_seq;
    filter.kind = kind;
    SHIPLOG_RETURN_IF_ERROR(AddSeqs(ledger, filter, seqs));
  }
  return seqs;
}

Status FoldSeqs(const Ledger& ledger, const std::vector<uint64_t>& seqs, LedgerFold& fold,
                const std::function<Status(const StoredRecord&)>& before = nullptr);

// Keeps a whole-ledger fold to the deployments in progress and the one held for the question.
// A deployment's state depends on its own records alone (under the policy in force and its
// signers' roles at each), and no rule reads it to decide for another deployment, so once it
// completes or rolls back it can leave memory; should a later record name it (a rollback of a
// completed deployment, a request again under its id), it is rebuilt first from the ledger-wide
// records and its own, which gives the state it left with.
class FinishedDeployments {
 public:
  // `from_genesis`: the fold starts at record 0, so every deployment it lacks that has state to
  // bring back is one it put away itself. A fold restored from a snapshot does not know which
  // deployments the fold that wrote it put away, and asks the ledger.
  FinishedDeployments(const Ledger& ledger, std::string hold, bool from_genesis)
      : ledger_(ledger), hold_(std::move(hold)), from_genesis_(from_genesis) {}

  // Before a record of `deployment` at `seq` is decided or folded: brings back the deployment's
  // state if it has records before `seq` and the fold holds none.
  Status Recall(LedgerFold& fold, const std::string& deployment, uint64_t seq) {
    const policy::Engine* engine = fold.engine();
    if (deployment.empty() || seq == 0 || !engine || engine->FindDeployment(deployment) ||
        stateless_.count(deployment)) {
      return Status::Ok();
    }
    // Most records a fold lacks the state of are a new deployment's request: from the genesis,
    // that needs no look at the index (a seek per deployment was a tenth of a replay's time).
    if (from_genesis_ && !put_away_.count(deployment)) return Status::Ok();
    QueryFilter earlier;
    earlier.deployment = deployment;
    earlier.to_seq = seq - 1;
    std::vector<uint64_t> seqs;
    SHIPLOG_RETURN_IF_ERROR(AddSeqs(ledger_, earlier, seqs));
    if (seqs.empty()) return Status::Ok();  // its first record: the fold starts its state
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> wide, LedgerWideSeqs(ledger_, seq - 1));
    seqs.insert(seqs.end(), wide.begin(), wide.end());
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    LedgerFold scratch = fold.fixed_policy() ? LedgerFold(engine->policy()) : LedgerFold();
    SHIPLOG_RETURN_IF_ERROR(FoldSeqs(ledger_, seqs, scratch));
    std::optional<DeploymentState> state = scratch.TakeDeployment(deployment);
    put_away_.erase(deployment);
    if (state) {
      fold.PutDeployment(std::move(*state));
    } else {
      // Records but no state: none was requested yet, so the fold folds nothing of it either.
      stateless_.insert(deployment);
    }
    return Status::Ok();
  }

  // Folds `record`: brings its deployment back first if it was put away, and puts it away after
  // if the record finished it.
  Status Apply(LedgerFold& fold, const StoredRecord& record) {
    SHIPLOG_RETURN_IF_ERROR(Recall(fold, std::string(record.event.deployment()), record.seq));
    fold.Apply(record);
    const std::string_view kind = record.event.kind();
    if (kind == "deploy.completed" || kind == "rollback.completed") {
      PutAway(fold, std::string(record.event.deployment()));
    }
    return Status::Ok();
  }

  // Puts away every finished deployment the fold holds (one restored from a snapshot).
  void PutAwayAll(LedgerFold& fold) {
    if (!fold.engine()) return;
    std::vector<std::string> finished;
    for (const auto& [id, d] : fold.engine()->deployments()) {
      if (d.status != DeploymentState::Status::kRequested) finished.push_back(id);
    }
    for (const std::string& id : finished) PutAway(fold, id);
  }

 private:
  void PutAway(LedgerFold& fold, const std::string& id) {
    if (id == hold_ || !fold.engine()) return;
    const DeploymentState* d = fold.engine()->FindDeployment(id);
    if (!d || d->status == DeploymentState::Status::kRequested) return;
    fold.TakeDeployment(id);
    stateless_.erase(id);
    put_away_.insert(id);
  }

  const Ledger& ledger_;
  const std::string hold_;
  const bool from_genesis_;
  std::unordered_set<std::string> put_away_;  // by this fold
  // Deployments with records but no state (nothing requested yet): nothing to bring back.
  std::unordered_set<std::string> stateless_;
};

}  // namespace

Result<LedgerFold> FoldThrough(const Ledger& ledger, uint64_t last_seq,
                               const ReplayOptions& options) {
  if (last_seq >= ledger.size()) {
    return Status::NotFound("seq " + std::to_string(last_seq) + " is past the ledger's end (" +
                            std::to_string(ledger.size()) + " records)");
  }
  LedgerFold fold = NearestSnapshot(ledger, last_seq, options);
  FinishedDeployments finished(ledger, options.hold_deployment, fold.next_seq() == 0);
  finished.PutAwayAll(fold);
  const uint64_t start = fold.next_seq();
  if (start > last_seq) return fold;
  Status failed;
  SnapshotWriter snapshots(ledger, options);
  SHIPLOG_RETURN_IF_ERROR(ledger.Scan(start, [&](const StoredRecord& record) {
    failed = finished.Apply(fold, record);
    if (!failed.ok()) return false;
    snapshots.Folded(fold);
    if (options.progress) options.progress(record.seq + 1 - start);
    return true;
  }, last_seq + 1));
  SHIPLOG_RETURN_IF_ERROR(failed);
  if (fold.next_seq() != last_seq + 1) {
    return Status::Corrupt("the ledger's records stop before seq " + std::to_string(last_seq));
  }
  return fold;
}


Result<std::vector<uint64_t>> DeploymentSeqs(const Ledger& ledger, const std::string& deployment,
                                             uint64_t last_seq) {
  QueryFilter bounded;
  bounded.to_seq = last_seq;
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, LedgerWideSeqs(ledger, last_seq));
  // The apps the deployment asked for, accepted or denied: an intent to request one is decided
  // on which deployment of that app is in progress (the one-at-a-time rule).
  std::set<std::string> apps;
  QueryFilter own = bounded;
  own.deployment = deployment;
  SHIPLOG_RETURN_IF_ERROR(ledger.Query(own, [&](const StoredRecord& record) {
    seqs.push_back(record.seq);
    if (auto request = RequestOf(record)) apps.insert(request->app);
    return true;
  }));
  // Every deployment that requested one of those apps, with all of its records: its request puts
  // it in progress and its completion or rollback takes it out.
  std::set<std::string> others;
  for (const std::string& app : apps) {
    QueryFilter requests = bounded;
    requests.app = app;
    requests.kind = "deploy.requested";
    SHIPLOG_RETURN_IF_ERROR(ledger.Query(requests, [&](const StoredRecord& record) {
      others.insert(std::string(record.event.deployment()));
      return true;
    }));
  }
  others.erase(deployment);
  for (const std::string& other : others) {
    QueryFilter filter = bounded;
    filter.deployment = other;
    SHIPLOG_RETURN_IF_ERROR(AddSeqs(ledger, filter, seqs));
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  return seqs;
}

namespace {

// Folds the records `seqs` names, in order, into `fold`; `before` sees each record first.
Status FoldSeqs(const Ledger& ledger, const std::vector<uint64_t>& seqs, LedgerFold& fold,
                const std::function<Status(const StoredRecord&)>& before) {
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(seq));
    if (before) SHIPLOG_RETURN_IF_ERROR(before(record));
    fold.Apply(record);
  }
  return Status::Ok();
}

// The fold ReplayAt reads: through `last_seq`, of the deployment's records or of every record.
Result<LedgerFold> FoldFor(const Ledger& ledger, const std::string& deployment, uint64_t last_seq,
                           const ReplayOptions& options) {
  if (options.scope == FoldScope::kWholeLedger || last_seq >= ledger.size()) {
    ReplayOptions holding = options;
    holding.hold_deployment = deployment;
    return FoldThrough(ledger, last_seq, holding);  // last_seq past the end: its error
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, DeploymentSeqs(ledger, deployment, last_seq));
  LedgerFold fold;
  SHIPLOG_RETURN_IF_ERROR(FoldSeqs(ledger, seqs, fold));
  return fold;
}

}  // namespace

Result<uint64_t> LastSeqAtOrBefore(const Ledger& ledger, Micros time) {
  // Ledger time never decreases, so the records at or before `time` are a prefix.
  uint64_t lo = 0, hi = ledger.size();  // the answer is the last seq in [lo, hi) at or before
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord genesis, ledger.Read(0));
  if (genesis.ledger_time > time) {
    return Status::NotFound(FormatTime(time) + " is before the ledger's genesis (" +
                            FormatTime(genesis.ledger_time) + ")");
  }
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(mid));
    if (record.ledger_time <= time) lo = mid; else hi = mid;
  }
  return lo;
}

// ---- point in time ----

Result<Moment> ParseMoment(const std::string& text, const std::string& name) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    if (text.size() > 19) return Status::InvalidArgument(name + " " + text + " is too large");
    return Moment::AtSeq(std::stoull(text));
  }
  auto time = ParseTime(text);
  if (!time.ok()) {
    return Status::InvalidArgument(name + " wants a sequence number or an RFC 3339 time, got '" +
                                   text + "'");
  }
  return Moment::AtTime(*time);
}

Result<PointInTime> ReplayAt(const Ledger& ledger, const std::string& deployment, Moment moment,
                             const ReplayOptions& options) {
  SHIPLOG_ASSIGN_OR_RETURN(bool mentioned, MentionsDeployment(ledger, deployment));
  if (!mentioned) return Status::NotFound("the ledger has no event of deployment " + deployment);
  uint64_t last_seq = 0;
  if (moment.time) {
    SHIPLOG_ASSIGN_OR_RETURN(last_seq, LastSeqAtOrBefore(ledger, *moment.time));
  } else {
    last_seq = moment.seq.value_or(0);
  }
  SHIPLOG_ASSIGN_OR_RETURN(LedgerFold fold, FoldFor(ledger, deployment, last_seq, options));

  PointInTime p;
  p.deployment = deployment;
  p.seq = last_seq;
  if (moment.time) {
    p.time = *moment.time;
  } else {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord last, ledger.Read(last_seq));
    p.time = last.ledger_time;
  }
  p.policy_seq = fold.policy_seq();
  const Engine* engine = fold.engine();
  if (!engine) return p;
  p.has_policy = true;
  p.policy_name = engine->policy().name;
  p.policy_sha256 = engine->policy().sha256_hex;
  const DeploymentState* d = engine->FindDeployment(deployment);
  if (!d) return p;
  p.state = *d;
  p.planned_steps = d->planned_steps(engine->policy());
  const std::string env = d->environment();
  auto incidents = engine->environment().open_incidents.find(env);
  if (incidents != engine->environment().open_incidents.end()) p.open_incidents = incidents->second;
  auto windows = engine->environment().windows.find(env);
  if (windows != engine->environment().windows.end()) p.maintenance_windows = windows->second;
  if (d->request) p.next = NextIntents(*engine, *d, p.time);
  return p;
}

json PointInTime::ToJson() const {
  json out = {{"deployment", deployment}, {"seq", seq}, {"time", FormatTime(time)}};
  out["policy"] = has_policy ? json{{"name", policy_name}, {"sha256", policy_sha256},
                                    {"seq", policy_seq ? json(*policy_seq) : json()}}
                             : json();
  if (!state) {
    out["status"] = "unknown";  // no event of it folded yet
    return out;
  }
  out["status"] = DeploymentStatusName(state->status);
  out["app"] = state->app();
  out["environment"] = EnvironmentJson(*this);
  out["steps"] = StepsJson(*this);
  out["halted_step"] = state->halted_step ? json(*state->halted_step) : json();
  out["canary"] = {{"weight", state->canary_weight},
                   {"phase_seq", state->canary_phase_seq},
                   {"phase_start", state->canary_phase_seq ? json(FormatTime(state->canary_phase_start))
                                                           : json()}};
  json waivers = json::array();
  for (const auto& [rule, w] : state->waivers) {
    waivers.push_back({{"rule", rule}, {"seq", w.seq}, {"by", w.actor}, {"reason", w.reason}});
  }
  out["waivers"] = waivers;
  json next_json = json::array();
  for (const NextIntent& n : next) {
    json item = IntentJson(n.kind, n.step, n.weight);
    item["decision"] = n.decision.ToJson();
    next_json.push_back(item);
  }
  out["next"] = next_json;
  return out;
}

std::string PointInTime::ToText() const {
  std::ostringstream out;
  out << "deployment " << deployment << " at seq " << seq << " (" << FormatTime(time) << ")\n";
  if (!has_policy) {
    out << "no policy was in force: nothing was folded or decided\n";
    return out.str();
  }
  out << "policy " << policy_name << " sha256 " << policy_sha256;
  if (policy_seq) out << " in force since seq " << *policy_seq;
  out << "\n";
  if (!state) {
    out << "no event of this deployment yet\n";
    return out.str();
  }
  out << "status " << DeploymentStatusName(state->status) << ", app " << state->app()
      << ", environment " << state->environment() << "\n\nsteps\n";
  for (const json& s : StepsJson(*this)) {
    out << "  " << s["step"].get<std::string>() << ": " << s["status"].get<std::string>();
    if (s.contains("started_seq")) out << ", started at seq " << s["started_seq"];
    if (s.contains("report_seq")) out << ", reported at seq " << s["report_seq"];
    if (s.contains("ready_since")) out << ", READY since " << s["ready_since"].get<std::string>();
    out << "\n";
  }
  if (state->halted_step) out << "  the chain is halted at " << *state->halted_step << "\n";
  out << "\ncanary weight " << state->canary_weight << "%";
  if (state->canary_phase_seq) {
    out << " since seq " << state->canary_phase_seq << " ("
        << FormatTime(state->canary_phase_start) << ")";
  }
  out << "\nwaivers" << (state->waivers.empty() ? ": none" : "") << "\n";
  for (const auto& [rule, w] : state->waivers) {
    out << "  " << rule << " by " << w.actor << " at seq " << w.seq << ": " << w.reason << "\n";
  }
  out << "environment " << state->environment() << ": "
      << (open_incidents.empty() ? "no open incident" : "open incidents") << "\n";
  for (const auto& [id, s] : open_incidents) out << "  incident " << id << " (seq " << s << ")\n";
  for (const auto& w : maintenance_windows) {
    const bool open = w.from <= time && time < w.to;
    out << "  maintenance window " << FormatTime(w.from) << " to " << FormatTime(w.to) << " (seq "
        << w.seq << ")" << (open ? ", open" : "") << "\n";
  }
  out << "\nnext intents, decided at " << FormatTime(time) << "\n";
  for (const NextIntent& n : next) {
    out << "  " << Verdict(n.decision) << "  " << IntentText(n.kind, n.step, n.weight) << "\n"
        << ReasonsText(n.decision, "      ");
  }
  return out.str();
}

// ---- counterfactual ----

policy::Decision RecordedDecision(const StoredRecord& record) {
  if (record.decision.empty()) return Decision();
  auto decision =
      Decision::FromJson(ParseStoredJson(record.decision));
  return decision.ok() ? std::move(decision).value() : Decision();
}

Result<std::optional<RecordedIntent>> IntentOf(const StoredRecord& record) {
  if (record.event.kind() == "policy.denied") {
    auto denied = record.event.reader().getBody().getPolicyDenied();
    SHIPLOG_ASSIGN_OR_RETURN(Event event, SignedEvent::OfDenial(denied).ReadEvent());
    return std::optional<RecordedIntent>(RecordedIntent{std::move(event), BytesOf(denied.getPublicKey())});
  }
  if (!Engine::IsIntent(record.event)) return std::optional<RecordedIntent>();
  return std::optional<RecordedIntent>(RecordedIntent{record.event, record.signed_event.public_key});
}

namespace {

bool InScope(const CounterfactualScope& scope, const StoredRecord& record) {
  if (!scope.deployment.empty() && record.event.deployment() != scope.deployment) return false;
  if (scope.from && record.ledger_time < *scope.from) return false;
  return !scope.to || record.ledger_time <= *scope.to;
}

// The decision under the fold's policy, authority first, as the ledger's gate asks.
Decision Redecide(const LedgerFold& fold, const RecordedIntent& intent, Micros time) {
  const Engine& engine = *fold.engine();
  const std::vector<std::string> roles = fold.RolesOf(intent.public_key);
  Status authority = engine.CheckAuthority(intent.event, roles);
  if (!authority.ok()) {
    Decision refused;
    refused.allowed = false;
    refused.policy_sha256 = engine.policy().sha256_hex;
    refused.reasons.push_back({"authority", "authority", authority.message(), {}});
    return refused;
  }
  return engine.Decide(intent.event, roles, time);
}

std::optional<ChangedDecision> Compare(const StoredRecord& record, const RecordedIntent& intent,
                                       Decision then, Decision now) {
  std::set<std::string> before = FailingRules(then), after = FailingRules(now);
  if (then.allowed == now.allowed && before == after) return std::nullopt;
  ChangedDecision c;
  c.seq = record.seq;
  c.time = record.ledger_time;
  c.deployment = std::string(intent.event.deployment());
  c.actor = std::string(intent.event.actor());
  c.kind = std::string(intent.event.kind());
  const json fields = intent.event.ToJson();
  c.step = fields.value("step", "");
  if (c.kind == "traffic.shifted") c.weight = fields.value("weight", 0u);
  std::set_symmetric_difference(before.begin(), before.end(), after.begin(), after.end(),
                                std::back_inserter(c.rules));
  c.then = std::move(then);
  c.now = std::move(now);
  return c;
}

}  // namespace

Result<CounterfactualReport> ReplayUnderPolicy(const Ledger& ledger, const policy::Policy& other,
                                               const CounterfactualScope& scope,
                                               const ReplayOptions& options) {
  CounterfactualReport report;
  report.policy_name = other.name;
  report.policy_sha256 = other.sha256_hex;
  uint64_t last_seq = ledger.size() - 1;
  if (scope.through_seq) last_seq = std::min(last_seq, *scope.through_seq);
  if (scope.to) {
    auto before_end = LastSeqAtOrBefore(ledger, *scope.to);
    if (before_end.status().code() == StatusCode::kNotFound) return report;
    SHIPLOG_RETURN_IF_ERROR(before_end.status());
    last_seq = std::min(last_seq, *before_end);
  }
  // Snapshots hold folds under the log's own policies; this one is under `other` from the
  // genesis, so it folds from the genesis: one deployment's records (DeploymentSeqs), or every
  // record for a scope of every deployment.
  LedgerFold fold(other);
  // From the genesis; puts nothing away in a fold of one deployment's records.
  FinishedDeployments finished(ledger, "", /*from_genesis=*/true);
  auto redecide = [&](const StoredRecord& record) -> Status {
    if (!InScope(scope, record)) return Status::Ok();
    auto intent = IntentOf(record);
    if (!intent.ok()) return intent.status().Prefixed("record " + std::to_string(record.seq));
    if (*intent) {
      // A denial records its intent inside, under the deployment the intent named.
      SHIPLOG_RETURN_IF_ERROR(
          finished.Recall(fold, std::string((*intent)->event.deployment()), record.seq));
      ++report.intents;
      auto change = Compare(record, **intent, RecordedDecision(record),
                            Redecide(fold, **intent, record.ledger_time));
      if (change) report.changes.push_back(std::move(*change));
    }
    return Status::Ok();
  };
  if (!scope.deployment.empty() && options.scope == FoldScope::kDeployment) {
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs,
                             DeploymentSeqs(ledger, scope.deployment, last_seq));
    SHIPLOG_RETURN_IF_ERROR(FoldSeqs(ledger, seqs, fold, redecide));
    return report;
  }
  Status failed;
  SHIPLOG_RETURN_IF_ERROR(ledger.Scan(0, [&](const StoredRecord& record) {
    failed = redecide(record);
    if (failed.ok()) failed = finished.Apply(fold, record);
    if (!failed.ok()) return false;
    if (options.progress) options.progress(record.seq + 1);
    return true;
  }, last_seq + 1));
  SHIPLOG_RETURN_IF_ERROR(failed);
  return report;
}

json ChangedDecision::ToJson() const {
  json out = {{"seq", seq}, {"time", FormatTime(time)}, {"deployment", deployment},
              {"actor", actor}, {"intent", IntentJson(kind, step, weight)},
              {"then", then.ToJson()}, {"now", now.ToJson()}, {"rules", rules}};
  return out;
}

json CounterfactualReport::ToJson() const {
  json changes_json = json::array();
  for (const ChangedDecision& c : changes) changes_json.push_back(c.ToJson());
  return {{"policy", {{"name", policy_name}, {"sha256", policy_sha256}}},
          {"intents", intents},
          {"changed", changes.size()},
          {"changes", changes_json}};
}

std::string CounterfactualReport::ToText() const {
  std::ostringstream out;
  out << "under policy " << policy_name << " (sha256 " << policy_sha256 << "): " << intents
      << " intents re-decided, " << changes.size() << " would change\n";
  for (const ChangedDecision& c : changes) {
    out << "\nseq " << c.seq << "  " << FormatTime(c.time) << "  " << c.deployment << "  "
        << c.actor << "  " << IntentText(c.kind, c.step, c.weight) << "\n"
        << "  then " << Verdict(c.then) << ", now " << Verdict(c.now) << "; rules that differ:";
    for (const std::string& rule : c.rules) out << " " << rule;
    out << "\n";
    if (!c.then.reasons.empty()) out << "  then:\n" << ReasonsText(c.then, "    ");
    if (!c.now.reasons.empty()) out << "  now:\n" << ReasonsText(c.now, "    ");
  }
  return out.str();
}

}  // namespace shiplog::replay
