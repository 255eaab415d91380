#include "adapters/kubernetes/admission.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "adapters/integration.h"
#include "ledger/index.h"
#include "policy/engine.h"

namespace shiplog::adapters {
namespace {

using nlohmann::json;

constexpr char kAdmissionApiVersion[] = "admission.k8s.io/v1";

// The rule ids of an admission denial that no policy rule names.
constexpr char kRuleStepAllowed[] = "admission";  // no allowed start of the step with the digest
constexpr char kRuleRolledBack[] = "admission-rolled-back";

// A string member of `object`, or kInvalidArgument naming `path` when it is there but not one.
Result<std::string> OptionalString(const json& object, const char* key, const std::string& path) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Status::InvalidArgument(path + " must be a string");
  return it->get<std::string>();
}

// `object[key]` as an object (an empty one when absent).
Result<const json*> OptionalObject(const json& object, const char* key, const std::string& path) {
  static const json kEmpty = json::object();
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return &kEmpty;
  if (!it->is_object()) return Status::InvalidArgument(path + " must be an object");
  return &*it;
}

// The pod spec inside a workload `kind`: where each kind that runs pods keeps its template.
// nullptr path: the kind holds none shiplog knows.
const std::vector<const char*>* PodSpecPath(const std::string& kind) {
  static const std::vector<const char*> kPod = {"spec"};
  static const std::vector<const char*> kTemplate = {"spec", "template", "spec"};
  static const std::vector<const char*> kCronJob = {"spec", "jobTemplate", "spec", "template",
                                                    "spec"};
  if (kind == "Pod") return &kPod;
  if (kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet" ||
      kind == "DaemonSet" || kind == "Job" || kind == "ReplicationController" ||
      kind == "Rollout") {
    return &kTemplate;
  }
  if (kind == "CronJob") return &kCronJob;
  return nullptr;
}

// Every image of a pod spec's containers, initContainers and ephemeralContainers.
Status CollectImages(const json& pod_spec, const std::string& where,
                     std::vector<AdmittedImage>& images) {
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    auto it = pod_spec.find(list);
    if (it == pod_spec.end() || it->is_null()) continue;
    const std::string path = where + "." + list;
    if (!it->is_array()) return Status::InvalidArgument(path + " must be a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& container = (*it)[i];
      const std::string at = path + "[" + std::to_string(i) + "]";
      if (!container.is_object()) return Status::InvalidArgument(at + " must be an object");
      SHIPLOG_ASSIGN_OR_RETURN(std::string name, OptionalString(container, "name", at + ".name"));
      SHIPLOG_ASSIGN_OR_RETURN(std::string image,
                               OptionalString(container, "image", at + ".image"));
      if (image.empty()) return Status::InvalidArgument(at + " has no image");
      images.push_back({std::string(list) + "[" + (name.empty() ? std::to_string(i) : name) + "]",
                        std::move(image)});
    }
  }
  return Status::Ok();
}

// The images of the object under review. A Rollout that points at a Deployment (workloadRef)
// holds no template of its own: the Deployment is reviewed when it is applied.
Status ImagesOf(const json& object, const std::string& kind, std::vector<AdmittedImage>& images) {
  const std::vector<const char*>* path = PodSpecPath(kind);
  if (path == nullptr) {
    return Status::InvalidArgument(
        "kind '" + kind +
        "' holds no pod template shiplog judges (Pod, Deployment, ReplicaSet, StatefulSet, "
        "DaemonSet, Job, CronJob, ReplicationController, Rollout): check the webhook's rules");
  }
  const json* at = &object;
  std::string where = "request.object";
  for (const char* key : *path) {
    where += std::string(".") + key;
    auto it = at->find(key);
    if (it == at->end() || it->is_null()) {
      if (kind == "Rollout" && object.contains("spec") && object["spec"].is_object() &&
          object["spec"].contains("workloadRef")) {
        return Status::Ok();
      }
      return Status::InvalidArgument(where + " is missing (a " + kind + " needs its pod " +
                                     (kind == "Pod" ? "spec" : "template") + ")");
    }
    if (!it->is_object()) return Status::InvalidArgument(where + " must be an object");
    at = &*it;
  }
  return CollectImages(*at, where, images);
}

// The environment guarding the review's namespace.
Result<const policy::EnvironmentBinding*> GuardOf(const policy::Policy& policy,
                                                  const std::string& ns,
                                                  const std::optional<std::string>& environment) {
  if (environment) {
    const policy::EnvironmentBinding* named = policy.FindEnvironment(*environment);
    if (named == nullptr) {
      return Status::InvalidArgument("environment '" + *environment +
                                     "' (/v1/admission/ENVIRONMENT) is not declared in the "
                                     "policy's environments");
    }
    return named;
  }
  return policy.EnvironmentForNamespace(ns);
}

