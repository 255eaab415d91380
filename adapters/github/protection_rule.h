// POST /v1/github/deployment-protection-rule: GitHub's `deployment_protection_rule` webhook.
//
// A GitHub App subscribed to "Deployment protection rule" sends a delivery when a workflow job
// reaches an environment the App guards. shiplog:
//   1. checks X-Hub-Signature-256 (401, nothing recorded, when it does not match);
//   2. ignores (200) other events (ping) and other actions;
//   3. finds the shiplog deployment: the latest accepted deploy.requested whose `source` is
//      {repository: repository.full_name, commit: deployment.sha};
//   4. maps the GitHub environment to the policy's environment and its step (environments:
//      github_environments), and asks the policy whether that step may start in that deployment
//      (DecideAsOwner on a step.started); an unmapped environment or no deployment is a
//      rejection, never an approval;
//   5. records the decision as enforcement.decided, event id "github-delivery:<X-GitHub-Delivery>",
//      signed by the server's integration key; a redelivery records nothing new;
//   6. answers 202 with the decision once it is durable (200 with duplicate=true for a
//      redelivery), and hands the review to the background poster (review_poster.h), which posts
//      the recorded decision to deployment_callback_url as the App's installation.
#pragma once

#include "adapters/http.h"
#include "adapters/routes.h"

namespace shiplog::adapters::github {

inline constexpr char kProtectionRulePath[] = "/v1/github/deployment-protection-rule";
inline constexpr char kEnforcementPoint[] = "github-deployment-protection-rule";

void AnswerProtectionRule(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters::github
