#include "adapters/read_access.h"

#include <algorithm>
#include <chrono>

#include "adapters/api_paths.h"
#include "adapters/github/protection_rule.h"
#include "adapters/http_signature.h"
#include "adapters/integration.h"
#include "adapters/rate_limit.h"
#include "adapters/server.h"

namespace shiplog::adapters {
namespace {

constexpr size_t kMaxNonce = 128;

enum class Group { kHealth, kMetrics, kProofs, kOwn, kWhoAmI, kConsole, kRecords };

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The group of a path; anything not named here is kRecords, so a new route needs a signature
// unless it is added to a public group on purpose.
Group GroupOf(const std::string& path) {
  if (path == "/healthz" || path == "/readyz") return Group::kHealth;
  if (path == "/metrics") return Group::kMetrics;
  if (path == "/v1/checkpoint" || path == "/v1/proofs/inclusion" ||
      path == "/v1/proofs/consistency" || path == "/checkpoint" || StartsWith(path, "/tile/")) {
    return Group::kProofs;
  }
  if (path == "/v1/events" || path == "/v1/check" || path == github::kProtectionRulePath ||
      path == "/v1/admission" || StartsWith(path, "/v1/admission/") ||
      StartsWith(path, "/v1/argo/") || path == "/v1/checkpoint/cosignatures") {
    return Group::kOwn;
  }
  if (path == "/v1/whoami") return Group::kWhoAmI;
  // The console's files are code that reads through the signed API, never data.
  if (path == "/ui" || StartsWith(path, "/ui/")) return Group::kConsole;
  return Group::kRecords;
}

const char* GroupName(Group group) {
  switch (group) {
    case Group::kHealth:
      return "health";
    case Group::kMetrics:
      return "metrics";
    case Group::kProofs:
      return "proofs";
    default:
      return "";
  }
}

// The reads: section in force: the policy's (no copy, the pointer keeps it), or the defaults
// while the ledger enforces no policy.
const policy::ReadAccess& ReadsIn(const std::shared_ptr<const policy::Policy>& policy) {
  static const policy::ReadAccess kDefaults;
  return policy ? policy->reads : kDefaults;
}

// A 401 or 403, counted by `reason`.
Response Refuse(ServerState& state, const char* reason, int status, const std::string& message) {
  state.metrics.ReadRefused(reason);
  Response r = ErrorResponse(status, status == 401 ? "unauthenticated" : "forbidden", message);
  if (status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Signature realm=\"shiplog\", alg=\"ed25519\"");
    r.headers.emplace_back(
        "Accept-Signature",
        std::string(kSignatureLabel) +
            "=(\"@method\" \"@path\" \"@query\" \"date\");created;keyid;alg=\"ed25519\";nonce");
  }
  r.log_note = std::string("read refused: ") + reason;
  return r;
}

struct Refusal {
  const char* reason;
  std::string message;
};

// Whether `input` covers exactly `wanted`, each once, in any order.
template <size_t N>
bool Covers(const SignatureInput& input, const std::string_view (&wanted)[N]) {
  std::vector<std::string> covered = input.components;
  std::vector<std::string> sorted_wanted(std::begin(wanted), std::end(wanted));
  std::sort(covered.begin(), covered.end());
  std::sort(sorted_wanted.begin(), sorted_wanted.end());
  return covered == sorted_wanted;
}

// The signature's parameters, checked: the components shiplog signs (with or without "date"),
// and created, keyid, alg="ed25519" and a nonce, nothing else.
std::optional<Refusal> CheckParams(const SignatureInput& input) {
  if (!Covers(input, kSignedComponents) && !Covers(input, kBrowserSignedComponents)) {
    return Refusal{"malformed",
                   "the signature must cover exactly \"@method\" \"@path\" \"@query\" \"date\" "
                   "(or, from a browser, the first three), each once; it covers " +
                       input.Serialize().substr(0, 200)};
  }
  for (const SignatureParam& p : input.params) {
    if (p.name != "created" && p.name != "keyid" && p.name != "alg" && p.name != "nonce") {
      return Refusal{"malformed", "Signature-Input has parameter '" + p.name +
                                      "'; shiplog reads created, keyid, alg and nonce only"};
    }
  }
  if (!input.IntParam("created")) {
    return Refusal{"malformed", "Signature-Input needs created=UNIX_SECONDS (an integer)"};
  }
  if (!input.StringParam("keyid")) {
    return Refusal{"malformed", "Signature-Input needs keyid=\"<hex SHA-256 of the key>\""};
  }
  if (input.StringParam("alg") != std::string(kSignatureAlgorithm)) {
    return Refusal{"malformed", "Signature-Input needs alg=\"ed25519\""};
  }
  auto nonce = input.StringParam("nonce");
  if (!nonce || nonce->empty() || nonce->size() > kMaxNonce) {
    return Refusal{"malformed",
                   "Signature-Input needs nonce=\"...\" (1 to 128 characters, new "
                   "for every request)"};
  }
  return std::nullopt;
}

// `created` and the Date header (when signed) both within `skew` seconds of `now`.
std::optional<Refusal> CheckTimes(int64_t created, std::optional<int64_t> date, int64_t now,
                                  int64_t skew) {
  if (created < now - skew || created > now + skew) {
    return Refusal{"expired", "the signature's created time is more than " + std::to_string(skew) +
                                  " s from the server's clock"};
  }
  if (date && (*date < now - skew || *date > now + skew)) {
    return Refusal{"expired", "the Date header is more than " + std::to_string(skew) +
                                  " s from the server's clock"};
  }
  return std::nullopt;
}

// Authenticates a signed request: the signer, why not, or a rate limit's 429
// (adapters/rate_limit.h) to send as it is.
std::variant<Reader, Refusal, Response> Authenticate(ServerState& state, const Request& request,
                                           const policy::ReadAccess& access) {
  auto input_header = request.Header("signature-input");
  auto signature_header = request.Header("signature");
  if (!input_header && !signature_header) {
    return Refusal{"unsigned",
                   "this route needs a signed request (RFC 9421: Signature-Input, "
                   "Signature and Date headers; `shiplog query --server URL --key "
                   "FILE` signs for you)"};
  }
  if (!input_header || !signature_header) {
    return Refusal{"malformed", "a signed request needs both Signature-Input and Signature"};
  }
  auto input = ParseSignatureInput(*input_header);
  if (!input.ok()) return Refusal{"malformed", input.status().message()};
  auto signature = ParseSignatureHeader(*signature_header);
  if (!signature.ok()) return Refusal{"malformed", signature.status().message()};
  if (signature->first != input->label) {
    return Refusal{"malformed", "Signature's label '" + signature->first.substr(0, 64) +
                                    "' is not Signature-Input's '" + input->label.substr(0, 64) +
                                    "'"};
  }
  if (auto bad = CheckParams(*input)) return *bad;
  // The Date header matters only when the signature covers it (a browser's does not).
  const bool signs_date = Covers(*input, kSignedComponents);
  std::string date_text;
  std::optional<int64_t> date;
  if (signs_date) {
    auto header = request.Header("date");
    if (!header) return Refusal{"malformed", "a signed request needs a Date header"};
    auto parsed = ParseHttpDate(*header);
    if (!parsed.ok()) return Refusal{"malformed", parsed.status().message()};
    date_text = *header;
    date = *parsed;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t skew = state.options.read_clock_skew.count();
  const int64_t created = *input->IntParam("created");
  if (auto stale = CheckTimes(created, date, now, skew)) return *stale;
  const std::string keyid = *input->StringParam("keyid");
  std::optional<KeyInfo> key = state.ledger.KeyByKeyId(keyid);
  if (!key) return Refusal{"unknown_key", "key " + keyid.substr(0, 64) + " is not enrolled"};
  if (!key->active()) return Refusal{"revoked_key", "key " + keyid + " is revoked"};
  // Before the signature's cost, but taking nothing: a forger cannot drain the key's bucket.
  if (auto limited = PeekKey(state, keyid)) return std::move(*limited);
  auto values = ComponentValues(input->components, {request.method, request.target, date_text});
  auto base = values.ok() ? SignatureBase(*input, *values) : Result<std::string>(values.status());
  if (!base.ok()) return Refusal{"malformed", base.status().message()};
  if (!VerifySignature(key->public_key, *base, signature->second)) {
    return Refusal{"bad_signature", "the signature does not verify for key " + keyid +
                                        " over this request's method, path, query" +
                                        (signs_date ? " and Date" : "")};
  }
  // Only a verified signature spends a nonce: nobody can fill another key's cache.
  switch (state.read_nonces.Remember(keyid, *input->StringParam("nonce"), now, created + skew)) {
    case NonceCache::Outcome::kReplayed:
      return Refusal{"replayed", "this signature's nonce was used already: sign each request anew"};
    case NonceCache::Outcome::kFull:
      return Refusal{"replayed", "too many signed reads by this key within the clock-skew window"};
    case NonceCache::Outcome::kFresh:
      break;
  }
  if (auto limited = TakeKey(state, keyid, *key)) return std::move(*limited);
  return Reader{key->name, keyid, key->roles, access.ScopeOf(key->roles)};
}

// Whether a deployment of `id` matches one of the reader's deployment grants (a deployment with
// no records matches none, and is refused exactly like another team's: nothing leaks).
Result<bool> DeploymentVisible(const Ledger& ledger, const Reader& reader, const std::string& id,
                               std::optional<uint64_t> seq) {
  if (reader.scope.all) return true;
  for (const policy::ReadGrant& grant : reader.scope.deployments) {
    const std::vector<std::string> any = {""};
    for (const std::string& app : grant.apps.empty() ? any : grant.apps) {
      for (const std::string& env : grant.environments.empty() ? any : grant.environments) {
        QueryFilter filter;
        filter.deployment = id;
        filter.app = app;
        filter.environment = env;
        if (seq) {
          filter.from_seq = *seq;
          filter.to_seq = *seq;
        }
        // A filter naming neither app nor environment would match every record.
        if (app.empty() && env.empty()) continue;
        bool found = false;
        SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&found](uint64_t) {
          found = true;
          return false;
        }));
        if (found) return true;
      }
    }
  }
  return false;
}

