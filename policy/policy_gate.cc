#include "policy/policy_gate.h"

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

AppendGate::Verdict PolicyGate::Admit(const Event& event, const KeyInfo& signer, Micros now) {
  Verdict verdict;
  if (event.kind() == "policy.activated") {
    auto policy = PolicyFromEvent(event);
    if (!policy.ok()) verdict.status = policy.status();
    return verdict;
  }
  if (!engine_) return verdict;
  auto decision = Check(event, signer.roles, now);
  if (!decision.ok()) {
    verdict.status = decision.status();
    return verdict;
  }
  if (Engine::IsIntent(event)) {
    verdict.decision = decision->ToJson().dump();
    verdict.denied = !decision->allowed;
  }
  return verdict;
}

Result<Decision> PolicyGate::Check(const Event& intent, const std::vector<std::string>& roles,
                                   Micros now) const {
  if (!engine_) return Status::NotFound("the ledger has no policy in force");
  SHIPLOG_RETURN_IF_ERROR(engine_->CheckAuthority(intent, roles));
  return engine_->Decide(intent, roles, now);
}

void PolicyGate::Appended(uint64_t seq, Micros time, const Event& event, const KeyInfo& signer) {
  const std::string_view kind = event.kind();
  if (kind == "ledger.genesis" || kind == "policy.activated") {
    auto policy = PolicyFromEvent(event);
    // Admit checked an activation before it was stored; a genesis without a policy leaves the
    // ledger unenforced, as it was created.
    if (!policy.ok()) return;
    if (engine_) {
      engine_->SetPolicy(std::move(policy).value());
    } else {
      engine_ = std::make_unique<Engine>(std::move(policy).value());
    }
    return;
  }
  if (engine_ && kind != "policy.denied") engine_->Apply(seq, time, event, signer.roles);
}

}  // namespace shiplog::policy
