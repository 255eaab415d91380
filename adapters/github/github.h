// GitHub: everything `shiplog serve` needs to act as a GitHub App's deployment protection rule,
// built once from the serve options (--github-*, --public-url).
//
// The server starts with any subset of the options: the route answers 503 naming the first one
// missing. Files that are given but cannot be used (an unreadable secret, a key that is not an
// RSA PEM) stop the server at start, since that is a mistake to fix now rather than at the
// first deployment.
#pragma once

#include <memory>
#include <string>

#include "adapters/github/github_api.h"
#include "adapters/github/review_poster.h"
#include "ledger/status.h"

namespace shiplog::adapters::github {

struct GitHubOptions {
  std::string webhook_secret_file;             // --github-webhook-secret
  std::string app_id;                          // --github-app-id (the App's ID or client ID)
  std::string app_key_file;                    // --github-app-key (the App's private key, PEM)
  std::string api = "https://api.github.com";  // --github-api
  std::string ca_file;                         // --github-ca ("" = the system's CAs)
  std::string public_url;                      // --public-url: where people reach this server
  ReviewPoster::Options retry;
};

class GitHub {
 public:
  // Reads the secret and the key. kNotFound / kInvalidArgument naming the option whose file is
  // unusable.
  static Result<std::unique_ptr<GitHub>> Create(const GitHubOptions& options);
  ~GitHub();  // stops the poster (reviews not yet posted are logged as such)

  // The option the route still needs ("--github-app-id"), or "" when it has them all. The
  // webhook secret is asked separately: without it not even the signature can be checked.
  std::string MissingOption() const;
  bool has_secret() const { return !secret_.empty(); }

  // X-Hub-Signature-256 against the secret. REQUIRES: has_secret().
  bool SignatureMatches(std::string_view body, std::string_view header) const;

  const ApiEndpoint& api() const { return api_; }
  const std::string& public_url() const { return options_.public_url; }
  // REQUIRES: MissingOption() is "".
  ReviewPoster& poster() { return *poster_; }

  // Counters for /metrics, in Prometheus' text format.
  std::string RenderMetrics() const;

 private:
  explicit GitHub(GitHubOptions options) : options_(std::move(options)) {}

  GitHubOptions options_;
  std::string secret_;
  ApiEndpoint api_;
  std::unique_ptr<InstallationTokens> tokens_;  // with the App's id and key
  std::unique_ptr<ReviewPoster> poster_;        // with tokens_
};

}  // namespace shiplog::adapters::github
