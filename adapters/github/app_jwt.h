// A GitHub App's JSON Web Token: how the App proves who it is before GitHub hands it an
// installation token. RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over the App's RSA private key, the
// PEM file GitHub lets an App owner download.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace shiplog::adapters::github {

// base64url without padding (RFC 7515 section 2), the encoding of each part of a JWT.
std::string Base64Url(std::string_view bytes);

// The App's RSA private key, loaded once. Holds the secret: not copyable.
class AppKey {
 public:
  // From PEM text ("BEGIN RSA PRIVATE KEY" or PKCS#8 "BEGIN PRIVATE KEY"). kInvalidArgument when
  // the text is not a PEM private key or the key is not RSA.
  static Result<AppKey> FromPem(std::string_view pem);
  // From a PEM file: kNotFound when it cannot be read, else as FromPem.
  static Result<AppKey> FromFile(const std::string& path);

  AppKey(AppKey&&) noexcept;
  AppKey& operator=(AppKey&&) noexcept;
  ~AppKey();

  // The RS256 signature (raw bytes) over `message`; kInternal when OpenSSL fails.
  Result<std::string> SignRs256(std::string_view message) const;

 private:
  struct FreeKey {
    void operator()(EVP_PKEY* key) const;
  };
  explicit AppKey(EVP_PKEY* key) : key_(key) {}
  std::unique_ptr<EVP_PKEY, FreeKey> key_;
};

// How long an App JWT lives: GitHub takes at most 10 minutes; iat is set 60 s in the past to
// allow for clock drift between this machine and GitHub (GitHub's own advice).
inline constexpr std::chrono::seconds kJwtBackdate{60};
inline constexpr std::chrono::seconds kJwtLifetime{9 * 60};

// The JWT {"alg":"RS256","typ":"JWT"} . {"iat": now-60s, "exp": now+9m, "iss": app_id} . signature,
// for `Authorization: Bearer <jwt>`. `app_id` is the App's ID or client ID, sent as a string.
Result<std::string> MakeAppJwt(const AppKey& key, const std::string& app_id,
                               std::chrono::system_clock::time_point now);

}  // namespace shiplog::adapters::github
