#include "policy/policy_gate.h"

#include <algorithm>
#include <iterator>

namespace shiplog::policy {
namespace {

std::string Bytes(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

// "policy.yaml:3:1: ...; policy.yaml:9:5: ..." (the first few errors).
std::string JoinErrors(const std::vector<PolicyError>& errors) {
  std::string out;
  for (size_t i = 0; i < errors.size() && i < 5; ++i) {
    out += (out.empty() ? "" : "; ") + errors[i].ToString();
  }
  if (errors.size() > 5) out += "; and " + std::to_string(errors.size() - 5) + " more";
  return out;
}

}  // namespace

Result<Policy> PolicyFromEvent(const Event& event) {
  using B = schema::Event::Body;
  auto body = event.reader().getBody();
  std::string text, sha256, name = "policy";
  if (body.which() == B::LEDGER_GENESIS) {
    text = body.getLedgerGenesis().getPolicy();
    sha256 = Bytes(body.getLedgerGenesis().getPolicySha256());
    name = "genesis policy";
  } else if (body.which() == B::POLICY_ACTIVATED) {
    text = body.getPolicyActivated().getContent();
    sha256 = Bytes(body.getPolicyActivated().getSha256());
    if (body.getPolicyActivated().hasName()) name = body.getPolicyActivated().getName();
  } else {
    return Status::InvalidArgument("event kind " + std::string(event.kind()) +
                                   " carries no policy");
  }
  if (text.empty()) return Status::NotFound("the event names no policy");
  if (sha256 != AsBytes(Sha256(text))) {
    return Status::InvalidArgument("the policy's sha256 does not match its content");
  }
  ParseResult parsed = ParsePolicy(text, name);
  if (!parsed.errors.empty()) {
    return Status::InvalidArgument("the policy does not lint: " + JoinErrors(parsed.errors));
  }
  return std::move(*parsed.policy);
}

namespace {

bool IsPolicyKind(std::string_view kind) {
  return kind == "ledger.genesis" || kind == "policy.activated";
}

bool IsKeyKind(std::string_view kind) {
  return kind == "ledger.genesis" || kind == "key.enrolled" || kind == "key.revoked";
}

// What Restore folds: policies, keys, and every kind Engine::ApplyToEnvironment reads.
constexpr const char* kLedgerWideKinds[] = {
    "ledger.genesis",  "policy.activated",  "key.enrolled",       "key.revoked",
    "incident.opened", "incident.resolved", "maintenance.window", "deploy.requested",
    "deploy.completed", "rollback.completed"};

}  // namespace

AppendGate::Verdict PolicyGate::Admit(const Event& event, const KeyInfo& signer, Micros now) {
  Verdict verdict;
  if (event.kind() == "policy.activated") {
    auto policy = PolicyFromEvent(event);
    if (!policy.ok()) verdict.status = policy.status();
    return verdict;
  }
  if (!engine_) return verdict;
  if (!batch_open_) Trim();
  auto decision = Judge(event, signer.roles, now);
  if (!decision.ok()) {
    verdict.status = decision.status();
    return verdict;
  }
  if (Engine::IsIntent(event)) {
    verdict.decision = decision->ToJsonText();
    verdict.denied = !decision->allowed;
  }
  return verdict;
}

Result<Decision> PolicyGate::Check(const Event& intent, const std::vector<std::string>& roles,
                                   Micros now) {
  if (!engine_) return Status::NotFound("the ledger has no policy in force");
  if (!batch_open_) Trim();
  return Judge(intent, roles, now);
}

Result<Decision> PolicyGate::Judge(const Event& intent, const std::vector<std::string>& roles,
                                   Micros now) {
  SHIPLOG_RETURN_IF_ERROR(broken_);
  SHIPLOG_RETURN_IF_ERROR(engine_->CheckAuthority(intent, roles));
  // Facts are always allowed, but the fold that follows needs their deployment held too.
  if (!intent.deployment().empty()) SHIPLOG_RETURN_IF_ERROR(Hold(std::string(intent.deployment())));
  return engine_->Decide(intent, roles, now);
}

void PolicyGate::Appended(uint64_t seq, Micros time, const Event& event, const KeyInfo& signer) {
  batch_open_ = true;
  const std::string_view kind = event.kind();
  if (IsKeyKind(kind)) NoteKeys(event, seq);
  if (IsPolicyKind(kind)) {
    AdoptPolicy(event, seq);
    return;
  }
  if (!engine_ || kind == "policy.denied") return;
  const std::string id(event.deployment());
  if (!id.empty()) {
    // Admit held it already; this only reads when an admin kind skipped the authority check.
    Status held = Hold(id);
    if (!held.ok()) {
      broken_ = held;
      return;
    }
  }
  engine_->Apply(seq, time, event, signer.roles, HexEncode(signer.public_key));
  if (!id.empty()) Refresh(id);
}

void PolicyGate::Committed() {
  batch_open_ = false;
  Trim();
}

bool PolicyGate::Reset() {
  engine_.reset();
  records_ = nullptr;
  policies_.clear();
  registry_ = KeyRegistry();
  key_roles_.clear();
  held_.clear();
  finished_.clear();
  active_.clear();
  facts_held_ = 0;
  batch_open_ = false;
  broken_ = Status::Ok();
  scratch_.reset();
  scratch_policy_ = nullptr;
  // in_force_ stays until Restore adopts the committed policies again: readers on other threads
  // never see a ledger without one.
  return true;
}

Result<bool> PolicyGate::Restore(const GateRecords& records) {
  if (!options_.restore_from_indexes) return false;
  records_ = &records;
  std::vector<uint64_t> seqs;
  for (const char* kind : kLedgerWideKinds) {
    SHIPLOG_RETURN_IF_ERROR(records.KindSeqs(kind, [&](uint64_t seq) {
      seqs.push_back(seq);
      return true;
    }));
  }
  std::sort(seqs.begin(), seqs.end());
  Engine::RequestKeys requests;  // every deployment's; dropped once the environment is built
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(GateRecords::Record r, records.Read(seq));
    const std::string_view kind = r.event.kind();
    if (IsKeyKind(kind)) NoteKeys(r.event, seq);
    if (IsPolicyKind(kind)) {
      AdoptPolicy(r.event, seq);
    } else if (engine_) {
      engine_->ApplyToEnvironment(seq, r.event, requests);
    }
  }
  return true;
}

// ---- the cache ----

Status PolicyGate::Hold(const std::string& id) {
  if (!records_) return Status::Ok();  // the plain fold: every deployment is in the engine
  auto it = held_.find(id);
  if (it != held_.end()) {
    std::list<std::string>& list = ListOf(it->second.finished);
    list.splice(list.begin(), list, it->second.at);
    return Status::Ok();
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<DeploymentState> state, Rebuild(id));
  Held held;
  if (state) {
    held.facts = state->facts.size();
    held.finished = state->status != DeploymentState::Status::kRequested;
    engine_->PutDeployment(std::move(*state));
  }
  std::list<std::string>& list = ListOf(held.finished);
  list.push_front(id);
  held.at = list.begin();
  facts_held_ += held.facts;
  held_.emplace(id, held);
  return Status::Ok();
}

Result<std::optional<DeploymentState>> PolicyGate::Rebuild(const std::string& id) {
  std::vector<uint64_t> seqs;
  SHIPLOG_RETURN_IF_ERROR(records_->DeploymentSeqs(id, [&](uint64_t seq) {
    seqs.push_back(seq);
    return true;
  }));
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(GateRecords::Record r, records_->Read(seq));
    // As Appended: denials are not folded, nor anything before the log named a policy.
    const Policy* policy = PolicyAt(seq);
    if (!policy || r.event.kind() == "policy.denied") continue;
    if (!scratch_) {
      scratch_ = std::make_unique<Engine>(*policy);
    } else if (scratch_policy_ != policy) {
      scratch_->SetPolicy(*policy);
    }
    scratch_policy_ = policy;
    scratch_->Apply(seq, r.time, r.event, RolesAt(r.public_key, seq), HexEncode(r.public_key));
  }
  if (!scratch_) return std::optional<DeploymentState>();
  std::optional<DeploymentState> state = scratch_->TakeDeployment(id);
  scratch_->RestoreState({});  // its environment saw only this deployment's records
  return state;
}

