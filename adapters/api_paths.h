// The read API's paths with parameters in them, taken apart in one place for every part of the
// server that reads them: the routes that answer them and the read-access check that decides who
// may ask (read_access.cc), so the two never disagree about which path names what.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shiplog::adapters {

inline constexpr std::string_view kDeploymentsPrefix = "/v1/deployments/";

// What a path under /v1/deployments/ names: {id}, {id}/timeline or {id}/bundle.
struct DeploymentPath {
  enum class View { kState, kTimeline, kBundle };
  std::string id;
  View view = View::kState;
};

// nullopt for a path outside /v1/deployments/, or whose {id} is empty or holds a '/'.
std::optional<DeploymentPath> ParseDeploymentPath(const std::string& path);

// The {seq} of /v1/records/{seq}/attestation as it was written (not empty); nullopt for any other
// path.
std::optional<std::string> AttestationSeqText(const std::string& path);

// A record's seq written in a path: nullopt unless it is 1 to 19 decimal digits.
std::optional<uint64_t> ParseSeq(const std::string& text);

}  // namespace shiplog::adapters