// The sequence numbers of deployment `id`'s records, in order.
Result<std::vector<uint64_t>> DeploymentSeqs(const Ledger& ledger, const std::string& id) {
  QueryFilter filter;
  filter.deployment = id;
  std::vector<uint64_t> seqs;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&](uint64_t seq) {
    seqs.push_back(seq);
    return true;
  }));
  return seqs;
}

// True when deployment `id` has a rollback record (started or completed). Rollbacks are rare,
// so each rollback kind's index is read only over the deployment's span of sequence numbers:
// two seeks, rather than a point lookup per record of the deployment and kind.
Result<bool> RolledBack(const Ledger& ledger, const std::string& id) {
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, DeploymentSeqs(ledger, id));
  if (seqs.empty()) return false;
  bool found = false;
  for (const char* kind : {"rollback.started", "rollback.completed"}) {
    QueryFilter filter;
    filter.kind = kind;
    filter.from_seq = seqs.front();
    filter.to_seq = seqs.back();
    SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&](uint64_t seq) {
      found = std::binary_search(seqs.begin(), seqs.end(), seq);
      return !found;
    }));
    if (found) return true;
  }
  return false;
}

// Judges one pinned image against the ledger: the deployment whose allowed start of `step`
// admits it, or the reason none does.
Result<std::variant<std::string, AdmissionReason>> JudgeDigest(const Ledger& ledger,
                                                               const std::string& image,
                                                               const std::string& step) {
  // The digest's records are few (its request, gates, starts and reports): each is read, rather
  // than looked up in the kind index first.
  QueryFilter filter;
  filter.image = std::string(ImageDigest(image));
  std::vector<uint64_t> records;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&](uint64_t seq) {
    records.push_back(seq);
    return true;
  }));
  std::string rolled_back, other_steps;
  // The newest start first: the deployment that most recently applied the digest.
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(*it));
    auto body = record.event.reader().getBody();
    if (!body.isStepStarted()) continue;  // a denied start is a policy.denied record
    const std::string deployment(record.event.deployment());
    const auto started_text = body.getStepStarted().getStep();
    const std::string started(started_text.cStr(), started_text.size());
    if (started != step) {
      if (other_steps.find("'" + started + "'") == std::string::npos) {
        other_steps +=
            (other_steps.empty() ? "'" : ", '") + started + "' (deployment " + deployment + ")";
      }
      continue;
    }
    SHIPLOG_ASSIGN_OR_RETURN(bool rolled, RolledBack(ledger, deployment));
    if (!rolled) return std::variant<std::string, AdmissionReason>(deployment);
    if (rolled_back.empty()) rolled_back = deployment;
  }
  AdmissionReason reason;
  if (!rolled_back.empty()) {
    reason.rule = kRuleRolledBack;
    reason.deployment = rolled_back;
    reason.message = "image " + image + " was started for step '" + step + "' only by deployment " +
                     rolled_back + ", which has been rolled back";
  } else {
    reason.rule = kRuleStepAllowed;
    reason.message =
        "the ledger holds no allowed start of step '" + step + "' with digest " + filter.image;
    if (!other_steps.empty()) reason.message += "; it was allowed only for step " + other_steps;
  }
  return std::variant<std::string, AdmissionReason>(std::move(reason));
}

// What of the review shiplog reads, checked.
struct ReviewRequest {
  std::string uid, kind, ns, name, operation;
  bool dry_run = false;
  const json* object = nullptr;
};

