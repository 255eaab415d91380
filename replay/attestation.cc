#include "replay/attestation.h"

#include <optional>
#include <string>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/index.h"
#include "ledger/key_file.h"
#include "policy/engine.h"
#include "policy/policy_gate.h"

namespace shiplog::replay {
namespace {

using nlohmann::json;

constexpr char kDrillWarning[] =
    "DRILL LEDGER: this ledger runs on a manual clock; its times are not real and this is not "
    "an authorization for a real deployment";

std::string Describe(uint64_t seq) { return "record " + std::to_string(seq); }

// The deployment's request as the policy read it for the intent at `seq`: the last
// deploy.requested before it that was recorded (a later request replaces an earlier one in the
// engine's fold; a denied one is not folded).
Result<json> RequestBefore(const Ledger& ledger, std::string_view deployment, uint64_t seq) {
  QueryFilter filter;
  filter.deployment = std::string(deployment);
  filter.kind = "deploy.requested";
  filter.to_seq = seq;
  std::optional<uint64_t> last;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&](uint64_t s) {
    last = s;
    return true;
  }));
  if (!last) {
    return Status::InvalidArgument(Describe(seq) + ": deployment '" + std::string(deployment) +
                                   "' has no deploy.requested before it");
  }
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord request, ledger.Read(*last));
  return request.event.ToJson();
}

// The stored decision, which must be an allow.
Result<json> AllowingDecision(const StoredRecord& record) {
  const std::string what = Describe(record.seq);
  if (record.event.kind() == "policy.denied") {
    return Status::InvalidArgument(what +
                                   " is a denied intent (policy.denied): nothing was "
                                   "authorized");
  }
  if (record.event.kind() != "step.started") {
    return Status::InvalidArgument(what + " is a " + std::string(record.event.kind()) +
                                   ", not a step.started: only an allowed start of a step "
                                   "authorizes an image");
  }
  if (record.decision.empty()) {
    return Status::InvalidArgument(what + " was not judged by a policy (the ledger enforced none)");
  }
  json decision = ParseStoredJson(record.decision);
  SHIPLOG_ASSIGN_OR_RETURN(policy::Decision parsed, policy::Decision::FromJson(decision));
  if (!parsed.allowed) return Status::InvalidArgument(what + "'s decision is not an allow");
  return decision;
}

bool IsSha256Digest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.substr(0, kPrefix.size()) != kPrefix || digest.size() != kPrefix.size() + 64) {
    return false;
  }
  return digest.find_first_not_of("0123456789abcdef", kPrefix.size()) == std::string_view::npos;
}

// The in-toto subject of a pinned image reference "repository@sha256:hex".
Result<json> Subject(std::string_view image, uint64_t seq) {
  const size_t at = image.rfind('@');
  const std::string_view digest = ImageDigest(image);
  if (at == std::string_view::npos || at == 0 || !IsSha256Digest(digest)) {
    return Status::InvalidArgument(Describe(seq) + " applies image '" + std::string(image) +
                                   "', which is not pinned by a sha256 digest "
                                   "(repository@sha256:<64 hex>)");
  }
  return json{{"name", std::string(image.substr(0, at))},
              {"digest", {{"sha256", std::string(digest.substr(7))}}}};
}

// The policy that made `decision`: the name and record of the last genesis or policy.activated
// through `seq` whose policy has the decision's hash.
Result<json> PolicyOf(const Ledger& ledger, const std::string& sha256, uint64_t seq) {
  std::vector<uint64_t> carriers = {0};
  QueryFilter filter;
  filter.kind = "policy.activated";
  filter.to_seq = seq;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&](uint64_t s) {
    carriers.push_back(s);
    return true;
  }));
  for (auto it = carriers.rbegin(); it != carriers.rend(); ++it) {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(*it));
    auto policy = policy::PolicyFromEvent(record.event);
    if (policy.ok() && policy->sha256_hex == sha256) {
      return json{{"name", policy->name}, {"sha256", sha256}, {"seq", *it}};
    }
  }
  return Status::Corrupt(Describe(seq) + "'s decision names policy sha256 " + sha256 +
                         ", which no genesis or policy.activated before it carries");
}

