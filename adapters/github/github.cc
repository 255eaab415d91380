#include "adapters/github/github.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "adapters/github/webhook_signature.h"

namespace shiplog::adapters::github {
namespace {

// The secret as GitHub compares it: the file's text without the line end an editor or `echo`
// adds (a secret with trailing whitespace is not one GitHub's settings page keeps either).
Result<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("--github-webhook-secret: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.empty())
    return Status::InvalidArgument("--github-webhook-secret: " + path + " is empty");
  return secret;
}

}  // namespace

Result<std::unique_ptr<GitHub>> GitHub::Create(const GitHubOptions& options) {
  std::unique_ptr<GitHub> github(new GitHub(options));
  if (!options.webhook_secret_file.empty()) {
    SHIPLOG_ASSIGN_OR_RETURN(github->secret_, ReadSecret(options.webhook_secret_file));
  }
  SHIPLOG_ASSIGN_OR_RETURN(github->api_, ParseApiEndpoint(options.api, options.ca_file));
  if (!options.ca_file.empty() && !std::ifstream(options.ca_file)) {
    return Status::NotFound("--github-ca: cannot read " + options.ca_file);
  }
  if (!options.public_url.empty() && options.public_url.rfind("http://", 0) != 0 &&
      options.public_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("--public-url must start with http:// or https://");
  }
  if (options.app_key_file.empty()) return github;
  auto key = AppKey::FromFile(options.app_key_file);
  if (!key.ok()) return key.status().Prefixed("--github-app-key");
  github->tokens_ =
      std::make_unique<InstallationTokens>(github->api_, options.app_id, std::move(key).value());
  github->poster_ = std::make_unique<ReviewPoster>(*github->tokens_, options.retry);
  return github;
}

GitHub::~GitHub() {
  if (poster_) poster_->Stop();
}

std::string GitHub::MissingOption() const {
  if (secret_.empty()) return "--github-webhook-secret";
  if (options_.app_id.empty()) return "--github-app-id";
  if (!poster_) return "--github-app-key";
  if (options_.public_url.empty()) return "--public-url";
  return "";
}

bool GitHub::SignatureMatches(std::string_view body, std::string_view header) const {
  return WebhookSignatureMatches(secret_, body, header);
}

std::string GitHub::RenderMetrics() const {
  const ReviewPoster::Counts counts = poster_ ? poster_->counts() : ReviewPoster::Counts{};
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, uint64_t value, const char* type) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << " " << value << "\n";
  };
  counter("shiplog_github_reviews_posted_total", "Reviews GitHub took.", counts.posted, "counter");
  counter("shiplog_github_review_retries_total",
          "Review attempts that failed (network, 5xx, 429) and were scheduled again.",
          counts.retried, "counter");
  counter("shiplog_github_reviews_given_up_total",
          "Reviews never posted (refused, out of attempts, or the server stopped).",
          counts.given_up, "counter");
  counter("shiplog_github_reviews_pending", "Reviews waiting to be posted.", counts.pending,
          "gauge");
  counter("shiplog_github_tokens_minted_total", "Installation tokens minted.",
          tokens_ ? tokens_->minted() : 0, "counter");
  return out.str();
}

}  // namespace shiplog::adapters::github