Result<ReviewRequest> ReadReview(const json& review) {
  if (!review.is_object())
    return Status::InvalidArgument("the body must be an AdmissionReview object");
  SHIPLOG_ASSIGN_OR_RETURN(std::string api, OptionalString(review, "apiVersion", "apiVersion"));
  SHIPLOG_ASSIGN_OR_RETURN(std::string kind, OptionalString(review, "kind", "kind"));
  if (kind != "AdmissionReview" || api != kAdmissionApiVersion) {
    return Status::InvalidArgument(std::string("expected an AdmissionReview of apiVersion ") +
                                   kAdmissionApiVersion + ", got kind '" + kind + "' apiVersion '" +
                                   api + "'");
  }
  auto request = review.find("request");
  if (request == review.end() || !request->is_object()) {
    return Status::InvalidArgument("the AdmissionReview has no request object");
  }
  ReviewRequest out;
  SHIPLOG_ASSIGN_OR_RETURN(out.uid, OptionalString(*request, "uid", "request.uid"));
  if (out.uid.empty()) return Status::InvalidArgument("request.uid is missing");
  SHIPLOG_ASSIGN_OR_RETURN(out.operation,
                           OptionalString(*request, "operation", "request.operation"));
  if (out.operation.empty()) return Status::InvalidArgument("request.operation is missing");
  SHIPLOG_ASSIGN_OR_RETURN(out.ns, OptionalString(*request, "namespace", "request.namespace"));
  SHIPLOG_ASSIGN_OR_RETURN(out.name, OptionalString(*request, "name", "request.name"));
  SHIPLOG_ASSIGN_OR_RETURN(const json* kind_of, OptionalObject(*request, "kind", "request.kind"));
  SHIPLOG_ASSIGN_OR_RETURN(out.kind, OptionalString(*kind_of, "kind", "request.kind.kind"));
  auto dry_run = request->find("dryRun");
  if (dry_run != request->end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return Status::InvalidArgument("request.dryRun must be a boolean");
    out.dry_run = dry_run->get<bool>();
  }
  auto object = request->find("object");
  if (object != request->end() && !object->is_null()) {
    if (!object->is_object()) return Status::InvalidArgument("request.object must be an object");
    out.object = &*object;
    if (out.kind.empty()) {
      SHIPLOG_ASSIGN_OR_RETURN(out.kind, OptionalString(*object, "kind", "request.object.kind"));
    }
    SHIPLOG_ASSIGN_OR_RETURN(const json* metadata,
                             OptionalObject(*object, "metadata", "request.object.metadata"));
    if (out.name.empty()) {
      SHIPLOG_ASSIGN_OR_RETURN(out.name,
                               OptionalString(*metadata, "name", "request.object.metadata.name"));
      if (out.name.empty()) {
        SHIPLOG_ASSIGN_OR_RETURN(out.name, OptionalString(*metadata, "generateName",
                                                          "request.object.metadata.generateName"));
      }
    }
    if (out.ns.empty()) {
      SHIPLOG_ASSIGN_OR_RETURN(
          out.ns, OptionalString(*metadata, "namespace", "request.object.metadata.namespace"));
    }
  }
  if (out.kind.empty()) return Status::InvalidArgument("request.kind.kind is missing");
  return out;
}

}  // namespace

std::string AdmissionVerdict::Message() const {
  if (environment.empty()) return "shiplog: namespace not guarded by any environment of the policy";
  if (allowed) {
    std::string message = "shiplog: allowed " + subject + " in environment " + environment;
    if (!deployments.empty()) {
      message += " (deployment";
      for (size_t i = 0; i < deployments.size(); ++i) {
        message += (i == 0 ? " " : ", ") + deployments[i];
      }
      message += ")";
    }
    return message;
  }
  std::string message =
      "shiplog denied " + subject + " in environment " + environment + " (step " + step + "):";
  for (size_t i = 0; i < reasons.size(); ++i) {
    message += std::string(i == 0 ? " " : "; ") + "[" + reasons[i].rule + "] " + reasons[i].message;
    if (!reasons[i].deployment.empty()) message += " (deployment " + reasons[i].deployment + ")";
  }
  return message;
}

json AdmissionVerdict::ToReview() const {
  json response = {{"uid", uid}, {"allowed", allowed}};
  if (allowed) {
    response["status"] = {{"code", 200}, {"message", Message()}};
  } else {
    response["status"] = {{"code", 403}, {"reason", "Forbidden"}, {"message", Message()}};
  }
  return {
      {"apiVersion", kAdmissionApiVersion}, {"kind", "AdmissionReview"}, {"response", response}};
}

json AdmissionVerdict::DecisionJson() const {
  json out = {{"allowed", allowed}, {"reasons", json::array()}};
  for (const AdmissionReason& r : reasons) {
    json reason = {{"rule", r.rule}, {"message", r.message}};
    if (!r.deployment.empty()) reason["deployment"] = r.deployment;
    out["reasons"].push_back(std::move(reason));
  }
  return out;
}