// For a reader limited to some deployments: the routes that serve one deployment or one record
// are checked here; the query, the deployment list, the records with proofs and the live feed
// filter their own answers; every other route is
// refused, so a route added later is not opened to them by default.
std::optional<Refusal> CheckScope(const Ledger& ledger, const Reader& reader, const Request& r) {
  if (reader.scope.all) return std::nullopt;
  const std::string& path = r.path;
  const Refusal forbidden{
      "forbidden", "the roles of key '" + reader.name + "' may not read " + path.substr(0, 200)};
  if (reader.scope.deployments.empty()) return forbidden;
  // These filter their own answers to what the reader may see (read_routes.cc, event_feed.h).
  if (path == "/v1/query" || path == "/v1/records" || path == "/v1/deployments" ||
      path == "/v1/stream") {
    return std::nullopt;
  }
  Result<bool> visible = false;
  if (const std::optional<DeploymentPath> deployment = ParseDeploymentPath(path)) {
    visible = DeploymentVisible(ledger, reader, deployment->id, std::nullopt);
  } else if (const std::optional<std::string> seq_text = AttestationSeqText(path)) {
    if (const std::optional<uint64_t> seq = ParseSeq(*seq_text)) {
      visible = RecordVisible(ledger, reader, *seq);
    }
  }
  if (!visible.ok() || !*visible) return forbidden;
  return std::nullopt;
}

}  // namespace

