#include "adapters/github/protection_rule.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "adapters/github/delivery.h"
#include "adapters/github/github.h"
#include "adapters/integration.h"
#include "ledger/terminal_text.h"

namespace shiplog::adapters::github {
namespace {

using nlohmann::json;

constexpr char kEventHeader[] = "x-github-event";
constexpr char kDeliveryHeader[] = "x-github-delivery";
constexpr char kSignatureHeader[] = "x-hub-signature-256";

// One delivery on its way through the route: what it asked, and what was decided.
struct Exchange {
  ServerState& state;
  std::shared_ptr<GitHub> github;
  Respond respond;
  std::string guid;  // X-GitHub-Delivery
  ProtectionRuleDelivery delivery;
  std::string target;  // the review's target under the API
  ReviewVerdict verdict;
  std::string environment;  // the policy's environment, "" when unmapped
  std::string image;        // the deployment's requested image, when found
};
using ExchangePtr = std::shared_ptr<Exchange>;

std::string EventId(const std::string& guid) { return "github-delivery:" + guid; }

// GitHub's delivery ids are GUIDs; what becomes part of an event id is held to that.
bool IsDeliveryId(const std::string& guid) {
  if (guid.empty() || guid.size() > 64) return false;
  for (char c : guid) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

json Reason(const std::string& rule, const std::string& name, const std::string& message) {
  return {{"rule", rule}, {"name", name}, {"message", message}, {"considered", json::array()}};
}

ReviewVerdict Rejection(json reason) {
  ReviewVerdict verdict;
  verdict.allowed = false;
  verdict.decision = {{"allowed", false}, {"reasons", json::array({std::move(reason)})}};
  return verdict;
}

// The answer to GitHub's POST (GitHub shows it under the delivery in the App's settings).
Response Answer(const Exchange& x, int status, uint64_t seq, bool duplicate) {
  json body = {{"delivery", x.guid},
               {"state", x.verdict.allowed ? "approved" : "rejected"},
               {"allowed", x.verdict.allowed},
               {"environment", x.delivery.environment},
               {"source", x.delivery.Source()},
               {"decision", x.verdict.decision},
               {"seq", seq},
               {"duplicate", duplicate}};
  if (!x.verdict.deployment.empty()) body["deployment"] = x.verdict.deployment;
  if (!x.verdict.step.empty()) body["step"] = x.verdict.step;
  Response r = JsonResponse(status, body);
  r.log_note = std::string(x.verdict.allowed ? "approved " : "rejected ") +
               TerminalText(x.delivery.Source()) + " -> " + TerminalText(x.delivery.environment) +
               " seq " + std::to_string(seq) + (duplicate ? " (redelivery)" : "");
  return r;
}

void PostReview(const Exchange& x) {
  x.github->poster().Post(Review{x.guid, x.target, x.delivery.installation_id,
                                 ReviewBody(x.delivery, x.verdict, x.github->public_url())});
}

// The verdict a stored enforcement.decided record carries.
ReviewVerdict StoredVerdict(const StoredRecord& record) {
  const json fields = record.event.ToJson();
  ReviewVerdict verdict;
  verdict.allowed = fields.value("allowed", false);
  verdict.deployment = std::string(record.event.deployment());
  verdict.step = fields.value("step", std::string());
  verdict.decision = ParseStoredJson(fields.value("decision", std::string()));
  if (!verdict.decision.is_object()) verdict.decision = json::object();
  // What the record says decides; a decision text that disagrees cannot turn it into an allow.
  verdict.decision["allowed"] = verdict.allowed;
  return verdict;
}

// A redelivery: nothing new is recorded; the recorded decision is answered and posted again.
void AnswerStored(const ExchangePtr& x, const StoredRecord& record) {
  if (record.event.kind() != "enforcement.decided") {  // the key signed something else under it
    return x->respond(ErrorResponse(Status::Conflict(
        "event id " + EventId(x->guid) + " is taken by a " + std::string(record.event.kind()) +
        " record of the integration key; this delivery cannot be recorded")));
  }
  x->verdict = StoredVerdict(record);
  PostReview(*x);
  x->respond(Answer(*x, 200, record.seq, true));
}

// Looks the delivery up again after the ledger refused a second record under its id (two
// deliveries of one GUID at once).
void AnswerAfterConflict(const ExchangePtr& x) {
  const IntegrationSigner& signer = *x->state.options.integration;
  auto stored = x->state.ledger.FindEvent(signer.actor, EventId(x->guid));
  if (!stored.ok()) return x->respond(ErrorResponse(stored.status()));
  if (!stored->has_value()) {
    return x->respond(ErrorResponse(Status::Internal("the delivery's record went missing")));
  }
  AnswerStored(x, **stored);
}

json DecidedEvent(const Exchange& x) {
  json event = {{"id", EventId(x.guid)},
                {"kind", "enforcement.decided"},
                {"point", kEnforcementPoint},
                {"request", x.guid},
                {"subject", x.delivery.Source() + " -> " + x.delivery.environment},
                {"allowed", x.verdict.allowed},
                {"decision", x.verdict.decision.dump()}};
  if (!x.verdict.deployment.empty()) event["deployment"] = x.verdict.deployment;
  if (!x.environment.empty()) event["environment"] = x.environment;
  if (!x.verdict.step.empty()) event["step"] = x.verdict.step;
  if (!x.image.empty()) event["images"] = json::array({x.image});
  return event;
}

// Records the verdict; answers and posts the review once it is durable.
void Record(const ExchangePtr& x) {
  SubmitAsServer(x->state, DecidedEvent(*x), [x](Result<Receipt> receipt) {
    AnswerGuarded(x->respond, "a GitHub delivery's record", [&] {
      if (!receipt.ok() && receipt.status().code() == StatusCode::kConflict) {
        return AnswerAfterConflict(x);
      }
      if (!receipt.ok()) return x->respond(ErrorResponse(receipt.status()));
      PostReview(*x);
      x->respond(Answer(*x, receipt->duplicate ? 200 : 202, receipt->seq, receipt->duplicate));
    });
  });
}

// The latest accepted deploy.requested whose source is the delivery's repository and commit.
Result<std::optional<StoredRecord>> FindRequest(const Ledger& ledger, const std::string& source) {
  QueryFilter filter;
  filter.source = source;
  std::optional<StoredRecord> latest;
  Status read = ledger.Query(filter, [&](const StoredRecord& record) {
    // A denied request is kept as its policy.denied record: it deploys nothing.
    if (record.event.kind() == "deploy.requested") latest = record;
    return true;
  });
  if (!read.ok()) return read;
  return latest;
}

// Asks the policy whether the step may start in the deployment, then records.
void Decide(const ExchangePtr& x, const StoredRecord& request, const std::string& step) {
  x->verdict.deployment = std::string(request.event.deployment());
  x->verdict.step = step;
  x->image = request.event.ToJson().value("image", std::string());
  auto intent = Event::FromJson({{"id", EventId(x->guid)},
                                 {"kind", "step.started"},
                                 {"actor", x->state.options.integration->actor},
                                 {"deployment", x->verdict.deployment},
                                 {"step", step}});
  if (!intent.ok()) return x->respond(ErrorResponse(intent.status()));
  DecideAsOwner(x->state, std::move(intent).value(), [x](Result<policy::Decision> decision) {
    AnswerGuarded(x->respond, "a GitHub delivery's decision", [&] {
      if (!decision.ok()) return x->respond(ErrorResponse(decision.status()));
      x->verdict.allowed = decision->allowed;
      x->verdict.decision = decision->ToJson();
      Record(x);
    });
  });
}

// Steps 3 and 4 of the top of protection_rule.h.
void Judge(const ExchangePtr& x) {
  auto policy = PolicyInForce(x->state);
  if (policy == nullptr) {
    return x->respond(ErrorResponse(
        Status::FailedPrecondition("this ledger enforces no policy: nothing to decide by")));
  }
  const policy::EnvironmentBinding* binding = policy->EnvironmentForGithub(x->delivery.environment);
  if (binding == nullptr) {
    x->verdict =
        Rejection(Reason("github-environment", "unmapped-environment",
                         "GitHub environment '" + x->delivery.environment +
                             "' is not bound to a shiplog environment (the policy's environments: "
                             "github_environments); shiplog approves only what it can judge"));
    return Record(x);
  }
  x->environment = binding->name;
  auto request = FindRequest(x->state.ledger, x->delivery.Source());
  if (!request.ok()) return x->respond(ErrorResponse(request.status()));
  if (!request->has_value()) {
    x->verdict = Rejection(
        Reason("github-source", "no-deployment",
               "no accepted deploy.requested has source " + x->delivery.Source() +
                   ": request the deployment with \"source\": {\"repository\": \"" +
                   x->delivery.repository + "\", \"commit\": \"" + x->delivery.sha + "\"} first"));
    x->verdict.step = binding->step;
    return Record(x);
  }
  Decide(x, **request, binding->step);
}

// 503 naming what this server lacks to take deliveries; nullopt when it has it all.
std::optional<Response> Unready(const ServerState& state, const GitHub& github) {
  const std::string missing = github.MissingOption();
  if (!missing.empty()) {
    return ErrorResponse(503, "not_configured",
                         "GitHub's protection rule needs shiplog serve " + missing);
  }
  if (state.options.integration == nullptr) {
    return ErrorResponse(503, "not_configured",
                         "GitHub's protection rule needs shiplog serve --integration-key FILE "
                         "(an enrolled key with the enforcer role) to record its decisions");
  }
  if (!AppendsOpen(state).ok()) return NotReady(state);
  return std::nullopt;
}

// Steps 1 and 2, and the shape of the request: a Response when the route is done with it.
std::optional<Response> Screen(const Request& request, const GitHub& github) {
  const auto signature = request.Header(kSignatureHeader);
  if (!signature || !github.SignatureMatches(request.body, *signature)) {
    return ErrorResponse(401, "bad_signature",
                         signature ? "X-Hub-Signature-256 does not match the body under the "
                                     "webhook secret (serve --github-webhook-secret)"
                                   : "X-Hub-Signature-256 is missing: set a webhook secret on "
                                     "the GitHub App");
  }
  const std::string event = request.Header(kEventHeader).value_or("");
  if (event != "deployment_protection_rule") {
    Response r = JsonResponse(200, {{"ignored", true}, {"event", event}});
    r.log_note = "ignored GitHub event " + TerminalText(event);
    return r;
  }
  return std::nullopt;
}

}  // namespace

void AnswerProtectionRule(ServerState& state, const Request& request, const Respond& respond) {
  std::shared_ptr<GitHub> github = state.options.github;
  if (github == nullptr || !github->has_secret()) {
    return respond(ErrorResponse(503, "not_configured",
                                 "GitHub's protection rule needs shiplog serve "
                                 "--github-webhook-secret FILE (and --github-app-id, "
                                 "--github-app-key, --public-url, --integration-key)"));
  }
  if (auto done = Screen(request, *github)) return respond(std::move(*done));
  auto delivery = ParseProtectionRuleDelivery(request.body);
  if (!delivery.ok()) return respond(ErrorResponse(delivery.status()));
  if (delivery->action != "requested") {
    return respond(JsonResponse(200, {{"ignored", true}, {"action", delivery->action}}));
  }
  const std::string guid = request.Header(kDeliveryHeader).value_or("");
  if (!IsDeliveryId(guid)) {
    return respond(
        ErrorResponse(400, "invalid_argument", "X-GitHub-Delivery is missing or not a GUID"));
  }
  if (auto unready = Unready(state, *github)) return respond(std::move(*unready));
  auto target = TargetUnderApi(github->api(), delivery->callback_url);
  if (!target.ok()) return respond(ErrorResponse(target.status()));
  auto x = std::make_shared<Exchange>(
      Exchange{state, github, respond, guid, std::move(delivery).value(), *target, {}, "", ""});
  auto stored = state.ledger.FindEvent(state.options.integration->actor, EventId(guid));
  if (!stored.ok()) return respond(ErrorResponse(stored.status()));
  if (stored->has_value()) return AnswerStored(x, **stored);
  Judge(x);
}

}  // namespace shiplog::adapters::github
