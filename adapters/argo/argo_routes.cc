#include "adapters/argo/argo_routes.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/argo/analysis_run.h"
#include "adapters/integration.h"
#include "policy/policy_gate.h"

namespace shiplog::adapters::argo {
namespace {

using nlohmann::json;

constexpr char kCanaryPath[] = "/v1/argo/canary";
constexpr char kAnalysisRunsPath[] = "/v1/argo/analysisruns";

// The rule of the policy in force that judges canary weights, with its phases.
struct CanaryRule {
  std::string id;
  std::string name;
  std::vector<policy::CanaryPhase> phases;
};

std::optional<CanaryRule> FindCanaryRule(const policy::Policy& policy) {
  for (const policy::Rule& rule : policy.rules) {
    for (const policy::Requirement& r : rule.require) {
      if (r.type == policy::Requirement::Type::kCanary) {
        return CanaryRule{rule.id, rule.name, r.phases};
      }
    }
  }
  return std::nullopt;
}

// The first phase's weight above `current`; nullopt when the canary is at the last phase.
std::optional<uint32_t> NextWeight(const CanaryRule& rule, uint32_t current) {
  for (const policy::CanaryPhase& phase : rule.phases) {
    if (phase.weight > current) return phase.weight;
  }
  return std::nullopt;
}

// The weight of the deployment's latest traffic.shifted (0 when none): what the policy's fold
// holds as its canary weight. Denied shifts are policy.denied records, so not counted.
Result<uint32_t> CurrentWeight(const Ledger& ledger, const std::string& deployment) {
  QueryFilter filter;
  filter.deployment = deployment;
  filter.kind = "traffic.shifted";
  std::optional<uint64_t> latest;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&latest](uint64_t seq) {
    latest = seq;
    return true;
  }));
  if (!latest) return 0u;
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(*latest));
  return record.event.ToJson().value("weight", 0u);
}

struct CanaryQuery {
  std::string deployment;
  std::optional<uint32_t> weight;
};

Result<CanaryQuery> CanaryQueryOf(const Request& request) {
  SHIPLOG_RETURN_IF_ERROR(OnlyParams(request, {"deployment", "weight"}));
  CanaryQuery query;
  query.deployment = request.Param("deployment").value_or("");
  if (query.deployment.empty()) {
    return Status::InvalidArgument(
        "parameter deployment is required: the shiplog deployment the rollout deploys");
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> weight, UintParam(request, "weight"));
  if (weight && *weight > 100) {
    return Status::InvalidArgument("parameter weight is a percentage, 0 to 100, not " +
                                   std::to_string(*weight));
  }
  if (weight) query.weight = static_cast<uint32_t>(*weight);
  return query;
}

// A 200 denial when there is no weight to judge: Argo must see a Failure, not an Error.
Response NoWeightToJudge(json answer, const std::string& rule, const std::string& name,
                         const std::string& message) {
  answer["allowed"] = false;
  answer["weight"] = nullptr;
  answer["reasons"] = json::array({{{"rule", rule}, {"name", name}, {"message", message}}});
  answer["evidence"] = json::array();
  Response r = JsonResponse(200, answer);
  r.log_note = "no next weight";
  return r;
}

// The traffic.shifted the provider asks about, unsigned: DecideAsOwner judges it as a role that
// may emit it, whoever that is.
Result<Event> ShiftIntent(const std::string& deployment, uint32_t weight) {
  auto intent = Event::FromJson({{"kind", "traffic.shifted"},
                                 {"id", "argo-canary"},
                                 {"actor", "argo-rollouts"},
                                 {"deployment", deployment},
                                 {"weight", weight}});
  if (!intent.ok()) return intent.status().Prefixed("parameter deployment");
  return intent;
}

void Decide(ServerState& state, Event intent, json answer, const Respond& respond) {
  DecideAsOwner(state, std::move(intent),
                [respond, answer = std::move(answer)](Result<policy::Decision> decision) {
                  AnswerGuarded(respond, "a canary decision", [&] {
                    if (!decision.ok()) return respond(ErrorResponse(decision.status()));
                    json body = decision->ToJson();
                    body.update(answer);
                    Response r = JsonResponse(200, body);
                    r.log_note = decision->allowed ? "would allow" : "would deny";
                    respond(std::move(r));
                  });
                });
}

