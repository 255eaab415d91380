#include "adapters/github/app_jwt.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/crypto.h"

namespace shiplog::adapters::github {
namespace {

struct FreeDigest {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct FreeBio {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string Base64Url(std::string_view bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

void AppKey::FreeKey::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

AppKey::AppKey(AppKey&&) noexcept = default;
AppKey& AppKey::operator=(AppKey&&) noexcept = default;
AppKey::~AppKey() = default;

Result<AppKey> AppKey::FromPem(std::string_view pem) {
  std::unique_ptr<BIO, FreeBio> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("cannot read the GitHub App key: out of memory");
  // No passphrase callback: GitHub's key files are not encrypted, and a prompt would hang a
  // server. An encrypted key fails here with the message below.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(""));
  if (!key) {
    return Status::InvalidArgument(
        "the GitHub App key is not an unencrypted PEM private key (the .pem file GitHub "
        "generates for the App)");
  }
  AppKey out(key);
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    return Status::InvalidArgument("the GitHub App key is not an RSA key (RS256 needs one)");
  }
  return Result<AppKey>(std::move(out));
}

Result<AppKey> AppKey::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read the GitHub App key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto key = FromPem(text.str());
  if (!key.ok()) return key.status().Prefixed(path);
  return key;
}

Result<std::string> AppKey::SignRs256(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, FreeDigest> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Status::Internal("OpenSSL could not start an RS256 signature");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Status::Internal("OpenSSL could not make an RS256 signature");
  }
  signature.resize(size);
  return signature;
}

Result<std::string> MakeAppJwt(const AppKey& key, const std::string& app_id,
                               std::chrono::system_clock::time_point now) {
  const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  const nlohmann::json claims = {{"iat", UnixSeconds(now - kJwtBackdate)},
                                 {"exp", UnixSeconds(now + kJwtLifetime)},
                                 {"iss", app_id}};
  const std::string signing_input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  SHIPLOG_ASSIGN_OR_RETURN(std::string signature, key.SignRs256(signing_input));
  return signing_input + "." + Base64Url(signature);
}

}  // namespace shiplog::adapters::github
