#include "adapters/github/github_api.h"

#include <cctype>

#include "ledger/clock.h"
#include "ledger/event.h"
#include "ledger/terminal_text.h"

namespace shiplog::adapters::github {
namespace {

using SystemTime = std::chrono::system_clock::time_point;

// GitHub's answer to a call, as a Status the caller can act on.
Status FromReply(const HttpReply& reply, const std::string& what) {
  std::string said = reply.body.substr(0, 200);
  auto parsed = ParseJsonText(reply.body, reply.body.size());
  if (parsed.ok() && parsed->is_object() && parsed->contains("message") &&
      (*parsed)["message"].is_string()) {
    said = (*parsed)["message"].get<std::string>().substr(0, 200);
  }
  said = TerminalText(said);  // GitHub's words end up in the server's log
  const std::string message = what + ": GitHub answered " + std::to_string(reply.status) +
                              (said.empty() ? "" : ": " + said);
  if (reply.status >= 500 || reply.status == 429) return Status::Internal(message);
  if (reply.status == 401) return Status::UnknownKey(message);
  return Status::Forbidden(message);
}

bool IsUrlCharacter(char c) {
  // RFC 3986's unreserved, reserved and '%' (for escapes); no spaces, controls, quotes or '#'.
  static constexpr std::string_view kOthers = "-._~:/?[]@!$&'()*+,;=%";
  return std::isalnum(static_cast<unsigned char>(c)) || kOthers.find(c) != std::string_view::npos;
}

Result<SystemTime> ParseExpiry(const nlohmann::json& reply) {
  if (!reply.is_object() || !reply.contains("token") || !reply["token"].is_string() ||
      reply["token"].get<std::string>().empty() || !reply.contains("expires_at") ||
      !reply["expires_at"].is_string()) {
    return Status::Internal("GitHub's access_tokens reply has no token and expires_at");
  }
  auto micros = ParseTime(reply["expires_at"].get<std::string>());
  if (!micros.ok()) return micros.status().Prefixed("GitHub's access_tokens reply: expires_at");
  return SystemTime(std::chrono::microseconds(*micros));
}

}  // namespace

Result<ApiEndpoint> ParseApiEndpoint(const std::string& base, const std::string& ca_file) {
  ApiEndpoint api;
  api.base = base;
  while (!api.base.empty() && api.base.back() == '/') api.base.pop_back();
  auto url = ParseServerUrl(api.base);
  if (!url.ok()) return url.status().Prefixed("--github-api");
  api.url = *url;
  api.ca_file = ca_file;
  return api;
}

Result<std::string> TargetUnderApi(const ApiEndpoint& api, const std::string& url) {
  if (url.size() <= api.base.size() + 1 || url.compare(0, api.base.size(), api.base) != 0 ||
      url[api.base.size()] != '/') {
    return Status::InvalidArgument("deployment_callback_url '" + url.substr(0, 300) +
                                   "' is not under the GitHub API " + api.base +
                                   " (serve --github-api)");
  }
  std::string target = url.substr(api.base.size());
  for (char c : target) {
    if (!IsUrlCharacter(c)) {
      return Status::InvalidArgument("deployment_callback_url holds a character a URL may not");
    }
  }
  return target;
}

InstallationTokens::InstallationTokens(ApiEndpoint api, std::string app_id, AppKey key, Now now)
    : api_(std::move(api)),
      app_id_(std::move(app_id)),
      key_(std::move(key)),
      now_(std::move(now)) {}

Result<std::string> InstallationTokens::Get(int64_t installation_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(installation_id);
    if (it != cache_.end() && now_() + kRefreshMargin < it->second.expires_at) {
      return it->second.token;
    }
  }
  // Minted outside the lock: a slow GitHub must not hold up other installations. Two threads
  // may both mint; both tokens are good.
  SHIPLOG_ASSIGN_OR_RETURN(Cached fresh, Mint(installation_id));
  std::lock_guard<std::mutex> lock(mu_);
  ++minted_;
  cache_[installation_id] = fresh;
  return fresh.token;
}

void InstallationTokens::Forget(int64_t installation_id) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(installation_id);
}

uint64_t InstallationTokens::minted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return minted_;
}

Result<InstallationTokens::Cached> InstallationTokens::Mint(int64_t installation_id) {
  SHIPLOG_ASSIGN_OR_RETURN(std::string jwt, MakeAppJwt(key_, app_id_, now_()));
  const std::string target =
      "/app/installations/" + std::to_string(installation_id) + "/access_tokens";
  SHIPLOG_ASSIGN_OR_RETURN(HttpReply reply, PostJson(api_, target, jwt, nlohmann::json::object()));
  auto parsed = ParseJsonText(reply.body, reply.body.size());
  if (!parsed.ok()) return Status::Internal("GitHub's access_tokens reply is not JSON");
  SHIPLOG_ASSIGN_OR_RETURN(SystemTime expires_at, ParseExpiry(*parsed));
  return Cached{(*parsed)["token"].get<std::string>(), expires_at};
}

Result<HttpReply> PostJson(const ApiEndpoint& api, const std::string& target,
                           const std::string& token, const nlohmann::json& body) {
  HttpCall call;
  call.method = "POST";
  call.target = target;
  call.body = body.dump();
  call.content_type = "application/json";
  call.accept = kMediaType;
  call.headers = {{"Authorization", "Bearer " + token}, {"X-GitHub-Api-Version", kApiVersion}};
  call.timeout = api.timeout;
  call.ca_file = api.ca_file;
  call.max_reply_bytes = 1024 * 1024;
  const std::string what = "POST " + api.base + target;
  auto reply = Call(api.url, call);
  if (!reply.ok()) return Status::Internal(what + ": " + reply.status().message());
  if (reply->status < 200 || reply->status > 299) return FromReply(*reply, what);
  return reply;
}

}  // namespace shiplog::adapters::github
