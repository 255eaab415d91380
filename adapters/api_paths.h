// The pieces of the read API's paths that more than one part of the server takes apart: the routes
// that answer them and the read-access check that decides who may ask (read_access.cc). Spelled
// once, so the two never disagree about which path is which.
#pragma once

#include <string_view>

namespace shiplog::adapters {

// /v1/deployments/{id}, {id}/timeline, {id}/bundle; /v1/records/{seq}/attestation.
inline constexpr std::string_view kDeploymentsPrefix = "/v1/deployments/";
inline constexpr std::string_view kTimelineSuffix = "/timeline";
inline constexpr std::string_view kBundleSuffix = "/bundle";
inline constexpr std::string_view kRecordsPrefix = "/v1/records/";
inline constexpr std::string_view kAttestationSuffix = "/attestation";

}  // namespace shiplog::adapters
