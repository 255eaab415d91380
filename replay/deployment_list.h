// The deployments a ledger holds, newest first, as a reviewer looks for one: each with its
// request (app, environment, version, image, who asked), where it stands and how many denials
// and waivers it saw. The console's list (GET /v1/deployments) reads it.
//
// Read from the indexes, newest first: a page reads the request and denial index entries back to
// its last deployment (at most about twice that far), a few index scans and two record reads per
// deployment on it, whatever the size of the deployments or of the ledger before them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace shiplog::replay {

// Where a deployment stands, from its records.
//   "completed"    its last end is an allowed deploy.completed
//   "rolled back"  its last end is an allowed rollback.completed
//   "denied"       not ended, and its latest record is a denial: it is held at a refused step (a
//                  request refused outright is one)
//   "in progress"  otherwise
inline constexpr const char* kDeploymentStatuses[] = {"in progress", "completed", "rolled back",
                                                      "denied"};

// Which deployments to list. Empty strings match everything.
struct DeploymentListFilter {
  std::string app;          // the request's app (a refused request's own fields count)
  std::string environment;  // likewise
  std::string status;       // one of kDeploymentStatuses
  std::string actor;        // someone who signed one of its records, or whose attempt was denied
  std::optional<Micros> since;  // requested at or after
  std::optional<Micros> until;  // requested before
  std::optional<uint64_t> before_seq;  // requested before this record (the next page)
  size_t limit = 50;
};

struct DeploymentSummary {
  std::string deployment;
  std::string app, environment, version, image;
  std::string requested_by;     // who signed the first request, allowed or refused
  uint64_t requested_seq = 0;   // the deployment's first request
  Micros requested_at = 0;
  std::string status;
  uint64_t last_seq = 0;        // its latest record
  Micros last_at = 0;
  uint64_t denials = 0;
  uint64_t waivers = 0;         // waiver.granted records and intents a waiver allowed
};

struct DeploymentList {
  std::vector<DeploymentSummary> deployments;  // newest request first
  std::optional<uint64_t> next_before_seq;     // unset on the last page
};

// One page of the deployments matching `filter`. kInvalidArgument for an unknown status or a
// limit of 0.
Result<DeploymentList> ListDeployments(const Ledger& ledger, const DeploymentListFilter& filter);

// {"deployments": [{"deployment", "app", "environment", "version", "image", "requested_by",
//   "requested_seq", "requested_at", "status", "last_seq", "last_at", "denials", "waivers"}],
//  "next_before": SEQ (unless the last page)}; times RFC 3339.
nlohmann::json DeploymentListJson(const DeploymentList& list);

}  // namespace shiplog::replay
