// Kubernetes admission: the hard stop. A ValidatingAdmissionWebhook sends every Pod and workload
// created or changed in the cluster here (POST /v1/admission) as an admission.k8s.io/v1
// AdmissionReview; in a namespace the policy guards (its `environments:` section), an image runs
// only when it is pinned by digest and the ledger holds an allowed step.started of that
// environment's step with that digest, in a deployment that has not been rolled back. So a
// production apply without shiplog's allow fails in the cluster, whoever runs it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adapters/routes.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

namespace shiplog::adapters {

// One container image the review asked about.
struct AdmittedImage {
  std::string container;  // "containers[app]", "initContainers[migrate]", ...
  std::string image;
};

// Why an image was refused: a rule id and words a person acts on.
struct AdmissionReason {
  std::string rule;  // "R9" (not pinned), "admission" (no allowed start), ...
  std::string message;
  std::string deployment;  // the deployment the ledger tied the image to, when one was found
};

// What one AdmissionReview asked and what shiplog answers.
struct AdmissionVerdict {
  std::string uid;
  bool allowed = true;
  bool dry_run = false;
  std::string operation;    // CREATE, UPDATE, ...
  std::string subject;      // "Deployment production/checkout"
  std::string environment;  // the policy's environment guarding the namespace; empty: unguarded
  std::string step;
  std::vector<AdmittedImage> images;
  std::vector<AdmissionReason> reasons;  // one per refused image; empty when allowed
  std::vector<std::string> deployments;  // for an allow: the deployment that allowed each image

  // response.status.message: the rule and the deployment for a denial, why for an allow.
  std::string Message() const;
  // The AdmissionReview answer (same uid, allowed, status).
  nlohmann::json ToReview() const;
  // The decision JSON kept in the enforcement.decided record.
  nlohmann::json DecisionJson() const;
};

// Judges `review` (parsed JSON). `environment`, when given (the webhook's path
// /v1/admission/ENVIRONMENT, for a webhook whose namespaceSelector picks the namespaces by the
// environment's label: Kubernetes allows no query string in a webhook's URL), names the policy
// environment instead of the namespace. kInvalidArgument naming what is wrong for a review that is
// not one, or an environment the policy does not declare. Reads the ledger only: a few index
// lookups per image.
Result<AdmissionVerdict> JudgeAdmission(const Ledger& ledger, const policy::Policy& policy,
                                        const nlohmann::json& review,
                                        const std::optional<std::string>& environment);

// POST /v1/admission[/ENVIRONMENT]: judges the request's body, records a denial (unless dryRun) as
// an enforcement.decided signed by the server's integration key, and answers the AdmissionReview.
void AnswerAdmission(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters
