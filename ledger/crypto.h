// The cryptographic primitives shiplog uses, in one place: Ed25519 (libsodium) for every
// signature, SHA-256 (OpenSSL's libcrypto, which uses the CPU's SHA instructions) for every hash,
// and the hex and base64 forms they take in JSON.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace shiplog {

constexpr size_t kPublicKeySize = 32;
constexpr size_t kSeedSize = 32;
constexpr size_t kSignatureSize = 64;
constexpr size_t kSha256Size = 32;

using Sha256Digest = std::array<uint8_t, kSha256Size>;

// Must run once before any other call here (libsodium's sodium_init); safe to call again.
void InitCrypto();

// An Ed25519 key pair. Holds the secret: not copyable, wiped on destruction.
class SigningKey {
 public:
  // A new random key pair.
  static SigningKey Generate();
  // The key pair of a 32-byte RFC 8032 secret key (seed).
  static Result<SigningKey> FromSeed(std::string_view seed);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  // 32 raw bytes.
  std::string PublicKey() const;
  std::string Seed() const;
  // 64 raw bytes: pure Ed25519 over `message`.
  std::string Sign(std::string_view message) const;
  // Whether `signature` is Sign(message), checked at a tenth of Sign's cost. For checking the
  // ledger's own stored signatures (its checkpoints) in bulk: besides Sign(message) it accepts
  // only bytes that were made with this secret key for `message` (see crypto.cc), so neither
  // a changed message nor changed bytes pass without the key.
  bool IsOwnSignature(std::string_view message, std::string_view signature) const;

 private:
  SigningKey() = default;
  // Fills expanded_ from secret_.
  void Expand();
  std::array<uint8_t, 64> secret_{};  // libsodium's form: seed || public key
  // RFC 8032's s (the clamped first half of SHA-512(seed), reduced) || prefix (its second half),
  // for IsOwnSignature: hashing the seed again was a third of each check.
  std::array<uint8_t, 64> expanded_{};
};

// True when `signature` (64 bytes) is a valid Ed25519 signature by `public_key` (32 bytes) over
// `message`. Non-canonical signatures and small-order keys are rejected (libsodium's checks).
bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature);

Sha256Digest Sha256(std::string_view data);
// SHA-256 of `prefix` byte followed by `data`: RFC 6962 leaf (0x00) and node (0x01) hashes.
Sha256Digest Sha256WithPrefix(uint8_t prefix, std::string_view data);

inline std::string_view AsBytes(const Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string HexEncode(std::string_view bytes);
Result<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);
// The RFC 4648 forms a decoder may be asked to take; each refuses text that is not the one
// encoding of its bytes (whitespace, set bits past the data).
enum class Base64Form { kStandard, kUrlSafe, kUrlSafeUnpadded };
Result<std::string> Base64Decode(std::string_view text, Base64Form form = Base64Form::kStandard);

// 16 random bytes as 32 hex characters: a fresh event id.
std::string RandomId();

}  // namespace shiplog