Result<AdmissionVerdict> JudgeAdmission(const Ledger& ledger, const policy::Policy& policy,
                                        const json& review,
                                        const std::optional<std::string>& environment) {
  SHIPLOG_ASSIGN_OR_RETURN(ReviewRequest request, ReadReview(review));
  AdmissionVerdict verdict;
  verdict.uid = request.uid;
  verdict.dry_run = request.dry_run;
  verdict.operation = request.operation;
  verdict.subject = request.kind + " " + (request.ns.empty() ? "" : request.ns + "/") +
                    (request.name.empty() ? "(unnamed)" : request.name);
  SHIPLOG_ASSIGN_OR_RETURN(const policy::EnvironmentBinding* guard,
                           GuardOf(policy, request.ns, environment));
  // Deletes and connects start nothing; the webhook's rules should not send them at all.
  if (request.operation != "CREATE" && request.operation != "UPDATE") return verdict;
  if (request.object == nullptr) {
    return Status::InvalidArgument("request.object is missing for a " + request.operation);
  }
  SHIPLOG_RETURN_IF_ERROR(ImagesOf(*request.object, request.kind, verdict.images));
  if (guard == nullptr) return verdict;
  verdict.environment = guard->name;
  verdict.step = guard->step;
  for (const AdmittedImage& image : verdict.images) {
    if (!policy::IsPinnedDigest(image.image)) {
      verdict.reasons.push_back({"R9",
                                 image.container + ": image " + image.image +
                                     " is not pinned by digest (repo@sha256:<64 hex>)",
                                 ""});
      continue;
    }
    SHIPLOG_ASSIGN_OR_RETURN(auto judged, JudgeDigest(ledger, image.image, guard->step));
    if (auto* deployment = std::get_if<std::string>(&judged)) {
      if (std::find(verdict.deployments.begin(), verdict.deployments.end(), *deployment) ==
          verdict.deployments.end()) {
        verdict.deployments.push_back(*deployment);
      }
    } else {
      AdmissionReason reason = std::get<AdmissionReason>(std::move(judged));
      reason.message = image.container + ": " + reason.message;
      verdict.reasons.push_back(std::move(reason));
    }
  }
  verdict.allowed = verdict.reasons.empty();
  return verdict;
}

namespace {

// The enforcement.decided that records a denial.
json DenialEvent(const AdmissionVerdict& verdict) {
  json event = {{"kind", "enforcement.decided"},
                {"id", "admission:" + verdict.uid},
                {"point", "kubernetes-admission"},
                {"request", verdict.uid},
                {"subject", verdict.subject},
                {"environment", verdict.environment},
                {"step", verdict.step},
                {"allowed", verdict.allowed},
                {"decision", DumpJson(verdict.DecisionJson())}};
  json images = json::array();
  for (const AdmittedImage& image : verdict.images) images.push_back(image.image);
  event["images"] = std::move(images);
  for (const AdmissionReason& reason : verdict.reasons) {
    if (!reason.deployment.empty()) {
      event["deployment"] = reason.deployment;
      break;
    }
  }
  return event;
}

}  // namespace

void AnswerAdmission(ServerState& state, const Request& request, const Respond& respond) {
  auto policy = PolicyInForce(state);
  if (policy == nullptr) {
    return respond(ErrorResponse(
        Status::FailedPrecondition("this ledger enforces no policy: nothing to admit by")));
  }
  auto parsed = ParseJsonText(request.body, request.body.size());  // size: the server's limit
  if (!parsed.ok()) return respond(ErrorResponse(parsed.status().Prefixed("the body")));
  std::optional<std::string> environment;
  constexpr std::string_view kPrefix = "/v1/admission/";
  if (request.path.size() > kPrefix.size()) environment = request.path.substr(kPrefix.size());
  auto verdict = JudgeAdmission(state.ledger, *policy, *parsed, environment);
  if (!verdict.ok()) return respond(ErrorResponse(verdict.status()));
  Response answer = JsonResponse(200, verdict->ToReview());
  answer.log_note = std::string(verdict->allowed ? "admitted " : "refused ") + verdict->subject +
                    (verdict->dry_run ? " (dry run)" : "");
  if (verdict->allowed || verdict->dry_run) return respond(std::move(answer));
  if (state.options.integration == nullptr) {
    spdlog::warn("admission denial of {} not recorded: the server has no --integration-key",
                 verdict->subject);
    return respond(std::move(answer));
  }
  // The cluster learns of the denial only once the ledger holds it.
  SubmitAsServer(state, DenialEvent(*verdict),
                 [respond, answer = std::move(answer)](Result<Receipt> receipt) mutable {
                   if (!receipt.ok() && receipt.status().code() != StatusCode::kConflict) {
                     spdlog::error("admission denial not recorded: {}",
                                   receipt.status().ToString());
                   } else if (receipt.ok()) {
                     answer.log_note += " seq " + std::to_string(receipt->seq);
                   }
                   respond(std::move(answer));
                 });
}

}  // namespace shiplog::adapters
