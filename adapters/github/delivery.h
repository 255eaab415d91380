// A `deployment_protection_rule` delivery as shiplog reads it, and the review it answers with.
//
// GitHub sends the delivery when a workflow job reaches an environment guarded by the App's
// protection rule (payload shape: tests/../shared/vectors/integrations.md, section 1). shiplog
// answers with a review: `POST deployment_callback_url` with {"environment_name", "state":
// "approved" | "rejected", "comment"}.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace shiplog::adapters::github {

// What shiplog needs of a delivery's body.
struct ProtectionRuleDelivery {
  std::string action;           // "requested" (the only one GitHub documents)
  std::string environment;      // the GitHub environment; sent back as environment_name
  std::string callback_url;     // deployment_callback_url
  std::string repository;       // repository.full_name, "OWNER/REPO"
  std::string sha;              // deployment.sha, the commit being deployed
  int64_t installation_id = 0;  // installation.id: whose token answers
  // "OWNER/REPO@SHA", as deploy.requested's source is indexed (QueryFilter::source).
  std::string Source() const { return repository + "@" + sha; }
};

// Parses a delivery's body. kInvalidArgument naming the field that is missing or malformed.
// A body whose action is not "requested" parses (its other fields unchecked): the caller
// ignores it.
Result<ProtectionRuleDelivery> ParseProtectionRuleDelivery(std::string_view body);

// What shiplog decided for a delivery (and recorded): the review is built from this alone.
struct ReviewVerdict {
  bool allowed = false;
  std::string deployment;   // the shiplog deployment judged; "" when none was found
  std::string step;         // the step the environment maps to; "" when unmapped
  nlohmann::json decision;  // {"allowed", "reasons": [{"rule", "name", "message"}...]}
};

// GitHub renders a review comment as Markdown and takes at most this many characters.
inline constexpr size_t kMaxCommentBytes = 1024;

// The comment: the verdict, each reason (rule, name, message) and a link to the deployment's
// timeline under `public_url`. Text from events and payloads is made inert (no controls, no
// Markdown links, images, HTML or emphasis); reasons that do not fit in kMaxCommentBytes are
// counted instead of shown, and the link is always kept.
std::string ReviewComment(const ProtectionRuleDelivery& delivery, const ReviewVerdict& verdict,
                          const std::string& public_url);

// The review's body: {"environment_name", "state", "comment"}.
nlohmann::json ReviewBody(const ProtectionRuleDelivery& delivery, const ReviewVerdict& verdict,
                          const std::string& public_url);

// The link to a deployment's timeline page: PUBLIC_URL/v1/deployments/ID/timeline?format=html,
// ID percent-encoded.
std::string TimelineUrl(const std::string& public_url, const std::string& deployment);

}  // namespace shiplog::adapters::github