// Picks the weight to judge (the one asked, or the canary rule's next phase) and asks for the
// decision. The latest traffic.shifted is a few index reads, so this runs on the I/O thread.
void CanaryDecision(ServerState& state, const Request& request, const Respond& respond) {
  std::shared_ptr<const policy::Policy> policy = PolicyInForce(state);
  if (!policy) return respond(ErrorResponse(409, "no_policy", "this ledger enforces no policy"));
  auto query = CanaryQueryOf(request);
  if (!query.ok()) return respond(ErrorResponse(query.status()));
  auto current = CurrentWeight(state.ledger, query->deployment);
  if (!current.ok()) return respond(ErrorResponse(current.status()));
  json answer = {{"deployment", query->deployment}, {"current_weight", *current}};
  std::optional<uint32_t> weight = query->weight;
  if (!weight) {
    std::optional<CanaryRule> rule = FindCanaryRule(*policy);
    if (!rule) {
      return respond(NoWeightToJudge(answer, "canary", "no-canary-rule",
                                     "the policy in force has no canary rule, so no next weight: "
                                     "give weight=W to judge a shift to W%"));
    }
    weight = NextWeight(*rule, *current);
    if (!weight) {
      return respond(NoWeightToJudge(answer, rule->id, rule->name,
                                     "deployment " + query->deployment + " is at " +
                                         std::to_string(*current) + "%, the last phase of " +
                                         rule->id + ": there is no next weight to judge"));
    }
  }
  answer["weight"] = *weight;
  auto intent = ShiftIntent(query->deployment, *weight);
  if (!intent.ok()) return respond(ErrorResponse(intent.status()));
  Decide(state, std::move(intent).value(), std::move(answer), respond);
}

Status CheckBodyType(const Request& request) {
  const std::string& type = request.content_type;
  if (type.empty() || type == kJson || type == "application/yaml" || type == "application/x-yaml" ||
      type == "text/yaml" || type == "text/plain") {
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "an AnalysisRun is sent as application/json or application/yaml, not " + type);
}

void PinAnalysisRun(ServerState& state, const Request& request, const Respond& respond) {
  // Appends wait until the ledger has verified, as a submitted event does.
  if (!AppendsOpen(state).ok()) return respond(NotReady(state));
  Status type = CheckBodyType(request);
  if (!type.ok()) return respond(ErrorResponse(type));
  // The body is within the server's limit already.
  auto run = ReadAnalysisRun(request.body, request.body.size());
  if (!run.ok()) return respond(ErrorResponse(run.status()));
  if (auto policy = PolicyInForce(state)) StepFromNamespace(*policy, *run);
  SubmitAsServer(state, GateResultEvent(*run), [respond](Result<Receipt> receipt) {
    AnswerGuarded(respond, "a pinned AnalysisRun", [&] {
      if (!receipt.ok()) return respond(ErrorResponse(receipt.status()));
      Response r = JsonResponse(200, receipt->ToJson());
      r.log_note = "seq " + std::to_string(receipt->seq) + (receipt->duplicate ? " (repeat)" : "");
      respond(std::move(r));
    });
  });
}

}  // namespace

bool RouteArgo(ServerState& state, const Request& request, const Respond& respond) {
  const std::string& path = request.path;
  const char* method = path == kCanaryPath ? "GET" : path == kAnalysisRunsPath ? "POST" : nullptr;
  if (method == nullptr) return false;
  if (request.method != method) {
    respond(ErrorResponse(405, "method_not_allowed",
                          path + " takes " + method + ", not " + request.method));
  } else if (path == kCanaryPath) {
    CanaryDecision(state, request, respond);
  } else {
    PinAnalysisRun(state, request, respond);
  }
  return true;
}

}  // namespace shiplog::adapters::argo