void PolicyGate::Refresh(const std::string& id) {
  auto it = held_.find(id);
  const DeploymentState* d = engine_->FindDeployment(id);
  if (it == held_.end() || !d) return;
  Held& held = it->second;
  facts_held_ = facts_held_ - held.facts + d->facts.size();
  held.facts = d->facts.size();
  ListOf(held.finished).erase(held.at);
  held.finished = d->status != DeploymentState::Status::kRequested;
  ListOf(held.finished).push_front(id);
  held.at = ListOf(held.finished).begin();
}

void PolicyGate::Trim() {
  if (!records_) return;
  while ((held_.size() > options_.max_deployments || facts_held_ > options_.max_facts) &&
         !held_.empty()) {
    std::list<std::string>& list = finished_.empty() ? active_ : finished_;
    const std::string id = list.back();
    list.pop_back();
    auto it = held_.find(id);
    facts_held_ -= it->second.facts;
    held_.erase(it);
    engine_->TakeDeployment(id);
  }
}

// ---- what spans deployments ----

void PolicyGate::AdoptPolicy(const Event& event, uint64_t seq) {
  auto policy = PolicyFromEvent(event);
  // Admit checked an activation before it was stored; a genesis without a policy leaves the
  // ledger unenforced, as it was created.
  if (!policy.ok()) return;
  auto shared = std::make_shared<const Policy>(std::move(policy).value());
  policies_.emplace_back(seq, shared);
  {
    std::lock_guard<std::mutex> lock(in_force_mu_);
    in_force_ = shared;
  }
  if (engine_) {
    engine_->SetPolicy(*shared);
  } else {
    engine_ = std::make_unique<Engine>(*shared);
  }
}

std::shared_ptr<const Policy> PolicyGate::policy_in_force() const {
  std::lock_guard<std::mutex> lock(in_force_mu_);
  return in_force_;
}

const Policy* PolicyGate::PolicyAt(uint64_t seq) const {
  auto after = std::lower_bound(policies_.begin(), policies_.end(), seq,
                                [](const auto& p, uint64_t s) { return p.first < s; });
  return after == policies_.begin() ? nullptr : std::prev(after)->second.get();
}

void PolicyGate::NoteKeys(const Event& event, uint64_t seq) {
  registry_.Apply(event, seq);
  for (const auto& [key, info] : registry_.keys()) {
    auto& history = key_roles_[key];
    if (history.empty() || history.back().second != info.roles) {
      history.emplace_back(seq, info.roles);
    }
  }
}

std::vector<std::string> PolicyGate::RolesAt(const std::string& public_key, uint64_t seq) const {
  auto it = key_roles_.find(public_key);
  if (it == key_roles_.end()) return {};
  const auto& history = it->second;
  auto after = std::lower_bound(history.begin(), history.end(), seq,
                                [](const auto& h, uint64_t s) { return h.first < s; });
  return after == history.begin() ? std::vector<std::string>{} : std::prev(after)->second;
}

}  // namespace shiplog::policy