NonceCache::Outcome NonceCache::Remember(const std::string& keyid, const std::string& nonce,
                                         int64_t now, int64_t expires) {
  std::lock_guard<std::mutex> lock(mu_);
  Seen& seen = seen_[keyid];
  while (!seen.by_expiry.empty() && seen.by_expiry.begin()->first < now) {
    seen.nonces.erase(seen.by_expiry.begin()->second);
    seen.by_expiry.erase(seen.by_expiry.begin());
  }
  if (seen.nonces.count(nonce) != 0) return Outcome::kReplayed;
  if (seen.nonces.size() >= max_per_key_) return Outcome::kFull;
  seen.nonces.insert(nonce);
  seen.by_expiry.emplace(expires, nonce);
  return Outcome::kFresh;
}

Result<bool> RecordVisible(const Ledger& ledger, const Reader& reader, uint64_t seq) {
  return DeploymentVisible(ledger, reader, "", seq);
}

ReadAccessDecision CheckReadAccess(ServerState& state, const Request& request) {
  const Group group = GroupOf(request.path);
  if (group == Group::kOwn || group == Group::kConsole) return {};
  const std::shared_ptr<const policy::Policy> in_force = PolicyInForce(state);
  const policy::ReadAccess& access = ReadsIn(in_force);
  const bool open = group == Group::kHealth || group == Group::kMetrics || group == Group::kProofs;
  if (open && access.IsPublic(GroupName(group))) return {};
  auto signer = Authenticate(state, request, access);
  if (auto* limited = std::get_if<Response>(&signer)) return {std::move(*limited), nullptr};
  if (auto* refusal = std::get_if<Refusal>(&signer)) {
    return {Refuse(state, refusal->reason, 401, refusal->message), nullptr};
  }
  auto reader = std::make_shared<const Reader>(std::get<Reader>(std::move(signer)));
  std::optional<Refusal> scope;
  if (open && !reader->scope.proofs) {
    scope = Refusal{"forbidden", "the roles of key '" + reader->name + "' may read nothing"};
  } else if (group == Group::kRecords) {
    scope = CheckScope(state.ledger, *reader, request);
  }
  if (scope) return {Refuse(state, scope->reason, 403, scope->message), nullptr};
  state.metrics.ReadSigned();
  return {std::nullopt, std::move(reader)};
}

Response WhoAmI(const Reader& reader) {
  nlohmann::json apps = nlohmann::json::array();
  for (const policy::ReadGrant& g : reader.scope.deployments) {
    apps.push_back({{"apps", g.apps}, {"environments", g.environments}});
  }
  return JsonResponse(
      200, {{"name", reader.name},
            {"keyid", reader.keyid},
            {"roles", reader.roles},
            {"reads",
             {{"all", reader.scope.all}, {"proofs", reader.scope.proofs}, {"deployments", apps}}}});
}

}  // namespace shiplog::adapters
