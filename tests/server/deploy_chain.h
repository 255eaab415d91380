// One deployment of the default pack carried through its chain, for the integration tests that
// need the ledger to hold an allowed start (admission, GitHub's protection rule, the CLI's
// timeline and replay tests): the events in the order the policy allows them, sent by whatever
// way the test appends.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace shiplog::testing {

// Appends `event` (no actor, no deployment) as `agent` to the deployment being walked.
using SubmitAs = std::function<void(const std::string& agent, nlohmann::json event)>;

// The agents (name -> roles) that walk a deployment of the default pack to an allowed production
// start, with "rm" to waive R10's soak where a test cannot wait for it.
inline std::map<std::string, std::vector<std::string>> ChainAgents() {
  return {{"leon", {"coordinator"}},     {"marta", {"merge-approver"}},  {"ci-bot", {"ci"}},
          {"thijmen", {"k8s-operator"}}, {"rutger", {"production-ops"}}, {"otto", {"backup"}},
          {"rm", {"release-manager"}}};
}

// A deploy.requested of `app` at `image` to production through orchestrate, build, staging and
// production (low risk, no infrastructure change).
inline nlohmann::json ChainRequest(const std::string& app, const std::string& image) {
  return {{"kind", "deploy.requested"},
          {"app", app},
          {"environment", "production"},
          {"version", "1.4.2"},
          {"image", image},
          {"strategy", "rolling"},
          {"risk", "low"},
          {"planned_steps", {"orchestrate", "build", "staging", "production"}}};
}

// `request`, the merge approved (marta), orchestrate (leon) and build (ci-bot) started and READY,
// the image's scan passed (ci-bot) and staging started (thijmen): the default pack allows each.
inline void WalkToStagingStart(const SubmitAs& as, const nlohmann::json& request) {
  const std::string image = request.at("image");
  as("leon", request);
  as("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  for (const auto& [agent, step] : std::vector<std::pair<std::string, std::string>>{
           {"leon", "orchestrate"}, {"ci-bot", "build"}}) {
    as(agent, {{"kind", "step.started"}, {"step", step}});
    as(agent, {{"kind", "step.reported"}, {"step", step}, {"status", "READY"}});
  }
  as("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", image}});
  as("thijmen", {{"kind", "step.started"}, {"step", "staging"}});
}

}  // namespace shiplog::testing
