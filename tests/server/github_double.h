// A stand-in for api.github.com in the test process: a small HTTP (or HTTPS) server on
// 127.0.0.1 that speaks the two calls shiplog makes as a GitHub App, checks them as GitHub would,
// and records what it was sent.
//
//   POST /app/installations/{id}/access_tokens
//       Authorization: Bearer <App JWT>. The JWT must be RS256, verify under the App's public
//       key, carry iss = the App's id, iat not in the future, exp after now and at most 10
//       minutes after iat (GitHub's rules). 201 {"token", "expires_at"}; 401 otherwise.
//   POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule
//       Authorization: Bearer <a token this double issued, unexpired>; the body is recorded.
//       204; 401 for a bad token.
//
// It can be told to answer the next N requests with a status (503, 429, ...), to go down
// (the port refuses connections) and to come back up on the same port.
#pragma once

#include <openssl/evp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace shiplog::testing {

// An RSA key pair made fresh for a test (EVP_RSA_gen), as GitHub makes one for an App.
class RsaKeyPair {
 public:
  RsaKeyPair();  // 2048 bits
  ~RsaKeyPair();
  RsaKeyPair(const RsaKeyPair&) = delete;
  RsaKeyPair& operator=(const RsaKeyPair&) = delete;
  std::string PrivatePem() const;  // PKCS#8, unencrypted
  EVP_PKEY* get() const { return key_; }

 private:
  EVP_PKEY* key_;
};

// A self-signed certificate for 127.0.0.1 and `dns_name`, with its key, for an HTTPS double.
struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};
TestCertificate MakeSelfSignedCertificate(const std::string& dns_name, bool include_loopback_ip);

// What the double received: one request.
struct Received {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower case
  std::string body;
  int answered = 0;  // the status it was answered with
};

// integrations.md, section 1: octokit's example `deployment_protection_rule` delivery [S2]
// (trimmed as there), with the installation object a GitHub App's delivery adds.
nlohmann::json ExampleProtectionRuleDelivery();

class GitHubDouble {
 public:
  // `app_public_key`: the key JWTs must verify under (not owned; must outlive the double).
  // `tls`: when set, serves HTTPS with this certificate.
  GitHubDouble(EVP_PKEY* app_public_key, std::string app_id, const TestCertificate* tls = nullptr);
  ~GitHubDouble();
  GitHubDouble(const GitHubDouble&) = delete;
  GitHubDouble& operator=(const GitHubDouble&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT" (https:// with TLS)
  uint16_t port() const { return port_; }

  // The next `count` requests are answered `status` (with a JSON message) and nothing else.
  void FailNext(int count, int status);
  // Closes the listening socket (connections are refused) / opens it again on the same port.
  void GoDown();
  void ComeUp();
  // How long the tokens it issues live (default one hour).
  void SetTokenLifetime(std::chrono::seconds lifetime);

  // Every request so far, in order.
  std::vector<Received> requests() const;
  // The reviews accepted (204), in order: their JSON bodies, with the target under "_target".
  std::vector<nlohmann::json> reviews() const;
  // The claims of every JWT that verified.
  std::vector<nlohmann::json> jwt_claims() const;
  size_t tokens_issued() const;
  // Waits until `count` reviews were accepted or `timeout` passed; true when they were.
  bool WaitForReviews(size_t count, std::chrono::milliseconds timeout) const;
  // Waits until `count` requests arrived (of any kind, answered anything).
  bool WaitForRequests(size_t count, std::chrono::milliseconds timeout) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace shiplog::testing
