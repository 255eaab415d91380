// GitHub's REST API as a GitHub App installation reaches it: the API base (api.github.com, or a
// GitHub Enterprise Server's /api/v3, or a test's double), installation tokens minted with the
// App's JWT and cached, and authenticated POSTs.
//
// Failures are split by what a caller should do about them: kInternal when trying again later
// may work (the network, a 5xx, a 429, a reply that made no sense), anything else when it will
// not (GitHub refused the request: 403, 404, 422, ...; kUnknownKey for a 401, credentials
// GitHub does not take).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "adapters/github/app_jwt.h"
#include "adapters/http_client.h"
#include "ledger/status.h"

namespace shiplog::adapters::github {

// GitHub's documented REST API version and media type, sent with every call.
inline constexpr char kApiVersion[] = "2022-11-28";
inline constexpr char kMediaType[] = "application/vnd.github+json";

// True when a failed call may succeed if tried again (see the top of this file).
inline bool Retryable(const Status& status) { return status.code() == StatusCode::kInternal; }

// Which GitHub, and how to talk to it.
struct ApiEndpoint {
  std::string base;     // "https://api.github.com": every API URL starts with it
  ServerUrl url;        // `base` parsed
  std::string ca_file;  // "" = the system's CAs
  std::chrono::milliseconds timeout{10000};
};
// `base` without a trailing '/'; kInvalidArgument naming it when it is not an http(s) URL.
Result<ApiEndpoint> ParseApiEndpoint(const std::string& base, const std::string& ca_file);

// The target under `api` that `url` names ("/repos/o/r/actions/runs/1/deployment_protection_rule"
// for "https://api.github.com/repos/o/r/..."). kInvalidArgument unless `url` starts with the API
// base followed by '/', and holds only URL characters: shiplog sends its installation token to
// no other host.
Result<std::string> TargetUnderApi(const ApiEndpoint& api, const std::string& url);

// Installation tokens for one App: minted with `POST /app/installations/{id}/access_tokens`
// (authenticated by a fresh App JWT) and reused until shortly before their expires_at. Safe to
// call from many threads.
class InstallationTokens {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;
  // A token with less than this left is replaced: GitHub may take a while to answer a post made
  // with it, and clocks drift.
  static constexpr std::chrono::minutes kRefreshMargin{5};

  InstallationTokens(ApiEndpoint api, std::string app_id, AppKey key,
                     Now now = std::chrono::system_clock::now);

  // A token for installation `installation_id`.
  Result<std::string> Get(int64_t installation_id);
  // Drops the cached token (GitHub answered 401 to it: revoked or expired early).
  void Forget(int64_t installation_id);
  uint64_t minted() const;

  const ApiEndpoint& api() const { return api_; }

 private:
  struct Cached {
    std::string token;
    std::chrono::system_clock::time_point expires_at;
  };
  Result<Cached> Mint(int64_t installation_id);

  const ApiEndpoint api_;
  const std::string app_id_;
  const AppKey key_;
  const Now now_;
  mutable std::mutex mu_;
  std::map<int64_t, Cached> cache_;  // GUARDED_BY(mu_)
  uint64_t minted_ = 0;              // GUARDED_BY(mu_)
};

// POSTs `body` (JSON) to `target` under the API with `Authorization: Bearer <token>`; the reply
// when GitHub answered 2xx, else a Status as above naming the status GitHub answered.
Result<HttpReply> PostJson(const ApiEndpoint& api, const std::string& target,
                           const std::string& token, const nlohmann::json& body);

}  // namespace shiplog::adapters::github
