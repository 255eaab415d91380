#include "adapters/api_paths.h"

namespace shiplog::adapters {
namespace {

constexpr std::string_view kTimelineSuffix = "/timeline";
constexpr std::string_view kBundleSuffix = "/bundle";
constexpr std::string_view kRecordsPrefix = "/v1/records/";
constexpr std::string_view kAttestationSuffix = "/attestation";

// Removes `suffix` from the end of `text` when something is left before it.
bool StripSuffix(std::string& text, std::string_view suffix) {
  if (text.size() <= suffix.size() ||
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  text.resize(text.size() - suffix.size());
  return true;
}

}  // namespace

std::optional<DeploymentPath> ParseDeploymentPath(const std::string& path) {
  if (path.compare(0, kDeploymentsPrefix.size(), kDeploymentsPrefix) != 0) return std::nullopt;
  DeploymentPath parsed;
  parsed.id = path.substr(kDeploymentsPrefix.size());
  if (StripSuffix(parsed.id, kTimelineSuffix)) {
    parsed.view = DeploymentPath::View::kTimeline;
  } else if (StripSuffix(parsed.id, kBundleSuffix)) {
    parsed.view = DeploymentPath::View::kBundle;
  }
  if (parsed.id.empty() || parsed.id.find('/') != std::string::npos) return std::nullopt;
  return parsed;
}

std::optional<std::string> AttestationSeqText(const std::string& path) {
  if (path.compare(0, kRecordsPrefix.size(), kRecordsPrefix) != 0) return std::nullopt;
  std::string seq = path.substr(kRecordsPrefix.size());
  if (!StripSuffix(seq, kAttestationSuffix)) return std::nullopt;
  return seq;
}

std::optional<uint64_t> ParseSeq(const std::string& text) {
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(text);
}

}  // namespace shiplog::adapters
