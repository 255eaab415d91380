#include "ledger/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace shiplog {

void InitCrypto() {
  // sodium_init is idempotent and thread-safe; failure means no secure randomness at all.
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

SigningKey SigningKey::Generate() {
  InitCrypto();
  SigningKey key;
  uint8_t public_key[kPublicKeySize];
  crypto_sign_ed25519_keypair(public_key, key.secret_.data());
  key.Expand();
  return key;
}

Result<SigningKey> SigningKey::FromSeed(std::string_view seed) {
  if (seed.size() != kSeedSize) {
    return Status::InvalidArgument("an Ed25519 secret key is 32 bytes, got " +
                                   std::to_string(seed.size()));
  }
  InitCrypto();
  SigningKey key;
  uint8_t public_key[kPublicKeySize];
  crypto_sign_ed25519_seed_keypair(public_key, key.secret_.data(),
                                   reinterpret_cast<const uint8_t*>(seed.data()));
  key.Expand();
  return key;
}

void SigningKey::Expand() {
  uint8_t h[crypto_hash_sha512_BYTES];
  crypto_hash_sha512(h, secret_.data(), kSeedSize);
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  uint8_t wide[crypto_core_ed25519_NONREDUCEDSCALARBYTES] = {};
  std::memcpy(wide, h, crypto_core_ed25519_SCALARBYTES);
  crypto_core_ed25519_scalar_reduce(expanded_.data(), wide);
  std::memcpy(expanded_.data() + crypto_core_ed25519_SCALARBYTES, h + 32, 32);
  sodium_memzero(h, sizeof h);
  sodium_memzero(wide, sizeof wide);
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(other.secret_), expanded_(other.expanded_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
  sodium_memzero(other.expanded_.data(), other.expanded_.size());
}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    expanded_ = other.expanded_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
    sodium_memzero(other.expanded_.data(), other.expanded_.size());
  }
  return *this;
}

SigningKey::~SigningKey() {
  sodium_memzero(secret_.data(), secret_.size());
  sodium_memzero(expanded_.data(), expanded_.size());
}

std::string SigningKey::PublicKey() const {
  return std::string(reinterpret_cast<const char*>(secret_.data()) + kSeedSize, kPublicKeySize);
}

std::string SigningKey::Seed() const {
  return std::string(reinterpret_cast<const char*>(secret_.data()), kSeedSize);
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string signature(kSignatureSize, '\0');
  crypto_sign_ed25519_detached(reinterpret_cast<uint8_t*>(signature.data()), nullptr,
                               reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                               secret_.data());
  return signature;
}

// RFC 8032 (5.1.6): with h = SHA-512(seed), s its clamped first half and `prefix` its second,
// Sign(M) is R || S where r = SHA-512(prefix || M) mod L, R = [r]B and
// S = (r + SHA-512(R || A || M) * s) mod L. Computing R is a scalar multiplication of the base
// point, most of Sign's cost; this checks the other half instead: that the given S is
// (r + SHA-512(R' || A || M) * s) mod L for the given R'. Sign(M) passes. Another R' changes the
// hash and so the S it needs, and to compute that S takes r and s, which only this key has: a
// signature changed by anyone without the key (or by the disk) fails, but for a chance of about
// 2^-252. S is compared reduced, so S + L fails as Sign never writes it.
bool SigningKey::IsOwnSignature(std::string_view message, std::string_view signature) const {
  if (signature.size() != kSignatureSize) return false;
  const auto* given = reinterpret_cast<const uint8_t*>(signature.data());
  const auto* m = reinterpret_cast<const uint8_t*>(message.data());
  const uint8_t* s = expanded_.data();
  const uint8_t* prefix = expanded_.data() + crypto_core_ed25519_SCALARBYTES;
  uint8_t wide[crypto_core_ed25519_NONREDUCEDSCALARBYTES];
  uint8_t r[crypto_core_ed25519_SCALARBYTES], k[crypto_core_ed25519_SCALARBYTES],
      ks[crypto_core_ed25519_SCALARBYTES], expected[crypto_core_ed25519_SCALARBYTES];
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, prefix, 32);
  crypto_hash_sha512_update(&state, m, message.size());
  crypto_hash_sha512_final(&state, wide);
  crypto_core_ed25519_scalar_reduce(r, wide);
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, given, 32);
  crypto_hash_sha512_update(&state, secret_.data() + kSeedSize, kPublicKeySize);
  crypto_hash_sha512_update(&state, m, message.size());
  crypto_hash_sha512_final(&state, wide);
  crypto_core_ed25519_scalar_reduce(k, wide);
  crypto_core_ed25519_scalar_mul(ks, k, s);
  crypto_core_ed25519_scalar_add(expected, ks, r);
  const bool same = sodium_memcmp(expected, given + 32, sizeof expected) == 0;
  sodium_memzero(wide, sizeof wide);
  sodium_memzero(r, sizeof r);
  sodium_memzero(ks, sizeof ks);
  sodium_memzero(expected, sizeof expected);  // for another R', it and S would give s away
  sodium_memzero(&state, sizeof state);
  return same;
}

bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature) {
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize) return false;
  return crypto_sign_ed25519_verify_detached(
             reinterpret_cast<const uint8_t*>(signature.data()),
             reinterpret_cast<const uint8_t*>(message.data()), message.size(),
             reinterpret_cast<const uint8_t*>(public_key.data())) == 0;
}

namespace {

// SHA-256 fetched from OpenSSL's providers once. EVP_sha256() makes OpenSSL 3 fetch the
// implementation again at every EVP_DigestInit_ex (its "implicit fetch", a lookup under locks);
// the OpenSSL guide (crypto(7), "Performance") asks callers to fetch explicitly. Kept for the
// process's life, as the per-thread contexts that use it are.
const EVP_MD* FetchedSha256() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) throw std::runtime_error("OpenSSL has no SHA-256");
    return fetched;
  }();
  return md;
}

// One digest context per thread, reused: allocating one per hash costs more than hashing a record.
class Sha256Context {
 public:
  Sha256Context() : ctx_(EVP_MD_CTX_new()) {}
  ~Sha256Context() { EVP_MD_CTX_free(ctx_); }
  Sha256Context(const Sha256Context&) = delete;
  Sha256Context& operator=(const Sha256Context&) = delete;

  Sha256Digest Hash(std::string_view prefix, std::string_view data) {
    Sha256Digest digest;
    unsigned int size = 0;
    if (EVP_DigestInit_ex(ctx_, FetchedSha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, prefix.data(), prefix.size()) != 1 ||
        EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, digest.data(), &size) != 1 || size != kSha256Size) {
      throw std::runtime_error("OpenSSL SHA-256 failed");
    }
    return digest;
  }

 private:
  EVP_MD_CTX* ctx_;
};

Sha256Context& ThreadSha256() {
  thread_local Sha256Context context;
  return context;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) { return ThreadSha256().Hash({}, data); }

Sha256Digest Sha256WithPrefix(uint8_t prefix, std::string_view data) {
  char p = static_cast<char>(prefix);
  return ThreadSha256().Hash(std::string_view(&p, 1), data);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[c >> 4];
    out[2 * i + 1] = kDigits[c & 0xf];
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("hex text has an odd length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("not a hex digit at position " +
                                     std::to_string(hi < 0 ? i : i + 1));
    }
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  InitCrypto();
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const uint8_t*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::string> Base64Decode(std::string_view text, Base64Form form) {
  InitCrypto();
  const int variant = form == Base64Form::kStandard  ? sodium_base64_VARIANT_ORIGINAL
                      : form == Base64Form::kUrlSafe ? sodium_base64_VARIANT_URLSAFE
                                                     : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end, variant) != 0 ||
      end != text.data() + text.size()) {
    return Status::InvalidArgument(form == Base64Form::kStandard
                                       ? "not valid base64 (standard alphabet, with padding)"
                                       : "not valid URL-safe base64");
  }
  out.resize(length);
  return out;
}

std::string RandomId() {
  InitCrypto();
  uint8_t bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace shiplog
