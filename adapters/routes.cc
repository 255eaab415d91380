#include "adapters/routes.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include "adapters/argo/argo_routes.h"
#include "adapters/attestation_routes.h"
#include "adapters/console_routes.h"
#include "adapters/dora_routes.h"
#include "adapters/event_feed.h"
#include "adapters/github/github.h"
#include "adapters/github/protection_rule.h"
#include "adapters/kubernetes/admission.h"
#include "ledger/canonical.h"
#include "ledger/dsse.h"
#include "adapters/tlog_routes.h"
#include "schemas/record.capnp.h"

namespace shiplog::adapters {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

}  // namespace

Status AppendsOpen(const ServerState& state) {
  if (state.stopping) return Status::FailedPrecondition("the server is shutting down");
  if (!state.ready) return Status::FailedPrecondition("not ready: " + state.not_ready_reason);
  return state.ledger.Writable();
}

Response NotReady(const ServerState& state) {
  const Status why = AppendsOpen(state);
  if (why.code() == StatusCode::kNoSpace) return ErrorResponse(why);
  return ErrorResponse(503, "unavailable", why.message());
}

namespace {

// What a submission's body holds: a shiplog signed event, or a DSSE envelope's text for
// Ledger::CheckEnvelope.
struct Submission {
  std::optional<SignedEvent> signed_event;
  std::string envelope_text;  // when the body is a DSSE envelope
  std::string claimed_keyid;  // the signer it names, not yet verified; "" when none
};

// The keyid an envelope's first signature claims; "" when it names none.
std::string ClaimedKeyId(const json& envelope) {
  const json* signatures = envelope.is_object() && envelope.contains("signatures")
                               ? &envelope["signatures"]
                               : nullptr;
  if (!signatures || !signatures->is_array() || signatures->empty()) return "";
  const json& first = signatures->front();
  if (!first.is_object() || !first.contains("keyid") || !first["keyid"].is_string()) return "";
  return first["keyid"].get<std::string>();
}

// The signed event in a submission's body, JSON or Cap'n Proto, or the DSSE envelope it is.
Result<Submission> SubmittedEvent(const Request& request) {
  if (request.content_type == kCapnp) {
    if (request.body.size() % sizeof(capnp::word) != 0) {
      return Status::InvalidArgument("a Cap'n Proto body must be whole 8-byte words");
    }
    try {
      // The body is only as aligned as the string holding it; copy it into words.
      kj::Array<capnp::word> aligned =
          kj::heapArray<capnp::word>(request.body.size() / sizeof(capnp::word));
      std::memcpy(aligned.begin(), request.body.data(), request.body.size());
      capnp::FlatArrayMessageReader reader(aligned);
      auto e = reader.getRoot<schema::SignedEvent>();
      SignedEvent out;
      out.scheme = e.getScheme().cStr();
      out.payload = BytesOf(e.getPayload());
      out.public_key = BytesOf(e.getPublicKey());
      out.signature = BytesOf(e.getSignature());
      out.event = BytesOf(e.getEvent());
      std::string keyid = dsse::KeyId(out.public_key);
      return Submission{std::move(out), {}, std::move(keyid)};
    } catch (const kj::Exception& e) {
      return Status::InvalidArgument("the body is not a Cap'n Proto SignedEvent: " +
                                     std::string(e.getDescription().cStr()));
    }
  }
  if (!request.content_type.empty() && request.content_type != kJson &&
      request.content_type != kDsseEnvelope) {
    return Status::InvalidArgument("a submission is application/json, " +
                                   std::string(kDsseEnvelope) + " or " + std::string(kCapnp) +
                                   ", not " + request.content_type);
  }
  auto parsed = ParseJsonText(request.body, request.body.size());  // size: the server's limit
  if (!parsed.ok()) return parsed.status().Prefixed("the body is not valid JSON");
  json body = std::move(parsed).value();
  if (dsse::LooksLikeEnvelope(body)) {
    return Submission{std::nullopt, request.body, ClaimedKeyId(body)};
  }
  if (!SignedEvent::LooksLikeEnvelope(body)) {
    return Status::InvalidArgument(
        "the body is not a signed event: sign it first (shiplog sign --key FILE EVENT.json, or "
        "a DSSE envelope: shiplog sign --dsse)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(SignedEvent signed_event, SignedEvent::FromJson(body));
  std::string keyid = dsse::KeyId(signed_event.public_key);
  return Submission{std::move(signed_event), {}, std::move(keyid)};
}

Response ReceiptResponse(const Receipt& receipt, bool capnp_wanted) {
  Response r;
  if (!receipt.denied) {
    // Every append's answer: written straight to text (DumpJson's form), no JSON value built.
    r.status = 200;
    if (!capnp_wanted) {
      r.body = receipt.ToJsonText();
      r.body += '\n';
    }
    r.log_note = "seq " + std::to_string(receipt.seq) + (receipt.duplicate ? " (repeat)" : "");
  } else {
    json out = receipt.ToJson();
    // The decision first, for the agent that must not act; the denial's receipt for its records.
    json decision = out["decision"];
    out.erase("decision");
    decision["denial_receipt"] = out;
    r = JsonResponse(403, decision);
    std::string rules;
    for (const json& reason : decision.value("reasons", json::array())) {
      rules += (rules.empty() ? "" : ",") + reason.value("rule", std::string());
    }
    r.log_note = "denied " + rules + " seq " + std::to_string(receipt.seq);
  }
  if (capnp_wanted) {
    r.content_type = kCapnp;
    r.body = receipt.ToCapnpMessage();
  }
  return r;
}

std::vector<std::string> DeniedRules(const Receipt& receipt) {
  std::vector<std::string> rules;
  json decision = ParseStoredJson(receipt.decision);
  if (decision.is_object()) {
    for (const json& reason : decision.value("reasons", json::array())) {
      rules.push_back(reason.value("rule", std::string()));
    }
  }
  return rules;
}

void SubmitEvent(ServerState& state, const Request& request, Respond respond) {
  if (!AppendsOpen(state).ok()) return respond(NotReady(state));
  Status params = OnlyParams(request, {"deployment"});
  auto submission = params.ok() ? SubmittedEvent(request) : Result<Submission>(params);
  const std::string deployment = request.Param("deployment").value_or("");
  if (submission.ok() && submission->signed_event && !deployment.empty()) {
    submission = Status::InvalidArgument(
        "?deployment= names the deployment of an in-toto statement in a DSSE envelope; a "
        "shiplog event names its own");
  }
  if (!submission.ok()) {
    state.metrics.Refused();
    return respond(ErrorResponse(submission.status()));
  }
  if (auto limited = PeekKey(state, submission->claimed_keyid)) {
    return respond(std::move(*limited));
  }
  const auto arrived = Clock::now();
  Metrics& metrics = state.metrics;
  // The per-key limit's 429, set by `admit` on the pool when the verified key has no token left.
  auto limited = std::make_shared<std::optional<Response>>();
  AppendPipeline::Admit admit = [&state, limited](const CheckedEvent& checked) {
    const std::string keyid = dsse::KeyId(checked.signed_event.public_key);
    std::optional<KeyInfo> key = state.ledger.KeyByKeyId(keyid);
    if (key) *limited = TakeKey(state, keyid, *key);
    return limited->has_value() ? Status::FailedPrecondition("rate limited") : Status::Ok();
  };
  auto answer = [respond = std::move(respond), capnp_wanted = request.WantsCapnp(), arrived,
                 &metrics, &state, limited](Result<Receipt> receipt) {
        AnswerGuarded(respond, "an append's answer", [&] {
          if (*limited) return respond(std::move(**limited));
          // Stop() came between the check above and the pipeline's refusal: the same answer.
          if (!receipt.ok() && state.stopping && receipt.status().code() == StatusCode::kInternal) {
            return respond(NotReady(state));
          }
          if (!receipt.ok()) {
            metrics.Refused();
            return respond(ErrorResponse(receipt.status()));
          }
          if (!receipt->duplicate) {
            const double seconds = std::chrono::duration<double>(Clock::now() - arrived).count();
            metrics.Appended(receipt->denied,
                             receipt->denied ? DeniedRules(*receipt) : std::vector<std::string>{},
                             seconds);
          }
          respond(ReceiptResponse(*receipt, capnp_wanted));
        });
      };
  if (submission->signed_event) {
    state.pipeline.Submit(std::move(*submission->signed_event), std::move(answer),
                          std::move(admit));
  } else {
    state.pipeline.SubmitEnvelope(std::move(submission->envelope_text), deployment,
                                  std::move(answer), std::move(admit));
  }
}

void CheckIntent(ServerState& state, const Request& request, Respond respond) {
  if (!state.gate) {
    return respond(ErrorResponse(409, "no_policy", "this ledger enforces no policy"));
  }
  auto parsed = ParseJsonText(request.body, request.body.size());  // size: the server's limit
  if (!parsed.ok()) return respond(ErrorResponse(parsed.status().Prefixed("the body")));
  json body = std::move(parsed).value();
  if (!body.is_object()) {
    return respond(ErrorResponse(400, "invalid_argument",
                                 "the body must be a JSON object (an unsigned event)"));
  }
  if (!body.contains("id")) body["id"] = "check";
  auto intent = Event::FromJson(body);
  if (!intent.ok()) return respond(ErrorResponse(intent.status()));
  state.pipeline.RunInSequence(
      [&state, intent = std::move(intent).value(), respond = std::move(respond)] {
        AnswerGuarded(respond, "a check", [&] {
          auto roles = state.ledger.keys().LiveRolesOf(intent.actor());
          if (!roles.ok()) return respond(ErrorResponse(roles.status()));
          auto decision = state.gate->Check(intent, *roles, state.ledger.Now());
          if (!decision.ok()) return respond(ErrorResponse(decision.status()));
          Response r = JsonResponse(200, decision->ToJson());
          r.log_note = decision->allowed ? "would allow" : "would deny";
          respond(std::move(r));
        });
      });
}

}  // namespace

void AnswerGuarded(const Respond& respond, const char* what, const std::function<void()>& answer) {
  try {
    answer();
  } catch (const std::exception& e) {
    spdlog::error("{} threw: {}; answered 500", what, e.what());
    respond(InternalErrorResponse());
  } catch (...) {
    spdlog::error("{} threw something that is not a std::exception; answered 500", what);
    respond(InternalErrorResponse());
  }
}

namespace {

void Dispatch(ServerState& state, const Request& request, Respond respond) {
  const std::string& path = request.path;
  auto only = [&](const char* method) {
    if (request.method == method) return true;
    respond(ErrorResponse(405, "method_not_allowed",
                          path + " takes " + method + ", not " + request.method));
    return false;
  };
  if (path == "/healthz") {
    if (only("GET")) respond(JsonResponse(200, {{"status", "ok"}}));
    return;
  }
  if (path == "/readyz") {
    if (!only("GET")) return;
    // Not ready is always 503, what a load balancer or Kubernetes takes it for; the message
    // names the cause (a full disk among them).
    // A shared database is asked too: whether it answers, and what the other servers appended.
    Status open = state.ledger.Refresh();
    if (open.ok()) open = AppendsOpen(state);
    if (open.ok()) {
      respond(JsonResponse(200, {{"ready", true}, {"records", state.ledger.size()}}));
    } else {
      respond(ErrorResponse(503, "unavailable", open.message()));
    }
    return;
  }
  if (path == "/metrics") {
    if (!only("GET")) return;
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = state.metrics.Render();
    if (state.options.github) r.body += state.options.github->RenderMetrics();
    respond(std::move(r));
    return;
  }
  if (path == "/v1/events") {
    if (only("POST")) SubmitEvent(state, request, std::move(respond));
    return;
  }
  if (path == "/v1/check") {
    if (only("POST")) CheckIntent(state, request, std::move(respond));
    return;
  }
  if (path == github::kProtectionRulePath) {
    if (only("POST")) github::AnswerProtectionRule(state, request, respond);
    return;
  }
  if (path == "/v1/admission" || path.rfind("/v1/admission/", 0) == 0) {
    if (only("POST")) AnswerAdmission(state, request, respond);
    return;
  }
  if (argo::RouteArgo(state, request, respond)) return;
  if (RouteConsole(state, request, respond)) return;
  // Reads answer from the whole log, also what other servers of a shared database appended since
  // this one last did.
  if (request.method == "GET") {
    if (Status fresh = state.ledger.Refresh(); !fresh.ok()) return respond(ErrorResponse(fresh));
  }
  if (RouteTlog(state, request, respond)) return;
  if (RouteRead(state, request, respond)) return;
  if (RouteAttestation(state, request, respond)) return;
  if (RouteDora(state, request, respond)) return;
  if (RouteStream(state, request, respond)) return;
  if (path == "/v1/whoami" && request.reader) {
    if (only("GET")) respond(WhoAmI(*request.reader));
    return;
  }
  respond(ErrorResponse(404, "not_found", "no endpoint " + path + " (see adapters/openapi.yaml)"));
}

}  // namespace

// Every request passes the per-address rate limit (adapters/rate_limit.h), then the read-access
// check (adapters/read_access.h): one place, so a
// route added to Dispatch needs a signed read unless read_access.cc names it public.
void Route(ServerState& state, const Request& request, Respond respond) {
  if (auto limited = LimitConnection(state, request)) return respond(std::move(*limited));
  ReadAccessDecision access = CheckReadAccess(state, request);
  if (access.refusal) return respond(std::move(*access.refusal));
  if (!access.reader) return Dispatch(state, request, std::move(respond));
  Request signed_read = request;
  signed_read.reader = std::move(access.reader);
  Dispatch(state, signed_read, std::move(respond));
}

}  // namespace shiplog::adapters