json LedgerIdentity(const Ledger& ledger) {
  const std::string key = ledger.public_key();
  return {{"origin", ledger.origin()},
          {"public_key", HexEncode(key)},
          {"keyid", dsse::KeyId(key)},
          {"note_verifier_key", NoteVerifierKey(ledger.origin(), key)}};
}

Result<json> ReceiptOf(const Ledger& ledger, const StoredRecord& record) {
  SHIPLOG_ASSIGN_OR_RETURN(InclusionProof proof, ledger.ProveInclusion(record.seq, std::nullopt));
  return Receipt::Of(record, ledger.public_key(), proof.checkpoint.note, std::move(proof.path))
      .ToJson();
}

// The predicate's fields from the intent, its deployment's request and the ledger.
Result<json> Predicate(const Ledger& ledger, const StoredRecord& record, json decision,
                       const json& request, const std::string& image) {
  const json intent = record.event.ToJson();
  json predicate = {{"deployment", std::string(record.event.deployment())},
                    {"app", request.value("app", "")},
                    {"environment", request.value("environment", "")},
                    {"version", request.value("version", "")},
                    {"image", image},
                    {"step", intent.value("step", "")},
                    {"actor", std::string(record.event.actor())},
                    {"seq", record.seq},
                    {"ledger_time", FormatTime(record.ledger_time)},
                    {"manual_clock", record.manual_clock}};
  if (record.manual_clock) predicate["drill"] = kDrillWarning;
  SHIPLOG_ASSIGN_OR_RETURN(predicate["policy"],
                           PolicyOf(ledger, decision.value("policy_sha256", ""), record.seq));
  predicate["decision"] = std::move(decision);
  SHIPLOG_ASSIGN_OR_RETURN(predicate["receipt"], ReceiptOf(ledger, record));
  predicate["ledger"] = LedgerIdentity(ledger);
  return predicate;
}

}  // namespace

Result<json> DeployAuthorization(const Ledger& ledger, uint64_t seq) {
  if (seq >= ledger.size()) {
    return Status::NotFound("no record " + std::to_string(seq) +
                            ": the ledger holds records 0 to " + std::to_string(ledger.size() - 1));
  }
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(seq));
  SHIPLOG_ASSIGN_OR_RETURN(json decision, AllowingDecision(record));
  SHIPLOG_ASSIGN_OR_RETURN(json request, RequestBefore(ledger, record.event.deployment(), seq));
  std::string image = record.event.ToJson().value("image", "");
  if (image.empty()) image = request.value("image", "");
  SHIPLOG_ASSIGN_OR_RETURN(json subject, Subject(image, seq));
  SHIPLOG_ASSIGN_OR_RETURN(json predicate,
                           Predicate(ledger, record, std::move(decision), request, image));
  return json{{"_type", std::string(dsse::kStatementType)},
              {"subject", json::array({std::move(subject)})},
              {"predicateType", std::string(kDeployAuthorizationPredicate)},
              {"predicate", std::move(predicate)}};
}

Result<SigningKey> ReadLedgerKey(const std::string& dir) {
  return ReadKeyFile(dir + "/ledger.key");
}

Result<dsse::Envelope> IssueAttestation(const Ledger& ledger, uint64_t seq,
                                        const SigningKey& ledger_key) {
  if (ledger_key.PublicKey() != ledger.public_key()) {
    return Status::InvalidArgument("the key given is not this ledger's key (" +
                                   dsse::KeyId(ledger.public_key()) + ")");
  }
  SHIPLOG_ASSIGN_OR_RETURN(json statement, DeployAuthorization(ledger, seq));
  // Event text is checked UTF-8 on append; replace anyway, so no record can make this throw.
  std::string payload = statement.dump(-1, ' ', false, json::error_handler_t::replace);
  return dsse::Sign(std::string(dsse::kInTotoType), std::move(payload), ledger_key);
}

}  // namespace shiplog::replay
